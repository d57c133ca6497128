"""`kill -9` during a single-file `decrypt`: no partial plaintext at the destination, and nothing of
the killed run left after the next successful one (docs/envelope.md, "Guarantees and their limits").

The decrypt runs as `python -m helpers decrypt` in a subprocess against this module's emulator and
is killed once it is seen writing plaintext. Twice: on the OS's own path (unnamed on Linux) and on
the named fallback that macOS, Windows and file systems without O_TMPFILE take.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import atomic, envelope
from tests.fixtures_kms import emulator, key_id, kms  # noqa: F401 (pytest fixtures)

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32 << 20  # long enough to decrypt (and fsync) that the kill lands mid-write
WAIT = 60.0  # seconds: a bound on waiting for the child that fails the test, not a speed limit
# `python -m helpers`, with the fallback forced as test_atomic forces it: no O_TMPFILE descriptor.
NAMED = ("import runpy; from helpers import atomic; atomic._open_unnamed = lambda folder: None; "
         "runpy.run_module('helpers', run_name='__main__', alter_sys=True)")  # fmt: skip


def command(path: str, *args: str) -> list[str]:
    return [sys.executable, *(["-c", NAMED] if path == "named" else ["-m", "helpers"]), *args]


def child_env(emulator) -> dict[str, str]:
    return {**os.environ, "KMS_WORKSHOP_ENDPOINT": emulator.endpoint, "KMS_WORKSHOP_BACKEND": "emulator"}


def unnamed_here() -> bool:
    return sys.platform == "linux"  # Linux writes unnamed (O_TMPFILE); elsewhere the fallback is the path


def plaintext_in(pid: int, folder: Path) -> bool:
    """True once process `pid` has an open file in `folder` with data in it: its unnamed output
    (`folder/#123 (deleted)` in /proc on Linux) or the fallback's named temporary file."""
    proc_fds = Path(f"/proc/{pid}/fd")
    if not Path("/proc/self/fd").is_dir():  # no /proc: only the named fallback can be seen, by its name
        return any(atomic._TEMP.search(e.name) and e.stat().st_size > 0 for e in os.scandir(folder))
    try:
        fds = list(proc_fds.iterdir())
    except (FileNotFoundError, ProcessLookupError):  # the process is gone
        return False
    for fd in fds:
        try:
            if os.readlink(fd).startswith(f"{folder}{os.sep}") and os.stat(fd).st_size > 0:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


@pytest.mark.parametrize("path", ["unnamed", "named"])
def test_kill_9_mid_decrypt_leaves_no_partial_plaintext_and_the_next_run_leaves_nothing(
    emulator, kms, key_id, tmp_path, path
):  # fmt: skip
    plaintext = os.urandom(SIZE)
    (tmp_path / "in").mkdir()
    (tmp_path / "secrets.bin").write_bytes(plaintext)
    enc = tmp_path / "in" / "secrets.bin.cipher"
    envelope.encrypt_file(tmp_path / "secrets.bin", enc, key_id, encryption_context={"app": "web"}, kms=kms)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("was here before")  # what the folder held before the run
    dst = out_dir / "secrets.bin"
    argv = command(path, "decrypt", str(enc), str(dst), "-c", "app=web")

    proc = subprocess.Popen(argv, cwd=ROOT, env=child_env(emulator), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while not plaintext_in(proc.pid, out_dir):
            assert proc.poll() is None, f"decrypt ended (exit {proc.returncode}) before it was seen writing"
            assert time.monotonic() < deadline, f"decrypt was not seen writing within {WAIT} s"
            time.sleep(0.001)
    finally:
        proc.kill()  # SIGKILL on POSIX: no handler, no finally, no clean-up runs
        _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == (-signal.SIGKILL if os.name == "posix" else 1), (
        f"the decrypt finished before it could be killed (exit {proc.returncode}); make SIZE bigger: {err!r}")

    left = sorted(p.name for p in out_dir.iterdir())
    if path == "unnamed" and unnamed_here():
        assert left == ["keep.txt"]  # no partial output, no temporary file: the kernel freed it
    else:
        # The fallback's honest limit: a named, private temporary file holding a prefix of the
        # plaintext, named after the killed process so that a later run can tell it is gone.
        assert "secrets.bin" not in left and len(left) == 2, left
        tmp = out_dir / next(name for name in left if name != "keep.txt")
        found = atomic._TEMP.search(tmp.name)
        assert tmp.name.startswith(".secrets.bin.") and found and found["pid"] == str(proc.pid)
        assert os.name == "nt" or tmp.stat().st_mode & 0o777 == 0o600
        partial = tmp.read_bytes()
        assert 0 < len(partial) <= SIZE and partial == plaintext[: len(partial)]

    again = subprocess.run(argv, cwd=ROOT, env=child_env(emulator), capture_output=True, timeout=WAIT, check=False)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["keep.txt", "secrets.bin"]  # the leftover is swept
    assert dst.read_bytes() == plaintext and (os.name == "nt" or dst.stat().st_mode & 0o777 == 0o600)
    assert (out_dir / "keep.txt").read_text() == "was here before"
