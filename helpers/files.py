"""The seed's two scripts (encrypt a key file, decrypt it on the server) done right, at any size.

- Up to 6 KB of UTF-8 text (a PEM key), `encrypt_file` calls KMS Encrypt and the ciphertext file
  holds exactly the `CiphertextBlob` text, as the seed's `key.pem.cipher` does. Above that, or for
  binary or empty files, it uses envelope encryption (`envelope.py`). `method=` forces either.
- `decrypt_file` recognises both formats by their first bytes.
- plaintext is written 0600 and atomically: no partial file, ever (see `atomic.py`);
- nothing is overwritten unless asked; every check runs before the first KMS call.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from . import envelope
from .atomic import atomic_write, check_readable, check_writable
from .envelope import CIPHERTEXT_MODE as CIPHERTEXT_MODE
from .client_default import or_default
from .errors import PlaintextTooLargeError
from .encoding import MAX_PLAINTEXT_BYTES

if TYPE_CHECKING:
    from .kms import Kms

Method = Literal["auto", "direct", "envelope"]
METHODS: tuple[Method, ...] = ("auto", "direct", "envelope")
# A direct CiphertextBlob of 6 KB of plaintext is about 8.3 KB of Base64; anything far larger
# that is not an envelope is not ours, and must not be read whole into memory.
_MAX_DIRECT_CIPHERTEXT = 64 * 1024


def read_input(src: str | os.PathLike[str]) -> bytes:
    """Read a whole input file, with errors that say what to do."""
    path = check_readable(src)
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise PermissionError(f"Cannot read {path}: permission denied; check its owner and mode.") from exc


def choose_method(src: str | os.PathLike[str]) -> Literal["direct", "envelope"]:
    """What `method="auto"` picks: direct Encrypt for 1..6144 bytes of UTF-8 text, else envelope.

    Empty files go to envelope too: KMS Encrypt refuses an empty Plaintext.
    """
    path = check_readable(src)
    size = path.stat().st_size
    if size == 0 or size > MAX_PLAINTEXT_BYTES:
        return "envelope"
    try:
        read_input(path).decode("utf-8")
    except UnicodeDecodeError:
        return "envelope"
    return "direct"


def encrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    key_id: str,
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: Kms | None = None,
    method: Method = "auto",
) -> Path:
    """Encrypt a file: KMS Encrypt for small text (a PEM key), envelope encryption otherwise.

    Raises before any KMS call if `src` cannot be read, if `dst` exists and `overwrite` is false,
    or, with `method="direct"`, if `src` is not UTF-8 text or is over 6144 bytes.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    chosen = choose_method(src) if method == "auto" else method
    if chosen == "envelope":
        return envelope.encrypt_file(src, dst, key_id, encryption_context=encryption_context,
                                     overwrite=overwrite, kms=or_default(kms))  # fmt: skip
    data = read_input(src)
    check_writable(dst, overwrite=overwrite)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{src} is not UTF-8 text; KMS Encrypt takes text here. Use method='envelope' "
            "(or 'auto') for binary files."
        ) from exc
    if len(data) > MAX_PLAINTEXT_BYTES:
        raise PlaintextTooLargeError(
            f"{src} is {len(data)} bytes; KMS Encrypt takes at most {MAX_PLAINTEXT_BYTES}. "
            "Use method='envelope' (or 'auto') for larger files."
        )
    result = or_default(kms).encrypt(key_id, text, encryption_context)
    return atomic_write(dst, result.ciphertext_blob.encode("ascii"), mode=CIPHERTEXT_MODE, overwrite=overwrite)


def decrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: Kms | None = None,
) -> Path:
    """Decrypt a file written by `encrypt_file` (either format) into `dst`, 0600 and atomically."""
    path = check_readable(src)
    check_writable(dst, overwrite=overwrite)
    with open(path, "rb") as fin:
        head = fin.read(len(envelope.MAGIC))
    if envelope.is_envelope(head):
        return envelope.decrypt_file(path, dst, encryption_context=encryption_context,
                                     overwrite=overwrite, kms=or_default(kms))  # fmt: skip
    if path.stat().st_size > _MAX_DIRECT_CIPHERTEXT:
        raise ValueError(f"{src} is not a KMS ciphertext file: neither an envelope nor a CiphertextBlob.")
    blob = read_input(path).strip()
    try:
        text = blob.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{src} is not a KMS ciphertext file (it is not Base64 text).") from exc
    result = or_default(kms).decrypt(text, encryption_context)
    assert isinstance(result.plaintext, str)
    return atomic_write(dst, result.plaintext.encode("utf-8"), overwrite=overwrite)
