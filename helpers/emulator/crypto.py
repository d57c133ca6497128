"""Ciphertext-blob format and AES-256-GCM sealing (see docs/emulator.md).

Blob = Base64( version id (36 ASCII chars) || IV (12 bytes) || AES-256-GCM ciphertext + 16-byte tag ).
This is the layout of Alibaba's instance-migration layer; the shared service's real format is
not published, so blobs from this emulator are not interchangeable with real ones.
All cryptography comes from the ``cryptography`` package; nothing here is hand-rolled.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .entropy import OS, Entropy

VERSION_ID_LENGTH = 36
IV_LENGTH = 12
TAG_LENGTH = 16
MIN_BLOB_LENGTH = VERSION_ID_LENGTH + IV_LENGTH + TAG_LENGTH
_VERSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class BlobError(ValueError):
    """The blob is malformed or fails authentication (wrong key, context or a flipped bit)."""


def new_key_material(entropy: Entropy = OS) -> bytes:
    """32 random bytes (the OS CSPRNG unless the emulator is seeded): one AES-256 key per version."""
    return entropy.bytes(32)


def random_bytes(n: int, entropy: Entropy = OS) -> bytes:
    return entropy.bytes(n)


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    """Order- and whitespace-independent encoding of an EncryptionContext.

    Sorted, compact JSON rather than the migration layer's ``k=v&...``: JSON escaping keeps it
    unambiguous when keys or values themselves contain ``=`` or ``&``. An empty context and no
    context are the same thing here ([I]: the service's behaviour for ``{}`` is undocumented).
    """
    if not context:
        return b""
    return json.dumps(dict(sorted(context.items())), separators=(",", ":"), ensure_ascii=False).encode()


@lru_cache(maxsize=4096)
def _cipher(material: bytes) -> AESGCM:
    # Building an AESGCM object costs a key schedule; versions are immutable, so cache per key.
    return AESGCM(material)


def seal(material: bytes, version_id: str, plaintext: bytes, context: Mapping[str, str] | None,
         entropy: Entropy = OS) -> bytes:
    """Encrypt under one key version; the version id is both the blob prefix and part of the AAD."""
    prefix = version_id.encode("ascii")
    if len(prefix) != VERSION_ID_LENGTH:
        raise ValueError("version id must be 36 ASCII characters")
    iv = entropy.bytes(IV_LENGTH)
    sealed = _cipher(material).encrypt(iv, plaintext, prefix + canonical_context(context))
    return prefix + iv + sealed


def blob_version_id(blob: bytes) -> str:
    """The key version a raw blob claims to be under, before any authentication."""
    if len(blob) < MIN_BLOB_LENGTH:
        raise BlobError("ciphertext blob is too short")
    try:
        version_id = blob[:VERSION_ID_LENGTH].decode("ascii")
    except UnicodeDecodeError as exc:
        raise BlobError("ciphertext blob has no version id") from exc
    if not _VERSION_ID.match(version_id):
        raise BlobError("ciphertext blob has no version id")
    return version_id


def open_blob(material: bytes, blob: bytes, context: Mapping[str, str] | None) -> bytes:
    """Authenticate and decrypt; any tampering or a different context raises BlobError."""
    version_id = blob_version_id(blob)
    iv = blob[VERSION_ID_LENGTH : VERSION_ID_LENGTH + IV_LENGTH]
    sealed = blob[VERSION_ID_LENGTH + IV_LENGTH :]
    aad = version_id.encode("ascii") + canonical_context(context)
    try:
        return _cipher(material).decrypt(iv, sealed, aad)
    except InvalidTag as exc:
        raise BlobError("ciphertext blob failed authentication") from exc


def encode_blob(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


def decode_blob(text: str) -> bytes:
    """Strict Base64: stray characters or bad padding are an error, not silently dropped."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise BlobError("ciphertext blob is not valid Base64") from exc
