"""The kit's exceptions: one `KmsError` root for everything KMS answers, plus configuration errors,
and the table from each wire code to its class.

Each KMS error keeps the service's wire `code`, `message`, `http_status` and `request_id`, and adds a
one-line `hint` saying what to do, so a learner reading a notebook traceback knows the next step.
"""

from __future__ import annotations


class KitError(Exception):
    """Root of every error the kit raises on purpose."""

    #: what to do about it, in one line (a KMS error sets its own per instance, see KmsError)
    hint: str | None = None

    def _render_traceback_(self) -> list[str]:
        """How IPython shows a kit error in a notebook: its class, message and hint, without the
        SDK's frames or the machine's paths. `helpers.debug()` prints the whole chain."""
        lines = f"{type(self).__name__}: {self}".splitlines()
        if self.hint and not any(line.startswith("Hint: ") for line in lines):
            lines.append(f"Hint: {self.hint}")
        return lines + ["(helpers.debug() shows the full traceback)"]


def debug() -> None:
    """Print the full traceback of the last error in this notebook, frames and causes included."""
    import sys
    import traceback

    error = getattr(sys, "last_value", None)
    if error is None:
        print("No error has been raised in this session yet.")
        return
    traceback.print_exception(error)


class ConfigError(KitError, ValueError):
    """The kit is set up wrongly (unknown backend, missing credentials, bad region); nothing was sent."""

    hint = "Fix the setting the message names; helpers.connect(verbose=True) shows what the kit uses."


class PlaintextTooLargeError(KitError, ValueError):
    """Plaintext is over the 6144-byte limit of Encrypt; raised before any network call."""

    hint = "Nothing was sent. helpers.encrypt_file() switches to envelope encryption by itself (notebook 05)."


class KmsError(KitError):
    """An error answered by KMS (or the transport to it)."""

    #: what to do about it, in one line; subclasses refine it
    default_hint = "Check the code and message against the KMS API reference."

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id
        self.hint = hint or self.default_hint
        super().__init__(self._text())

    def _text(self) -> str:
        status = f"HTTP {self.http_status} " if self.http_status else ""
        rid = f" (RequestId {self.request_id})" if self.request_id else ""
        return f"{status}{self.code}: {self.message}{rid}\nHint: {self.hint}"


class KeyNotFoundError(KmsError):
    default_hint = (
        "No such key or alias in this account and region: check the KeyId/alias, the region, "
        "and that the key was created with the same credentials."
    )


class AliasExistsError(KmsError):
    default_hint = (
        "The alias is taken: use update_alias() to point it at another key, or pick a new name."
    )


class KeyStateError(KmsError):
    default_hint = (
        "The key is disabled or pending deletion: enable_key() or cancel_key_deletion() first, "
        "or use another key."
    )


class SecretNotFoundError(KmsError):
    default_hint = (
        "No such secret (or version or stage) in this account and region: check the name, the "
        "region, and list_secrets() / list_secret_version_ids()."
    )


class SecretStateError(KmsError):
    default_hint = (
        "The secret's name is taken, the secret is scheduled for deletion (restore_secret() brings it "
        "back), or it is not scheduled and so cannot be restored."
    )


class InvalidCiphertextError(KmsError):
    default_hint = (
        "The ciphertext was altered, truncated, made in another account, or the EncryptionContext "
        "differs from the one used to encrypt: pass exactly the same context."
    )


class InvalidParameterError(KmsError):
    default_hint = "A parameter was rejected: check its format and range in the API reference."


class ThrottledError(KmsError):
    default_hint = "Too many requests: slow down; the helpers already retried with backoff."


class AuthError(KmsError):
    default_hint = (
        "The credentials were refused: check the AccessKey pair (or STS token), that the clock "
        "is right (±15 minutes), and which credential source connect() reports."
    )


class AccessDeniedError(KmsError):
    default_hint = (
        "Your RAM user or role may not make this call on this key: docs/cloud.md has the policy the "
        "kit needs (learner) and the one a server needs (Decrypt on one key)."
    )


class ServiceUnavailableError(KmsError):
    default_hint = "KMS had a temporary server error: the helpers retried; try again shortly."


class KmsNetworkError(KmsError):
    default_hint = (
        "Could not reach the KMS endpoint: check the network, proxy settings and the endpoint "
        "that connect() reports."
    )


# --- Files ---------------------------------------------------------------------------------------


class OutputExistsError(KitError, FileExistsError):
    """The destination exists and overwriting was not asked for; `path` names it."""

    hint = "Nothing was written: choose another destination, or pass overwrite=True."

    def __init__(self, path: object, *, appeared: bool = False) -> None:
        self.path = path
        what = "appeared while writing" if appeared else "already exists"
        super().__init__(f"{path} {what}; pass overwrite=True to replace it.")


class NotARegularFileError(KitError, OSError):
    """An input is a FIFO, device or socket, not a file: refused, judged on the file opened, before
    any KMS call (CLI exit 4; there, `-` reads stdin for a pipe)."""

    hint = "Give a regular file; on the command line, `-` reads a pipe from stdin."


class TreeBusyError(KitError, FileExistsError):
    """Another directory run holds the output tree's lock; nothing was written (CLI exit 4). The OS
    drops the lock when that run ends, even by `kill -9`."""

    hint = "Wait for the other run to finish (its lock goes with it), or write to another folder."


# --- Envelope files (helpers.envelope) -----------------------------------------------------------


class EnvelopeError(KitError, ValueError):
    """The data is not a valid envelope, or it failed authentication; no output file was written."""

    hint = "Nothing was written: check that this is the file encrypt_file() made, unchanged."


class NotAnEnvelopeError(EnvelopeError):
    """The input does not start with the envelope magic."""

    hint = "Check the path: this file was not written by encrypt_file() or helpers.envelope."


class UnsupportedVersionError(EnvelopeError):
    """The envelope was written by a newer format version than this reader knows."""

    hint = "A newer kit wrote this file: upgrade the kit to read it."


class ContextMismatchError(EnvelopeError):
    """The EncryptionContext given differs from the one the file was encrypted with."""

    hint = "Pass exactly the EncryptionContext used to encrypt: the same keys and values, in any order."


class IntegrityError(EnvelopeError):
    """A chunk or the header failed authentication: altered, truncated, reordered or extended."""

    hint = "Nothing was written, and a damaged envelope cannot be repaired: decrypt an intact copy of the file."


class NonBlockingInputError(KitError, ValueError):
    """A non-blocking input had no data ready: streaming needs a blocking one."""

    hint = "Open the input in blocking mode (the default), or read it into memory first."


# --- What the kit owns (helpers.workshop, helpers.cleanup) ---------------------------------------


class NotKitResourceError(KitError):
    """A key or alias the kit was asked to use or change is not proven to be the kit's (this
    learner's); nothing was changed."""

    hint = "Nothing was changed: use a key or alias the kit made for you (helpers.ensure_key, helpers.workshop)."


class ConfirmationRequired(KitError):
    """apply() on the cloud without a confirmation: nothing was deleted."""

    hint = "Read the plan, then pass confirm=<the token it printed> to apply()."


class StalePlanError(KitError):
    """The confirmation does not match the plan, or the account changed since it was made."""

    hint = "Nothing was deleted: make a new plan, read it, and confirm it with its own token."


# --- The command line ----------------------------------------------------------------------------


class UsageError(KitError, ValueError):
    """Arguments that cannot work together; exit code 2."""

    hint = "Run the command with --help for its arguments."


# The wire code -> class table ------------------------------------------------------------------
# What each code the service answers means, in one place: `transport.translate` builds the error
# from it. Codes not listed here stay a plain KmsError with the service's own message.

CODE_CLASSES: dict[str, type[KmsError]] = {
    "Forbidden.KeyNotFound": KeyNotFoundError,
    "Forbidden.AliasNotFound": KeyNotFoundError,
    "Forbidden.KeyVersionNotFound": KeyNotFoundError,
    "AliasAlreadyExists": AliasExistsError,
    "Rejected.Disabled": KeyStateError,
    "Rejected.PendingDeletion": KeyStateError,
    "Rejected.PendingImport": KeyStateError,
    "Rejected.Unavailable": KeyStateError,
    "Rejected.StateModifiedFailed": KeyStateError,
    "Rejected.Throttling": ThrottledError,
    "Throttling": ThrottledError,
    "SignatureDoesNotMatch": AuthError,
    "InvalidAccessKeySecret": AuthError,
    "InvalidAccessKeyId.NotFound": AuthError,
    "InvalidAccessKeyId.Inactive": AuthError,
    "InvalidTimeStamp.Expired": AuthError,
    "SignatureNonceUsed": AuthError,
    # RAM refused the call [I: Forbidden.NoPermission is documented per action; Forbidden.RAM is
    # the gateway's code on other products]
    "Forbidden.NoPermission": AccessDeniedError,
    "Forbidden.RAM": AccessDeniedError,
    "Forbidden.ResourceNotFound": SecretNotFoundError,
    "Rejected.ResourceExist": SecretStateError,
    "Rejected.ResourceInDeleteWindow": SecretStateError,
    "Rejected.ResourceInUse": SecretStateError,
    "InvalidParameter": InvalidParameterError,
    "MissingParameter": InvalidParameterError,
    "ServiceUnavailableTemporary": ServiceUnavailableError,
    "SerivceUnavailableTemporary": ServiceUnavailableError,
    "ServiceUnavailable": ServiceUnavailableError,
}


HINTS = {
    "Replay.NoMatch": "The notebook asked for something its recording does not hold: after editing a "
    "notebook, re-record it with `make record` (see docs/replay.md).",
}


def class_for(code: str, action: str) -> type[KmsError]:
    """The kit's class for a wire `code` answered to `action`."""
    cls = CODE_CLASSES.get(code)
    if cls is None and code.startswith("Throttling"):
        cls = ThrottledError
    if cls is None and code.startswith("InvalidSecurityToken"):
        cls = AuthError
    if code == "InvalidParameter" and action in ("Decrypt", "ReEncrypt"):
        # KMS answers InvalidParameter [I] for a tampered blob or a context mismatch.
        cls = InvalidCiphertextError
    return cls or KmsError
