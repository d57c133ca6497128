"""helpers.commands: encrypt/decrypt of files and streams, the directory verbs, and the exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import commands as cli, envelope
from helpers.__main__ import main as kms_workshop
from tests.fixtures_kms import emulator, key_id  # noqa: F401 (pytest fixtures)
from tests.test_envelope import kms  # noqa: F401 (a client that is closed at teardown)

ROOT = Path(__file__).resolve().parents[1]


def sh(emulator, *args: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """`python -m helpers ...` in a subprocess talking to the test emulator."""
    env = {**os.environ, "KMS_WORKSHOP_ENDPOINT": emulator.endpoint, "KMS_WORKSHOP_BACKEND": "emulator"}
    return subprocess.run([sys.executable, "-m", "helpers", *args], input=stdin, capture_output=True,
                          env=env, cwd=ROOT, timeout=timeout, check=False)  # fmt: skip


def make_tree(root: Path, n: int = 12) -> dict[str, bytes]:
    content = {}
    for i in range(n):
        rel = f"sub{i % 3}/deeper/f{i}.conf" if i % 2 else f"f{i}.conf"
        data = os.urandom(9000) if i % 5 == 0 else f"setting_{i} = {i}\n".encode()
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        content[rel] = data
    return content


# --- single files and streams ----------------------------------------------------------------------
def test_cli_file_round_trip_both_methods(kms, key_id, tmp_path):
    for name, data in (("small.pem", b"-----BEGIN KEY-----\n"), ("big.bin", os.urandom(20_000))):
        src, enc, out = tmp_path / name, tmp_path / f"{name}.cipher", tmp_path / f"{name}.out"
        src.write_bytes(data)
        assert cli.run("encrypt", [str(src), str(enc), "-k", key_id, "-c", "app=web"], kms=kms) == 0
        assert cli.run("decrypt", [str(enc), str(out), "-c", "app=web"], kms=kms) == 0
        assert out.read_bytes() == data and out.stat().st_mode & 0o777 == 0o600


def test_cli_stdin_stdout_round_trip(emulator, key_id, tmp_path):
    for data in (b"tiny text\n", os.urandom(50_000), b""):
        enc = sh(emulator, "encrypt", "-", "-", "--key-id", key_id, "-c", "app=web", stdin=data)
        assert enc.returncode == 0, enc.stderr
        assert envelope.is_envelope(enc.stdout) == (data != b"tiny text\n")
        dec = sh(emulator, "decrypt", "-", "-", "-c", "app=web", stdin=enc.stdout)
        assert dec.returncode == 0, dec.stderr
        assert dec.stdout == data


def test_cli_exit_codes(emulator, kms, key_id, tmp_path):
    src, enc = tmp_path / "in.txt", tmp_path / "in.txt.cipher"
    src.write_bytes(os.urandom(10_000))
    assert cli.run("encrypt", [str(src), str(enc), "-k", key_id, "-c", "a=b"], kms=kms) == cli.OK
    codes = {
        "wrong context": cli.run("decrypt", [str(enc), str(tmp_path / "o1"), "-c", "a=c"], kms=kms),
        "output exists": cli.run("encrypt", [str(src), str(enc), "-k", key_id], kms=kms),
        "missing input": cli.run("decrypt", [str(tmp_path / "nope"), str(tmp_path / "o2")], kms=kms),
        "unknown key": cli.run("encrypt", [str(src), str(tmp_path / "o3"), "-k", "alias/kms-workshop-none"], kms=kms),
        "bad context": cli.run("decrypt", [str(enc), str(tmp_path / "o4"), "-c", "novalue"], kms=kms),
        "direct too big": cli.run("encrypt", [str(src), str(tmp_path / "o5"), "-k", key_id, "--method", "direct"], kms=kms),
        "not ciphertext": cli.run("decrypt", [str(src), str(tmp_path / "o6")], kms=kms),
    }  # fmt: skip
    assert codes == {"wrong context": 1, "output exists": 4, "missing input": 4, "unknown key": 3,
                     "bad context": 2, "direct too big": 2, "not ciphertext": 1}  # fmt: skip
    tampered = tmp_path / "t.cipher"
    tampered.write_bytes(enc.read_bytes()[:-1])
    result = sh(emulator, "decrypt", str(tampered), str(tmp_path / "o7"), "-c", "a=b")
    assert result.returncode == 1 and b"failed authentication" in result.stderr
    assert sh(emulator, "encrypt", "only-one-arg").returncode == 2
    assert kms_workshop(["no-such-verb"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "in.txt.cipher", "t.cipher"]


def test_cli_force_overwrites(kms, key_id, tmp_path):
    (tmp_path / "a").write_text("one")
    (tmp_path / "a.cipher").write_text("old")
    assert cli.run("encrypt", [str(tmp_path / "a"), str(tmp_path / "a.cipher"), "-k", key_id, "-f"], kms=kms) == 0
    assert cli.run("decrypt", [str(tmp_path / "a.cipher"), str(tmp_path / "b")], kms=kms) == 0
    assert (tmp_path / "b").read_text() == "one"


# --- directory verbs --------------------------------------------------------------------------
def test_cli_dir_round_trip_parallel_and_resumable(kms, key_id, tmp_path, capsys):
    content = make_tree(tmp_path / "conf")
    (tmp_path / "conf" / "link.conf").symlink_to(tmp_path / "conf" / "f0.conf")  # never followed
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    args = [str(tmp_path / "conf"), str(enc), "-k", key_id, "-c", "env=test", "-j", "4"]
    assert cli.run("encrypt-dir", args, kms=kms) == 0
    assert "12 encrypted, 0 skipped (already done), 0 failed, 1 ignored" in capsys.readouterr().err
    assert sorted(str(p.relative_to(enc)) for p in enc.rglob("*.cipher")) == sorted(f"{r}.cipher" for r in content)
    assert cli.run("encrypt-dir", args, kms=kms) == 0  # re-run: nothing to do
    assert "0 encrypted, 12 skipped" in capsys.readouterr().err
    assert cli.run("decrypt-dir", [str(enc), str(dec), "-c", "env=test", "-j", "4"], kms=kms) == 0
    decrypted = {str(p.relative_to(dec)): p.read_bytes() for p in dec.rglob("*") if p.is_file()}
    assert {rel: data for rel, data in decrypted.items() if not rel.startswith(".kms-workshop-")} == content
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in dec.rglob("*") if p.is_file())
    assert all(p.stat().st_mode & 0o777 == 0o700 for p in dec.rglob("*") if p.is_dir())


def test_cli_dir_dry_run_touches_nothing(key_id, tmp_path, capsys):
    make_tree(tmp_path / "conf", 4)
    (tmp_path / "enc").mkdir()
    (tmp_path / "enc" / "f0.conf.cipher").write_text("not written by encrypt-dir")
    args = [str(tmp_path / "conf"), str(tmp_path / "enc"), "-k", key_id, "--dry-run"]
    assert cli.run("encrypt-dir", args, kms=object()) == 0  # a client that cannot make any call
    out = capsys.readouterr()
    assert out.out.count("would encrypt") == 3 and "3 to encrypt, 0 already done, 1 refused" in out.err
    assert "would refuse f0.conf:" in out.err and "no record of writing it; add --force" in out.err
    assert [p.name for p in (tmp_path / "enc").rglob("*")] == ["f0.conf.cipher"]


def test_cli_dir_reports_failures_and_continues(kms, key_id, tmp_path, capsys):
    make_tree(tmp_path / "conf", 6)
    enc = tmp_path / "enc"
    assert cli.run("encrypt-dir", [str(tmp_path / "conf"), str(enc), "-k", key_id], kms=kms) == 0
    victim = enc / "f0.conf.cipher"
    victim.write_bytes(victim.read_bytes()[:-3])
    code = cli.run("decrypt-dir", [str(enc), str(tmp_path / "dec")], kms=kms)
    err = capsys.readouterr().err
    assert code == 1 and "FAILED f0.conf.cipher" in err and "5 decrypted" in err and "1 failed" in err
    assert not (tmp_path / "dec" / "f0.conf").exists()


def test_cli_dir_refuses_output_inside_input(key_id, tmp_path):
    make_tree(tmp_path / "conf", 2)
    assert cli.run("encrypt-dir", [str(tmp_path / "conf"), str(tmp_path / "conf" / "enc"), "-k", key_id],
                   kms=object()) == 2  # fmt: skip


def test_cli_dir_kill_9_leaves_no_partial_file_and_resumes(emulator, key_id, tmp_path):
    """SIGKILL mid-run: every output present is complete; a re-run finishes the rest."""
    src, enc, dec = tmp_path / "big", tmp_path / "enc", tmp_path / "dec"
    src.mkdir()
    for i in range(6):
        (src / f"part{i}.bin").write_bytes(os.urandom(8 << 20))
    assert sh(emulator, "encrypt-dir", str(src), str(enc), "-k", key_id, "-j", "1").returncode == 0
    env = {**os.environ, "KMS_WORKSHOP_ENDPOINT": emulator.endpoint}
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "decrypt-dir", str(enc), str(dec), "-j", "1"],
                            cwd=ROOT, env=env, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(dec.glob("part*.bin")):
        time.sleep(0.005)  # the first output is in place, so the next is being written (unnamed on Linux)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = [p for p in dec.glob("part*.bin")]
    assert len(finished) < 6, "the run finished before it could be killed; make the files bigger"
    for path in finished:
        assert path.read_bytes() == (src / path.name).read_bytes()  # present means complete
    again = sh(emulator, "decrypt-dir", str(enc), str(dec))
    assert again.returncode == 0, again.stderr
    assert f"{6 - len(finished)} decrypted, {len(finished)} skipped" in again.stderr.decode()
    left = sorted(p.name for p in dec.iterdir() if not p.name.startswith(".kms-workshop-"))
    assert left == [f"part{i}.bin" for i in range(6)]  # leftovers gone


def test_cli_output_exists_names_the_shell_option(kms, key_id, tmp_path, capsys):
    src, enc = tmp_path / "a", tmp_path / "a.cipher"
    src.write_text("x")
    enc.write_text("already here")
    assert cli.run("encrypt", [str(src), str(enc), "-k", key_id], kms=kms) == cli.IO
    err = capsys.readouterr().err
    assert f"{enc} already exists; add --force to replace it." in err and "overwrite=True" not in err
    assert enc.read_text() == "already here"
