"""Every error class, built from what the SDK raises for a real HTTP answer."""

from __future__ import annotations

import pytest

import helpers
from helpers import errors
from helpers.retry import RetryPolicy
from tests.stub_server import StubServer, error


def call_with(reply, action="describe_key"):
    with StubServer([reply]) as stub:
        kms = helpers.connect("emulator", endpoint=stub.endpoint, retry=RetryPolicy(max_attempts=1))
        calls = {
            "describe_key": lambda: kms.describe_key("alias/x"),
            "decrypt": lambda: kms.decrypt("Yg=="),
            "create_alias": lambda: kms.create_alias("alias/x", "k"),
            "encrypt": lambda: kms.encrypt("alias/x", "p"),
        }
        with pytest.raises(errors.KmsError) as info:
            calls[action]()
    return info.value


@pytest.mark.parametrize(
    ("status", "code", "action", "cls"),
    [
        (404, "Forbidden.KeyNotFound", "describe_key", errors.KeyNotFoundError),
        (404, "Forbidden.AliasNotFound", "describe_key", errors.KeyNotFoundError),
        (400, "AliasAlreadyExists", "create_alias", errors.AliasExistsError),
        (409, "Rejected.Disabled", "encrypt", errors.KeyStateError),
        (409, "Rejected.PendingDeletion", "decrypt", errors.KeyStateError),
        (400, "InvalidParameter", "decrypt", errors.InvalidCiphertextError),
        (400, "InvalidParameter", "encrypt", errors.InvalidParameterError),
        (429, "Rejected.Throttling", "describe_key", errors.ThrottledError),
        (400, "Throttling.User", "describe_key", errors.ThrottledError),
        (400, "SignatureDoesNotMatch", "describe_key", errors.AuthError),
        (404, "InvalidAccessKeyId.NotFound", "describe_key", errors.AuthError),
        (400, "InvalidTimeStamp.Expired", "describe_key", errors.AuthError),
        (503, "ServiceUnavailableTemporary", "describe_key", errors.ServiceUnavailableError),
        (500, "InternalFailure", "describe_key", errors.KmsError),
    ],
)
def test_errors_map_wire_codes_to_condition_classes(status, code, action, cls):
    message = "server string to sign is:x" if code == "SignatureDoesNotMatch" else "m"
    exc = call_with(error(status, code, message), action)
    assert type(exc) is cls
    assert exc.code == code
    assert exc.http_status == status
    assert exc.request_id == "stub-request-id"
    assert exc.hint and "\n" not in exc.hint
    assert code in str(exc) and "Hint:" in str(exc)
    assert isinstance(exc.__cause__, Exception)  # chained from the SDK's exception


def test_errors_non_json_error_body_is_still_a_kms_error():
    exc = call_with((502, b"<html>bad gateway</html>"))
    assert exc.code == "SDK.UnknownServerError"
    assert exc.http_status == 502


def test_errors_non_json_success_body_is_reported_not_crashed():
    with StubServer([(200, b"not json")]) as stub:
        kms = helpers.connect("emulator", endpoint=stub.endpoint)
        with pytest.raises(errors.KmsError, match="not JSON"):
            kms.describe_key("alias/x")


def test_errors_all_public_classes_share_one_root():
    for cls in (errors.KeyNotFoundError, errors.AliasExistsError, errors.KeyStateError,
                errors.InvalidCiphertextError, errors.ThrottledError, errors.AuthError,
                errors.KmsNetworkError, errors.ServiceUnavailableError):
        assert issubclass(cls, helpers.KmsError)
        assert cls.default_hint != errors.KmsError.default_hint
