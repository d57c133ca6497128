"""Write files so that a reader sees either nothing or the whole result.

The seed scripts wrote plaintext keys with `open(path, "w")`: default permissions, half a file on a
crash, and silent overwrite. Here every output goes to a private (0600) temporary file in the
destination folder, is fsync'ed, then put in place in one step, so a failure leaves no partial file.

What a `kill -9` (or a power cut) can leave behind depends on the OS:
- Linux: the temporary file has no name (O_TMPFILE) and is linked in only when complete, so it
  cannot outlive the process. With `overwrite=True` it gets a name for the instant between link
  and rename; what a kill there leaves is complete and 0600, and is swept as below.
- macOS, Windows, or a Linux file system without O_TMPFILE: a named `.NAME.HOST-PID-RANDOM.tmp`,
  0600 where modes apply. The first write into that folder by a later process removes such
  leftovers once their process is gone on this machine (`sweep`); a live writer's, or another
  machine's, stay.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import NotARegularFileError as NotARegularFileError  # re-exported (errors.py has them all)
from .errors import OutputExistsError as OutputExistsError
from .processes import alive, host_tag

PRIVATE = 0o600
#: Called with the finished temporary file's stat just before it is put in place (resume records).
BeforePublish = Callable[[os.stat_result], None]
_TEMP = re.compile(r"\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")  # after ".NAME"
_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket"}  # fmt: skip


def check_readable(src: str | os.PathLike[str]) -> Path:
    """Fail early, before any KMS call, if `src` is not a readable regular file; say what to do.

    Devices and FIFOs are refused (`NotARegularFileError`): /dev/zero never ends, and a FIFO blocks
    until a writer comes."""
    path = Path(src)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; check the path (relative to {Path.cwd()}).")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file.")
    _check_regular(path, path.stat())
    if not os.access(path, os.R_OK):
        raise PermissionError(f"Cannot read {path}: permission denied; check its owner and mode.")
    return path


def open_input(src: str | os.PathLike[str]) -> io.FileIO:
    """Open a checked input (see `check_readable`) unbuffered, judging the file opened, not the
    name: a FIFO swapped in after the check is refused, not waited on (O_NONBLOCK where it exists,
    so that even opening one returns at once)."""
    path = check_readable(src)
    nonblock = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | nonblock | getattr(os, "O_NOCTTY", 0))
    try:
        _check_regular(path, os.fstat(fd))
        if nonblock:
            os.set_blocking(fd, True)  # a regular file: reads never wait anyway, but keep it plain
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def _check_regular(path: Path, info: os.stat_result) -> None:
    kind = stat.S_IFMT(info.st_mode)
    if kind != stat.S_IFREG:
        raise NotARegularFileError(f"{path} is not a regular file but {_KINDS.get(kind, 'a special file')}; "
                                   "give a file (on the command line, - reads stdin: `... - OUT < SOURCE`).")  # fmt: skip


def check_writable(dst: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Fail early, before any KMS call, if `dst` cannot be written as asked."""
    path = Path(dst)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name to write to.")
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Folder {path.parent} does not exist; create it first.")
    return path


@contextlib.contextmanager
def atomic_output(
    dst: str | os.PathLike[str], *, mode: int = PRIVATE, overwrite: bool = False,
    before_publish: BeforePublish | None = None,
) -> Iterator[BinaryIO]:  # fmt: skip
    """Yield a binary file; on clean exit it becomes `dst` atomically, with permissions `mode`.

    On any exception `dst` is untouched and the temporary file is gone. Without `overwrite`, a
    `dst` that appeared during the write is kept and `OutputExistsError` raised.
    """
    path = check_writable(dst, overwrite=overwrite)
    _sweep_once(path.parent)
    fd = _open_unnamed(path.parent)
    with (_unnamed(fd, path, mode, overwrite, before_publish) if fd is not None
          else _named(path, mode, overwrite, before_publish)) as out:  # fmt: skip
        yield out
    _fsync_dir(path.parent)  # the new name itself survives a power cut only once its folder is synced


def atomic_write(
    dst: str | os.PathLike[str], data: bytes, *, mode: int = PRIVATE, overwrite: bool = False,
    before_publish: BeforePublish | None = None,
) -> Path:  # fmt: skip
    """Write `data` to `dst` atomically (see `atomic_output`) and return the path."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    with atomic_output(dst, mode=mode, overwrite=overwrite, before_publish=before_publish) as out:
        out.write(data)
    return Path(dst)


def sweep(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that dead processes on this machine left in `folder`; return them."""
    removed = list[Path]()
    try:
        entries = os.scandir(folder)
    except OSError:
        return removed
    with entries:
        for entry in entries:
            found = _TEMP.search(entry.name) if entry.name.startswith(".") else None
            if found is None or found["host"] != host_tag() or alive(int(found["pid"])):
                continue
            with contextlib.suppress(FileNotFoundError):  # another run swept it first
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _sweep_once(folder: Path) -> None:
    # Once per folder per process: a listing per write would make a 2000-file tree quadratic.
    key = os.path.abspath(folder)
    with _swept_lock:
        if key in _swept:
            return
        _swept.add(key)
    sweep(folder)


_swept: set[str] = set()
_swept_lock = threading.Lock()


def temp_name(dst: Path) -> Path:
    """A fresh name for `dst`'s temporary file that says whose it is (see `sweep`)."""
    return dst.with_name(f".{dst.name}.{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _open_unnamed(folder: Path) -> int | None:
    """An O_TMPFILE descriptor in `folder` (Linux), or None where the OS or file system has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        fd = os.open(folder, flag | os.O_WRONLY, PRIVATE)
    except OSError:  # EOPNOTSUPP / EISDIR / EINVAL: this file system cannot
        return None
    if not os.path.exists(f"/proc/self/fd/{fd}"):  # linking it in later needs /proc
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def _unnamed(fd: int, path: Path, mode: int, overwrite: bool, before_publish: BeforePublish | None) -> Iterator[BinaryIO]:
    with os.fdopen(fd, "wb") as out:  # on any error, closing it frees the data: it never had a name
        yield out
        _sync(out)
        os.fchmod(fd, mode)
        if before_publish is not None:
            before_publish(os.fstat(fd))
        if not overwrite:
            try:
                _link_fd(fd, path)
            except FileExistsError:
                raise OutputExistsError(path, appeared=True) from None
            return
        tmp = temp_name(path)  # link() cannot replace, so: a name for an instant, then rename
        _link_fd(fd, tmp)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def _named(path: Path, mode: int, overwrite: bool, before_publish: BeforePublish | None) -> Iterator[BinaryIO]:
    tmp = temp_name(path)
    # Created 0600 from the start, so plaintext is never readable by others, not even before chmod.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            _sync(out)
        os.chmod(tmp, mode)  # closed first: Windows cannot rename an open file
        if before_publish is not None:
            before_publish(os.stat(tmp))
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            _link_new(tmp, path)
        except OutputExistsError:
            raise
        except OSError:  # no hard links here (FAT, exFAT, some network shares)
            _rename_new(tmp, path)
            return
        tmp.unlink()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _link_fd(fd: int, path: Path) -> None:
    """Give the open, nameless file `fd` the name `path`; FileExistsError if that name is taken.

    linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N does it. CPython calls plain link() (which
    does not follow the /proc link, and fails with EXDEV) unless a dir_fd is given, hence one."""
    folder = os.open(path.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(f"/proc/self/fd/{fd}", path.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _link_new(source: Path, path: Path) -> None:
    # link() fails if dst appeared meanwhile, so a concurrent writer is never clobbered.
    try:
        os.link(source, path)
    except FileExistsError:
        raise OutputExistsError(path, appeared=True) from None


def _rename_new(tmp: Path, path: Path) -> None:
    """Without hard links: Windows' rename never replaces (still atomic); elsewhere a writer that
    appears between the check and the rename would be replaced (the only such window)."""
    if os.name != "nt" and os.path.lexists(path):
        raise OutputExistsError(path, appeared=True)
    try:
        os.rename(tmp, path)
    except FileExistsError:
        raise OutputExistsError(path, appeared=True) from None


def _sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())  # the data is on disk before any name points at it


def _fsync_dir(folder: Path) -> None:
    if os.name == "nt":  # folders cannot be opened as files there; NTFS journals the rename itself
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def protection(path: str | os.PathLike[str]) -> str:
    """Who can read `path`, in words that are true on this OS: the POSIX mode where modes apply;
    on Windows they do not, and access follows the folder's permissions (ACL) instead."""
    if os.name == "nt":
        return "Windows: file modes do not apply here; access follows the folder's permissions (ACL)"
    mode = os.stat(path).st_mode & 0o777
    return f"mode {mode:04o} ({'owner only' if not mode & 0o077 else 'others can read it'})"
