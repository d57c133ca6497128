"""The seed's two scripts (encrypt a key file, decrypt it on the server) done right.

- the ciphertext file holds exactly the `CiphertextBlob` text, as the seed's `key.pem.cipher` does;
- plaintext is written 0600 and atomically: no partial file, ever (see `atomic.py`);
- nothing is overwritten unless asked; every check runs before the first KMS call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .atomic import atomic_write, check_writable
from .kms import MAX_PLAINTEXT_BYTES, Kms

CIPHERTEXT_MODE = 0o644  # ciphertext is safe to share; it is useless without KMS access


def read_input(src: str | os.PathLike[str]) -> bytes:
    """Read a whole input file, with errors that say what to do."""
    path = Path(src)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; check the path (relative to {Path.cwd()}).")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file.")
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise PermissionError(f"Cannot read {path}: permission denied; check its owner and mode.") from exc


def _client(kms: Kms | None) -> Kms:
    if kms is None:
        from .client import connect

        return connect()
    if not isinstance(kms, Kms):
        raise TypeError(f"kms must be a client from helpers.connect(), not {type(kms).__name__}")
    return kms


def encrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    key_id: str,
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: Kms | None = None,
) -> Path:
    """Encrypt a small text file (a PEM key: at most 6144 bytes) with KMS Encrypt.

    Writes the `CiphertextBlob` to `dst`. Raises before any KMS call if `src` cannot be read,
    is not UTF-8 text, is too large, or if `dst` exists and `overwrite` is false.
    """
    data = read_input(src)
    check_writable(dst, overwrite=overwrite)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{src} is not UTF-8 text; KMS Encrypt takes text here. Use envelope encryption "
            "(helpers.envelope) for binary files."
        ) from exc
    if len(data) > MAX_PLAINTEXT_BYTES:
        from .errors import PlaintextTooLargeError

        raise PlaintextTooLargeError(
            f"{src} is {len(data)} bytes; KMS Encrypt takes at most {MAX_PLAINTEXT_BYTES}. "
            "Use envelope encryption (helpers.envelope) for larger files."
        )
    result = _client(kms).encrypt(key_id, text, encryption_context)
    return atomic_write(dst, result.ciphertext_blob.encode("ascii"), mode=CIPHERTEXT_MODE, overwrite=overwrite)


def decrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: Kms | None = None,
) -> Path:
    """Decrypt a file written by `encrypt_file` into `dst`, created 0600 and atomically."""
    blob = read_input(src).strip()
    check_writable(dst, overwrite=overwrite)
    try:
        text = blob.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{src} is not a KMS ciphertext file (it is not Base64 text).") from exc
    result = _client(kms).decrypt(text, encryption_context)
    assert isinstance(result.plaintext, str)
    return atomic_write(dst, result.plaintext.encode("utf-8"), overwrite=overwrite)
