"""The CLI against inputs and situations that used to hurt: endless devices, FIFOs that block,
stale resumes, two runs on one tree, and suffixes that make plaintext look like a folder."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers import commands as cli, files
from helpers.commands.journal import JOURNAL_NAME
from helpers.commands.lock import tree_lock
from helpers.errors import KitError, NotARegularFileError, TreeBusyError
from tests.fixtures_kms import emulator, key_id  # noqa: F401 (pytest fixtures)
from tests.test_envelope import kms  # noqa: F401 (a client that is closed at teardown)

ROOT = Path(__file__).resolve().parents[1]
DEVICES = [d for d in ("/dev/zero", os.devnull) if os.path.exists(d)]  # /dev/zero never ends


def within(seconds: float, body):
    """Run `body` in a thread; a hang fails the test instead of stalling the suite."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(body()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the command hung"
    return result[0]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def unblock(path: Path) -> None:
    """If a reader is stuck opening the FIFO, let it through (so a failing test still ends)."""
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    os.close(fd)


SPECIALS = ["device:" + d for d in DEVICES] + (["fifo"] if hasattr(os, "mkfifo") else [])


@pytest.mark.parametrize("special", SPECIALS)
@pytest.mark.parametrize("verb", ["encrypt", "decrypt"])
def test_single_file_verbs_refuse_devices_and_fifos_at_once(key_id, tmp_path, capsys, special, verb):
    src = fifo(tmp_path / "pipe") if special == "fifo" else Path(special.partition(":")[2])
    extra = ["-k", key_id] if verb == "encrypt" else []
    try:
        code = within(30, lambda: cli.run(verb, [str(src), str(tmp_path / "out"), *extra], kms=object()))
    finally:
        if special == "fifo":
            unblock(src)
    assert code == cli.IO
    err = capsys.readouterr().err
    assert "is not a regular file but" in err and "- reads stdin" in err
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == (
        ["pipe"] if special == "fifo" else [])


def test_the_error_for_a_special_file_says_what_to_do(key_id, tmp_path, capsys):
    assert cli.run("decrypt", [DEVICES[0], str(tmp_path / "out")], kms=object()) == cli.IO
    err = capsys.readouterr().err
    assert "is not a regular file but a character device" in err and "- reads stdin" in err
    with pytest.raises(NotARegularFileError, match="not a regular file but a character device") as info:
        files.decrypt_file(DEVICES[0], tmp_path / "out", kms=object())  # the API: refused before any call
    assert isinstance(info.value, OSError)  # what it replaces: `except OSError` still catches it
    assert cli.exit_code(info.value, decrypting=True) == cli.IO
    assert isinstance(info.value, KitError)  # so a notebook shows its class and message, not the frames
    assert info.value._render_traceback_()[0].startswith("NotARegularFileError: ")
    assert list(tmp_path.iterdir()) == []


def test_tree_verbs_skip_a_fifo_and_say_so(kms, key_id, tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "a.conf").write_text("a = 1\n")
    pipe = fifo(tmp_path / "conf" / "pipe")
    try:
        code = within(60, lambda: cli.run("encrypt-dir", [str(tmp_path / "conf"), str(tmp_path / "enc"), "-k", key_id],
                                          kms=kms))  # fmt: skip
    finally:
        unblock(pipe)
    err = capsys.readouterr().err
    assert code == cli.OK and "skipping pipe: not a regular file" in err and "1 encrypted" in err
    assert sorted(p.name for p in (tmp_path / "enc").iterdir() if not p.name.startswith(".")) == ["a.conf.cipher"]


# --- resume: skip only what provably matches ---------------------------------------------------------


def decrypt(kms, path: Path, context: str = "env=t") -> bytes:
    out = path.with_name(path.name + ".check")
    assert cli.run("decrypt", [str(path), str(out), "-c", context], kms=kms) == cli.OK
    try:
        return out.read_bytes()
    finally:
        out.unlink()


def test_encrypt_dir_redoes_a_file_whose_source_changed_and_says_why(kms, key_id, tmp_path, capsys):
    src, enc = tmp_path / "conf", tmp_path / "enc"
    src.mkdir()
    (src / "a.conf").write_text("old secret\n")
    (src / "b.conf").write_text("unchanged\n")
    args = [str(src), str(enc), "-k", key_id, "-c", "env=t"]
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK
    capsys.readouterr()
    before = (src / "a.conf").stat().st_mtime_ns
    (src / "a.conf").write_text("new secret\n")  # same size: only the time gives it away
    os.utime(src / "a.conf", ns=(before + 2_000_000_000, before + 2_000_000_000))
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK
    err = capsys.readouterr().err
    assert "re-encrypting a.conf: a.conf changed since a.conf.cipher was written" in err
    assert "1 encrypted, 1 skipped (already done)" in err
    assert decrypt(kms, enc / "a.conf.cipher") == b"new secret\n"
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK  # and now it is current
    assert "0 encrypted, 2 skipped" in capsys.readouterr().err


def test_dir_verbs_redo_when_the_options_change(kms, key_id, tmp_path, capsys):
    src, enc = tmp_path / "conf", tmp_path / "enc"
    src.mkdir()
    (src / "a.conf").write_text("x\n")
    assert cli.run("encrypt-dir", [str(src), str(enc), "-k", key_id, "-c", "env=t"], kms=kms) == cli.OK
    assert cli.run("encrypt-dir", [str(src), str(enc), "-k", key_id, "-c", "env=prod"], kms=kms) == cli.OK
    assert "written with other options" in capsys.readouterr().err
    assert decrypt(kms, enc / "a.conf.cipher", "env=prod") == b"x\n"


def test_an_output_changed_by_someone_else_is_refused_and_kept(kms, key_id, tmp_path, capsys):
    enc, dec = tmp_path / "enc", tmp_path / "dec"
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "a.conf").write_text("x = 1\n")
    assert cli.run("encrypt-dir", [str(tmp_path / "conf"), str(enc), "-k", key_id], kms=kms) == cli.OK
    assert cli.run("decrypt-dir", [str(enc), str(dec)], kms=kms) == cli.OK
    (dec / "a.conf").write_text("x = 1  # my local edit\n")  # a plaintext file the user edited
    (enc / "a.conf.cipher").touch()  # the source changed too: the resume would want to redo it
    capsys.readouterr()
    assert cli.run("decrypt-dir", [str(enc), str(dec)], kms=kms) == cli.IO
    assert "a.conf was changed after this tool wrote it; add --force" in capsys.readouterr().err
    assert (dec / "a.conf").read_text() == "x = 1  # my local edit\n"
    assert cli.run("decrypt-dir", [str(enc), str(dec), "--force"], kms=kms) == cli.OK
    assert (dec / "a.conf").read_text() == "x = 1\n"


def test_a_torn_journal_line_proves_nothing_and_the_next_line_stays_readable(kms, key_id, tmp_path, capsys):
    src, enc = tmp_path / "conf", tmp_path / "enc"
    src.mkdir()
    for name in ("a.conf", "b.conf"):
        (src / name).write_text(name)
    args = [str(src), str(enc), "-k", key_id]
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK
    journal = enc / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + lines[1][:20])  # a kill cut b's line short
    (enc / "b.conf.cipher").unlink()  # ... before b was put in place
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK
    assert "1 encrypted, 1 skipped" in capsys.readouterr().err
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK
    assert "0 encrypted, 2 skipped" in capsys.readouterr().err


# --- one run per tree ------------------------------------------------------------------------------------


def test_a_second_run_on_a_locked_tree_refuses_and_touches_nothing(key_id, tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "a.conf").write_text("x")
    enc = tmp_path / "enc"
    enc.mkdir()
    with tree_lock(enc, "encrypt-dir"):
        code = cli.run("encrypt-dir", [str(tmp_path / "conf"), str(enc), "-k", key_id], kms=object())
    assert code == cli.IO
    err = capsys.readouterr().err
    assert f"{enc} is in use by another encrypt-dir run (pid {os.getpid()}" in err and "wait for it" in err
    assert sorted(p.name for p in enc.iterdir()) == [".kms-workshop-lock"]
    with tree_lock(enc, "encrypt-dir"), pytest.raises(TreeBusyError, match="in use by another decrypt-dir") as info:
        with tree_lock(enc, "decrypt-dir"):
            pass
    assert isinstance(info.value, FileExistsError) and cli.exit_code(info.value, decrypting=True) == cli.IO


HOLDER = """
import sys, time
from pathlib import Path
from helpers.commands.lock import tree_lock
with tree_lock(Path(sys.argv[1]), "encrypt-dir"):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_a_lock_left_by_a_killed_run_is_taken_over_with_a_message(kms, key_id, tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "a.conf").write_text("x")
    enc = tmp_path / "enc"
    enc.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(enc)], cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        args = [str(tmp_path / "conf"), str(enc), "-k", key_id]
        assert cli.run("encrypt-dir", args, kms=kms) == cli.IO  # another process holds it
        assert f"pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    assert cli.run("encrypt-dir", args, kms=kms) == cli.OK
    err = capsys.readouterr().err
    assert f"taking over the lock of {enc}: the run that held it (pid {holder.pid}" in err and "1 encrypted" in err


# --- suffixes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["encrypt-dir", "decrypt-dir"])
@pytest.mark.parametrize("suffix", ["", "/x", ".."])
def test_a_suffix_that_is_not_a_file_name_ending_is_refused(key_id, tmp_path, capsys, verb, suffix):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.cipher").write_text("x")
    extra = ["-k", key_id] if verb == "encrypt-dir" else []
    code = cli.run(verb, [str(tmp_path / "in"), str(tmp_path / "out"), f"--suffix={suffix}", *extra], kms=object())
    assert code == cli.USAGE and "use e.g. --suffix .cipher" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_decrypt_dir_skips_a_file_named_just_the_suffix(kms, key_id, tmp_path, capsys):
    (tmp_path / "enc").mkdir()
    (tmp_path / "enc" / ".cipher").write_text("x")
    assert cli.run("decrypt-dir", [str(tmp_path / "enc"), str(tmp_path / "dec")], kms=kms) == cli.OK
    assert "skipping .cipher: it would decrypt to ''" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "dec").iterdir()) == [".kms-workshop-lock"]
