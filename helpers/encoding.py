"""How values travel to KMS, in one place: the EncryptionContext's canonical JSON, plaintext and
its 6144-byte limit, tag lists, and Base64 plaintext coming back. No SDK here, so files, the
envelope and the CLI can check sizes and contexts without loading it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from .errors import PlaintextTooLargeError

#: Encrypt takes at most 6 KB of plaintext, counted here as UTF-8 bytes of what is sent. [I] marks,
#: here and throughout the kit, what is inferred rather than documented (docs/emulator.md, Marks):
#: the API page says 6 KB; whether it counts characters or bytes is not stated.
MAX_PLAINTEXT_BYTES = 6144


def encode_context(context: Mapping[str, str] | None) -> str | None:
    """EncryptionContext as the API wants it: a JSON object of string to string, keys sorted, no
    spaces, UTF-8 (None stays None: the parameter is then not sent). KMS ignores the order of the
    pairs; sorting makes the same dict give the same text, which the envelope header digests."""
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise TypeError(f"encryption_context must be a dict of str to str, not {type(context).__name__}")
    for k, v in context.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"encryption_context must map str to str; got {k!r}: {v!r}")
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def encode_plaintext(plaintext: str | bytes) -> str:
    """Text is sent as is (Decrypt returns the same string); bytes are sent as Base64 text.

    Raises:
        PlaintextTooLargeError: over MAX_PLAINTEXT_BYTES as sent, before any network call.
    """
    if isinstance(plaintext, bytes | bytearray):
        text = base64.b64encode(bytes(plaintext)).decode("ascii")
    elif isinstance(plaintext, str):
        text = plaintext
    else:
        raise TypeError(f"plaintext must be str or bytes, not {type(plaintext).__name__}")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError("plaintext text is not valid Unicode; pass bytes instead") from exc
    if size > MAX_PLAINTEXT_BYTES:
        raise PlaintextTooLargeError(
            f"Plaintext is {size} bytes as sent; KMS Encrypt takes at most {MAX_PLAINTEXT_BYTES}. "
            "Use envelope encryption for larger data (helpers.envelope / GenerateDataKey)."
        )
    return text


def encode_tags(tags: Mapping[str, str]) -> str:
    """Tags as CreateKey and TagResource want them: `[{"TagKey": k, "TagValue": v}, ...]`."""
    return json.dumps([{"TagKey": k, "TagValue": v} for k, v in tags.items()])


def decode_binary(text: str) -> bytes:
    """A Plaintext field that holds Base64 (data keys, or bytes that were encrypted)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(
            "The plaintext is not Base64: it was encrypted as text; call decrypt() without binary=True."
        ) from exc
