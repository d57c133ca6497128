"""`serve --accounts N` / `--accounts-file`: one emulator for a room, one account per learner.

Each learner's pair is kept 0600 in `<state>-accounts/<name>.env` (printed as a table only with
`--print-accounts`), survives a restart, and opens only that learner's account: learner B cannot
list, describe or decrypt learner A's keys, and neither can the instructor's own pair."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import helpers
from helpers.errors import KmsError
from helpers.retry import RetryPolicy

ROOT = Path(__file__).resolve().parents[1]


def serve(*args: str) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "serve", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines = []
    while not (lines and lines[-1].startswith("state:")):
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        lines.append(line.rstrip("\n"))
    return proc, lines


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.communicate(timeout=30)


def pair_of(path: Path) -> tuple[str, str]:
    fields = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return fields["KMS_WORKSHOP_ACCESS_KEY_ID"], fields["KMS_WORKSHOP_ACCESS_KEY_SECRET"]


def client(monkeypatch, endpoint: str, pair: tuple[str, str]):
    monkeypatch.setenv("KMS_WORKSHOP_ACCESS_KEY_ID", pair[0])
    monkeypatch.setenv("KMS_WORKSHOP_ACCESS_KEY_SECRET", pair[1])
    return helpers.connect("emulator", endpoint=endpoint, retry=RetryPolicy(max_attempts=1))


def code(call) -> str:
    with pytest.raises(KmsError) as caught:
        call()
    return caught.value.code


def test_each_learner_gets_an_account_of_their_own_that_survives_a_restart(tmp_path, monkeypatch):
    names = tmp_path / "names.txt"
    names.write_text("ada\nbob\n# late: carol\n")
    state = tmp_path / "room" / "state.sqlite"
    proc, lines = serve("--state", str(state), "--accounts-file", str(names))
    try:
        endpoint, own = lines[0], dict(kv.split("=", 1) for kv in lines[1].split())
        folder = tmp_path / "room" / "state.sqlite-accounts"
        assert sorted(p.name for p in folder.iterdir()) == ["ada.env", "bob.env"]
        assert folder.stat().st_mode & 0o777 == 0o700 and all(p.stat().st_mode & 0o777 == 0o600 for p in folder.iterdir())
        ada_pair, bob_pair = pair_of(folder / "ada.env"), pair_of(folder / "bob.env")
        assert not any(secret in "\n".join(lines) for _, secret in (ada_pair, bob_pair))  # no table unless asked
        assert own["AccessKeyId"] not in (ada_pair[0], bob_pair[0])
        ada = client(monkeypatch, endpoint, ada_pair)
        key = ada.create_key("kms-workshop: ada's").key_id
        blob = ada.encrypt(key, "ada's secret", {"purpose": "test"}).ciphertext_blob
        for other in (bob_pair, (own["AccessKeyId"], own["AccessKeySecret"])):
            kms = client(monkeypatch, endpoint, other)
            assert key not in [k["KeyId"] for k in kms.iter_keys()]
            assert code(lambda: kms.describe_key(key)) == "Forbidden.KeyNotFound"
            assert code(lambda: kms.decrypt(blob, {"purpose": "test"})) in ("Forbidden.KeyNotFound", "InvalidCiphertext")
        wrong = client(monkeypatch, endpoint, ("testid", "testsecret"))
        assert code(lambda: wrong.describe_key(key)) == "InvalidAccessKeyId.NotFound"
    finally:
        stop(proc)
    proc, lines = serve("--state", str(state), "--accounts-file", str(names))
    try:
        assert pair_of(folder / "ada.env") == ada_pair
        again = client(monkeypatch, lines[0], ada_pair)
        assert again.describe_key(key).key_id == key and again.decrypt(blob, {"purpose": "test"}).plaintext == "ada's secret"
    finally:
        stop(proc)


def test_accounts_n_prints_a_table_only_when_asked_and_needs_a_folder_in_memory(tmp_path):
    out = subprocess.run([sys.executable, "-m", "helpers", "serve", "--accounts", "3"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "--accounts-dir" in out.stderr
    proc, lines = serve("--accounts", "3", "--accounts-dir", str(tmp_path / "pairs"), "--print-accounts")
    try:
        table = [line.split("\t") for line in lines if "\t" in line]
        assert [row[0] for row in table] == ["learner01", "learner02", "learner03"]
        assert len({row[1] for row in table}) == 3  # three account ids
        for row in table:
            assert f"{row[2]}\n{row[3]}" in (tmp_path / "pairs" / f"{row[0]}.env").read_text()
    finally:
        stop(proc)


def test_learner_files_are_never_adopted_from_someone_else(tmp_path):
    from helpers.emulator import access_keys
    from helpers.emulator.statefile import StateFileError

    folder = tmp_path / "pairs"
    [(_, first)] = access_keys.for_learners(folder, ["ada"])
    assert access_keys.for_learners(folder, ["ada"])[0][1] == first
    os.symlink(folder / "ada.env", folder / "bob.env")
    with pytest.raises(StateFileError, match="symbolic link"):
        access_keys.for_learners(folder, ["bob"])
