"""KMS workshop helpers: a small, typed layer over the classic Alibaba Cloud SDK.

    import helpers
    kms = helpers.connect()            # emulator by default; KMS_WORKSHOP_BACKEND=replay|cloud
    key = helpers.ensure_key(kms, "demo")   # alias/kms-workshop/<learner>/demo
    blob = kms.encrypt(key.key_id, "hello").ciphertext_blob

Only the error classes and the ownership rules load with the package; the client, the SDK and
the submodules (`envelope`, `tls`, `widgets`, `cleanup`, ...) load the first time a name is used,
so a server's `kms-workshop decrypt-key` never loads ipywidgets and a notebook starts faster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AccessDeniedError as AccessDeniedError,
    AliasExistsError as AliasExistsError,
    AuthError as AuthError,
    ConfigError as ConfigError,
    InvalidCiphertextError as InvalidCiphertextError,
    KeyNotFoundError as KeyNotFoundError,
    KeyStateError as KeyStateError,
    KmsError as KmsError,
    KmsNetworkError as KmsNetworkError,
    PlaintextTooLargeError as PlaintextTooLargeError,
    ThrottledError as ThrottledError,
    debug as debug,
)
from .workshop import NotKitResourceError as NotKitResourceError, ensure_key as ensure_key

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and readers
    from . import atomic as atomic, cleanup as cleanup, envelope as envelope, files as files, preflight as preflight
    from . import startup as startup
    from . import tls as tls, widgets as widgets, workshop as workshop
    from .client import connect as connect
    from .files import decrypt_file as decrypt_file, encrypt_file as encrypt_file
    from .kms import Kms as Kms

#: name -> (submodule, attribute or None for the submodule itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "connect": ("client", "connect"),
    "Kms": ("kms", "Kms"),
    "encrypt_file": ("files", "encrypt_file"),
    "decrypt_file": ("files", "decrypt_file"),
    **{name: (name, None) for name in ("atomic", "cleanup", "envelope", "files", "preflight", "startup", "tls",
                                       "widgets", "workshop")},
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}") from None
    module = importlib.import_module(f".{module_name}", __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
