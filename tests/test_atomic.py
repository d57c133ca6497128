"""helpers.atomic: nothing or the whole file, never a clobbered concurrent writer, durable order,
and no plaintext temporary file that outlives its process (unnamed on Linux, swept elsewhere)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import atomic, processes
from helpers.atomic import OutputExistsError

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"-----BEGIN PRIVATE KEY----- plaintext that must not outlive the writer"


@pytest.fixture(params=["unnamed", "named"])
def strategy(request, monkeypatch) -> str:
    """Each test runs on the OS's own path and on the named fallback (macOS, Windows, old file systems)."""
    if request.param == "named":
        monkeypatch.setattr(atomic, "_open_unnamed", lambda folder: None)
    return request.param


def unnamed_here() -> bool:
    # The promise this OS makes: Linux (with /proc, on a file system with O_TMPFILE) writes unnamed.
    return sys.platform == "linux"


def test_the_temporary_file_is_unnamed_on_linux_and_private_elsewhere(tmp_path, strategy):
    with atomic.atomic_output(tmp_path / "key.pem") as out:
        out.write(SECRET)
        out.flush()
        during = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    if strategy == "unnamed" and unnamed_here():
        assert during == {}  # no name: nothing for a kill to leave
    else:
        [(name, mode)] = during.items()
        assert name.startswith(".key.pem.") and atomic._TEMP.search(name)
        assert os.name == "nt" or mode == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"] and (tmp_path / "key.pem").read_bytes() == SECRET


def test_a_file_that_appears_during_the_write_is_kept_and_refused(tmp_path, strategy):
    dst = tmp_path / "out"
    with pytest.raises(OutputExistsError, match="appeared while writing"):
        with atomic.atomic_output(dst) as out:
            out.write(SECRET)
            dst.write_bytes(b"the other writer's")  # a concurrent writer wins the name first
    assert dst.read_bytes() == b"the other writer's"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # and our temporary file is gone


def test_overwrite_replaces_a_file_that_appears_during_the_write(tmp_path, strategy):
    dst = tmp_path / "out"
    with atomic.atomic_output(dst, overwrite=True, mode=0o644) as out:
        out.write(SECRET)
        dst.write_bytes(b"old")
    assert dst.read_bytes() == SECRET and [p.name for p in tmp_path.iterdir()] == ["out"]
    assert os.name == "nt" or stat.S_IMODE(dst.stat().st_mode) == 0o644


@pytest.mark.parametrize("overwrite", [False, True])
def test_file_fsync_comes_before_the_rename_and_folder_fsync_after(tmp_path, monkeypatch, strategy, overwrite):
    events: list[str] = []
    real = {name: getattr(os, name) for name in ("fsync", "replace", "link", "rename")}

    def fsync(fd):
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        return real["fsync"](fd)

    def recorder(name):
        def call(*args, **kwargs):
            events.append(name)
            return real[name](*args, **kwargs)

        return call

    monkeypatch.setattr(os, "fsync", fsync)
    for name in ("replace", "link", "rename"):
        monkeypatch.setattr(os, name, recorder(name))
    seen = []
    atomic.atomic_write(tmp_path / "out", SECRET, overwrite=overwrite,
                        before_publish=lambda st: seen.append((st.st_size, (tmp_path / "out").exists())))  # fmt: skip
    names = [e for e in events if e in ("replace", "link", "rename")]
    assert names, events
    assert events.index("fsync-file") < events.index(names[0])  # data on disk before any name points at it
    if os.name != "nt":
        assert events[-1] == "fsync-dir" and events.index("fsync-dir") > events.index(names[-1])
    assert seen == [(len(SECRET), False)]  # the hook sees the final size, before dst exists


def test_an_error_in_the_body_leaves_nothing(tmp_path, strategy):
    with pytest.raises(RuntimeError):
        with atomic.atomic_output(tmp_path / "out") as out:
            out.write(SECRET)
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


CHILD = """
import sys, time
from pathlib import Path
from helpers import atomic
if sys.argv[2] == "named":
    atomic._open_unnamed = lambda folder: None  # force the fallback, as on macOS and Windows
with atomic.atomic_output(Path(sys.argv[1])) as out:
    out.write(%r * 4096)
    out.flush()
    print("ready", flush=True)
    time.sleep(600)
""" % SECRET


@pytest.mark.parametrize("path", ["unnamed", "named"])
def test_kill_9_mid_write_leaves_no_plaintext_on_linux_and_the_next_write_sweeps_it(tmp_path, path):
    dst = tmp_path / "key.pem"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(dst), path], cwd=ROOT,
                             stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    finally:
        child.kill()  # SIGKILL on POSIX: no handler, no finally, no clean-up runs
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
    left = list(tmp_path.iterdir())
    if path == "unnamed" and unnamed_here():
        assert left == []  # the data had no name: the kernel freed it with the process
        return
    [tmp] = left  # the fallback: a named temporary file, owned by a process that is gone
    assert SECRET in tmp.read_bytes() and f"-{child.pid}-" in tmp.name
    atomic.atomic_write(dst, b"next run")  # a later process's first write into the folder sweeps it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]


def test_sweep_never_removes_a_live_writers_or_another_machines_file(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live = tmp_path / f".out.{processes.host_tag()}-{sleeper.pid}-0123abcd.tmp"
        other_host = tmp_path / f".out.{'0' * 8 if processes.host_tag() != '0' * 8 else '1' * 8}-{sleeper.pid}-0123abcd.tmp"
        unrelated = tmp_path / f"out.{processes.host_tag()}-{sleeper.pid}-0123abcd.tmp"  # not hidden: not ours
        for path in (live, other_host, unrelated):
            path.write_bytes(b"x")
        assert atomic.sweep(tmp_path) == []
    finally:
        sleeper.kill()
        sleeper.wait()
    assert atomic.sweep(tmp_path) == [live]  # its process is gone now
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([other_host.name, unrelated.name])


def test_alive_tells_a_running_process_from_a_finished_one():
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    assert processes.alive(os.getpid()) and not processes.alive(finished.pid)
