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


def test_auth_full_nonce_cache_refuses_instead_of_forgetting() -> None:
    cache = NonceCache(capacity=100)
    far = T0 + timedelta(days=1)
    for i in range(100):
        assert cache.check_and_add("id", str(i), far, T0)
    with pytest.raises(errors.Throttling):
        cache.check_and_add("id", "100", far, T0)
    assert cache.size("id") == 100
    assert not cache.check_and_add("id", "0", far, T0)  # the oldest nonce is still remembered


def test_auth_one_accounts_flood_leaves_anothers_nonces() -> None:
    """Account B fills its own cache; A's captured nonce still replays as a replay."""
    cache = NonceCache(capacity=50)
    far = T0 + timedelta(minutes=15)
    assert cache.check_and_add("alice", "captured", far, T0)
    for i in range(50):
        cache.check_and_add("bob", str(i), far, T0)
    with pytest.raises(errors.Throttling):
        cache.check_and_add("bob", "one-more", far, T0)
    assert not cache.check_and_add("alice", "captured", far, T0)
    assert cache.check_and_add("alice", "fresh", far, T0)


def test_auth_full_cache_frees_room_as_nonces_expire() -> None:
    cache = NonceCache(capacity=10)
    for i in range(10):
        # expiries out of insertion order, as clients' clocks differ
        cache.check_and_add("id", str(i), T0 + timedelta(seconds=10 - i), T0)
    with pytest.raises(errors.Throttling):
        cache.check_and_add("id", "late", T0 + timedelta(minutes=15), T0)
    # at T0+5s the five nonces with expiry <= 5 s are gone, wherever they sit in the cache
    assert cache.check_and_add("id", "late", T0 + timedelta(minutes=15), T0 + timedelta(seconds=5))
    assert cache.size("id") == 6


def test_auth_expired_nonces_are_dropped() -> None:
    cache = NonceCache()
    for i in range(50):
        cache.check_and_add("id", str(i), T0, T0 - timedelta(seconds=1))
    cache.check_and_add("id", "new", T0 + timedelta(minutes=15), T0 + timedelta(seconds=1))
    assert len(cache) == 1


def test_auth_nonce_replay_across_accounts_through_authenticator() -> None:
    """The same nonce from two AccessKeys is two requests, not a replay."""
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: T0)
    for account in DEFAULT_ACCOUNTS[:2]:
        params = {**VECTOR, "AccessKeyId": account.access_key_id, "SignatureNonce": "same"}
        params["Signature"] = sign_v1(string_to_sign_v1("GET", params), account.access_key_secret)
        auth.authenticate("GET", params, {}, b"")
    assert auth.nonces.size("testid") == auth.nonces.size("testid2") == 1


def test_auth_unknown_key_before_signature() -> None:
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: T0)
    with pytest.raises(errors.InvalidAccessKeyIdNotFound):
        auth.authenticate("GET", {**VECTOR, "AccessKeyId": "nobody", "Signature": "x"}, {}, b"")
    with pytest.raises(errors.SignatureDoesNotMatch) as info:
        auth.authenticate("GET", {**VECTOR, "Signature": "x"}, {}, b"")
    assert info.value.message.split(":")[1] == string_to_sign_v1("GET", VECTOR)
