"""The seed's two scripts (encrypt a key file, decrypt it on the server) done right, at any size.

- Up to 6 KB of UTF-8 text (a PEM key), `encrypt_file` calls KMS Encrypt and the ciphertext file
  holds exactly the `CiphertextBlob` text, as the seed's `key.pem.cipher` does. Above that, or for
  binary or empty files, it uses envelope encryption (`envelope.py`). `method=` forces either.
- `decrypt_file` recognises both formats by their first bytes; `encrypt_stream`/`decrypt_stream`
  apply the same rules to streams. This module is the only place that decides direct or envelope.
- plaintext is written 0600 and atomically: no partial file, ever (see `atomic.py`);
- nothing is overwritten unless asked; every check runs before the first KMS call.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from . import envelope
from .atomic import BeforePublish, atomic_write, check_readable, check_writable, open_input
from .envelope import CIPHERTEXT_MODE as CIPHERTEXT_MODE
from .client_default import or_default
from .errors import PlaintextTooLargeError
from .encoding import MAX_PLAINTEXT_BYTES
from .streams import Prefixed

if TYPE_CHECKING:
    from .kms import Kms

Method = Literal["auto", "direct", "envelope"]
METHODS: tuple[Method, ...] = ("auto", "direct", "envelope")
# A direct CiphertextBlob of 6 KB of plaintext is about 8.3 KB of Base64; anything far larger
# that is not an envelope is not ours, and must not be read whole into memory.
_MAX_DIRECT_CIPHERTEXT = 64 * 1024


def read_input(src: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """Read an input file whole, or at most `limit` + 1 bytes (one more tells "over the limit",
    even for a file that grows while it is read), with errors that say what to do."""
    try:
        with open_input(src) as fin:
            return _read_upto(fin, limit)
    except PermissionError as exc:
        raise PermissionError(f"Cannot read {src}: permission denied; check its owner and mode.") from exc


def _read_upto(fin: BinaryIO, limit: int | None) -> bytes:
    if limit is None:
        return fin.read()
    parts, left = [], limit + 1
    while left > 0 and (part := fin.read(left)):  # a raw file may return less than asked
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def fits_direct(data: bytes) -> bool:
    """The `method="auto"` rule: 1..6144 bytes of UTF-8 text go through KMS Encrypt, anything
    else through envelope encryption (empty too: KMS Encrypt refuses an empty Plaintext)."""
    if not 0 < len(data) <= MAX_PLAINTEXT_BYTES:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def direct_text(data: bytes, what: str) -> str:
    """`data` as the text KMS Encrypt takes, or why it cannot go direct (before any KMS call)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not UTF-8 text; KMS Encrypt takes text here. Use envelope encryption "
                         "for binary data (method='envelope'; --method envelope on the command line).") from exc
    if len(data) > MAX_PLAINTEXT_BYTES:
        raise PlaintextTooLargeError(
            f"{what} is over {MAX_PLAINTEXT_BYTES} bytes, the most KMS Encrypt takes. Use envelope encryption "
            "for larger data (method='envelope' or 'auto'; --method envelope on the command line)."
        )
    return text


def choose_method(src: str | os.PathLike[str]) -> Literal["direct", "envelope"]:
    """What `method="auto"` picks for a file (see `fits_direct`); large files are not read."""
    path = check_readable(src)
    if not 0 < path.stat().st_size <= MAX_PLAINTEXT_BYTES:
        return "envelope"
    return "direct" if fits_direct(read_input(path, MAX_PLAINTEXT_BYTES)) else "envelope"


def blob_text(blob: bytes, what: str) -> str:
    """A direct ciphertext's bytes as the CiphertextBlob text Decrypt takes."""
    try:
        return blob.strip().decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not a KMS ciphertext file (it is not Base64 text).") from exc


def encrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    key_id: str,
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: Kms | None = None,
    method: Method = "auto",
    before_publish: BeforePublish | None = None,
) -> Path:
    """Encrypt a file: KMS Encrypt for small text (a PEM key), envelope encryption otherwise.

    Raises before any KMS call if `src` cannot be read (`NotARegularFileError` for a FIFO or
    device), if `dst` exists and `overwrite` is false, or, with `method="direct"`, if `src` is not
    UTF-8 text or is over 6144 bytes. `before_publish` sees the finished output's stat before it is put in place.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    chosen = choose_method(src) if method == "auto" else method
    if chosen == "envelope":
        return envelope.encrypt_file(src, dst, key_id, encryption_context=encryption_context,
                                     overwrite=overwrite, kms=or_default(kms), before_publish=before_publish)  # fmt: skip
    data = read_input(src, MAX_PLAINTEXT_BYTES)
    check_writable(dst, overwrite=overwrite)
    result = or_default(kms).encrypt(key_id, direct_text(data, str(src)), encryption_context)
    return atomic_write(dst, result.ciphertext_blob.encode("ascii"), mode=CIPHERTEXT_MODE, overwrite=overwrite,
                        before_publish=before_publish)  # fmt: skip


def decrypt_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    encryption_context: Mapping[str, str] | None = None,
    overwrite: bool = False,
    kms: Kms | None = None,
    before_publish: BeforePublish | None = None,
) -> Path:
    """Decrypt a file written by `encrypt_file` (either format) into `dst`, 0600 and atomically."""
    path = check_readable(src)
    check_writable(dst, overwrite=overwrite)
    with open_input(path) as fin:
        head = _read_upto(fin, len(envelope.MAGIC) - 1)
        if not envelope.is_envelope(head):  # a direct blob is small: never read more than the most it can be
            blob = head + _read_upto(fin, _MAX_DIRECT_CIPHERTEXT - len(head))
    if envelope.is_envelope(head):
        return envelope.decrypt_file(path, dst, encryption_context=encryption_context,
                                     overwrite=overwrite, kms=or_default(kms), before_publish=before_publish)  # fmt: skip
    if len(blob) > _MAX_DIRECT_CIPHERTEXT:
        raise ValueError(f"{src} is not a KMS ciphertext file: neither an envelope nor a CiphertextBlob.")
    result = or_default(kms).decrypt(blob_text(blob, str(src)), encryption_context)
    assert isinstance(result.plaintext, str)
    return atomic_write(dst, result.plaintext.encode("utf-8"), overwrite=overwrite, before_publish=before_publish)


# Streams (stdin/stdout in the CLI, memory at start-up): the same policy without a file size --------


def encrypt_stream(fin: BinaryIO, fout: BinaryIO, key_id: str, *, encryption_context: Mapping[str, str] | None = None,
                   kms: Kms | None = None, method: Method = "auto") -> None:
    """Encrypt a stream by the same rule as `encrypt_file`: read just past the Encrypt limit,
    then decide (a stream has no size to look at)."""
    client = or_default(kms)
    head = fin.read(MAX_PLAINTEXT_BYTES + 1) if method != "envelope" else b""
    if method == "auto":
        method = "direct" if fits_direct(head) else "envelope"
    if method == "direct":
        text = direct_text(head + fin.read(1), "the input")  # one byte more tells "over the limit"
        fout.write(client.encrypt(key_id, text, encryption_context).ciphertext_blob.encode("ascii"))
        return
    rest = iter(lambda: fin.read(1 << 20), b"")
    envelope.encrypt_stream(itertools.chain([head], rest), fout, key_id, encryption_context=encryption_context,
                            kms=client)  # fmt: skip


def decrypt_stream(fin: BinaryIO, fout: Any, *, encryption_context: Mapping[str, str] | None = None,
                   kms: Kms | None = None) -> None:
    """Decrypt a stream in either format, recognised by its first bytes, into `fout`."""
    client = or_default(kms)
    head = fin.read(len(envelope.MAGIC))
    if envelope.is_envelope(head):
        envelope.decrypt_stream(Prefixed(head, fin), fout, encryption_context=encryption_context, kms=client)
        return
    blob = head + fin.read(_MAX_DIRECT_CIPHERTEXT)
    if fin.read(1):
        raise ValueError("the input is not KMS ciphertext: neither an envelope nor a CiphertextBlob")
    plaintext = client.decrypt(blob_text(blob, "the input"), encryption_context).plaintext
    fout.write(plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext)
