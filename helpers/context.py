"""EncryptionContext in its one canonical form: a JSON object of string to string, keys sorted, no
spaces, UTF-8. Encrypt, Decrypt and GenerateDataKey send it; the envelope header stores its digest.
KMS itself ignores the order of the pairs; sorting makes the same dict give the same text."""

from __future__ import annotations

import json
from collections.abc import Mapping


def encode_context(context: Mapping[str, str] | None) -> str | None:
    """The context as the API wants it (None stays None: the parameter is then not sent)."""
    if context is None:
        return None
    if not isinstance(context, Mapping):
        raise TypeError(f"encryption_context must be a dict of str to str, not {type(context).__name__}")
    for k, v in context.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"encryption_context must map str to str; got {k!r}: {v!r}")
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
