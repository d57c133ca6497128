"""Ciphertext-blob format and AES-256-GCM sealing (see docs/emulator.md).

Blob = Base64( version id (36 ASCII chars) || IV (12 bytes) || AES-256-GCM ciphertext + 16-byte tag ).
This is the layout of Alibaba's instance-migration layer; the shared service's real format is
not published, so blobs from this emulator are not interchangeable with real ones.
``Aliyun_SM4`` versions hold 16-byte material and seal with SM4-GCM (same layout, same 16-byte
tag); every other symmetric spec holds 32 bytes and seals with AES-256-GCM.
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
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .entropy import OS, Entropy

VERSION_ID_LENGTH = 36
IV_LENGTH = 12
TAG_LENGTH = 16
SM4_KEY_LENGTH = 16
MIN_BLOB_LENGTH = VERSION_ID_LENGTH + IV_LENGTH + TAG_LENGTH
_VERSION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class BlobError(ValueError):
    """The blob is malformed or fails authentication (wrong key, context or a flipped bit)."""


def new_key_material(entropy: Entropy = OS, key_spec: str = "Aliyun_AES_256") -> bytes:
    """Random bytes (the OS CSPRNG unless the emulator is seeded): one key per version, 16 bytes
    for Aliyun_SM4, else 32 (one AES-256 key)."""
    return entropy.bytes(SM4_KEY_LENGTH if key_spec == "Aliyun_SM4" else 32)


class _SM4GCM:
    """SM4 in GCM mode with AESGCM's interface (``cryptography`` has no SM4 AEAD class)."""

    def __init__(self, key: bytes) -> None:
        self._key = algorithms.SM4(key)

    def encrypt(self, iv: bytes, data: bytes, aad: bytes) -> bytes:
        encryptor = Cipher(self._key, modes.GCM(iv)).encryptor()
        encryptor.authenticate_additional_data(aad)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def decrypt(self, iv: bytes, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < TAG_LENGTH:
            raise InvalidTag()
        decryptor = Cipher(self._key, modes.GCM(iv, sealed[-TAG_LENGTH:])).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(sealed[:-TAG_LENGTH]) + decryptor.finalize()


@lru_cache(maxsize=1)
def sm4_available() -> bool:
    """Whether this OpenSSL offers SM4-GCM (it is optional in OpenSSL builds)."""
    try:
        _SM4GCM(bytes(SM4_KEY_LENGTH)).decrypt(bytes(IV_LENGTH), _SM4GCM(bytes(SM4_KEY_LENGTH)).encrypt(
            bytes(IV_LENGTH), b"probe", b""), b"")  # fmt: skip
    except Exception:  # UnsupportedAlgorithm, or anything else a build without SM4 raises
        return False
    return True


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
def _cipher(material: bytes) -> AESGCM | _SM4GCM:
    # Building an AESGCM object costs a key schedule; versions are immutable, so cache per key.
    return _SM4GCM(material) if len(material) == SM4_KEY_LENGTH else AESGCM(material)


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
