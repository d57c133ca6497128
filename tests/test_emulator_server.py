"""Raw HTTP against the emulator: v1 and V3 signatures, timestamps, nonces, GET/POST/form, bad input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
import socketserver
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.emulator import Emulator

ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend", "HttpStatus"}


def pct(s: str) -> str:  # independent of helpers.emulator.auth on purpose
    return quote(s.encode(), safe="-_.~")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_v1(method: str, params: dict[str, str], secret: str = "testsecret") -> dict[str, str]:
    canon = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    sts = f"{method}&%2F&{pct(canon)}"
    sig = base64.b64encode(hmac.new(f"{secret}&".encode(), sts.encode(), hashlib.sha1).digest()).decode()
    return {**params, "Signature": sig}


def common(action: str, **extra: str) -> dict[str, str]:
    return {"Action": action, "Version": "2016-01-20", "Format": "JSON", "AccessKeyId": "testid",
            "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "Timestamp": now(),
            "SignatureNonce": uuid.uuid4().hex, **extra}  # fmt: skip


def raw(emu: Emulator, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    host, port = emu.endpoint.split("//")[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        assert response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data)
    finally:
        conn.close()


def query(params: dict[str, str]) -> str:
    return "/?" + "&".join(f"{pct(k)}={pct(v)}" for k, v in params.items())


def assert_error(result: tuple[int, Any], status: int, code: str) -> dict[str, Any]:
    got_status, body = result
    assert (got_status, body.get("Code")) == (status, code), body
    assert set(body) == ERROR_KEYS and body["HttpStatus"] == status
    uuid.UUID(body["RequestId"])
    return dict(body)


def test_server_documented_signature_vector_verifies() -> None:
    params = {"AccessKeyId": "testid", "Action": "CreateKey", "Format": "json", "SignatureMethod": "HMAC-SHA1",
              "SignatureVersion": "1.0", "Timestamp": "2016-03-28T03:13:08Z", "Version": "2016-01-20"}  # fmt: skip
    assert signed_v1("GET", params)["Signature"] == "41wk2SSX1GJh7fwnc5eqOfiJPFg="
    frozen = datetime(2016, 3, 28, 3, 13, 8, tzinfo=timezone.utc)
    with Emulator(clock=lambda: frozen) as emu:
        status, body = raw(emu, "GET", query(params) + "&Signature=41wk2SSX1GJh7fwnc5eqOfiJPFg%3D")
        assert status == 200 and body["KeyMetadata"]["CreationDate"] == "2016-03-28T03:13:08Z"


@pytest.mark.parametrize("style", ["get", "post-query", "post-form", "post-mixed", "go-plus"])
def test_server_v1_methods_and_placements(emulator_server: Emulator, style: str) -> None:
    method = "GET" if style == "get" else "POST"
    params = signed_v1(method, common("CreateKey", Description="a b+c ~*é😀"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    if style in ("get", "post-query"):
        result = raw(emulator_server, method, query(params))
    elif style == "post-form":
        result = raw(emulator_server, method, "/", urlencode(params).encode(), form)
    elif style == "post-mixed":
        first = dict(list(params.items())[:4])
        rest = {k: v for k, v in params.items() if k not in first}
        result = raw(emulator_server, method, query(first), urlencode(rest).encode(), form)
    else:  # the Go SDK / CLI encode spaces as '+'
        result = raw(emulator_server, method, "/?" + urlencode(params))
    assert result[0] == 200 and result[1]["KeyMetadata"]["Description"] == "a b+c ~*é😀"


def test_server_v1_signature_mismatch_message_has_colon(emulator_server: Emulator) -> None:
    params = signed_v1("POST", common("ListKeys"), secret="wrong")
    body = assert_error(raw(emulator_server, "POST", query(params)), 400, "SignatureDoesNotMatch")
    assert body["Message"].split(":", 1)[1].startswith("POST&%2F&AccessKeyId%3Dtestid")
    get_signed = signed_v1("GET", common("ListKeys"))  # signed for GET, sent as POST
    assert_error(raw(emulator_server, "POST", query(get_signed)), 400, "SignatureDoesNotMatch")


@pytest.mark.parametrize("missing", ["AccessKeyId", "Signature", "SignatureMethod", "Timestamp", "Action", "Version"])
def test_server_v1_missing_common_parameter(emulator_server: Emulator, missing: str) -> None:
    params = signed_v1("GET", common("ListKeys"))
    del params[missing]
    body = assert_error(raw(emulator_server, "GET", query(params)), 400, "MissingParameter")
    assert missing in body["Message"]


def test_server_v1_checks_in_gateway_order(emulator_server: Emulator) -> None:
    unknown = signed_v1("GET", common("ListKeys", AccessKeyId="nobody", Timestamp="bad"))
    assert_error(raw(emulator_server, "GET", query(unknown)), 404, "InvalidAccessKeyId.NotFound")
    for stamp, code in [("2016-03-28T03:13:08Z", "InvalidTimeStamp.Expired"), ("yesterday", "InvalidTimeStamp.Format"),
                        ("2026-13-45T99:00:00Z", "InvalidTimeStamp.Format")]:  # fmt: skip
        params = signed_v1("GET", common("ListKeys", Timestamp=stamp))
        assert_error(raw(emulator_server, "GET", query(params)), 400, code)
    params = signed_v1("GET", common("ListKeys", SignatureMethod="HMAC-SHA256"))
    assert_error(raw(emulator_server, "GET", query(params)), 400, "IncompleteSignature")
    assert_error(raw(emulator_server, "GET", query(signed_v1("GET", common("ListKeys", Version="2014-01-01")))), 400, "InvalidVersion")
    assert_error(raw(emulator_server, "GET", query(signed_v1("GET", common("Nope")))), 404, "InvalidAction.NotFound")


def test_server_v1_nonce_replay(emulator_server: Emulator) -> None:
    params = signed_v1("GET", common("ListKeys"))
    assert raw(emulator_server, "GET", query(params))[0] == 200
    assert_error(raw(emulator_server, "GET", query(params)), 400, "SignatureNonceUsed")
    other = signed_v1("GET", common("ListKeys", AccessKeyId="testid2"), secret="testsecret2")
    other["SignatureNonce"] = params["SignatureNonce"]  # nonces are per AccessKey
    assert raw(emulator_server, "GET", query(signed_v1("GET", {k: v for k, v in other.items() if k != "Signature"}, "testsecret2")))[0] == 200


def v3_headers(emu: Emulator, params: dict[str, str], action: str, body: bytes = b"", *, secret: str = "testsecret",
               key_id: str = "testid", extra: dict[str, str] | None = None, sign: tuple[str, ...] | None = None) -> dict[str, str]:  # fmt: skip
    headers = {"host": emu.endpoint.split("//")[1], "x-acs-action": action, "x-acs-version": "2016-01-20",
               "x-acs-date": now(), "x-acs-signature-nonce": uuid.uuid4().hex,
               "x-acs-content-sha256": hashlib.sha256(body).hexdigest(), **(extra or {})}  # fmt: skip
    names = sorted(sign if sign is not None else headers)
    canon_q = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()))
    canon_h = "".join(f"{n}:{headers[n].strip()}\n" for n in names)
    request = "\n".join(["POST", "/", canon_q, canon_h, ";".join(names), hashlib.sha256(body).hexdigest()])
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(request.encode()).hexdigest()
    sig = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={';'.join(names)},Signature={sig}"
    return headers


def test_server_v3_signature(emulator_server: Emulator) -> None:
    params = {"Description": "v3 key é", "KeySpec": "Aliyun_AES_256"}
    target = "/?" + urlencode(params)  # the V3 SDK uses '+' for spaces in the query
    status, body = raw(emulator_server, "POST", target, headers=v3_headers(emulator_server, params, "CreateKey"))
    assert status == 200 and body["KeyMetadata"]["Description"] == "v3 key é"
    bad = v3_headers(emulator_server, params, "CreateKey", secret="wrong")
    assert ":" in assert_error(raw(emulator_server, "POST", target, headers=bad), 400, "SignatureDoesNotMatch")["Message"]
    lying = v3_headers(emulator_server, params, "CreateKey", b"x")  # hash of a body that is not sent
    assert_error(raw(emulator_server, "POST", target, headers=lying), 400, "SignatureDoesNotMatch")
    unsigned = v3_headers(emulator_server, params, "CreateKey", sign=("host", "x-acs-action"))
    assert_error(raw(emulator_server, "POST", target, headers=unsigned), 400, "IncompleteSignature")
    garbled = {**v3_headers(emulator_server, params, "CreateKey"), "Authorization": "ACS3-HMAC-SHA256 nonsense"}
    assert_error(raw(emulator_server, "POST", target, headers=garbled), 400, "IncompleteSignature")
    replay = v3_headers(emulator_server, {}, "ListKeys")
    assert raw(emulator_server, "POST", "/", headers=replay)[0] == 200
    assert_error(raw(emulator_server, "POST", "/", headers=replay), 400, "SignatureNonceUsed")
    expired = v3_headers(emulator_server, {}, "ListKeys", extra={"x-acs-date": "2016-03-28T03:13:08Z"})
    assert_error(raw(emulator_server, "POST", "/", headers=expired), 400, "InvalidTimeStamp.Expired")
    sts_ok = v3_headers(emulator_server, {}, "ListKeys", key_id="STS.testid", secret="testsecret-sts",
                        extra={"x-acs-security-token": "test-sts-token"})  # fmt: skip
    assert raw(emulator_server, "POST", "/", headers=sts_ok)[0] == 200
    sts_none = v3_headers(emulator_server, {}, "ListKeys", key_id="STS.testid", secret="testsecret-sts")
    assert_error(raw(emulator_server, "POST", "/", headers=sts_none), 400, "MissingParameter")


def test_server_v3_form_body_is_covered_by_the_payload_hash(emulator_server: Emulator) -> None:
    body = urlencode({"Description": "from body"}).encode()
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, answer = raw(emulator_server, "POST", "/", body, v3_headers(emulator_server, {}, "CreateKey", body, extra=form))
    assert status == 200 and answer["KeyMetadata"]["Description"] == "from body"


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("/?%%%&&==&Action", 400, "MissingParameter"),
        ("/?Action=%FF%FE", 400, "ParseRequestParameterException"),
        ("/?Action=List%00Keys", 400, "InvalidParameter"),
        ("/?Action=ListKeys&Action=ListKeys", 400, "InvalidParameter"),
        ("/?" + "&".join(f"p{i}=1" for i in range(300)), 400, "ParseRequestParameterException"),
        ("/?Format=XML", 400, "InvalidParameter"),
        ("/elsewhere", 404, "InvalidAction.NotFound"),
        ("/?Description=" + "x" * 70000, 400, "ParseRequestParameterException"),  # > 64 KB request line
    ],
)
def test_server_malformed_queries_get_json_4xx(emulator_server: Emulator, target: str, status: int, code: str) -> None:
    assert_error(raw(emulator_server, "GET", target), status, code)


def test_server_wrong_types_and_huge_values(emulator_server: Emulator) -> None:
    for extra, code in [({"PageSize": "ten"}, "InvalidParameter"), ({"PageSize": "1e3"}, "InvalidParameter"),
                        ({"PageNumber": "99999999999999999999"}, "InvalidParameter"),
                        ({"Filters": '{"Key": 1}'}, "InvalidParameter"), ({"Filters": "[" * 100000}, "InvalidParameter")]:  # fmt: skip
        params = signed_v1("POST", common("ListKeys", **extra))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert_error(raw(emulator_server, "POST", "/", urlencode(params).encode(), form), 400, code)


def test_server_long_request_line_accepted(emulator_server: Emulator) -> None:
    params = signed_v1("POST", common("CreateKey", Description="é" * 6000))
    target = query(params)
    assert len(target) > 32 * 1024
    assert raw(emulator_server, "POST", target)[0] == 200


@pytest.mark.parametrize(
    ("method", "headers", "body", "status", "code"),
    [
        ("PUT", {}, b"", 403, "UnsupportedHTTPMethod"),
        ("DELETE", {}, b"", 403, "UnsupportedHTTPMethod"),
        ("POST", {"Content-Type": "application/x-www-form-urlencoded"}, b"Action=%FF", 400, "ParseRequestParameterException"),
        ("POST", {"Content-Type": "application/x-www-form-urlencoded"}, b"\xff\xfe=1", 400, "ParseRequestParameterException"),
        ("POST", {"Content-Type": "application/json"}, b'{"Action": "ListKeys"}', 400, "MissingParameter"),
        ("POST", {"Content-Length": str(2 << 20)}, b"", 400, "ParseRequestParameterException"),
        ("POST", {"Content-Length": "-5"}, b"", 400, "ParseRequestParameterException"),
    ],
)
def test_server_bad_methods_and_bodies(emulator_server: Emulator, method: str, headers: dict[str, str], body: bytes,
                                       status: int, code: str) -> None:  # fmt: skip
    host, port = emulator_server.endpoint.split("//")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in ({"Content-Length": str(len(body))} | headers).items())
        sock.sendall(f"{method} / HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert_error((response.status, json.loads(response.read())), status, code)


def test_server_garbage_request_line_and_half_request(emulator_server: Emulator) -> None:
    host, port = emulator_server.endpoint.split("//")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert_error((response.status, json.loads(response.read())), 400, "ParseRequestParameterException")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /?Action=ListKeys HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")  # then hang up
    assert raw(emulator_server, "GET", query(signed_v1("GET", common("ListKeys"))))[0] == 200  # still serving


def test_server_writes_headers_and_body_in_one_write(emulator_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[bytes] = []
    original = socketserver._SocketWriter.write

    def spy(self: Any, data: bytes) -> int:
        writes.append(bytes(data))
        return int(original(self, data))

    monkeypatch.setattr(socketserver._SocketWriter, "write", spy)
    assert raw(emulator_server, "GET", query(signed_v1("GET", common("DescribeRegions"))))[0] == 200
    assert len(writes) == 1 and writes[0].startswith(b"HTTP/1.1 200") and b"cn-hangzhou" in writes[0]


def test_server_fault_control_path(emulator_server: Emulator) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded", "x-kms-emulator-control": emulator_server.control_token}
    status, body = raw(emulator_server, "POST", "/-/faults", b"unavailable_next=1&qps_limit=real", form)
    assert status == 200 and body == {"qps_limit": 750, "unavailable_next": 1, "unavailable_every": None}
    assert_error(raw(emulator_server, "GET", query(signed_v1("GET", common("ListKeys")))), 503, "ServiceUnavailableTemporary")
    assert raw(emulator_server, "POST", "/-/faults", b"qps_limit=off", form)[1]["qps_limit"] is None
    assert_error(raw(emulator_server, "POST", "/-/faults", b"qps_limit=fast", form), 400, "InvalidParameter")
    assert_error(raw(emulator_server, "POST", "/-/faults", b"colour=red", form), 400, "InvalidParameter")
    assert_error(raw(emulator_server, "GET", "/-/faults", headers=form), 403, "UnsupportedHTTPMethod")


def test_server_fault_control_path_refuses_remote_clients(emulator_server: Emulator) -> None:
    from helpers.emulator.gateway import HttpRequest

    gateway = emulator_server._server.gateway  # type: ignore[union-attr]
    answer = gateway.handle(HttpRequest("POST", "/-/faults", "unavailable_next=5", {}, b"", "192.0.2.7"))
    assert answer.status == 404 and emulator_server.faults.unavailable_next == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_server_fuzzed_queries_never_5xx(emulator_server: Emulator, junk: bytes) -> None:
    target = "/?" + quote(junk, safe="=&%+")
    status, body = raw(emulator_server, "POST", target)
    assert 400 <= status < 500 and "Code" in body


def chunked_v3(emu: Emulator, action: str, form: dict[str, str], piece: int = 16) -> tuple[int, Any]:
    """A V3-signed form body sent chunked, as the Node.js Tea client sends every non-empty body."""
    body = urlencode(form).encode()
    headers = v3_headers(emu, {}, action, body, extra={"content-type": "application/x-www-form-urlencoded"})
    host, port = emu.endpoint.split("//")[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        pieces = iter([body[i:i + piece] for i in range(0, len(body), piece)])
        conn.request("POST", "/", body=pieces, headers={**headers, "Transfer-Encoding": "chunked"}, encode_chunked=True)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_server_v3_chunked_form_body_with_encryption_context_round_trips(emulator_server: Emulator) -> None:
    """The signature hashes the decoded body, so a chunked body verifies and its parameters apply."""
    status, created = chunked_v3(emulator_server, "CreateKey", {"Description": "chunked"})
    assert status == 200 and created["KeyMetadata"]["Description"] == "chunked"
    key_id, context = created["KeyMetadata"]["KeyId"], json.dumps({"purpose": "chunked é", "n": "1"})
    plaintext = base64.b64encode(b"a chunked secret").decode()
    status, sealed = chunked_v3(emulator_server, "Encrypt", {"KeyId": key_id, "Plaintext": plaintext, "EncryptionContext": context})
    assert status == 200, sealed
    blob = sealed["CiphertextBlob"]
    status, opened = chunked_v3(emulator_server, "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": context}, piece=7)
    assert (status, opened["Plaintext"]) == (200, plaintext)
    status, refused = chunked_v3(emulator_server, "Decrypt", {"CiphertextBlob": blob, "EncryptionContext": '{"purpose": "other"}'})
    assert (status, refused["Code"]) == (400, "InvalidParameter")  # the context was read, and differs
    assert "EncryptionContext does not match" in refused["Message"]
