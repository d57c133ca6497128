"""Request authentication like the Alibaba Cloud API gateway (docs/emulator.md, Wire behaviour).

Two schemes: the RPC v1 query signature (HMAC-SHA1, classic SDK, CLI) and the V3 header
signature (ACS3-HMAC-SHA256, current official SDKs, or ACS3-HMAC-SM3, which the Tea SDKs offer:
the same canonical request, hashed and MACed with SM3). Any other Authorization scheme is refused
by name. Checks run in the gateway's order
([I] the order is inferred): required parameters -> AccessKeyId -> timestamp -> signature ->
security token -> nonce. Action and Version are checked later, by the gateway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from . import errors

V3_ALGORITHM = "ACS3-HMAC-SHA256"
V3_SM3 = "ACS3-HMAC-SM3"
_WINDOW = timedelta(minutes=15)
_NONCE_CAPACITY = 200_000  # per AccessKey: ~220 signed requests/s for 15 minutes, ~40 MB at most [I]
_V1_REQUIRED = ("AccessKeyId", "Signature", "SignatureMethod", "Timestamp", "Action", "Version")
_V3_REQUIRED = ("x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_AUTHORIZATION = re.compile(
    r"^(\S+)\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)$"
)


@dataclass(frozen=True)
class Account:
    """One AccessKey pair; ``STS.`` ids also need their ``security_token``."""

    access_key_id: str
    access_key_secret: str
    account_id: str
    security_token: str | None = None


DEFAULT_ACCOUNTS: tuple[Account, ...] = (
    Account("testid", "testsecret", "1234567890123456"),  # the pair of the docs' signature example
    Account("testid2", "testsecret2", "6543210987654321"),
    Account("STS.testid", "testsecret-sts", "1234567890123456", "test-sts-token"),
)


@dataclass(frozen=True)
class Caller:
    account: Account
    action: str
    version: str


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encode(value: str) -> str:
    """RFC 3986 over UTF-8, uppercase hex; space -> %20, '*' -> %2A, '~' literal."""
    if value.isalnum() and value.isascii() or _UNRESERVED.fullmatch(value):  # fast path: most names and values need no escaping
        return value
    return quote(value.encode("utf-8"), safe="-_.~")


def _canonical_query(params: Mapping[str, str]) -> str:
    return "&".join([f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()) if k != "Signature"])


def string_to_sign_v1(method: str, params: Mapping[str, str]) -> str:
    """Sign over the *decoded* parameters, never the raw query (Go encodes space as '+')."""
    # The second encoding pass: the canonical string holds only unreserved characters plus
    # '%', '=' and '&', so three replacements equal percent_encode() and are ~10x cheaper.
    canonical = _canonical_query(params).replace("%", "%25").replace("=", "%3D").replace("&", "%26")
    return f"{method.upper()}&%2F&{canonical}"


def sign_v1(string_to_sign: str, secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _hex_digest(algorithm: str, data: bytes) -> str:
    if algorithm == V3_SM3:
        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize().hex()
    return hashlib.sha256(data).hexdigest()


def string_to_sign_v3(method: str, params: Mapping[str, str], headers: Mapping[str, str],
                      signed_headers: Iterable[str], payload_hash: str, algorithm: str = V3_ALGORITHM) -> str:  # fmt: skip
    names = list(signed_headers)
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names)
    canonical = "\n".join([method.upper(), "/", _canonical_query(params), canonical_headers, ";".join(names), payload_hash])
    return f"{algorithm}\n{_hex_digest(algorithm, canonical.encode())}"


def sign_v3(string_to_sign: str, secret: str, algorithm: str = V3_ALGORITHM) -> str:
    if algorithm == V3_SM3:
        mac = crypto_hmac.HMAC(secret.encode(), hashes.SM3())
        mac.update(string_to_sign.encode())
        return mac.finalize().hex()
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


class NonceCache:
    """The nonces each AccessKey has used, each kept until its timestamp leaves the window.

    One cache per AccessKey, so one caller's flood cannot push out another's nonces (and so let a
    captured request of theirs replay). A full cache refuses new requests instead of forgetting
    nonces that are still inside the window: forgetting would reopen the replay.
    """

    def __init__(self, capacity: int = _NONCE_CAPACITY) -> None:
        self._capacity = capacity
        self._seen: dict[str, dict[str, float]] = {}  # AccessKeyId -> nonce -> expiry (POSIX seconds)
        self._next_purge: dict[str, float] = {}  # when a full cache can next free anything
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(nonces) for nonces in self._seen.values())

    def size(self, access_key_id: str) -> int:
        return len(self._seen.get(access_key_id, ()))

    def check_and_add(self, access_key_id: str, nonce: str, expires: datetime, now: datetime) -> bool:
        """True if new (and now remembered), False if a replay; raises Throttling when full."""
        now_s, expires_s = now.timestamp(), expires.timestamp()
        with self._lock:
            seen = self._seen.setdefault(access_key_id, {})
            if seen.get(nonce, 0.0) > now_s:
                return False
            # Insertion order is nearly expiry order (clients' clocks differ by at most the window),
            # so expired entries are dropped from the front; a full cache is swept once, then not
            # again until its earliest entry can have expired (a flood cannot make every request
            # pay for a sweep).
            while seen and next(iter(seen.values())) <= now_s:
                del seen[next(iter(seen))]
            if len(seen) >= self._capacity and now_s >= self._next_purge.get(access_key_id, 0.0):
                for old in [n for n, t in seen.items() if t <= now_s]:
                    del seen[old]
                self._next_purge[access_key_id] = min(seen.values(), default=now_s)
            if len(seen) >= self._capacity:
                # [I] the service's answer to a flood of one AccessKey is its QPS limit.
                raise errors.Throttling("Too many signed requests from this AccessKey within 15 minutes.")
            seen.pop(nonce, None)
            seen[nonce] = expires_s
            return True


def is_v3(headers: Mapping[str, str]) -> bool:
    """A request that carries an Authorization header is signed in headers (V3), not the query."""
    return bool(headers.get("authorization", "").strip())


def parse_timestamp(value: str) -> datetime:
    if not _TIMESTAMP.match(value):
        raise errors.TimeStampFormat()
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=timezone.utc)
    except ValueError as exc:  # e.g. month 13 matches the pattern but is not a date
        raise errors.TimeStampFormat() from exc


class Authenticator:
    def __init__(self, accounts: Iterable[Account], clock: Callable[[], datetime],
                 window: timedelta = _WINDOW, nonce_capacity: int = _NONCE_CAPACITY) -> None:  # fmt: skip
        self._accounts = {a.access_key_id: a for a in accounts}
        self._clock = clock
        self._window = window
        self.nonces = NonceCache(nonce_capacity)

    def authenticate(self, method: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes,
                     query: Mapping[str, str] | None = None) -> Caller:  # fmt: skip
        """``headers`` have lower-case names; ``params`` is query ∪ form body, ``query`` the query
        alone (V3 signs the query and hashes the body). Returns who is calling, and which action."""
        if is_v3(headers):
            return self._v3(method, params if query is None else query, headers, body)
        return self._v1(method, params)

    def _account(self, access_key_id: str) -> Account:
        account = self._accounts.get(access_key_id)
        if account is None:
            raise errors.InvalidAccessKeyIdNotFound()
        return account

    def _check_time(self, value: str) -> datetime:
        when = parse_timestamp(value)
        if abs(self._clock() - when) > self._window:
            raise errors.TimeStampExpired()
        return when

    def _check_token(self, account: Account, token: str | None) -> None:
        if account.security_token is None:
            return  # [I] a token sent with a long-term AccessKey is ignored
        if not token:
            raise errors.MissingParameter("SecurityToken")
        if not hmac.compare_digest(token.encode(), account.security_token.encode()):
            raise errors.InvalidSecurityTokenMismatch()

    def _check_nonce(self, access_key_id: str, nonce: str | None, when: datetime) -> None:
        # [I] SignatureNonce is optional: the KMS common-parameter page and the docs' signed example
        # URL omit it. When present, a replay inside the window is refused.
        if nonce and not self.nonces.check_and_add(access_key_id, nonce, when + self._window, self._clock()):
            raise errors.SignatureNonceUsed()

    def _v1(self, method: str, params: Mapping[str, str]) -> Caller:
        for name in _V1_REQUIRED:
            if not params.get(name):
                raise errors.MissingParameter(name)
        account = self._account(params["AccessKeyId"])
        when = self._check_time(params["Timestamp"])
        if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion", "1.0") != "1.0":
            raise errors.IncompleteSignature()  # [I] code for an unsupported method/version
        expected_sts = string_to_sign_v1(method, params)
        expected = sign_v1(expected_sts, account.access_key_secret)
        if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
            raise errors.SignatureDoesNotMatch(expected_sts)
        self._check_token(account, params.get("SecurityToken"))
        self._check_nonce(account.access_key_id, params.get("SignatureNonce"), when)
        return Caller(account, params["Action"], params["Version"])

    def _v3(self, method: str, params: Mapping[str, str], headers: Mapping[str, str], body: bytes) -> Caller:
        authorization = headers["authorization"].strip()
        scheme = authorization.split(None, 1)[0]
        if scheme not in (V3_ALGORITHM, V3_SM3):
            # [I] the gateway's code for a scheme it does not know; the message names it.
            raise errors.IncompleteSignature(
                f"The Authorization scheme {scheme[:40]!r} is not supported; use {V3_ALGORITHM} or {V3_SM3}."
            )
        match = _AUTHORIZATION.match(authorization)
        if match is None:
            raise errors.IncompleteSignature()
        algorithm, credential, signed, signature = match.groups()
        for name in _V3_REQUIRED:
            if not headers.get(name):
                raise errors.MissingParameter(name)
        account = self._account(credential)
        when = self._check_time(headers["x-acs-date"])
        signed_headers = signed.lower().split(";")
        required = {"host", *(h for h in headers if h.startswith("x-acs-"))}
        if body:
            # The body's parameters are read according to Content-Type, so an unsigned Content-Type
            # could be switched (form -> text/plain) to drop them, e.g. EncryptionContext. The
            # official SDKs sign it whenever they send it.
            required.add("content-type")
        if not required.issubset(signed_headers):
            missing = ", ".join(sorted(required - set(signed_headers)))
            # [I] unsigned x-acs-* headers (or Content-Type) could be swapped in transit
            raise errors.IncompleteSignature(f"These headers must be signed: {missing}.")
        payload_hash = _hex_digest(algorithm, body)
        expected_sts = string_to_sign_v3(method, params, headers, signed_headers, payload_hash, algorithm)
        # The Tea SDKs send the payload hash under this name whatever the algorithm.
        claimed_hash = headers.get("x-acs-content-sha256", payload_hash)
        ok = hmac.compare_digest(sign_v3(expected_sts, account.access_key_secret, algorithm), signature.lower())
        if not ok or not hmac.compare_digest(claimed_hash.lower(), payload_hash):
            raise errors.SignatureDoesNotMatch(expected_sts)
        self._check_token(account, headers.get("x-acs-security-token"))
        self._check_nonce(account.access_key_id, headers["x-acs-signature-nonce"], when)
        return Caller(account, headers["x-acs-action"], headers["x-acs-version"])
