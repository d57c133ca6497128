"""Decrypt at start-up: the seed's step 4, "the cloud server calls Decrypt when it needs the key".

    key_pem = startup.decrypt_key("/etc/app/key.pem.cipher", encryption_context={"app": "web"})
    ...hand key_pem to the TLS library, then...
    startup.wipe(key_pem)

    with startup.key_file("/etc/app/key.pem.cipher") as path:   # a server that insists on a path
        start_server(key_path=path)                               # 0600, on tmpfs, removed after

From a shell (`kms-workshop decrypt-key`, in `helpers.commands.decrypt_key`):

    kms-workshop decrypt-key key.pem.cipher | server --key-from-stdin
    KEY=$(kms-workshop decrypt-key key.pem.cipher --tmpfs) && trap 'rm -f "$KEY"' EXIT

The key stays in memory (a `bytearray`, which `wipe` zeroes; copies the SDK made as `str` cannot
be wiped in Python). When a path is unavoidable it goes to tmpfs (`/dev/shm`), so it is never on
a disk that outlives the machine or ends up in a backup, and it is removed as soon as possible.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import files
from .atomic import check_readable
from .client_default import or_default

_TMPFS_TYPES = ("tmpfs", "ramfs")


class _Memory:
    """A write-only sink that collects plaintext in one bytearray (wipeable), not in BytesIO."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: Any) -> int:
        self.data += chunk
        return len(chunk)


def wipe(buf: bytearray) -> None:
    """Overwrite a key held in a bytearray with zeros, in place."""
    buf[:] = bytes(len(buf))


def decrypt_key(
    src: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    kms: Any = None,
) -> bytearray:
    """Decrypt a ciphertext key file (direct or envelope) into memory and return the plaintext."""
    path = check_readable(src)
    sink = _Memory()
    with open(path, "rb") as fin:
        try:
            files.decrypt_stream(fin, sink, encryption_context=encryption_context, kms=or_default(kms))
        except BaseException:
            wipe(sink.data)  # chunks that verified before the failure
            raise
    return sink.data


def is_tmpfs(path: str | os.PathLike[str]) -> bool:
    """True if `path` lives on a RAM file system (by the longest matching mount point)."""
    target, best, kind = os.path.realpath(path), "", ""
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                point = fields[1].replace("\\040", " ")
                if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:  # not Linux: cannot tell, so say no
        return False
    return kind in _TMPFS_TYPES


def tmpfs_dir() -> Path:
    """Where to put a key file: /dev/shm, else $XDG_RUNTIME_DIR, if they are RAM file systems."""
    for candidate in ("/dev/shm", os.environ.get("XDG_RUNTIME_DIR", "")):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK) and is_tmpfs(candidate):
            return Path(candidate)
    raise FileNotFoundError(
        "No writable RAM file system here (/dev/shm or $XDG_RUNTIME_DIR; macOS and Windows have none "
        "by default): pipe the key to the server instead (decrypt-key without --tmpfs), or pass "
        "folder= (--folder) for a folder you trust, knowing the key then lands on that disk."
    )


def write_key_file(
    src: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    kms: Any = None,
    folder: str | os.PathLike[str] | None = None,
) -> Path:
    """Decrypt to a new 0600 file on tmpfs and return its path; `remove_key_file` it when loaded."""
    key = decrypt_key(src, encryption_context=encryption_context, kms=kms)
    # mkstemp: a fresh unguessable name, created 0600 from the start and never shared.
    fd, name = tempfile.mkstemp(prefix="kms-workshop-key-", suffix=".pem", dir=folder or tmpfs_dir())
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(key)
    except BaseException:
        os.unlink(name)
        raise
    finally:
        wipe(key)
    return Path(name)


def remove_key_file(path: str | os.PathLike[str]) -> None:
    """Overwrite the key file with zeros (RAM pages on tmpfs), then delete it."""
    with contextlib.suppress(FileNotFoundError):
        size = os.path.getsize(path)
        with open(path, "r+b") as out:
            out.write(bytes(size))
        os.unlink(path)


@contextlib.contextmanager
def key_file(
    src: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    kms: Any = None,
    folder: str | os.PathLike[str] | None = None,
) -> Iterator[Path]:
    """`write_key_file` for the duration of a `with` block; the file is removed however it ends."""
    path = write_key_file(src, encryption_context=encryption_context, kms=kms, folder=folder)
    try:
        yield path
    finally:
        remove_key_file(path)
