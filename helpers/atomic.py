"""Write files so that a reader sees either nothing or the whole result.

The seed scripts wrote plaintext keys with `open(path, "w")`: default permissions, half a file on a
crash, and silent overwrite. Here every output goes to a private temporary file in the destination
folder, is fsync'ed, then renamed into place, so a failure at any point leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import OutputExistsError as OutputExistsError  # re-exported (errors.py has them all)

PRIVATE = 0o600


def check_readable(src: str | os.PathLike[str]) -> Path:
    """Fail early, before any KMS call, if `src` is not a readable file; say what to do."""
    path = Path(src)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; check the path (relative to {Path.cwd()}).")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file.")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"Cannot read {path}: permission denied; check its owner and mode.")
    return path


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
    dst: str | os.PathLike[str], *, mode: int = PRIVATE, overwrite: bool = False
) -> Iterator[BinaryIO]:
    """Yield a binary file; on clean exit it replaces `dst` atomically with permissions `mode`.

    On any exception the temporary file is removed and `dst` is untouched.
    """
    path = check_writable(dst, overwrite=overwrite)
    # mkstemp creates the file 0600 from the start, so plaintext is never readable by others,
    # not even for the moment before chmod.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if dst appeared meanwhile, so a concurrent writer is never clobbered.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError(path, appeared=True) from None
            tmp.unlink()
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(
    dst: str | os.PathLike[str], data: bytes, *, mode: int = PRIVATE, overwrite: bool = False
) -> Path:
    """Write `data` to `dst` atomically (see `atomic_output`) and return the path."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    with atomic_output(dst, mode=mode, overwrite=overwrite) as out:
        out.write(data)
    return Path(dst)


def _fsync_dir(folder: Path) -> None:
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
