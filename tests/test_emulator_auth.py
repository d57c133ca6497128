"""Signature v1 and V3, timestamp window with an injected clock, bounded nonce memory."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from helpers.emulator import errors
from helpers.emulator.auth import DEFAULT_ACCOUNTS, Authenticator, NonceCache, percent_encode, sign_v1, string_to_sign_v1

T0 = datetime(2016, 3, 28, 3, 13, 8, tzinfo=timezone.utc)
VECTOR = {"AccessKeyId": "testid", "Action": "CreateKey", "Format": "json", "SignatureMethod": "HMAC-SHA1",
          "SignatureVersion": "1.0", "Timestamp": "2016-03-28T03:13:08Z", "Version": "2016-01-20"}  # fmt: skip


def test_auth_documented_test_vector() -> None:
    sts = string_to_sign_v1("GET", VECTOR)
    assert sts == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateKey%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-03-28T03%253A13%253A08Z%26Version%3D2016-01-20"
    )
    assert sign_v1(sts, "testsecret") == "41wk2SSX1GJh7fwnc5eqOfiJPFg="
    caller = Authenticator(DEFAULT_ACCOUNTS, lambda: T0).authenticate("GET", {**VECTOR, "Signature": "41wk2SSX1GJh7fwnc5eqOfiJPFg="}, {}, b"")
    assert (caller.account.account_id, caller.action) == ("1234567890123456", "CreateKey")


def test_auth_sdk_captured_request_vector() -> None:
    """A byte-for-byte capture of the classic SDK's Encrypt request."""
    params = {"KeyId": "ed1fe54a-26f2-4200-b3dd-5bb5c856d695", "Plaintext": "hello world ~*+/= é",
              "EncryptionContext": '{"purpose": "probe test"}', "Version": "2016-01-20", "Action": "Encrypt",
              "Format": "JSON", "RegionId": "cn-hangzhou", "Timestamp": "2026-11-28T14:44:04Z",
              "SignatureMethod": "HMAC-SHA1", "SignatureType": "", "SignatureVersion": "1.0",
              "SignatureNonce": "b050913e9150b27da74289ab48485992", "AccessKeyId": "testAccessKeyId"}  # fmt: skip
    assert sign_v1(string_to_sign_v1("POST", params), "testSecret") == "8ieXQeNAWgduE909aW8HP8CrvwY="


@pytest.mark.parametrize(("raw", "encoded"), [(" ", "%20"), ("*", "%2A"), ("~", "~"), ("+", "%2B"), ("é", "%C3%A9"), ("\n", "%0A")])
def test_auth_percent_encoding(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded


@pytest.mark.parametrize(("skew", "ok"), [(timedelta(minutes=14, seconds=59), True), (timedelta(minutes=15, seconds=1), False),
                                           (-timedelta(minutes=15, seconds=1), False)])  # fmt: skip
def test_auth_timestamp_window(skew: timedelta, ok: bool) -> None:
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: T0 + skew)
    params = {**VECTOR, "Signature": "41wk2SSX1GJh7fwnc5eqOfiJPFg="}
    if ok:
        auth.authenticate("GET", params, {}, b"")
    else:
        with pytest.raises(errors.TimeStampExpired):
            auth.authenticate("GET", params, {}, b"")


def test_auth_nonce_replay_and_expiry() -> None:
    clock = [T0]
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: clock[0])
    params = {**VECTOR, "SignatureNonce": "n1"}
    params["Signature"] = sign_v1(string_to_sign_v1("GET", params), "testsecret")
    auth.authenticate("GET", params, {}, b"")
    with pytest.raises(errors.SignatureNonceUsed):
        auth.authenticate("GET", params, {}, b"")
    clock[0] = T0 + timedelta(minutes=16)  # by now the timestamp itself is refused first
    with pytest.raises(errors.TimeStampExpired):
        auth.authenticate("GET", params, {}, b"")


def test_auth_nonce_memory_is_bounded() -> None:
    cache = NonceCache(capacity=100)
    far = T0 + timedelta(days=1)
    for i in range(1000):
        assert cache.check_and_add(("id", str(i)), far, T0)
    assert len(cache) == 100
    assert not cache.check_and_add(("id", "999"), far, T0)
    assert cache.check_and_add(("id", "0"), far, T0)  # evicted long ago: the price of a bound


def test_auth_expired_nonces_are_dropped() -> None:
    cache = NonceCache()
    for i in range(50):
        cache.check_and_add(("id", str(i)), T0, T0 - timedelta(seconds=1))
    cache.check_and_add(("id", "new"), T0 + timedelta(minutes=15), T0 + timedelta(seconds=1))
    assert len(cache) == 1


def test_auth_unknown_key_before_signature() -> None:
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: T0)
    with pytest.raises(errors.InvalidAccessKeyIdNotFound):
        auth.authenticate("GET", {**VECTOR, "AccessKeyId": "nobody", "Signature": "x"}, {}, b"")
    with pytest.raises(errors.SignatureDoesNotMatch) as info:
        auth.authenticate("GET", {**VECTOR, "Signature": "x"}, {}, b"")
    assert info.value.message.split(":")[1] == string_to_sign_v1("GET", VECTOR)
