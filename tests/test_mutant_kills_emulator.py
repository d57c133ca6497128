"""Tests written for mutants of the emulator's auth, backend and crypto modules that survived `make mutants`.

One promise per test, named after it; tools/mutants_equivalent.toml lists, under [killed], the
mutants each was written for. Promises a learner meets go through the real wire (the `kms`
client on an in-process emulator); the ones that are about one class (a cache's bound, a clock
boundary) are checked on that class, with an injected clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm

import helpers
from helpers.emulator import crypto, errors, models
from helpers.emulator.auth import DEFAULT_ACCOUNTS, Account, Authenticator, NonceCache, sign_v1, string_to_sign_v1
from helpers.emulator.backend import KmsBackend
from helpers.emulator.models import Scope
from helpers.errors import KmsError
from tests.fixtures_kms import SCOPE, T0, backend, clock, emulator, key_id, kms  # noqa: F401 (pytest fixtures)

REPO = Path(__file__).resolve().parents[1]


def kms_code(call: Callable[[], object]) -> str:
    """The KMS error code a call through the kit's client fails with."""
    with pytest.raises(KmsError) as info:
        call()
    return info.value.code


# --- helpers/emulator/backend.py -----------------------------------------------------------------
def count_version_reads(backend: KmsBackend) -> list[str]:
    """Record each version id the backend reads from its store (not from its own cache)."""
    reads: list[str] = []
    read = backend.store.get_version

    def counted(scope: Scope, version_id: str) -> Any:
        reads.append(version_id)
        return read(scope, version_id)

    backend.store.get_version = counted  # type: ignore[method-assign]
    return reads


class EveryVersionStore:
    """A store in which every version id exists (for the cache's bound: no SQLite rows needed)."""

    def __init__(self) -> None:
        self.reads = 0

    def get_version(self, scope: Scope, version_id: str) -> tuple[str, bytes]:
        self.reads += 1
        return "key-of-" + version_id, bytes(32)


def test_backend_version_cache_holds_10000_versions_then_starts_afresh():
    """Versions are immutable, so their material is cached; the cache is bounded at 10 000
    entries and emptied when full (memory stays bounded however many versions are used)."""
    store = EveryVersionStore()
    backend = KmsBackend(store)  # a stand-in: _version only calls store.get_version
    for i in range(10_000):
        backend._version(SCOPE, f"v{i}")
    assert store.reads == 10_000
    backend._version(SCOPE, "v0")
    backend._version(SCOPE, "v9999")
    assert store.reads == 10_000  # all 10 000 are still cached
    backend._version(SCOPE, "v10000")  # the 10 001st: the cache is emptied, then holds this one
    backend._version(SCOPE, "v10000")
    assert store.reads == 10_001
    backend._version(SCOPE, "v0")
    assert store.reads == 10_002


def test_backend_version_material_is_read_once_per_version(backend: KmsBackend):
    first, second = backend.create_key(SCOPE), backend.create_key(SCOPE)
    reads = count_version_reads(backend)
    for key in (first, second, first, second):
        backend.encrypt(SCOPE, key.key_id, b"x", None)
    assert reads == [first.primary_version, second.primary_version]


def test_backend_a_deleted_key_evicts_only_its_own_versions_from_the_cache(backend: KmsBackend, clock: list[datetime]):
    gone, kept = backend.create_key(SCOPE), backend.create_key(SCOPE)
    for key in (gone, kept):
        backend.encrypt(SCOPE, key.key_id, b"x", None)
    backend.schedule_key_deletion(SCOPE, gone.key_id, 7)
    clock[0] = T0 + timedelta(days=8)
    with pytest.raises(errors.KeyNotFound):
        backend.resolve(SCOPE, gone.key_id)
    reads = count_version_reads(backend)
    backend.encrypt(SCOPE, kept.key_id, b"x", None)
    assert reads == []  # the other key's material is still cached
    assert backend._version(SCOPE, gone.primary_version) is None and reads == [gone.primary_version]


def test_backend_deletion_date_is_whole_seconds(backend: KmsBackend, clock: list[datetime]):
    """DeleteDate is reported to the second, so it is computed from the clock without microseconds."""
    key = backend.create_key(SCOPE)
    clock[0] = T0 + timedelta(microseconds=500)
    backend.schedule_key_deletion(SCOPE, key.key_id, 7)
    assert backend.store.get_key(SCOPE, key.key_id).delete_date == T0 + timedelta(days=7)  # type: ignore[union-attr]


def test_backend_a_key_disappears_exactly_at_its_deletion_date(backend: KmsBackend, clock: list[datetime]):
    key = backend.create_key(SCOPE)
    backend.schedule_key_deletion(SCOPE, key.key_id, 7)
    clock[0] = T0 + timedelta(days=7) - timedelta(microseconds=1)
    assert [k.key_id for k in backend.list_keys(SCOPE)] == [key.key_id]
    assert backend.resolve(SCOPE, key.key_id).state == models.PENDING_DELETION
    clock[0] = T0 + timedelta(days=7)
    assert backend.list_keys(SCOPE) == []
    with pytest.raises(errors.KeyNotFound):
        backend.resolve(SCOPE, key.key_id)


@pytest.mark.parametrize("other", ["acs:kms:cn-hangzhou:6543210987654321", "acs:kms:cn-shanghai:1234567890123456"],
                         ids=["another account", "another region"])  # fmt: skip
def test_backend_an_arn_of_another_account_or_region_is_not_found_even_with_this_key_id(
        kms: helpers.Kms, key_id: str, other: str):  # fmt: skip
    """The account and region of an ARN count, not only its key id (both have the caller's length here)."""
    assert kms.describe_key(kms.describe_key(key_id).arn).key_id == key_id
    assert kms_code(lambda: kms.describe_key(f"{other}:key/{key_id}")) == "Forbidden.KeyNotFound"


def test_backend_create_alias_needs_a_key_id_not_an_alias(kms: helpers.Kms, key_id: str):
    kms.create_alias("alias/kills-first", key_id)
    assert kms_code(lambda: kms.create_alias("alias/kills-second", "alias/kills-first")) == "Forbidden.KeyNotFound"


def test_backend_decrypt_refuses_a_disabled_key(kms: helpers.Kms, key_id: str):
    blob = kms.encrypt(key_id, "secret").ciphertext_blob
    kms.disable_key(key_id)
    assert kms_code(lambda: kms.decrypt(blob)) == "Rejected.Disabled"
    kms.enable_key(key_id)
    assert kms.decrypt(blob).plaintext == "secret"


@pytest.fixture
def key_without_material(backend: KmsBackend) -> models.Key:
    """An Enabled key whose version holds no material (as an EXTERNAL key's does until an import,
    which this emulator cannot do): a state file can still hold one."""
    key = backend.create_key(SCOPE, origin="EXTERNAL")
    with backend.store.transaction():
        backend.store.put_key(key.with_state(models.ENABLED))
    return key


def test_backend_encrypt_under_a_version_without_material_is_key_version_not_found(
        backend: KmsBackend, key_without_material: models.Key):  # fmt: skip
    with pytest.raises(errors.KeyVersionNotFound):
        backend.encrypt(SCOPE, key_without_material.key_id, b"x", None)


def test_backend_decrypt_under_a_version_without_material_is_key_version_not_found(
        backend: KmsBackend, key_without_material: models.Key):  # fmt: skip
    blob = crypto.seal(bytes(32), key_without_material.primary_version, b"x", None)
    with pytest.raises(errors.KeyVersionNotFound):
        backend.decrypt(SCOPE, blob, None)


# --- helpers/emulator/crypto.py: SM4-GCM behaves as AES-256-GCM does -----------------------------
VERSION_ID = "0b3e1c2a-4d5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.mark.parametrize("material", [bytes(range(16)), bytes(range(32))], ids=["Aliyun_SM4", "Aliyun_AES_256"])
def test_crypto_an_empty_plaintext_round_trips_under_either_cipher(material: bytes):
    """The blob is then exactly version id, IV and tag, and it opens to the empty plaintext."""
    blob = crypto.seal(material, VERSION_ID, b"", {"k": "v"})
    assert len(blob) == crypto.MIN_BLOB_LENGTH
    assert crypto.open_blob(material, blob, {"k": "v"}) == b""


@pytest.mark.parametrize("material", [bytes(range(16)), bytes(range(32))], ids=["Aliyun_SM4", "Aliyun_AES_256"])
def test_crypto_data_shorter_than_a_tag_fails_authentication_under_either_cipher(material: bytes):
    """SM4-GCM keeps AESGCM's interface: input shorter than the 16-byte tag raises InvalidTag
    (which open_blob turns into BlobError), not some other error."""
    with pytest.raises(InvalidTag):
        crypto._cipher(material).decrypt(bytes(crypto.IV_LENGTH), bytes(crypto.TAG_LENGTH - 1), b"")


def test_crypto_sm4_is_unavailable_where_openssl_lacks_it(monkeypatch: pytest.MonkeyPatch):
    """OpenSSL builds may leave SM4 out; the probe then says False (CreateKey refuses Aliyun_SM4)."""

    def no_sm4(*args: object, **kwargs: object) -> None:
        raise UnsupportedAlgorithm("SM4 is not supported by this OpenSSL")

    monkeypatch.setattr(crypto, "Cipher", no_sm4)
    assert crypto.sm4_available.__wrapped__() is False  # the probe itself, not this machine's cached answer


# --- helpers/emulator/auth.py: the nonce cache, the window, tokens, refusal messages ------------
AT = datetime(2016, 3, 28, 3, 13, 8, tzinfo=timezone.utc)  # the docs' signature example's Timestamp
SIGNED = {"AccessKeyId": "testid", "Action": "CreateKey", "Format": "json", "SignatureMethod": "HMAC-SHA1",
          "SignatureVersion": "1.0", "Timestamp": "2016-03-28T03:13:08Z", "Version": "2016-01-20"}  # fmt: skip


def signed_v1(account: Account, **extra: str) -> dict[str, str]:
    params = {**SIGNED, "AccessKeyId": account.access_key_id, **extra}
    return {**params, "Signature": sign_v1(string_to_sign_v1("GET", params), account.access_key_secret)}


def test_auth_default_nonce_capacity_is_the_documented_200000_per_access_key():
    """docs/emulator.md: nonces are remembered "up to 200,000 each"; the next one is throttled."""
    assert "up to 200,000 each" in (REPO / "docs" / "emulator.md").read_text(encoding="utf-8")
    cache, expires = NonceCache(), AT + timedelta(minutes=15)
    for i in range(200_000):
        cache.check_and_add("testid", str(i), expires, AT)
    assert cache.size("testid") == 200_000
    with pytest.raises(errors.Throttling):
        cache.check_and_add("testid", "one more", expires, AT)
    assert cache.check_and_add("testid2", "another key's", expires, AT) is True


def test_auth_a_replayed_nonce_is_answered_false():
    """check_and_add: True for a new nonce, False (not just falsy) for a replay."""
    cache = NonceCache(capacity=10)
    assert cache.check_and_add("id", "n", AT + timedelta(seconds=10), AT) is True
    assert cache.check_and_add("id", "n", AT + timedelta(seconds=10), AT + timedelta(seconds=9)) is False


def test_auth_a_nonce_is_forgotten_exactly_at_its_expiry():
    """Expired means expiry <= now, both for the replay check and for what the cache still holds."""
    cache = NonceCache(capacity=10)
    expiry = AT + timedelta(seconds=10)
    cache.check_and_add("id", "n", expiry, AT)
    assert cache.check_and_add("id", "n", expiry + timedelta(minutes=15), expiry) is True  # no longer a replay
    later = expiry + timedelta(minutes=15)
    cache.check_and_add("id", "m", later + timedelta(minutes=15), later)
    assert cache.size("id") == 1  # "n" (expiring at `later`) is gone, not merely ignored


def test_auth_only_a_full_cache_is_swept():
    """Below capacity, expired nonces are dropped from the front only (cheap per request); one
    that expired behind a longer-lived nonce waits for the sweep of a full cache."""
    cache = NonceCache(capacity=4)
    for nonce, seconds in (("front", 1), ("long", 100), ("short", 2)):
        cache.check_and_add("id", nonce, AT + timedelta(seconds=seconds), AT)
    cache.check_and_add("id", "new", AT + timedelta(seconds=100), AT + timedelta(seconds=3))
    assert cache.size("id") == 3  # "front" dropped; "short" is still held: the cache was not full
    cache.check_and_add("id", "fills", AT + timedelta(seconds=100), AT + timedelta(seconds=3))
    cache.check_and_add("id", "newer", AT + timedelta(seconds=100), AT + timedelta(seconds=3))
    assert cache.size("id") == 4  # full: swept ("short" went), then "newer" added


def test_auth_a_full_cache_is_swept_again_exactly_when_its_earliest_nonce_expires():
    cache = NonceCache(capacity=3)
    for nonce, seconds in (("first", 100), ("earliest", 10), ("third", 20)):  # out of expiry order
        cache.check_and_add("id", nonce, AT + timedelta(seconds=seconds), AT)
    with pytest.raises(errors.Throttling):  # swept: nothing had expired; next sweep at AT+10s
        cache.check_and_add("id", "x", AT + timedelta(seconds=100), AT + timedelta(seconds=1))
    assert cache.check_and_add("id", "x", AT + timedelta(seconds=100), AT + timedelta(seconds=10)) is True
    assert cache.size("id") == 3  # "earliest" made room


def test_auth_a_nonce_used_again_after_expiry_moves_to_the_back():
    """The front-drop relies on insertion order following expiry order, so a reused nonce is
    re-inserted at the back with its new expiry; nonces that expire before it still go first."""
    cache = NonceCache(capacity=10)
    for nonce, seconds in (("a", 10), ("b", 5), ("c", 50)):
        cache.check_and_add("id", nonce, AT + timedelta(seconds=seconds), AT)
    assert cache.check_and_add("id", "b", AT + timedelta(seconds=60), AT + timedelta(seconds=6)) is True
    cache.check_and_add("id", "d", AT + timedelta(seconds=100), AT + timedelta(seconds=55))
    assert cache.size("id") == 2  # "a" and "c" dropped from the front; "b" (60 s) and "d" remain


@pytest.mark.parametrize("timestamp", ["2016-03-28 03:13:08Z", "20160328T031308Z", "2016-03-28T03:13:08+00:00Z",
                                       "2016-03-28T03:13:08+"])  # fmt: skip
def test_auth_timestamp_must_be_utc_iso_8601_with_a_z(timestamp: str):
    """yyyy-MM-ddTHH:mm:ssZ only: the looser forms datetime.fromisoformat accepts are refused."""
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: AT)
    with pytest.raises(errors.TimeStampFormat):
        auth.authenticate("GET", signed_v1(DEFAULT_ACCOUNTS[0], Timestamp=timestamp), {}, b"")


@pytest.mark.parametrize("skew", [timedelta(minutes=15), -timedelta(minutes=15)], ids=["ahead", "behind"])
def test_auth_a_timestamp_exactly_15_minutes_off_is_still_accepted(skew: timedelta):
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: AT + skew)
    assert auth.authenticate("GET", signed_v1(DEFAULT_ACCOUNTS[0]), {}, b"").account.access_key_id == "testid"


@pytest.mark.parametrize(("token", "refusal"), [(None, errors.MissingParameter), ("not-its-token", errors.InvalidSecurityTokenMismatch)],
                         ids=["missing", "wrong"])  # fmt: skip
def test_auth_an_sts_access_key_needs_its_own_security_token_in_a_v1_request(token: str | None, refusal: type[Exception]):
    sts = next(a for a in DEFAULT_ACCOUNTS if a.security_token)
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: AT)
    with pytest.raises(refusal):
        auth.authenticate("GET", signed_v1(sts, **({} if token is None else {"SecurityToken": token})), {}, b"")
    assert auth.authenticate("GET", signed_v1(sts, SecurityToken=sts.security_token), {}, b"").account == sts  # type: ignore[arg-type]


def test_auth_an_unknown_authorization_scheme_is_named_cut_to_40_characters():
    auth = Authenticator(DEFAULT_ACCOUNTS, lambda: AT)
    scheme = "ACS4-" + "X" * 35 + "-tail-not-shown"
    with pytest.raises(errors.IncompleteSignature) as info:
        auth.authenticate("POST", {}, {"authorization": f"{scheme} Credential=testid"}, b"")
    assert info.value.message.startswith(f"The Authorization scheme {scheme[:40]!r} is not supported;")
