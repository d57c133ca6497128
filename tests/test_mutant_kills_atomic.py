"""Tests written for mutants of helpers/atomic.py that survived `make mutants` (tools/mutants.py).

One promise each, named after it. What the learner reads when a path is refused is part of the
promise, so refusals are matched on their message, not only their type: the OS raises the same
types with its own words when the kit's check is missing. Other platforms' branches are reached
by simulating them (as tests/test_os_fallbacks.py does): Windows' flags and rename, a file system
without hard links, a system without /proc. tools/mutants_equivalent.toml lists, under [killed],
the mutants each test was written for.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import atomic
from helpers.atomic import NotARegularFileError, OutputExistsError

SECRET = b"-----BEGIN PRIVATE KEY----- plaintext that must not outlive the writer"
#: where this process's open descriptors are listed (Linux; macOS has /dev/fd)
FD_DIR = next((d for d in ("/proc/self/fd", "/dev/fd") if os.path.isdir(d)), None)
needs_fd_listing = pytest.mark.skipif(FD_DIR is None, reason="no /proc/self/fd or /dev/fd to count descriptors in")
posix_modes = pytest.mark.skipif(os.name == "nt", reason="file modes do not apply on Windows")


def open_fds() -> set[str]:
    assert FD_DIR is not None
    return set(os.listdir(FD_DIR))  # the listing's own descriptor is in both counts


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(params=["unnamed", "named"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The OS's own path (O_TMPFILE on Linux) and the named fallback (macOS, Windows, old file systems)."""
    if request.param == "named":
        monkeypatch.setattr(atomic, "_open_unnamed", lambda folder: None)
    return request.param


def no_hard_links(*args: Any, **kwargs: Any) -> None:
    # what link() gives on FAT, exFAT and some network shares
    raise OSError(errno.EPERM, "Operation not permitted")


class WindowsOs:
    """The os module as helpers.atomic sees it on Windows: os.name "nt", none of the POSIX-only
    flags, and an os.rename that never replaces (FileExistsError, as the os.rename documentation
    says for Windows: https://docs.python.org/3/library/os.html#os.rename). The rest is this
    machine's os, so the files written are real."""

    name = "nt"
    _absent = frozenset({"O_TMPFILE", "O_NONBLOCK", "O_NOCTTY", "O_DIRECTORY"})

    def __getattr__(self, attr: str) -> Any:
        if attr in self._absent:
            raise AttributeError(attr)
        return getattr(os, attr)

    @staticmethod
    def rename(src: Path, dst: Path) -> None:
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "Cannot create a file when that file already exists", str(dst))
        os.rename(src, dst)


# --- check_readable: each refusal says what is wrong and what to do ------------------------------
def test_atomic_a_missing_input_is_named_with_the_folder_it_was_looked_for_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    expected = f"missing.pem does not exist; check the path (relative to {tmp_path})."
    with pytest.raises(FileNotFoundError, match=re.escape(expected)):
        atomic.check_readable("missing.pem")


def test_atomic_a_folder_given_as_input_is_refused_as_a_folder(tmp_path):
    with pytest.raises(IsADirectoryError, match=re.escape(f"{tmp_path} is a folder; give a file.")):
        atomic.check_readable(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_atomic_check_readable_refuses_a_fifo_or_device_before_anything_opens_it(tmp_path):
    """check_readable runs before any KMS call; opening a FIFO would block until a writer came."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFileError, match=r"pipe is not a regular file but a FIFO \(named pipe\); give a file"):
        atomic.check_readable(fifo)
    with pytest.raises(NotARegularFileError, match="/dev/null is not a regular file but a character device"):
        atomic.check_readable("/dev/null")


def test_atomic_an_unreadable_input_says_to_check_its_owner_and_mode(tmp_path, monkeypatch):
    src = tmp_path / "key.pem"
    src.write_bytes(SECRET)
    real_access = os.access
    # chmod 000 would not do: the tests may run as root, who can read anything
    monkeypatch.setattr(os, "access", lambda p, m, **kw: False if Path(p) == src else real_access(p, m, **kw))
    with pytest.raises(PermissionError, match=re.escape(f"Cannot read {src}: permission denied; check its owner and mode.")):
        atomic.check_readable(src)


# --- open_input: the file opened is judged, and handed over plain --------------------------------
@pytest.mark.parametrize("absent", ["O_NONBLOCK", "O_NOCTTY"])
def test_atomic_open_input_reads_where_a_posix_only_flag_is_missing(tmp_path, monkeypatch, absent):
    """Windows has neither flag; leaving it out must still open read-only (there, 1 is O_WRONLY)."""
    src = tmp_path / "key.pem"
    src.write_bytes(SECRET)
    monkeypatch.delattr(os, absent, raising=False)
    with atomic.open_input(src) as f:
        assert f.read() == SECRET


def swap_in_a_fifo_after_the_check(monkeypatch: pytest.MonkeyPatch, src: Path) -> None:
    """A FIFO takes `src`'s name between check_readable and the open (another user's race)."""
    real_check: Callable[[Path], Path] = atomic.check_readable

    def check_then_swap(path: Path) -> Path:
        checked = real_check(path)
        src.unlink()
        os.mkfifo(src)
        return checked

    monkeypatch.setattr(atomic, "check_readable", check_then_swap)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_atomic_a_fifo_swapped_in_after_the_check_is_refused_not_waited_on(tmp_path, monkeypatch):
    src = tmp_path / "key.pem"
    src.write_bytes(SECRET)
    swap_in_a_fifo_after_the_check(monkeypatch, src)
    with pytest.raises(NotARegularFileError, match=r"is not a regular file but a FIFO \(named pipe\)"):
        atomic.open_input(src)


@needs_fd_listing
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_atomic_refusing_a_swapped_in_fifo_leaves_no_descriptor_open(tmp_path, monkeypatch):
    src = tmp_path / "key.pem"
    src.write_bytes(SECRET)
    swap_in_a_fifo_after_the_check(monkeypatch, src)
    before = open_fds()
    with pytest.raises(NotARegularFileError):
        atomic.open_input(src)
    assert open_fds() == before


def test_atomic_open_input_hands_over_a_blocking_descriptor(tmp_path):
    """Opened O_NONBLOCK so a FIFO cannot hang the open; a regular file is then set back to plain."""
    src = tmp_path / "key.pem"
    src.write_bytes(SECRET)
    with atomic.open_input(src) as f:
        assert os.get_blocking(f.fileno())


@needs_fd_listing
def test_atomic_closing_an_opened_input_closes_its_descriptor(tmp_path):
    src = tmp_path / "key.pem"
    src.write_bytes(SECRET)
    before = open_fds()
    with atomic.open_input(src) as f:
        assert f.read() == SECRET
    assert open_fds() == before


# --- check_writable and atomic_write: refusals and results ---------------------------------------
@pytest.mark.parametrize("overwrite", [False, True])
def test_atomic_a_folder_given_as_output_is_refused_as_a_folder(tmp_path, overwrite):
    with pytest.raises(IsADirectoryError, match=re.escape(f"{tmp_path} is a folder; give a file name to write to.")):
        atomic.atomic_write(tmp_path, SECRET, overwrite=overwrite)


def test_atomic_an_output_in_a_missing_folder_says_to_create_the_folder(tmp_path):
    folder = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=re.escape(f"Folder {folder} does not exist; create it first.")):
        atomic.atomic_write(folder / "out", SECRET)
    assert not folder.exists()


def test_atomic_write_refuses_text_by_name_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="^data must be bytes, not str$"):
        atomic.atomic_write(tmp_path / "out", SECRET.decode())
    assert names(tmp_path) == []


def test_atomic_write_returns_the_path_it_wrote(tmp_path):
    written = atomic.atomic_write(str(tmp_path / "out"), SECRET)
    assert isinstance(written, Path) and written == tmp_path / "out" and written.read_bytes() == SECRET


# --- sweep --------------------------------------------------------------------------------------
def test_atomic_sweep_of_a_folder_that_cannot_be_listed_removed_nothing(tmp_path):
    assert atomic.sweep(tmp_path / "missing") == []


def test_atomic_the_sweep_runs_once_per_folder_per_process(tmp_path, monkeypatch):
    """A listing per write would make writing a 2000-file tree quadratic."""
    monkeypatch.setattr(atomic, "_swept", set())
    swept: list[Path] = []
    real_sweep = atomic.sweep
    monkeypatch.setattr(atomic, "sweep", lambda folder: swept.append(Path(folder)) or real_sweep(folder))
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for dst in (first / "1", first / "2", second / "1", first / "3"):
        atomic.atomic_write(dst, SECRET)
    assert swept == [first, second]


# --- descriptors and temporary files after success and failure ----------------------------------
@needs_fd_listing
@pytest.mark.parametrize("overwrite", [False, True])
def test_atomic_write_leaves_no_descriptor_open(tmp_path, strategy, overwrite):
    before = open_fds()
    atomic.atomic_write(tmp_path / "out", SECRET, overwrite=overwrite)
    assert open_fds() == before and (tmp_path / "out").read_bytes() == SECRET


@needs_fd_listing
def test_atomic_without_proc_the_unused_nameless_file_is_closed(tmp_path, monkeypatch):
    """Linking an O_TMPFILE file in needs /proc/self/fd (absent in some containers and chroots):
    without it the kit falls back to a named file, and the nameless one must not stay open."""
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: False if str(p).startswith("/proc/self/fd/") else real_exists(p))
    before = open_fds()
    atomic.atomic_write(tmp_path / "out", SECRET)
    assert open_fds() == before and (tmp_path / "out").read_bytes() == SECRET


def test_atomic_overwrite_onto_a_folder_that_appeared_fails_and_leaves_no_temporary_file(tmp_path, strategy):
    dst = tmp_path / "out"
    with pytest.raises(IsADirectoryError):
        with atomic.atomic_output(dst, overwrite=True) as out:
            out.write(SECRET)
            dst.mkdir()  # the replace cannot put a file over a folder
    assert names(tmp_path) == ["out"] and dst.is_dir() and names(dst) == []


def test_atomic_an_interrupt_just_after_the_replace_surfaces_as_itself(tmp_path, monkeypatch, strategy):
    """Ctrl-C may land after the rename took effect: the clean-up then finds no temporary file,
    and must not turn the KeyboardInterrupt into a FileNotFoundError."""
    real_replace = os.replace

    def replace_then_interrupt(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic.atomic_write(tmp_path / "out", SECRET, overwrite=True)
    assert names(tmp_path) == ["out"] and (tmp_path / "out").read_bytes() == SECRET


# --- a file system without hard links (FAT, exFAT, some shares): the rename fallback -----------
@pytest.fixture
def without_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic, "_open_unnamed", lambda folder: None)  # FAT has no O_TMPFILE either
    monkeypatch.setattr(os, "link", no_hard_links)


def test_atomic_without_hard_links_the_file_is_still_written_privately(tmp_path, without_hard_links):
    dst = atomic.atomic_write(tmp_path / "out", SECRET)
    assert names(tmp_path) == ["out"] and dst.read_bytes() == SECRET
    assert os.name == "nt" or stat.S_IMODE(dst.stat().st_mode) == 0o600


def assert_a_file_that_appeared_is_kept_and_refused(folder: Path) -> None:
    dst = folder / "out"
    with pytest.raises(OutputExistsError, match="appeared while writing; pass overwrite=True"):
        with atomic.atomic_output(dst) as out:
            out.write(SECRET)
            dst.write_bytes(b"the other writer's")
    assert names(folder) == ["out"] and dst.read_bytes() == b"the other writer's"


def test_atomic_without_hard_links_a_file_that_appeared_is_kept_and_refused(tmp_path, without_hard_links):
    assert_a_file_that_appeared_is_kept_and_refused(tmp_path)


def test_atomic_on_windows_without_hard_links_a_file_that_appeared_is_kept_and_refused(tmp_path, monkeypatch):
    """There the kit relies on os.rename refusing an existing name, and must say so the same way."""
    windows = WindowsOs()
    windows.link = no_hard_links  # FAT, exFAT, some shares
    monkeypatch.setattr(atomic, "os", windows)
    assert_a_file_that_appeared_is_kept_and_refused(tmp_path)


# --- protection: the words printed about a key file ----------------------------------------------
@posix_modes
@pytest.mark.parametrize("bit", [0o040, 0o020, 0o010, 0o004, 0o002, 0o001])
def test_atomic_protection_never_calls_a_file_with_a_group_or_other_bit_owner_only(tmp_path, bit):
    path = tmp_path / "key.pem"
    path.write_bytes(SECRET)
    path.chmod(0o600 | bit)
    assert atomic.protection(path) == f"mode {0o600 | bit:04o} (others can read it)"
