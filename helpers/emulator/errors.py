"""One exception class per wire error code (codes as in the service's
common error table, https://www.alibabacloud.com/help/doc-detail/69008.html; list in docs/emulator.md).

Raised anywhere inside the emulator, rendered to JSON only at the edge (``gateway.py``), the way
moto does it. Class names mirror the code (``KeyNotFound`` for ``Forbidden.KeyNotFound``).
"""

from __future__ import annotations

from typing import ClassVar


class KmsApiError(Exception):
    """Root of every error the emulator answers with; ``code``/``http_status`` go on the wire."""

    code: ClassVar[str] = "InternalFailure"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal Failure."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


def _param(name: str) -> str:
    return f'The specified parameter "{name}" is not valid.'


# One class per wire code, on purpose (as moto does): the classes share a shape, and a reader
# finds each code, its status and its message in one place.
# --- 5xx -------------------------------------------------------------------------------------
class InternalFailure(KmsApiError):
    code, http_status, default_message = "InternalFailure", 500, "Internal Failure."


class ServiceUnavailableTemporary(KmsApiError):
    # The older docs page spells it "SerivceUnavailableTemporary"; we use the corrected spelling.
    code, http_status = "ServiceUnavailableTemporary", 503
    default_message = "Service Unavailable Temporary."


# --- gateway (POP) errors ---------------------------------------------------------------------
class InvalidAccessKeyIdNotFound(KmsApiError):
    code, http_status = "InvalidAccessKeyId.NotFound", 404
    default_message = "Specified access key is not found."


class SignatureDoesNotMatch(KmsApiError):
    code, http_status = "SignatureDoesNotMatch", 400

    def __init__(self, string_to_sign: str) -> None:
        # The classic SDK does message.split(':')[1]; without a colon it crashes (docs/sdk-behaviour.md, Error messages).
        super().__init__(
            "Specified signature is not matched with our calculation. "
            f"server string to sign is:{string_to_sign}"
        )


class IncompleteSignature(KmsApiError):
    code, http_status = "IncompleteSignature", 400
    default_message = "The request signature does not conform to Alibaba Cloud standards."


class SignatureNonceUsed(KmsApiError):
    code, http_status = "SignatureNonceUsed", 400
    default_message = "Specified signature nonce was used already."


class TimeStampExpired(KmsApiError):
    code, http_status = "InvalidTimeStamp.Expired", 400
    default_message = "Specified time stamp or date value is expired."


class TimeStampFormat(KmsApiError):
    # [I] code and status as commonly observed on POP gateways, not in the KMS tables.
    code, http_status = "InvalidTimeStamp.Format", 400
    default_message = "Specified time stamp or date value is not well formatted."


class InvalidSecurityTokenMismatch(KmsApiError):
    # [I] STS token codes are "as commonly seen", not documented for KMS.
    code, http_status = "InvalidSecurityToken.MismatchWithAccessKey", 403
    default_message = "Specified security token does not match the access key."


class InvalidVersion(KmsApiError):
    code, http_status = "InvalidVersion", 400
    default_message = "Specified parameter Version is not valid."


class InvalidActionNotFound(KmsApiError):
    code, http_status = "InvalidAction.NotFound", 404
    default_message = "Specified api is not found, please check your url and method."


class UnsupportedHTTPMethod(KmsApiError):
    code, http_status = "UnsupportedHTTPMethod", 403
    default_message = "This http method is not supported."


class ParseRequestParameterException(KmsApiError):
    code, http_status = "ParseRequestParameterException", 400
    default_message = "Server parse parameters exception, please check your parameters."


class MissingParameter(KmsApiError):
    code, http_status = "MissingParameter", 400

    def __init__(self, name: str) -> None:
        super().__init__(f'The parameter "{name}" is needed but not provided.')


class InvalidParameter(KmsApiError):
    code, http_status = "InvalidParameter", 400
    default_message = "The specified parameter is not valid."

    @classmethod
    def named(cls, name: str, why: str = "") -> InvalidParameter:
        return cls(_param(name) + (f" {why}" if why else ""))


class NoPermission(KmsApiError):
    code, http_status = "Forbidden.NoPermission", 403
    default_message = "This operation is forbidden by permission system."


class Throttling(KmsApiError):
    code, http_status, default_message = "Rejected.Throttling", 429, "QPS Limit Exceeded"


# --- KMS resource errors ----------------------------------------------------------------------
class KeyNotFound(KmsApiError):
    code, http_status = "Forbidden.KeyNotFound", 404
    default_message = "The specified Key is not found."


class KeyVersionNotFound(KmsApiError):
    code, http_status = "Forbidden.KeyVersionNotFound", 404
    default_message = "The specified Key version is not found."


class AliasNotFound(KmsApiError):
    code, http_status = "Forbidden.AliasNotFound", 404
    default_message = "The specified Alias is not found."


class DKMSInstanceNotFound(KmsApiError):
    code, http_status = "Forbidden.DKMSInstanceNotFound", 403
    default_message = "The specified DKMS instance is not found."


class LimitExceeded(KmsApiError):
    code, http_status = "Rejected.LimitExceeded", 400
    default_message = "The user create resource limit was exceeded."


class AliasAlreadyExists(KmsApiError):
    code, http_status, default_message = "AliasAlreadyExists", 400, "AliasName Already Exists."


class UnsupportedOperation(KmsApiError):
    code, http_status, default_message = "UnsupportedOperation", 400, "This action is not supported."


class DryRunOperationError(KmsApiError):
    # [I] the HTTP status of DryRun answers is undocumented; 400 is our guess.
    code, http_status = "DryRunOperationError", 400
    default_message = "Request would have succeeded, but DryRun flag is set."


class StateModifiedFailed(KmsApiError):
    code, http_status, default_message = "Rejected.StateModifiedFailed", 409, "Keystate modified failed."


class _KeyStateRejected(KmsApiError):
    http_status = 409
    state: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(f"The request was rejected because the key state is {self.state}.")


class Disabled(_KeyStateRejected):
    code, state = "Rejected.Disabled", "Disabled"


class PendingDeletion(_KeyStateRejected):
    code, state = "Rejected.PendingDeletion", "PendingDeletion"


class PendingImport(_KeyStateRejected):
    code, state = "Rejected.PendingImport", "PendingImport"


# --- asymmetric keys and key versions (owner: rotation.py, key_actions.py) --------------------
class RejectedUnsupportedOperation(KmsApiError):
    # Documented for AsymmetricEncrypt/Decrypt, CreateKeyVersion and UpdateRotationPolicy; which
    # condition raises it (usage mismatch, symmetric key, EXTERNAL key) is [I].
    code, http_status, default_message = "Rejected.UnsupportedOperation", 400, "Unsupported operation."


def all_error_classes() -> list[type[KmsApiError]]:
    """Every concrete wire error, for docs and tests."""
    found: list[type[KmsApiError]] = []
    stack: list[type[KmsApiError]] = [KmsApiError]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            if not sub.__name__.startswith("_"):
                found.append(sub)
    return sorted(found, key=lambda c: c.code)


class StateStorageFull(ServiceUnavailableTemporary):
    """Emulator-only cause of the service's 503: the SQLite state file could not grow (SQLITE_FULL).

    [I] The service answers 503 ServiceUnavailableTemporary when it cannot serve for a while; a full
    disk is that for a local emulator, and the call succeeds again once space is freed."""

    default_message = ("Service Unavailable Temporary. The emulator's state file cannot grow: "
                       "its disk is full. Free some space, then retry.")  # fmt: skip


# --- secrets (vault.py) -----------------------------------------------------------------------
class ResourceNotFound(KmsApiError):
    code, http_status, default_message = "Forbidden.ResourceNotFound", 404, "Resource not found."


class ResourceExist(KmsApiError):
    code, http_status, default_message = "Rejected.ResourceExist", 409, "The resource already exists."


class ResourceInDeleteWindow(KmsApiError):
    code, http_status = "Rejected.ResourceInDeleteWindow", 409
    default_message = "The secret is planned to be deleted."


class ResourceInUse(KmsApiError):
    # RestoreSecret on a secret that is not pending deletion ("restore normal secret")
    code, http_status, default_message = "Rejected.ResourceInUse", 409, "restore normal secret"


class InvalidRequest(KmsApiError):
    code, http_status, default_message = "Rejected.InvalidRequest", 400, "param mismatch"
