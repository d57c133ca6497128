"""Byte plumbing for streaming: fill buffers from files, pipes or generators, map large files,
and cut input into pieces. No cryptography and no KMS here; `envelope.py` seals what it yields."""

from __future__ import annotations

import contextlib
import io
import itertools
import mmap
import os
import stat
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol

from .errors import NonBlockingInputError as NonBlockingInputError  # re-exported (errors.py has them all)


class Reader(Protocol):
    """Anything with `read` (a file, a socket file, a pipe, a wrapper): streams need no more."""

    def read(self, size: int = ..., /) -> bytes | None: ...


class Writer(Protocol):
    """Anything with `write`."""

    def write(self, data: bytes | memoryview, /) -> object: ...


class Source:
    """`readinto`-style filling from a binary file, or from any iterable of bytes (a generator)."""

    def __init__(self, src: Reader | Iterable[bytes]) -> None:
        self._file = src if hasattr(src, "read") else None
        self._chunks = None if self._file is not None else iter(src)  # type: ignore[arg-type]
        self._pending = memoryview(b"")

    def fill(self, buf: memoryview) -> int:
        """Fill `buf` completely unless the source ends first; return the byte count."""
        n = 0
        while n < len(buf):
            if self._file is not None:
                got = self._file.readinto(buf[n:]) if hasattr(self._file, "readinto") else None
                if got is None:  # non-blocking raw file with nothing yet, or no readinto
                    data = self._file.read(len(buf) - n)
                    if data is None:
                        raise NonBlockingInputError("the input is non-blocking and had no data ready; pass a blocking stream")
                    got = len(data)
                    buf[n : n + got] = data
                if not got:
                    return n
                n += got
                continue
            if not self._pending:
                nxt = next(self._chunks, None)  # type: ignore[arg-type]
                if nxt is None:
                    return n
                self._pending = memoryview(nxt).cast("B")
            take = min(len(self._pending), len(buf) - n)
            buf[n : n + take] = self._pending[:take]
            self._pending = self._pending[take:]
            n += take
        return n


#: Regular files at least this large are read through mmap (see `_mapped`).
MMAP_MIN = 8 << 20


@contextlib.contextmanager
def mapped(src: object) -> Iterator[tuple[mmap.mmap, int] | None]:
    """The rest of a large regular file mapped read-only, with the offset it starts at; else None.

    AES-GCM then reads the page cache directly: `readinto` costs one more copy of every byte,
    which on a machine with AES instructions takes about as long as the encryption itself.
    The trade-off: if another process truncates the file while it is being read, the kernel
    stops this process (SIGBUS) instead of raising an error; no output file appears either way.
    """
    try:
        fd, pos = src.fileno(), src.tell()  # type: ignore[attr-defined]
        info = os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        yield None
        return
    if not stat.S_ISREG(info.st_mode) or info.st_size - pos < MMAP_MIN:
        yield None
        return
    mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    mapped.madvise(mmap.MADV_SEQUENTIAL)
    try:
        yield mapped, pos
        src.seek(info.st_size)  # type: ignore[attr-defined]
    finally:
        try:
            mapped.close()
        except BufferError:  # a piece is still referenced (by a traceback): unmapped when collected
            pass


def pieces(src: Reader | Iterable[bytes] | tuple[mmap.mmap, int], size: int) -> Iterator[memoryview]:
    """Successive `size`-byte pieces of the input (the last may be shorter; none if it is empty).

    The caller holds at most two pieces (this one and the one looked ahead to) at a time. A
    mapped file is sliced without copying, and the pages of pieces already used are dropped
    from this process (MADV_DONTNEED: they stay in the page cache) so that memory stays
    constant. Other inputs alternate between two buffers.
    """
    if isinstance(src, tuple):
        mapped, start = src
        view, done = memoryview(mapped), 0
        try:
            for offset in range(start, len(mapped), size):
                drop = (offset - size) // mmap.PAGESIZE * mmap.PAGESIZE  # before the piece held
                if drop > done:
                    mapped.madvise(mmap.MADV_DONTNEED, done, drop - done)
                    done = drop
                yield view[offset : offset + size]
        finally:
            view.release()
        return
    source = Source(src)
    buffers = (memoryview(bytearray(size)), memoryview(bytearray(size)))
    for i in itertools.count():
        n = source.fill(buffers[i % 2])
        if n:
            yield buffers[i % 2][:n]
        if n < size:
            return


def read_exact(src: Reader, n: int) -> bytes:
    buf = bytearray(n)
    got = Source(src).fill(memoryview(buf))
    return bytes(buf[:got])


class Prefixed(io.RawIOBase):
    """Bytes already read (to sniff the format), then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self._head:
            n = min(len(buf), len(self._head))
            buf[:n], self._head = self._head[:n], self._head[n:]
            return n
        data = self._rest.read(len(buf))
        buf[: len(data)] = data
        return len(data)
