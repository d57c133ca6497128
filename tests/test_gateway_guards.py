"""What the gateway refuses before any action runs: web pages, foreign Host names, the fault control
path without its token, unsigned Content-Type, unknown signature schemes, missing V3 headers,
Recipient, and replays made possible by another account's flood.

Requests are signed here by an independent implementation of the documented algorithms (not the
emulator's own code), over a real loopback socket unless the check is about the gateway alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from helpers.emulator import DEFAULT_ACCOUNTS, Emulator, errors
from helpers.emulator.auth import Authenticator
from helpers.emulator.backend import KmsBackend
from helpers.emulator.entropy import OS
from helpers.emulator.faults import Faults
from helpers.emulator.gateway import CONTROL_TOKEN_HEADER, FAULTS_PATH, Gateway, HttpRequest
from helpers.emulator.models import utc_now
from helpers.emulator.store import Store

FORM = "application/x-www-form-urlencoded"


# --- independent signers -----------------------------------------------------------------------
def pct(text: str) -> str:
    return quote(text.encode(), safe="-_.~")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1(action: str, secret: str = "testsecret", key_id: str = "testid", **extra: str) -> dict[str, str]:
    params = {"Action": action, "Version": "2016-01-20", "Format": "JSON", "AccessKeyId": key_id,
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "Timestamp": now(),
              "SignatureNonce": uuid.uuid4().hex, **extra}  # fmt: skip
    canon = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    sts = f"POST&%2F&{pct(canon)}"
    params["Signature"] = base64.b64encode(hmac.new(f"{secret}&".encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return params


def _sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def v3(emu: Emulator, action: str, query: dict[str, str], body: bytes = b"", *, algorithm: str = "ACS3-HMAC-SHA256",
       headers: dict[str, str] | None = None, sign: tuple[str, ...] | None = None, drop: str = "") -> dict[str, str]:  # fmt: skip
    """Headers of a V3 request as the Tea SDKs build it (x-acs-*, host and content-type signed)."""
    digest = _sm3 if algorithm == "ACS3-HMAC-SM3" else (lambda b: hashlib.sha256(b).hexdigest())
    all_headers = {"host": emu.endpoint.split("//")[1], "x-acs-action": action, "x-acs-version": "2016-01-20",
                   "x-acs-date": now(), "x-acs-signature-nonce": uuid.uuid4().hex,
                   "x-acs-content-sha256": digest(body), **(headers or {})}  # fmt: skip
    all_headers.pop(drop, None)
    names = sorted(sign if sign is not None else [n for n in all_headers if n.startswith("x-acs-") or n in ("host", "content-type")])
    canon_q = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(query.items()))
    canon_h = "".join(f"{n}:{all_headers.get(n, '').strip()}\n" for n in names)
    request = "\n".join(["POST", "/", canon_q, canon_h, ";".join(names), digest(body)])
    sts = f"{algorithm}\n{digest(request.encode())}"
    if algorithm == "ACS3-HMAC-SM3":
        mac = crypto_hmac.HMAC(b"testsecret", hashes.SM3())
        mac.update(sts.encode())
        signature = mac.finalize().hex()
    else:
        signature = hmac.new(b"testsecret", sts.encode(), hashlib.sha256).hexdigest()
    # two spaces after the scheme, as the Tea SDKs write it
    all_headers["Authorization"] = f"{algorithm}  Credential=testid,SignedHeaders={';'.join(names)},Signature={signature}"
    return all_headers


def send(emu: Emulator, target: str = "/", body: bytes = b"", headers: dict[str, str] | None = None,
         method: str = "POST") -> tuple[int, dict[str, Any], dict[str, str]]:  # fmt: skip
    """Status, JSON body and response headers (lower-case) of one request."""
    host, port = emu.endpoint.split("//")[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read()), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def form(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def _key(emu: Emulator) -> str:
    status, body, _ = send(emu, "/?" + urlencode(v1("CreateKey")))
    assert status == 200
    return str(body["KeyMetadata"]["KeyId"])


# --- web pages and DNS rebinding (item 3) -----------------------------------------------------------
def test_a_foreign_origins_signed_form_post_cannot_delete_an_alias(emu: Emulator) -> None:
    key = _key(emu)
    assert send(emu, "/?" + urlencode(v1("CreateAlias", AliasName="alias/kept", KeyId=key)))[0] == 200
    page = {"Content-Type": FORM, "Origin": "https://attacker.example", "Host": "attacker.example"}
    status, body, _ = send(emu, "/", form(v1("DeleteAlias", AliasName="alias/kept")), page)
    assert (status, body["Code"]) == (403, "Forbidden.NoPermission")
    # the same with the emulator's own Host: Origin alone is enough to refuse it
    status, body, _ = send(emu, "/", form(v1("DeleteAlias", AliasName="alias/kept")), {"Content-Type": FORM, "Origin": "null"})
    assert (status, body["Code"]) == (403, "Forbidden.NoPermission")
    status, body, _ = send(emu, "/?" + urlencode(v1("ListAliases")))
    assert [a["AliasName"] for a in body["Aliases"]["Alias"]] == ["alias/kept"]


@pytest.mark.parametrize("site", ["cross-site", "same-site", "same-origin"])
def test_fetch_metadata_of_a_page_is_refused(emu: Emulator, site: str) -> None:
    status, body, _ = send(emu, "/?" + urlencode(v1("ListKeys")), headers={"Sec-Fetch-Site": site})
    assert (status, body["Code"]) == (403, "Forbidden.NoPermission")


@pytest.mark.parametrize("host", ["rebind.attacker.example", "rebind.attacker.example:8080", "127.0.0.1.nip.io", "localhost.attacker.example",
                                  "http://rebind.attacker.example:80"])
def test_a_dns_name_that_could_rebind_is_refused(emu: Emulator, host: str) -> None:
    status, body, _ = send(emu, "/?" + urlencode(v1("ListKeys")), headers={"Host": host})
    assert (status, body["Code"]) == (403, "Forbidden.NoPermission")
    assert host.removeprefix("http://").split(":")[0] in body["Message"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:1", "localhost", "LOCALHOST:99", "[::1]:80", "a.localhost",
                                  "kms.cn-hangzhou.aliyuncs.com", "192.0.2.10:8080", "myhost", "myhost:8080",
                                  "http://127.0.0.1:8080", "https://[::1]:443"])  # fmt: skip
def test_loopback_ip_and_alibaba_names_are_served(emu: Emulator, host: str) -> None:
    status, _, _ = send(emu, "/?" + urlencode(v1("ListKeys")), headers={"Host": host})
    assert status == 200


def test_a_configured_host_name_is_served() -> None:
    store = Store()
    try:
        gateway = Gateway(KmsBackend(store, utc_now, OS), Authenticator(DEFAULT_ACCOUNTS, utc_now), Faults(), "cn-hangzhou",
                          allowed_hosts=frozenset({"Room-KMS.lan"}))  # fmt: skip
        query = urlencode(v1("ListKeys"))
        assert gateway.handle(HttpRequest("POST", "/", query, {"host": "room-kms.lan:8080"})).status == 200
        assert gateway.handle(HttpRequest("POST", "/", urlencode(v1("ListKeys")), {"host": "other.lan"})).status == 403
    finally:
        store.close()


# --- the fault control path (item 2) ------------------------------------------------------------------
def test_fault_control_needs_the_token_and_junk_does_not_consume_faults(emu: Emulator) -> None:
    body = b"unavailable_next=1"
    for headers in ({"Content-Type": FORM}, {"Content-Type": FORM, CONTROL_TOKEN_HEADER: "guess"},
                    {"Content-Type": FORM, CONTROL_TOKEN_HEADER: emu.control_token[:-1]}):  # fmt: skip
        status, answer, _ = send(emu, FAULTS_PATH, body, headers)
        assert (status, answer["Code"]) == (403, "Forbidden.NoPermission")
    assert emu.faults.unavailable_next == 0
    status, answer, _ = send(emu, FAULTS_PATH, body, {"Content-Type": FORM, CONTROL_TOKEN_HEADER: emu.control_token})
    assert status == 200 and answer["unavailable_next"] == 1
    for _ in range(5):  # unsigned and badly signed requests are refused without using up the fault
        assert send(emu, "/?Action=ListKeys")[0] == 400
        assert send(emu, "/?" + urlencode(v1("ListKeys", "not-the-secret")))[0] == 400
    assert emu.faults.unavailable_next == 1
    assert send(emu, "/?" + urlencode(v1("ListKeys")))[1]["Code"] == "ServiceUnavailableTemporary"
    assert send(emu, "/?" + urlencode(v1("ListKeys")))[0] == 200


def test_fault_control_from_a_web_page_is_refused_even_with_the_token(emu: Emulator) -> None:
    headers = {"Content-Type": FORM, CONTROL_TOKEN_HEADER: emu.control_token, "Origin": "https://attacker.example"}
    assert send(emu, FAULTS_PATH, b"unavailable_next=1", headers)[0] == 403
    assert emu.faults.unavailable_next == 0


# --- V3: Content-Type, schemes, required headers (items 6, 18, 21) ----------------------------------------
def test_v3_body_needs_a_signed_content_type(emu: Emulator) -> None:
    body = form({"Plaintext": "aGk=", "EncryptionContext": '{"app":"web"}', "KeyId": _key(emu)})
    unsigned = v3(emu, "Encrypt", {}, body, headers={"content-type": FORM}, sign=("host", "x-acs-action", "x-acs-content-sha256",
                  "x-acs-date", "x-acs-signature-nonce", "x-acs-version"))  # fmt: skip
    status, answer, _ = send(emu, "/", body, unsigned)
    assert (status, answer["Code"]) == (400, "IncompleteSignature") and "content-type" in answer["Message"]


def test_v3_switching_a_signed_content_type_drops_nothing_silently(emu: Emulator) -> None:
    key = _key(emu)
    body = form({"Plaintext": "aGk=", "EncryptionContext": '{"app":"web"}', "KeyId": key})
    signed = v3(emu, "Encrypt", {}, body, headers={"content-type": FORM})
    status, answer, _ = send(emu, "/", body, {**signed, "content-type": "text/plain"})
    assert (status, answer["Code"]) == (400, "SignatureDoesNotMatch")
    status, answer, _ = send(emu, "/", body, v3(emu, "Encrypt", {}, body, headers={"content-type": FORM}))
    assert status == 200  # the same request, untouched, is served; its context is bound
    blob = answer["CiphertextBlob"]
    assert send(emu, "/?" + urlencode(v1("Decrypt", CiphertextBlob=blob)))[0] == 400
    assert send(emu, "/?" + urlencode(v1("Decrypt", CiphertextBlob=blob, EncryptionContext='{"app":"web"}')))[0] == 200


@pytest.mark.parametrize("scheme", ["ACS3-RSA-SHA256", "ACS4-HMAC-SHA256", "Bearer", "AWS4-HMAC-SHA256"])
def test_v3_unknown_scheme_is_named(emu: Emulator, scheme: str) -> None:
    headers = v3(emu, "ListKeys", {})
    headers["Authorization"] = headers["Authorization"].replace("ACS3-HMAC-SHA256", scheme, 1)
    status, answer, _ = send(emu, "/", b"", headers)
    assert (status, answer["Code"]) == (400, "IncompleteSignature") and scheme in answer["Message"]


def test_v3_sm3_signatures_verify(emu: Emulator) -> None:
    query = {"Description": "signed with SM3 é"}
    status, answer, _ = send(emu, "/?" + urlencode(query), b"", v3(emu, "CreateKey", query, algorithm="ACS3-HMAC-SM3"))
    assert status == 200 and answer["KeyMetadata"]["Description"] == "signed with SM3 é"
    tampered = v3(emu, "CreateKey", query, algorithm="ACS3-HMAC-SM3")
    status, answer, _ = send(emu, "/?" + urlencode({"Description": "changed"}), b"", tampered)
    assert (status, answer["Code"]) == (400, "SignatureDoesNotMatch")
    body = form({"Description": "SM3 body"})
    status, answer, _ = send(emu, "/", body, v3(emu, "CreateKey", {}, body, algorithm="ACS3-HMAC-SM3", headers={"content-type": FORM}))
    assert status == 200 and answer["KeyMetadata"]["Description"] == "SM3 body"


@pytest.mark.parametrize("header", ["x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce"])
def test_v3_each_required_header_missing_is_refused(emu: Emulator, header: str) -> None:
    status, answer, _ = send(emu, "/", b"", v3(emu, "ListKeys", {}, drop=header))
    assert (status, answer["Code"]) == (400, "MissingParameter") and header in answer["Message"]


@pytest.mark.parametrize("name", ["AccessKeyId", "Signature", "SignatureMethod", "Timestamp", "Action", "Version"])
def test_v1_each_required_parameter_missing_is_refused(emu: Emulator, name: str) -> None:
    params = v1("ListKeys")
    del params[name]
    status, answer, _ = send(emu, "/?" + urlencode(params))
    assert (status, answer["Code"]) == (400, "MissingParameter") and name in answer["Message"]


# --- Recipient (item 19) ----------------------------------------------------------------------
def test_recipient_is_refused_not_ignored(emu: Emulator) -> None:
    key = _key(emu)
    status, answer, _ = send(emu, "/?" + urlencode(v1("Encrypt", KeyId=key, Plaintext="c2VjcmV0")))
    blob = answer["CiphertextBlob"]
    recipient = '{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"AAAA"}'
    for action, params in (("Decrypt", {"CiphertextBlob": blob}), ("GenerateDataKey", {"KeyId": key})):
        status, answer, _ = send(emu, "/?" + urlencode(v1(action, Recipient=recipient, **params)))
        assert (status, answer["Code"]) == (400, "UnsupportedOperation") and "Plaintext" not in answer
        assert "Recipient" in answer["Message"]


# --- x-acs-request-id (item 20) ------------------------------------------------------------------
def test_every_answer_carries_its_request_id_header(emu: Emulator) -> None:
    for target in ("/?" + urlencode(v1("ListKeys")), "/?Action=ListKeys", "/elsewhere"):
        _, answer, headers = send(emu, target)
        assert headers["x-acs-request-id"] == answer["RequestId"]
        uuid.UUID(answer["RequestId"])


# --- nonces across accounts (item 5) ----------------------------------------------------------------
def test_another_accounts_flood_cannot_make_a_captured_request_replay() -> None:
    """Account B floods the gateway with fresh nonces; A's captured DisableKey still counts as used."""
    store = Store()
    try:
        auth = Authenticator(DEFAULT_ACCOUNTS, utc_now, nonce_capacity=200)
        gateway = Gateway(KmsBackend(store, utc_now, OS), auth, Faults(), "cn-hangzhou")
        key = json.loads(gateway.handle(HttpRequest("POST", "/", urlencode(v1("CreateKey")), {})).body)["KeyMetadata"]["KeyId"]
        captured = urlencode(v1("DisableKey", KeyId=key))
        assert gateway.handle(HttpRequest("POST", "/", captured, {})).status == 200
        assert gateway.handle(HttpRequest("POST", "/", urlencode(v1("EnableKey", KeyId=key)), {})).status == 200
        codes = [json.loads(gateway.handle(HttpRequest("POST", "/", urlencode(v1("ListKeys", "testsecret2", "testid2")), {})).body).get("Code")
                 for _ in range(300)]  # fmt: skip
        assert codes.count(None) == 200 and set(codes) - {None} == {"Rejected.Throttling"}
        replay = json.loads(gateway.handle(HttpRequest("POST", "/", captured, {})).body)
        assert replay["Code"] == "SignatureNonceUsed"
        state = json.loads(gateway.handle(HttpRequest("POST", "/", urlencode(v1("DescribeKey", KeyId=key)), {})).body)
        assert state["KeyMetadata"]["KeyState"] == "Enabled"
    finally:
        store.close()


def test_nonce_refusal_ends_when_the_window_passes() -> None:
    clock = [datetime.now(timezone.utc)]
    auth = Authenticator(DEFAULT_ACCOUNTS[:1], lambda: clock[0], nonce_capacity=3)
    for _ in range(3):
        auth.authenticate("POST", v1("ListKeys"), {}, b"")
    with pytest.raises(errors.Throttling):
        auth.authenticate("POST", v1("ListKeys"), {}, b"")
    clock[0] += timedelta(minutes=31)  # every stored timestamp + 15 min has passed
    params = v1("ListKeys")
    params_time = clock[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    params = {k: v for k, v in params.items() if k != "Signature"} | {"Timestamp": params_time}
    canon = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    params["Signature"] = base64.b64encode(hmac.new(b"testsecret&", f"POST&%2F&{pct(canon)}".encode(), hashlib.sha1).digest()).decode()
    assert auth.authenticate("POST", params, {}, b"").action == "ListKeys"
