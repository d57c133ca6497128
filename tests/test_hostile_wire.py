"""Hostile input against the emulator's wire layer and signature check.

Property-based (hypothesis). Most cases drive the gateway in process (thousands per second, no
socket); the HTTP parser itself is driven over a real loopback socket with timeouts, so a hang
fails the test instead of stalling it. The promise checked everywhere: every answer is a
documented 4xx in the service's JSON error shape, never a 500, an escaped exception or a hang;
nothing a tampered request asks for is granted, and no plaintext comes back from one.

``test_emulator_server.py`` already covers single malformed queries and a 60-case random query;
this file goes further: mutated *validly signed* requests, random headers and bodies, the signature
over arbitrary Unicode, deep JSON, oversize header lines, stalled clients and raw-byte mutations.

``KMS_WORKSHOP_HOSTILE_EXAMPLES=N`` scales every property up (``make reliability`` uses it);
``OUTCOMES`` counts what was tried and answered, for docs/reliability.md.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import json
import os
import socket
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from helpers.emulator import DEFAULT_ACCOUNTS, Emulator, errors, models
from helpers.emulator.auth import Authenticator
from helpers.emulator.backend import KmsBackend
from helpers.emulator.faults import Faults
from helpers.emulator.gateway import FAULTS_PATH, Gateway, HttpRequest
from helpers.emulator.store import Store

EXAMPLES = int(os.environ.get("KMS_WORKSHOP_HOSTILE_EXAMPLES", "0") or 0)
OUTCOMES: Counter[tuple[str, str]] = Counter()  # (input family, "status code") -> count
ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "Recommend", "HttpStatus"}
#: every 4xx the emulator documents (docs/emulator.md): one class per wire code
DOCUMENTED_4XX = {(c.code, c.http_status) for c in errors.all_error_classes() if 400 <= c.http_status < 500}
SOCKET_TIMEOUT = 5.0
FORM = {"content-type": "application/x-www-form-urlencoded"}


def budget(default: int) -> Any:
    """Hypothesis settings: ``default`` examples in ``make test``, more under ``make reliability``."""
    return settings(max_examples=EXAMPLES or default, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])  # fmt: skip


# --- an independent v1 signer (the documented RPC v1 algorithm), not the emulator's own code ------------------
def pct(text: str) -> str:
    return quote(text.encode("utf-8"), safe="-_.~")


def signature(method: str, params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(params.items()) if k != "Signature")
    sts = f"{method}&%2F&{pct(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), sts.encode(), hashlib.sha1).digest()).decode()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(action: str, method: str = "POST", key_id: str = "testid", secret: str = "testsecret",
           **api: str) -> dict[str, str]:  # fmt: skip
    params = {**api, "Action": action, "Version": "2016-01-20", "Format": "JSON", "AccessKeyId": key_id,
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureType": "",
              "Timestamp": now(), "SignatureNonce": uuid.uuid4().hex}  # fmt: skip
    return {**params, "Signature": signature(method, params, secret)}


def encode(pairs: list[tuple[str, str]] | dict[str, str]) -> str:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return "&".join(f"{pct(k)}={pct(v)}" for k, v in items)


# --- the gateway in process -------------------------------------------------------------------
def new_gateway() -> Gateway:
    clock = models.utc_now
    return Gateway(KmsBackend(Store(None), clock), Authenticator(DEFAULT_ACCOUNTS, clock), Faults(), "cn-hangzhou")


def call(gw: Gateway, method: str, query: str, body: bytes = b"", headers: dict[str, str] | None = None,
         path: str = "/") -> tuple[int, dict[str, Any]]:  # fmt: skip
    response = gw.handle(HttpRequest(method, path, query, headers or {}, body))
    assert response.headers["Content-Type"].startswith("application/json")
    return response.status, json.loads(response.body)


def check(family: str, status: int, body: dict[str, Any], *, allow_ok: bool = False) -> str:
    """The promise: a documented 4xx with the full error shape (200 only where the input may be valid)."""
    if status == 200 and allow_ok:
        OUTCOMES[(family, "200 OK")] += 1
        return "OK"
    assert (body.get("Code"), status) in DOCUMENTED_4XX, (status, body)
    assert set(body) == ERROR_KEYS and body["HttpStatus"] == status, body
    assert "Plaintext" not in body
    OUTCOMES[(family, f"{status} {body['Code']}")] += 1
    return str(body["Code"])


class World:
    """One gateway with a key, an alias and a ciphertext, shared by the examples of a test."""

    def __init__(self) -> None:
        self.gw = new_gateway()
        status, body = call(self.gw, "POST", encode(signed("CreateKey")))
        assert status == 200, body
        self.key_id = body["KeyMetadata"]["KeyId"]
        assert call(self.gw, "POST", encode(signed("CreateAlias", AliasName="alias/hostile", KeyId=self.key_id)))[0] == 200
        status, body = call(self.gw, "POST", encode(signed("Encrypt", KeyId=self.key_id, Plaintext="top secret é",
                                                            EncryptionContext='{"a":"b"}')))  # fmt: skip
        assert status == 200, body
        self.blob = body["CiphertextBlob"]
        self.plaintext = "top secret é"

    def requests(self) -> dict[str, dict[str, str]]:
        """Validly signed requests of several shapes (fresh nonce each time)."""
        return {
            "DescribeRegions": signed("DescribeRegions"),
            "ListKeys": signed("ListKeys", PageSize="5"),
            "DescribeKey": signed("DescribeKey", KeyId="alias/hostile"),
            "Encrypt": signed("Encrypt", KeyId=self.key_id, Plaintext="hi ~*+/=", EncryptionContext='{"x":"y"}'),
            "Decrypt": signed("Decrypt", CiphertextBlob=self.blob, EncryptionContext='{"a":"b"}'),
            "CreateAlias": signed("CreateAlias", AliasName="alias/hostile-2", KeyId=self.key_id),
        }


_world: World | None = None


def world() -> World:
    global _world
    if _world is None:
        _world = World()
    return _world


# --- random requests --------------------------------------------------------------------------
_QUERY_CHARS = st.sampled_from(list("&=%+?#/ ;,~*'\"\\\x00\x7f") + ["%FF", "%C3", "%00", "%2", "%ED%A0%80", "é", "😀"])
_query_text = st.lists(st.one_of(_QUERY_CHARS, st.text(max_size=8)), max_size=40).map("".join)
_header_names = st.sampled_from(["content-type", "authorization", "x-acs-action", "x-acs-date", "x-acs-version",
                                 "x-acs-signature-nonce", "x-acs-content-sha256", "host", "connection"])  # fmt: skip
_header_values = st.one_of(st.text(max_size=40), st.sampled_from([
    "application/x-www-form-urlencoded", "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host,Signature=00",
    "ACS3-HMAC-SHA256", "2016-01-20", "Encrypt", now(), "application/json"]))  # fmt: skip


@budget(300)
@given(method=st.sampled_from(["GET", "POST", "PUT", "HEAD", "OPTIONS", "G\x00T", "post"]),
       path=st.sampled_from(["/", "/", "/", FAULTS_PATH, "//", "/%2F", "/?", "/.."]),
       query=_query_text, headers=st.dictionaries(_header_names, _header_values, max_size=6),
       body=st.one_of(st.binary(max_size=200), _query_text.map(lambda s: s.encode("utf-8"))))  # fmt: skip
def test_hostile_random_requests_get_a_documented_4xx(method: str, path: str, query: str, headers: dict[str, str],
                                                      body: bytes) -> None:  # fmt: skip
    gw = new_gateway()  # fresh: a random fault setting must not leak into the next example
    # The server hands the gateway the raw request line decoded as ISO-8859-1: do the same.
    query = query.encode("utf-8").decode("iso-8859-1")
    try:
        status, answer = call(gw, method, query, body, headers, path)
    finally:
        gw.backend.store.close()
    # Only the loopback fault-control path can accept unsigned input (its own small form).
    check("random request", status, answer, allow_ok=path == FAULTS_PATH and method == "POST")


# --- mutations of validly signed requests -----------------------------------------------------
MUTATIONS = ("change value", "change name", "drop parameter", "add parameter", "repeat parameter",
             "repeat across query and body", "NUL in value", "invalid UTF-8", "other account's AccessKeyId",
             "other method", "stale timestamp")  # fmt: skip
EXPECTED = {  # the exact code each mutation must get, where only one is right
    "repeat parameter": "InvalidParameter", "repeat across query and body": "InvalidParameter",
    "NUL in value": "InvalidParameter", "invalid UTF-8": "ParseRequestParameterException",
    "other account's AccessKeyId": "SignatureDoesNotMatch", "other method": "SignatureDoesNotMatch",
    "stale timestamp": "InvalidTimeStamp.Expired",
}  # fmt: skip


@budget(400)
@given(shape=st.sampled_from(["DescribeRegions", "ListKeys", "DescribeKey", "Encrypt", "Decrypt", "CreateAlias"]),
       mutation=st.sampled_from(MUTATIONS), data=st.data())  # fmt: skip
def test_hostile_mutated_signed_requests_are_refused(shape: str, mutation: str, data: st.DataObject) -> None:
    w = world()
    params = w.requests()[shape]
    names = [k for k in params if k != "Signature"]
    name = data.draw(st.sampled_from(names), "name")
    pairs = list(params.items())
    query_pairs, body_pairs, method = pairs, [], "POST"
    raw_query = None
    if mutation == "change value":
        new = data.draw(st.text(max_size=30), "value")
        assume(new != params[name])
        query_pairs = [(k, new if k == name else v) for k, v in pairs]
    elif mutation == "change name":
        new = data.draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in params and "\x00" not in n), "new name")
        query_pairs = [(new if k == name else k, v) for k, v in pairs]
    elif mutation == "drop parameter":
        query_pairs = [(k, v) for k, v in pairs if k != name]
    elif mutation == "add parameter":
        extra = data.draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in params and "\x00" not in n), "extra")
        query_pairs = [*pairs, (extra, data.draw(st.text(max_size=12).filter(lambda v: "\x00" not in v), "extra value"))]
    elif mutation == "repeat parameter":
        query_pairs = [*pairs, (name, params[name])]
    elif mutation == "repeat across query and body":
        body_pairs = [(name, params[name])]
    elif mutation == "NUL in value":
        query_pairs = [(k, v + "\x00" if k == name else v) for k, v in pairs]
    elif mutation == "invalid UTF-8":
        raw_query = encode(pairs).replace(f"{pct(name)}=", f"{pct(name)}=%FF%FE", 1)
    elif mutation == "other account's AccessKeyId":
        query_pairs = [(k, "testid2" if k == "AccessKeyId" else v) for k, v in pairs]
    elif mutation == "other method":
        method = "GET"
    elif mutation == "stale timestamp":
        query_pairs = [(k, "2016-03-28T03:13:08Z" if k == "Timestamp" else v) for k, v in pairs]
    query = raw_query if raw_query is not None else encode(query_pairs)
    headers = FORM if body_pairs else {}
    status, answer = call(w.gw, method, query, encode(body_pairs).encode(), headers)
    code = check(f"validly signed request, then: {mutation}", status, answer)
    if mutation in EXPECTED:
        assert code == EXPECTED[mutation], answer
    # What the tampered request asked for did not happen.
    aliases = call(w.gw, "POST", encode(signed("ListAliases", PageSize="100")))[1]["Aliases"]["Alias"]
    assert [a["AliasName"] for a in aliases] == ["alias/hostile"]


_COMMON = {"Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureType",
           "Timestamp", "SignatureNonce", "Signature"}  # fmt: skip


def test_hostile_unmutated_shapes_are_accepted() -> None:
    """The baseline the mutations start from: each shape, untouched, succeeds (so a refusal means something)."""
    w = World()
    try:
        for shape, params in w.requests().items():
            status, body = call(w.gw, "POST", encode(params))
            assert status == 200, (shape, body)
            if shape == "Decrypt":
                assert body["Plaintext"] == w.plaintext
    finally:
        w.gw.backend.store.close()


# --- the signature check itself ---------------------------------------------------------------
#: the names of signed()'s own arguments, which a generated parameter name must not shadow
_SIGNED_ARGS = {"action", "method", "key_id", "secret"}
_any_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@budget(300)
@given(api=st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                   min_size=1, max_size=12).filter(lambda k: k not in _COMMON | _SIGNED_ARGS),
                           _any_text, max_size=6),
       data=st.data())  # fmt: skip
def test_hostile_signature_binds_every_parameter(api: dict[str, str], data: st.DataObject) -> None:
    """Any Unicode names and values verify when signed right, and changing any one of them breaks it."""
    auth = Authenticator(DEFAULT_ACCOUNTS, models.utc_now)
    params = signed("DescribeRegions", "POST", "testid", "testsecret", **api)
    assert auth.authenticate("POST", params, {}, b"").account.access_key_id == "testid"
    name = data.draw(st.sampled_from(sorted(set(params) - {"Signature", "AccessKeyId", "Timestamp", "SignatureMethod"})))
    new = data.draw(_any_text.filter(lambda v: v != params[name]))
    try:
        # A fresh authenticator: the nonce is unused there, so only the signature can refuse it.
        Authenticator(DEFAULT_ACCOUNTS, models.utc_now).authenticate("POST", {**params, name: new}, {}, b"")
    except errors.KmsApiError as exc:
        # An emptied required parameter is caught before the signature; anything else by it.
        assert exc.code in ("SignatureDoesNotMatch", "MissingParameter", "IncompleteSignature"), exc.code
        OUTCOMES[("signature: one parameter changed", f"{exc.http_status} {exc.code}")] += 1
    else:
        raise AssertionError(f"changing {name!r} to {new!r} still verified")


@budget(60)
@given(action=st.sampled_from(["ListKeys", "DescribeKey", "Decrypt", "Encrypt"]))
def test_hostile_request_signed_for_one_account_replayed_against_another(action: str) -> None:
    w = world()
    api = {"ListKeys": {}, "DescribeKey": {"KeyId": w.key_id}, "Decrypt": {"CiphertextBlob": w.blob, "EncryptionContext": '{"a":"b"}'},
           "Encrypt": {"KeyId": w.key_id, "Plaintext": "x"}}[action]  # fmt: skip
    a = signed(action, **api)
    # 1. the same bytes, sent again: a replay inside the window
    assert call(w.gw, "POST", encode(a))[0] == 200
    assert check("replay: same request again", *call(w.gw, "POST", encode(a))) == "SignatureNonceUsed"
    # 2. account A's signature presented as account B (with a fresh nonce, re-signed as A)
    relabelled = signed(action, key_id="testid2", secret="testsecret", **api)
    assert check("replay: A's signature as account B", *call(w.gw, "POST", encode(relabelled))) == "SignatureDoesNotMatch"
    # 3. B, properly signed, asking for A's key or ciphertext: it does not exist for B
    as_b = signed(action, key_id="testid2", secret="testsecret2", **api)
    status, body = call(w.gw, "POST", encode(as_b))
    if action == "ListKeys":
        assert status == 200 and body["TotalCount"] == 0  # B sees none of A's keys
    else:
        assert check("replay: B asks for A's key or blob", status, body) == "Forbidden.KeyNotFound"


# --- deep and hostile JSON in EncryptionContext (and the other JSON parameters) ---------------
def nested(depth: int, kind: str) -> str:
    if kind == "object":
        return '{"a":' * depth + '"v"' + "}" * depth
    if kind == "array":
        return "[" * depth + "]" * depth
    return "[" * depth  # unterminated


@budget(80)
@given(depth=st.integers(2, 20000), kind=st.sampled_from(["object", "array", "open"]),
       where=st.sampled_from(["Encrypt", "Decrypt", "GenerateDataKey", "ListKeys Filters", "CreateKey Tags"]))  # fmt: skip
@example(depth=1600, kind="object", where="Encrypt")
@example(depth=4000, kind="open", where="Decrypt")
def test_hostile_deep_json_is_invalid_parameter(depth: int, kind: str, where: str) -> None:
    w = world()
    value = nested(depth, kind)
    request = {
        "Encrypt": lambda: signed("Encrypt", KeyId=w.key_id, Plaintext="x", EncryptionContext=value),
        "Decrypt": lambda: signed("Decrypt", CiphertextBlob=w.blob, EncryptionContext=value),
        "GenerateDataKey": lambda: signed("GenerateDataKey", KeyId=w.key_id, EncryptionContext=value),
        "ListKeys Filters": lambda: signed("ListKeys", Filters=value),
        "CreateKey Tags": lambda: signed("CreateKey", Tags=value),
    }[where]()
    # Sent as a form body: a deep value can be far longer than a request line.
    status, body = call(w.gw, "POST", "", encode(request).encode(), FORM)
    assert check(f"deep JSON ({kind}) in {where}", status, body) == "InvalidParameter"


@budget(60)
@given(value=st.sampled_from(['{"a": 1e999999}', '{"a": ' + "9" * 5000 + "}", '{"a": NaN}', '{"a": null}',
                              '{"a": ["b"]}', '"just a string"', "[]", '{"a":"b"', "\ufeff{}", '{"\\ud800":"x"}',
                              '{"a":"b"}' + " " * 9000, '{"\\udc80\\ud800":"\\ud800"}']),  # fmt: skip
       action=st.sampled_from(["Encrypt", "GenerateDataKey", "Decrypt"]))
def test_hostile_encryption_context_values(value: str, action: str) -> None:
    """Odd JSON, including lone-surrogate escapes (found by this test: they used to answer 500)."""
    w = world()
    api = {"CiphertextBlob": w.blob} if action == "Decrypt" else {"KeyId": w.key_id, "Plaintext": "x"}
    status, body = call(w.gw, "POST", "", encode(signed(action, EncryptionContext=value, **api)).encode(), FORM)
    assert check("EncryptionContext oddities", status, body) == "InvalidParameter"


@budget(20)
@given(tags=st.sampled_from(['[{"TagKey":"\\ud800","TagValue":"v"}]', '[{"TagKey":"k","TagValue":"\\udfff"}]']),
       action=st.sampled_from(["CreateKey", "TagResource"]))
def test_hostile_lone_surrogates_in_tags(tags: str, action: str) -> None:
    w = world()
    api = {"KeyId": w.key_id} if action == "TagResource" else {}
    status, body = call(w.gw, "POST", "", encode(signed(action, Tags=tags, **api)).encode(), FORM)
    assert check("Tags with lone surrogates", status, body) == "InvalidParameter"


# --- over a real socket: the HTTP parser ------------------------------------------------------
_server: Emulator | None = None


def server() -> Emulator:
    global _server
    if _server is None:
        import atexit

        _server = Emulator().start()
        atexit.register(_server.stop)
    return _server


def address() -> tuple[str, int]:
    host, port = server().endpoint.split("//")[1].rsplit(":", 1)
    return host, int(port)


def exchange(data: bytes, *, half_close: bool = True) -> bytes:
    """Send raw bytes, then EOF; return everything the server sent before closing (or time out)."""
    with socket.create_connection(address(), timeout=SOCKET_TIMEOUT) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError as exc:  # the server answered and closed before reading everything: fine
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):  # ENOTCONN: reset before shutdown
                raise
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def responses(raw: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Every HTTP response in a byte stream (keep-alive may carry several)."""
    found = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, f"incomplete response: {raw[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        found.append((status, json.loads(rest[:length])))
        raw = rest[length:]
    return found


def valid_http() -> bytes:
    target = "/?" + encode(signed("DescribeRegions"))
    return f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


@budget(120)
@given(ops=st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]),
                              st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4))  # fmt: skip
def test_hostile_mutated_http_bytes_never_5xx_or_hang(ops: list[tuple[str, int, int]]) -> None:
    data = bytearray(valid_http())
    for op, pos, byte in ops:
        if not data:
            break
        pos %= len(data)
        if op == "flip":
            data[pos] ^= byte or 1
        elif op == "insert":
            data[pos:pos] = bytes([byte])
        elif op == "delete":
            del data[pos]
        elif op == "truncate":
            del data[pos:]
        else:
            data += data[pos:]
    started = time.monotonic()
    answers = responses(exchange(bytes(data)))
    assert time.monotonic() - started < SOCKET_TIMEOUT
    for status, body in answers:
        # A mutation of an unsigned part (a header value) may leave the request valid.
        check("mutated HTTP bytes", status, body, allow_ok=True)
    if not answers:
        OUTCOMES[("mutated HTTP bytes", "connection closed, no answer")] += 1


def test_hostile_oversize_header_line_and_too_many_headers() -> None:
    big = b"X-Pad: " + b"a" * 70_000 + b"\r\n"
    for extra, family in [(big, "header line over 64 KB"),
                          (b"".join(b"X-H%d: 1\r\n" % i for i in range(150)), "150 header lines")]:  # fmt: skip
        raw = b"POST /?Action=ListKeys HTTP/1.1\r\nHost: x\r\n" + extra + b"Content-Length: 0\r\n\r\n"
        [(status, body)] = responses(exchange(raw))
        assert check(family, status, body) == "ParseRequestParameterException"
    # the server still answers normally afterwards
    [(status, _)] = responses(exchange(valid_http()))
    assert status == 200


def test_hostile_stalled_clients_do_not_block_others() -> None:
    """Slow-loris: connections that promise a body and never send it hold only their own thread."""
    stalled = []
    try:
        for _ in range(20):
            sock = socket.create_connection(address(), timeout=SOCKET_TIMEOUT)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
            stalled.append(sock)
        started = time.monotonic()
        [(status, _)] = responses(exchange(valid_http()))
        assert status == 200 and time.monotonic() - started < 2.0
        OUTCOMES[("20 stalled connections, then a normal request", "200 OK")] += 1
    finally:
        for sock in stalled:
            sock.close()


def test_hostile_keep_alive_pipeline_of_bad_requests() -> None:
    """Several requests on one connection, bad ones among good: each answered, in order, no desync."""
    good = valid_http().replace(b"Connection: close\r\n", b"")
    bad_utf8 = b"GET /?Action=%FF HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    repeated = b"GET /?Action=ListKeys&Action=ListKeys HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    answers = responses(exchange(bad_utf8 + good + repeated))
    assert [s for s, _ in answers] == [400, 200, 400]
    assert [b.get("Code") for _, b in answers] == ["ParseRequestParameterException", None, "InvalidParameter"]
