"""An AccessKey pair per state file: other local users can reach the loopback port, but not the pair.

The second-user checks run `cat` as uid 65534 (nobody) and need root; without root the test says
what it did not check and still checks the rest (modes, and the public pair refused).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException

import helpers
from helpers import client as kit_client
from helpers.emulator import DEFAULT_ACCOUNTS, Account, Emulator
from helpers.emulator import access_keys
from helpers.emulator.cli import main
from helpers.emulator.statefile import StateFileError
from helpers.errors import ConfigError, KmsError
from tests.conftest import emulator_call_with, emulator_client_for

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534
KIT_VARS = ("KMS_WORKSHOP_ENDPOINT", "KMS_WORKSHOP_ACCESS_KEY_ID", "KMS_WORKSHOP_ACCESS_KEY_SECRET",
            "KMS_WORKSHOP_BACKEND", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ECS_METADATA")  # fmt: skip

#: AccessKey pair values planted in pair files (not secrets: made up for the tests)
WINNERS, KNOWN = "winners-pair", "known-pair"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in KIT_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no real ~/.aliyun profile


@pytest.fixture
def learner_folder() -> Iterator[Path]:
    """A learner's folder others can traverse (0755) in /tmp, so file modes alone must keep them out."""
    folder = Path(tempfile.mkdtemp(prefix="kms-learner-", dir="/tmp" if os.path.isdir("/tmp") else None))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_nobody(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), user=NOBODY, group=NOBODY, extra_groups=[], capture_output=True,
                          text=True, timeout=30)  # fmt: skip


def public_pair_call(endpoint: str, action: str = "ListKeys") -> ServerException:
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkkms.request.v20160120.ListKeysRequest import ListKeysRequest

    acs = AcsClient("testid", "testsecret", "cn-hangzhou", proxy={"http": None, "https": None}, auto_retry=False)
    acs.add_endpoint("cn-hangzhou", "Kms", endpoint)
    with pytest.raises(ServerException) as info:
        acs.do_action_with_exception(ListKeysRequest())
    return info.value


def test_learners_in_process_emulator_is_private_to_the_learner(learner_folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    state = learner_folder / "emulator.sqlite"
    monkeypatch.setenv("KMS_WORKSHOP_STATE", str(state))
    kms = helpers.connect("emulator")
    try:
        key = kms.create_key(description="learner's")
        blob = kms.encrypt(key.key_id, "for my eyes").ciphertext_blob
        pair = json.loads(access_keys.pair_file(state).read_text())
        secret = pair["AccessKeySecret"]
        # The kit's own client uses the pair, and says which without printing the secret.
        assert kms.connection.credential_source == f"emulator AccessKey of its state file ({pair['AccessKeyId']})"
        assert secret not in kms.connection.describe() + repr(kms) + repr(kms.connection)
        assert pair["AccessKeyId"] != "testid" and len(secret) >= 30
        # Anyone on this machine can reach the port, but the documented public pair is refused.
        refused = public_pair_call(kms.connection.endpoint)
        assert (refused.get_http_status(), refused.get_error_code()) == (404, "InvalidAccessKeyId.NotFound")
        files = [access_keys.pair_file(state), state, Path(f"{state}-wal"), Path(f"{state}-shm")]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if not IS_ROOT:
            with capsys.disabled():
                print("\n[access keys] NOT CHECKED without root: reading the pair and state files as another user")
        else:
            for path in files:
                assert as_nobody("stat", str(path)).returncode == 0  # nobody can reach the file...
                read = as_nobody("cat", str(path))  # ...but not read it
                assert read.returncode != 0 and "Permission denied" in read.stderr, (path, read)
        assert kms.decrypt(blob).plaintext == "for my eyes"
    finally:
        kit_client._servers.pop(("emulator", str(state))).stop()


def test_kernels_sharing_a_state_file_all_get_the_same_pair(tmp_path: Path) -> None:
    state = tmp_path / "shared.sqlite"
    code = ("import sys; from helpers.emulator import Emulator\n"
            "with Emulator(sys.argv[1]) as emu: print(emu.access_key_id, emu.access_key_secret)")  # fmt: skip
    kernels = [subprocess.Popen([sys.executable, "-c", code, str(state)], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]  # fmt: skip
    outputs = [k.communicate(timeout=120) for k in kernels]
    assert all(k.returncode == 0 for k in kernels), outputs
    pairs = {out.strip() for out, _ in outputs}
    kept = json.loads(access_keys.pair_file(state).read_text())
    assert pairs == {f"{kept['AccessKeyId']} {kept['AccessKeySecret']}"}


def test_the_loser_of_the_creation_race_waits_for_the_winners_pair(tmp_path: Path) -> None:
    state = tmp_path / "s.sqlite"
    path = access_keys.pair_file(state)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the winner has created it, not written it
    record = {"AccessKeyId": "EMUwinner", "AccessKeySecret": WINNERS, "AccountId": "1234567890123456"}

    def winner_writes() -> None:
        os.write(fd, json.dumps(record).encode())
        os.close(fd)

    writer = threading.Timer(0.2, winner_writes)
    writer.start()
    try:
        assert access_keys.for_state(state) == Account("EMUwinner", WINNERS, "1234567890123456")
    finally:
        writer.join()
    assert json.loads(path.read_text()) == record  # read, never overwritten


def test_pair_file_is_made_once_0600_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "s.sqlite"
    with Emulator(state) as emu:
        first = (emu.access_key_id, emu.access_key_secret)
        key_id = emulator_call_with(emulator_client_for(emu))("CreateKey")["KeyMetadata"]["KeyId"]
        assert emu.access_key_file == access_keys.pair_file(state)
    assert stat.S_IMODE(access_keys.pair_file(state).stat().st_mode) == 0o600
    with Emulator(state) as emu:
        assert (emu.access_key_id, emu.access_key_secret) == first
    access_keys.pair_file(state).unlink()  # a lost pair file: a new pair, the same keys
    with Emulator(state) as emu:
        assert emu.access_key_id != first[0]
        assert emulator_call_with(emulator_client_for(emu))("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id


def test_planted_pair_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    state = shared / "s.sqlite"
    planted = access_keys.pair_file(state)
    known = tmp_path / "known-pair.json"
    known.write_text(json.dumps({"AccessKeyId": "EMUknown", "AccessKeySecret": KNOWN, "AccountId": "1"}))
    planted.symlink_to(known)
    with pytest.raises(StateFileError, match="symbolic link"):
        Emulator(state).start()
    planted.unlink()
    if not IS_ROOT:
        with capsys.disabled():
            print("\n[access keys] NOT CHECKED without root: a pair file planted by another user (os.chown)")
        return
    shutil.copy(known, planted)
    os.chown(planted, NOBODY, NOBODY)  # an attacker who planted it would know the pair
    with pytest.raises(StateFileError, match="another user"):
        Emulator(state).start()


def test_damaged_pair_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    state = tmp_path / "s.sqlite"
    access_keys.pair_file(state).write_text("{not json")
    monkeypatch.setattr(access_keys, "_WAIT_FOR_WRITER_S", 0.0)
    assert main(["--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "delete it" in err, err


def test_which_emulators_accept_the_documented_pairs(tmp_path: Path) -> None:
    assert Emulator().accounts == list(DEFAULT_ACCOUNTS)  # in memory: tests and the signature example
    assert Emulator(tmp_path / "r.sqlite", seed=1).accounts == list(DEFAULT_ACCOUNTS)  # recordings
    mine = Account("EMUmine", "secret-of-mine", "1234567890123456")
    assert Emulator(tmp_path / "x.sqlite", accounts=[mine]).accounts == [mine]
    own = Emulator(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError, match="start"):
        own.access_key_id  # noqa: B018 (the property is the test)
    with own:
        assert own.accounts != list(DEFAULT_ACCOUNTS) and len(own.accounts) == 1


def serve_pair(*args: str) -> tuple[str, str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "helpers.emulator", "--port", "0", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().strip()
        second = re.fullmatch(r"AccessKeyId=(\S+) AccessKeySecret=(\S+)", proc.stdout.readline().strip())
        assert second is not None
        return endpoint, second[1], second[2]
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_serve_in_memory_makes_a_fresh_pair_per_run_and_test_account_is_opt_in() -> None:
    first, second = serve_pair(), serve_pair()
    assert first[1:] != second[1:] and "testid" not in (first[1], second[1])
    assert serve_pair("--test-account")[1:] == ("testid", "testsecret")


def test_serve_test_account_on_a_public_address_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A folder as --state stops it before it binds: the warning comes first, then the one-line error.
    assert main(["--test-account", "--host", "0.0.0.0", "--state", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: --test-account on 0.0.0.0") and "testid/testsecret" in err[0]
    assert main(["--test-account", "--host", "127.0.0.1", "--state", str(tmp_path)]) == 2
    assert "warning" not in capsys.readouterr().err


def test_client_takes_a_standalone_emulators_pair_from_the_environment(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    with Emulator(tmp_path / "s.sqlite") as emu:
        monkeypatch.setenv("KMS_WORKSHOP_ENDPOINT", emu.endpoint)
        with pytest.raises(KmsError) as info:  # the documented pair, by default: refused by this emulator
            helpers.connect("emulator").describe_regions()
        assert info.value.code == "InvalidAccessKeyId.NotFound"
        monkeypatch.setenv("KMS_WORKSHOP_ACCESS_KEY_ID", emu.access_key_id)
        with pytest.raises(ConfigError, match="set both"):
            helpers.connect("emulator")
        monkeypatch.setenv("KMS_WORKSHOP_ACCESS_KEY_SECRET", emu.access_key_secret)
        kms = helpers.connect("emulator", verbose=False)
        assert "cn-hangzhou" in kms.describe_regions()
        assert kms.connection.credential_source == "environment (KMS_WORKSHOP_ACCESS_KEY_ID)"
        assert emu.access_key_secret not in repr(kms) + kms.connection.describe()
        # Never cloud credentials: the cloud backend ignores them.
        with pytest.raises(ConfigError, match="No Alibaba Cloud credentials"):
            helpers.connect("cloud")
