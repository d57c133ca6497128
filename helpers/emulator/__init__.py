"""A local Alibaba Cloud KMS (API 2016-01-20) for workshops: real crypto, real signatures, SQLite state.

Self-contained: nothing here imports the rest of ``helpers`` (the dependency points one way), except
the stdlib-only leaf modules ``helpers.httpwire`` and ``helpers.httpguard`` (HTTP framing and
connection limits, shared with the replay stub) and ``helpers.sensitive``.
"""

from .auth import DEFAULT_ACCOUNTS, Account
from .responses import ACTIONS
from .app import Emulator
from .statefile import StateFileError

__all__ = ["ACTIONS", "DEFAULT_ACCOUNTS", "Account", "Emulator", "StateFileError"]
