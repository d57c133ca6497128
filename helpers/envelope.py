"""Envelope encryption for data above KMS Encrypt's 6 KB: GenerateDataKey + streaming AES-256-GCM.

    from helpers import envelope
    envelope.encrypt_file("big.tar", "big.tar.cipher", "alias/kms-workshop-demo", kms=kms)
    envelope.decrypt_file("big.tar.cipher", "big.tar", kms=kms)

KMS makes one data key per file and returns it twice: in the clear (used here, in memory only) and
encrypted under the master key (stored in the file's header). The data is cut into chunks, each
sealed with AES-256-GCM under a nonce that carries the chunk's index and a "this is the last chunk"
flag (the STREAM construction), with the SHA-256 of the header as associated data. So a reader
detects a flipped bit anywhere, a missing end, chunks moved around, bytes appended, and a header
taken from another file. The byte layout is in docs/envelope.md.

Memory stays constant (two chunks in, one out) whatever the file size. Decrypting to a file writes
to a temporary file that is renamed only after the last chunk has verified; decrypting to a stream
emits each chunk once *that chunk* has verified, so on an error the stream has received an
authentic but incomplete prefix and the caller must discard it (the CLI exits non-zero).
"""

from __future__ import annotations

import hashlib
import mmap
import os
import re
import secrets
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .atomic import BeforePublish, atomic_output, check_writable, open_input
from .client_default import or_default
from .encoding import encode_context
from .streams import MMAP_MIN as MMAP_MIN, Reader, Source as Source, Writer, mapped, pieces, read_exact
from .errors import (  # re-exported: the classes live with the others in errors.py
    ContextMismatchError as ContextMismatchError,
    EnvelopeError as EnvelopeError,
    IntegrityError as IntegrityError,
    NotAnEnvelopeError as NotAnEnvelopeError,
    UnsupportedVersionError as UnsupportedVersionError,
)

MAGIC = b"\x89KWE\r\n\x1a\n"  # PNG-style: 0x89 can never start Base64, so direct blobs never match
VERSION = 1
DEFAULT_CHUNK_SIZE = 1 << 20  # 1 MiB: large enough that per-chunk overhead vanishes, small for RAM
MAX_CHUNK_SIZE = 1 << 24  # a reader allocates 2 chunks; a hostile header must not make that huge
TAG_SIZE = 16
CIPHERTEXT_MODE = 0o644  # ciphertext is safe to share; it is useless without KMS access
_FIXED = struct.Struct(">8sBI7s32sH")  # magic, version, chunk size, nonce prefix, ctx digest, blob len
_MAX_CHUNKS = 1 << 32  # the index is 4 bytes of the nonce
_BASE64 = re.compile(rb"^[A-Za-z0-9+/]+={0,2}$")


class DataKeyProvider(Protocol):
    """What envelope needs from KMS; `helpers.Kms` fits, and tests can pass a local fake."""

    def generate_data_key(self, key_id: str, key_spec: str | None = ..., number_of_bytes: int | None = ...,
                          encryption_context: Mapping[str, str] | None = ...) -> Any: ...  # fmt: skip

    def decrypt(self, ciphertext_blob: str, encryption_context: Mapping[str, str] | None = ...,
                *, binary: bool = ...) -> Any: ...  # fmt: skip


@dataclass(frozen=True)
class Header:
    """The parsed header; `raw` is its exact bytes, whose SHA-256 authenticates every chunk."""

    version: int
    chunk_size: int
    nonce_prefix: bytes
    context_digest: bytes
    data_key_blob: str
    raw: bytes

    @property
    def size(self) -> int:
        return len(self.raw)


def context_digest(context: Mapping[str, str] | None) -> bytes:
    """SHA-256 of the context as canonical JSON (sorted keys, no spaces, UTF-8); None == {}."""
    text = encode_context(context or {})
    assert text is not None  # a dict always encodes
    return hashlib.sha256(text.encode("utf-8")).digest()


def is_envelope(prefix: bytes) -> bool:
    """True if these first bytes of a file are the envelope magic."""
    return prefix[: len(MAGIC)] == MAGIC


def build_header(chunk_size: int, nonce_prefix: bytes, digest: bytes, blob: str) -> Header:
    raw_blob = blob.encode("ascii")
    if not 0 < len(raw_blob) < 1 << 16:
        raise ValueError(f"data-key blob of {len(raw_blob)} bytes does not fit the header")
    raw = _FIXED.pack(MAGIC, VERSION, chunk_size, nonce_prefix, digest, len(raw_blob)) + raw_blob
    return Header(VERSION, chunk_size, nonce_prefix, digest, blob, raw)


def read_header(src: Reader) -> Header:
    """Read and check the header from the start of `src`, leaving `src` at the first chunk."""
    fixed = read_exact(src, _FIXED.size)
    if not is_envelope(fixed):
        raise NotAnEnvelopeError("not an envelope file: the magic bytes are missing")
    if len(fixed) < _FIXED.size:
        raise IntegrityError("the header is truncated")
    _, version, chunk_size, nonce_prefix, digest, blob_len = _FIXED.unpack(fixed)
    if version != VERSION:
        raise UnsupportedVersionError(f"envelope version {version}; this reader knows version {VERSION}")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise IntegrityError(f"the header is corrupt: chunk size {chunk_size} out of range")
    raw_blob = read_exact(src, blob_len)
    if len(raw_blob) < blob_len or len(raw_blob) % 4 or not _BASE64.match(raw_blob):
        raise IntegrityError("the header is corrupt: the data-key blob is truncated or not Base64")
    return Header(version, chunk_size, nonce_prefix, digest, raw_blob.decode("ascii"), fixed + raw_blob)


def _nonce(header: Header, index: int, final: bool) -> bytes:
    # STREAM nonce: 7 random bytes || 4-byte big-endian chunk index || 1-byte last-chunk flag.
    return header.nonce_prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _aead(key_bytes: bytes) -> AESGCM:
    # Copy into a bytearray we can wipe: AESGCM keeps its own copy inside OpenSSL. The `bytes`
    # the SDK gave us cannot be wiped in Python; callers drop their reference at once.
    key = bytearray(key_bytes)
    try:
        if len(key) != 32:
            raise EnvelopeError(f"KMS returned a {len(key)}-byte data key; AES-256 needs 32")
        return AESGCM(key)
    finally:
        key[:] = bytes(len(key))


def encrypt_stream(
    src: Reader | Iterable[bytes],
    dst: Writer,
    key_id: str,
    *,
    encryption_context: Mapping[str, str] | None = None,
    kms: DataKeyProvider | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Header:
    """Encrypt everything `src` yields into `dst` (anything with `write`); returns the header."""
    if not isinstance(chunk_size, int) or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be 1..{MAX_CHUNK_SIZE} bytes, not {chunk_size!r}")
    context = dict(encryption_context) if encryption_context else None  # {} and None mean the same
    data_key = or_default(kms).generate_data_key(key_id, key_spec="AES_256", encryption_context=context)
    aead = _aead(data_key.plaintext)
    header = build_header(chunk_size, secrets.token_bytes(7), context_digest(context), data_key.ciphertext_blob)
    del data_key
    aad = hashlib.sha256(header.raw).digest()
    dst.write(header.raw)
    with mapped(src) as view:
        _seal_chunks(src if view is None else view, dst, aead, header, aad)
    return header


def _seal_chunks(src: Reader | Iterable[bytes] | tuple[mmap.mmap, int], dst: Writer, aead: AESGCM,
                 header: Header, aad: bytes) -> None:  # fmt: skip
    size = header.chunk_size
    out = memoryview(bytearray(size + TAG_SIZE))
    chunks = pieces(src, size)
    cur = next(chunks, memoryview(b""))
    for index in range(_MAX_CHUNKS):
        # Look one chunk ahead: a full chunk is the last one only if nothing follows it.
        nxt = next(chunks, None) if len(cur) == size else None
        n = len(cur)
        aead.encrypt_into(_nonce(header, index, nxt is None), cur, aad, out[: n + TAG_SIZE])
        dst.write(out[: n + TAG_SIZE])
        if nxt is None:
            return
        cur = nxt
    raise ValueError(f"input too large: more than {_MAX_CHUNKS} chunks of {size} bytes")


def decrypt_stream(
    src: Reader,
    dst: Writer,
    *,
    encryption_context: Mapping[str, str] | None = None,
    kms: DataKeyProvider | None = None,
) -> Header:
    """Decrypt an envelope from `src` into `dst`, writing each chunk only after it verified.

    Raises `EnvelopeError` subclasses for bad data (before or during output: see the module
    docstring) and `KmsError` if KMS refuses the data key (wrong account, tampered blob).
    """
    header = read_header(src)
    context = dict(encryption_context) if encryption_context else None
    if context_digest(context) != header.context_digest:
        raise ContextMismatchError(
            "the EncryptionContext differs from the one used to encrypt (or the header was "
            "altered): pass exactly the same key/value pairs"
        )
    aead = _aead(or_default(kms).decrypt(header.data_key_blob, context, binary=True).plaintext)
    aad = hashlib.sha256(header.raw).digest()
    with mapped(src) as view:
        _open_chunks(src if view is None else view, dst, aead, header, aad)
    return header


def _open_chunks(src: Reader | tuple[mmap.mmap, int], dst: Writer, aead: AESGCM, header: Header,
                 aad: bytes) -> None:
    size = header.chunk_size + TAG_SIZE
    out = memoryview(bytearray(header.chunk_size))
    chunks = pieces(src, size)
    sealed = next(chunks, memoryview(b""))
    for index in range(_MAX_CHUNKS):
        n = len(sealed)
        if n < TAG_SIZE:
            raise IntegrityError(f"the file is truncated: chunk {index} is incomplete")
        nxt = next(chunks, None) if n == size else None
        final = nxt is None
        try:
            aead.decrypt_into(_nonce(header, index, final), sealed, aad, out[: n - TAG_SIZE])
        except InvalidTag:
            raise IntegrityError(_diagnose(aead, header, aad, index, final, sealed)) from None
        dst.write(out[: n - TAG_SIZE])
        if nxt is None:
            return
        sealed = nxt
    raise IntegrityError(f"more than {_MAX_CHUNKS} chunks: the file was extended")


def _diagnose(aead: AESGCM, header: Header, aad: bytes, index: int, final: bool, sealed: memoryview) -> str:
    """Say *what* went wrong: cheap, since it runs once, on failure only."""
    try:
        aead.decrypt(_nonce(header, index, not final), bytes(sealed), aad)
    except InvalidTag:
        where = "the header or chunk 0" if index == 0 else f"chunk {index}"
        return (f"{where} failed authentication: the file was altered, cut, extended or its chunks "
                "reordered, or its data-key blob was swapped with another file's")  # fmt: skip
    if final:
        return f"the file is truncated: chunk {index} is not the last one, yet nothing follows it"
    return f"data was appended after the last chunk (chunk {index})"


def encrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    key_id: str,
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: DataKeyProvider | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    before_publish: BeforePublish | None = None,
) -> Path:
    """Envelope-encrypt a file of any size; `dst` appears atomically, only when complete.
    `before_publish` sees the finished output's stat just before it is put in place."""
    with open_input(src) as fin:
        check_writable(dst, overwrite=overwrite)  # before the KMS call
        with atomic_output(dst, mode=CIPHERTEXT_MODE, overwrite=overwrite, before_publish=before_publish) as out:
            encrypt_stream(fin, out, key_id, encryption_context=encryption_context, kms=kms, chunk_size=chunk_size)
    return Path(dst)


# Envelope files only; `files.decrypt_file` (same signature, on purpose) recognises either format.
def decrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: DataKeyProvider | None = None,
    before_publish: BeforePublish | None = None,
) -> Path:
    """Decrypt an envelope file into `dst` (0600); `dst` appears only after every chunk verified."""
    with open_input(src) as fin:
        check_writable(dst, overwrite=overwrite)
        with atomic_output(dst, overwrite=overwrite, before_publish=before_publish) as out:
            decrypt_stream(fin, out, encryption_context=encryption_context, kms=kms)
    return Path(dst)
