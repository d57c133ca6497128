"""One directory run per output tree at a time: a lock file in the tree, locked by the OS.

The lock is the OS's (flock on POSIX, msvcrt.locking on Windows), not the file's existence, so a
run killed with -9 never leaves a lock that blocks the next one: the OS drops it with the process.
The file holds the holder's pid and host for messages; it is emptied on a clean exit, so text
found in it by the next holder means that run died, and that is said. On network file systems
the guarantee is the server's locking (NFS emulates flock with byte-range locks).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import TreeBusyError

LOCK_NAME = ".kms-workshop-lock"
_WINDOWS_LOCK_AT = 1 << 20  # lock a byte past the text, so that others can still read who holds it


@contextlib.contextmanager
def tree_lock(folder: Path, verb: str) -> Iterator[None]:
    """Hold `folder`'s lock for the block; raise TreeBusyError (exit 4) if another run has it."""
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        if not _try_lock(fd):
            raise TreeBusyError(f"{folder} is in use by another {verb} run ({_read(fd) or 'pid unknown'}); "
                                "wait for it to finish, or write to another folder.")  # fmt: skip
        left = _read(fd)
        if left:
            print(f"kms-workshop {verb}: taking over the lock of {folder}: the run that held it ({left}) "
                  "is gone", file=sys.stderr)  # fmt: skip
        _write(fd, f"pid {os.getpid()} on {socket.gethostname()}")
        try:
            yield
        finally:
            _write(fd, "")  # empty: released cleanly
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_AT, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:  # flock, not lockf: two runs inside one process must exclude each other too
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip() if hasattr(os, "pread") else _seek_read(fd)
    except OSError:
        return ""


def _seek_read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 200).decode("utf-8", "replace").strip()


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text.encode("utf-8"))
