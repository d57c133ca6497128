"""KMS workshop helpers: a small, typed layer over the classic Alibaba Cloud SDK.

    import helpers
    kms = helpers.connect()            # emulator by default; KMS_WORKSHOP_BACKEND=replay|cloud
    key = helpers.ensure_key(kms, "demo")   # alias/kms-workshop/<learner>/demo
    blob = kms.encrypt(key.key_id, "hello").ciphertext_blob
"""

from .client import connect as connect
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
)
from .files import decrypt_file as decrypt_file, encrypt_file as encrypt_file
from .kms import Kms as Kms
from .workshop import NotKitResourceError as NotKitResourceError, ensure_key as ensure_key
from . import cleanup as cleanup, envelope as envelope, files as files, preflight as preflight, tls as tls, widgets as widgets, workshop as workshop
