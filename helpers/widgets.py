"""The playground panel (notebook 07): pick a key or alias, encrypt or decrypt text or a file,
and see the signed request that went over the wire (secrets masked) and the response.

Callbacks only call helper functions and write plain values into widgets, so tests drive the
panel with `Button.click()` and read the widgets back.
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w

from .errors import KitError
from .kms import Kms
from .sensitive import SECRET_RESPONSE_FIELDS



def masked_response(body: dict[str, Any]) -> str:
    """The last response as JSON, with plaintext replaced by its length."""
    shown = {k: (f"<{len(str(v))} chars hidden>" if k in SECRET_RESPONSE_FIELDS else v) for k, v in body.items()}
    return json.dumps(shown, indent=2)


def parse_context(text: str) -> dict[str, str] | None:
    text = text.strip()
    if not text:
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError('EncryptionContext must be a JSON object such as {"app": "demo"}')
    return value


class Playground:
    """Widgets plus the two actions; `panel` is what the notebook displays."""

    def __init__(self, kms: Kms, key_choices: list[str]) -> None:
        self.kms = kms
        self.key = w.Dropdown(options=key_choices, description="Key")
        self.plaintext = w.Textarea(placeholder="text to encrypt", description="Plaintext",
                                    layout=w.Layout(width="95%"))
        self.upload = w.FileUpload(accept="", multiple=False, description="Or a file")
        self.context = w.Text(placeholder='{"app": "demo"}', description="Context")
        self.ciphertext = w.Textarea(description="Ciphertext", layout=w.Layout(width="95%"))
        self.encrypt_button = w.Button(description="Encrypt", button_style="primary")
        self.decrypt_button = w.Button(description="Decrypt")
        self.status = w.HTML()
        self.wire = w.Textarea(description="On the wire", layout=w.Layout(width="95%", height="160px"))
        self.decrypted = ""  # kept out of any widget that a saved notebook would store
        self.encrypt_button.on_click(lambda _: self.encrypt())
        self.decrypt_button.on_click(lambda _: self.decrypt())
        self.panel = w.VBox([
            self.key, self.plaintext, self.upload, self.context,
            w.HBox([self.encrypt_button, self.decrypt_button]), self.ciphertext, self.status, self.wire,
        ])

    def _input(self) -> str | bytes:
        if self.upload.value:
            return bytes(self.upload.value[0]["content"])
        return self.plaintext.value

    def encrypt(self) -> None:
        try:
            data = self._input()
            result = self.kms.encrypt(self.key.value, data, parse_context(self.context.value))
        except (KitError, ValueError, TypeError) as exc:
            return self._fail(exc)
        self.ciphertext.value = result.ciphertext_blob
        kind = "file bytes (sent as Base64)" if isinstance(data, bytes) else "text"
        self.status.value = f"Encrypted {len(data)} {'bytes' if isinstance(data, bytes) else 'chars'} of {kind} with {result.key_id}."
        self._show_wire()

    def decrypt(self) -> None:
        try:
            result = self.kms.decrypt(self.ciphertext.value.strip(), parse_context(self.context.value))
        except (KitError, ValueError, TypeError) as exc:
            return self._fail(exc)
        self.decrypted = str(result.plaintext)
        preview = self.decrypted[:20] + ("…" if len(self.decrypted) > 20 else "")
        self.status.value = f"Decrypted {len(self.decrypted)} chars with {result.key_id}: {preview!r}"
        self._show_wire()

    def _fail(self, exc: Exception) -> None:
        first = str(exc).splitlines()[0]
        hint = getattr(exc, "hint", "")
        self.status.value = f"<b>{type(exc).__name__}</b>: {first}<br>{hint}"

    def _show_wire(self) -> None:
        self.wire.value = f"{self.kms.last_request}\n\n{masked_response(self.kms.last_response)}"
