"""Short notebook errors for the two `cryptography` failures the notebooks show on purpose.

Kit errors render short in IPython through `KitError._render_traceback_`. Local checks made with
`cryptography` itself (notebook 09's `public.verify(...)`, AES-GCM in notebook 05) raise
`cryptography.exceptions.InvalidSignature` / `InvalidTag`, which carry no message, so IPython
would show a raw traceback ending in an empty `InvalidSignature:`. `install()` registers an
IPython custom exception handler for those two classes only: the learner still sees the real
class name (and the module it comes from), plus what it means and what to check, and
`helpers.debug()` still prints the full traceback. `helpers.connect()` calls `install()`; outside
IPython it does nothing and never imports IPython.
"""

from __future__ import annotations

import sys
from typing import Any

#: class name -> (what the failure means, what to check); the module is always cryptography.exceptions
_MEANINGS: dict[str, tuple[str, str]] = {
    "InvalidSignature": (
        "the signature does not match these bytes under this public key",
        "the bytes were changed, or the signature was made with another key, hash or padding "
        "(PSS and PKCS #1 v1.5 are not interchangeable): verify with the signer's algorithm.",
    ),
    "InvalidTag": (
        "AES-GCM authentication failed: the tag does not match",
        "the ciphertext, nonce or associated data was changed, or the data key is not the one "
        "that sealed it; nothing was decrypted.",
    ),
}


def render(error: BaseException) -> list[str]:
    """The short form of a cryptography failure: class and meaning, its origin, a hint, the debug pointer."""
    name = type(error).__name__
    meaning, hint = _MEANINGS[name]
    detail = f" ({error})" if str(error) else ""
    return [
        f"{name}: {meaning}{detail}",
        f"Raised by the cryptography library, which made the check ({type(error).__module__}.{name}).",
        f"Hint: {hint}",
        "(helpers.debug() shows the full traceback)",
    ]


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """IPython's custom exception handler: show `render(value)` the way a kit error is shown.

    Going through `shell.showtraceback` keeps everything IPython does for an error (it stores
    `sys.last_value` for `helpers.debug()`, sends the kernel's error message, honours `%pdb`); the
    short text comes from a `_render_traceback_` set on this one exception object, never on the class.
    """
    lines = render(value)
    value._render_traceback_ = lambda: lines  # type: ignore[attr-defined]
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    return lines


def _classes() -> tuple[type[BaseException], ...]:
    from cryptography.exceptions import InvalidSignature, InvalidTag

    return (InvalidSignature, InvalidTag)


def install(shell: Any = None) -> bool:
    """Register the handler in the running IPython shell; True if it is (now) registered.

    A no-op outside IPython, and it never replaces a custom handler someone else registered.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")  # not imported here: a server never needs it
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = getattr(shell, "custom_exceptions", ())
    if current == _classes() and getattr(shell, "_kms_workshop_errors", False):
        return True
    if current:
        return False
    shell.set_custom_exc(_classes(), _handler)
    shell._kms_workshop_errors = True
    return True
