"""Opening the emulator's own files safely, even in a folder other users can write (such as /tmp).

The rules, for the SQLite state file, its ``-wal``/``-shm`` companions and the AccessKey file:

- never follow a symbolic link (``O_NOFOLLOW``): a planted link would aim our writes, or a chmod,
  at a file of the attacker's choosing, or create the database where the link points;
- create a new file exclusively (``O_EXCL``, mode 0600), so a file someone planted first is noticed
  instead of adopted;
- judge the open descriptor (``fstat``), not the name: a regular file, owned by us, with one link;
- set the mode on the descriptor (``fchmod``), never by name;
- make missing folders one at a time, each 0700 whatever the umask.

Anything that breaks a rule raises ``StateFileError``, whose message says what is wrong and what
to do; the CLI prints it as one line and ``helpers.connect()`` turns it into a ``ConfigError``.
On Windows there is no ``O_NOFOLLOW``, no euid and no POSIX mode: the checks that need them are
skipped there (the profile folder is private per user by default).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class StateFileError(Exception):
    """A state (or AccessKey) file the emulator will not use; the message says what to do."""


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# O_NONBLOCK: opening a planted FIFO must fail the type check, not hang waiting for a writer.
_BASE_FLAGS = _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def make_private_folder(folder: Path) -> None:
    """Create the missing components of ``folder`` 0700 each (umask or not), then check ``folder``."""
    missing: list[Path] = []
    for part in [folder, *folder.parents]:
        if os.path.lexists(part):
            break
        missing.append(part)
    for part in reversed(missing):
        try:
            os.mkdir(part, PRIVATE_FOLDER)  # the umask may take bits off: fixed on the descriptor below
        except FileExistsError:
            continue  # another kernel made it first; checked below like any existing folder
        except OSError as exc:
            raise StateFileError(
                f"Cannot create the folder {part}: {exc.strerror}. Create it yourself, or choose another state file."
            ) from exc
        _fchmod_folder(part)
    check_folder(folder)


def _fchmod_folder(folder: Path) -> None:
    if not hasattr(os, "fchmod") or not hasattr(os, "O_DIRECTORY"):
        return  # Windows: no POSIX modes
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        os.fchmod(fd, PRIVATE_FOLDER)
    finally:
        os.close(fd)


def check_folder(folder: Path) -> None:
    """The folder that holds the files: a directory nobody else can swap files in."""
    try:
        info = os.stat(folder)
    except OSError as exc:
        raise StateFileError(f"Cannot use the folder {folder}: {exc.strerror}. Choose another state file.") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise StateFileError(f"{folder} is not a folder. Choose a state file inside a folder, e.g. ~/.kms-workshop/.")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        raise StateFileError(f"{folder} is writable by others; choose a private folder for the state file.")
    euid = _euid()
    # Root-owned folders (/, /tmp) are fine: root could read anything anyway.
    if euid is not None and info.st_uid not in (euid, 0):
        raise StateFileError(
            f"{folder} belongs to another user (uid {info.st_uid}), who could swap the files in it; "
            "choose a folder of your own for the state file."
        )


def create_new(path: Path, what: str) -> int | None:
    """A new, empty 0600 file opened read-write, or None if something already has that name."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _BASE_FLAGS, PRIVATE_FILE)
    except FileExistsError:
        return None  # a file, or a link: open_existing judges it
    except OSError as exc:
        raise _open_error(path, what, exc) from exc
    try:
        _check_descriptor(fd, path, what)  # the umask may have taken bits off 0600: fchmod puts them back
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_existing(path: Path, what: str, *, write: bool) -> int:
    """An existing file, if it is ours: regular, one link, not a link; made 0600 on the descriptor."""
    try:
        fd = os.open(path, (os.O_RDWR if write else os.O_RDONLY) | _BASE_FLAGS)
    except OSError as exc:
        raise _open_error(path, what, exc) from exc
    try:
        _check_descriptor(fd, path, what)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(path: Path, what: str) -> tuple[int, bool]:
    """(descriptor, created): a new 0600 file, else the existing one if it passes the checks."""
    fd = create_new(path, what)
    if fd is not None:
        return fd, True
    return open_existing(path, what, write=True), False


def _check_descriptor(fd: int, path: Path, what: str) -> None:
    info = os.fstat(fd)
    _judge(info, path, what)
    if hasattr(os, "fchmod") and stat.S_IMODE(info.st_mode) != PRIVATE_FILE:
        os.fchmod(fd, PRIVATE_FILE)  # an older file may have been made with a looser umask


def check_name(path: Path, what: str) -> None:
    """After another program (SQLite) opened ``path`` by name: the same checks, on lstat, plus 0600."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    _judge(info, path, what)
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & 0o077:
        raise StateFileError(f"{path} ({what}) is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
                             f"run chmod 600 {path} and start again.")  # fmt: skip


def _judge(info: os.stat_result, path: Path, what: str) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise _link_error(path, what)
    if stat.S_ISDIR(info.st_mode):
        raise StateFileError(f"{path} is a folder, not a file; give a file path for the {what}, "
                             f"such as {path / 'emulator.sqlite'}.")  # fmt: skip
    if not stat.S_ISREG(info.st_mode):
        raise StateFileError(f"{path} is not a regular file (a FIFO, socket or device); "
                             f"remove it, or choose another path for the {what}.")  # fmt: skip
    euid = _euid()
    if euid is not None and info.st_uid != euid:
        raise StateFileError(
            f"{path} belongs to another user (uid {info.st_uid}), who could read or change it; remove it, "
            f"or choose a {what} of your own (e.g. under ~/.kms-workshop/)."
        )
    if info.st_nlink != 1:
        raise StateFileError(
            f"{path} has {info.st_nlink} hard links, so another name can read or change it; copy it to a new "
            f"file (cp {path} NEW) and use that, or remove it."
        )


def _link_error(path: Path, what: str) -> StateFileError:
    return StateFileError(f"{path} is a symbolic link; the emulator does not follow links for its {what}. "
                          "Remove the link, or choose a path that is not one.")  # fmt: skip


def _open_error(path: Path, what: str, exc: OSError) -> StateFileError:
    if os.path.islink(path):
        return _link_error(path, what)
    if exc.errno == errno.EISDIR or os.path.isdir(path):
        return StateFileError(f"{path} is a folder, not a file; give a file path for the {what}, "
                              f"such as {path / 'emulator.sqlite'}.")  # fmt: skip
    if exc.errno in (errno.EACCES, errno.EPERM):
        return StateFileError(f"Cannot open {path} ({what}) for reading and writing: permission denied. "
                              f"If it is yours, make it writable (chmod 600 {path}); else choose another file.")  # fmt: skip
    if exc.errno == errno.EROFS:
        return StateFileError(f"{path} is on a read-only file system; choose a {what} on a writable disk.")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return StateFileError(f"No space left on the disk that holds {path}; free some space, or choose another place.")
    return StateFileError(f"Cannot open {path} ({what}): {exc.strerror}. Choose another file.")
