"""HTTP framing with limits (helpers/httpwire.py): the reader alone, then both loopback servers.

The emulator and the replay stub share the reader, so every wire case runs against both: a
request that cannot be framed gets 400 ParseRequestParameterException in the service's JSON
shape and the connection closes (its remaining bytes are never read as another request).
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from helpers.emulator import Emulator
from helpers.httpwire import BadRequest, ClientGone, Head, Limits, read_body, read_head
from helpers.replay import Cassette, ReplayServer

ERROR_KEYS = {"RequestId", "HostId", "Code", "Message", "HttpStatus", "Recommend"}
LIMITS = Limits()


def reader(data: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(data))


def parse(data: bytes, limits: Limits = LIMITS) -> tuple[Head, bytes]:
    rfile = reader(data)
    head = read_head(rfile, limits)
    assert head is not None
    return head, read_body(rfile, head, limits)


def post(headers: str, body: bytes = b"", target: str = "/?a=1") -> bytes:
    return f"POST {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode("latin-1") + body


# --- the reader alone ------------------------------------------------------------------------------------
def test_wire_plain_request_and_keep_alive_pipeline_stay_in_step() -> None:
    one = post("Content-Length: 5\r\n", b"hello")
    two = post("Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n")
    three = b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    rfile = reader(one + two + three)
    bodies = []
    for _ in range(3):
        head = read_head(rfile, LIMITS)
        assert head is not None
        bodies.append((head.target, read_body(rfile, head, LIMITS), head.close))
    assert bodies == [("/?a=1", b"hello", False), ("/?a=1", b"abc", False), ("/last", b"", True)]
    assert read_head(rfile, LIMITS) is None  # the client closed between requests


def test_wire_headers_keep_their_case_for_a_proxy_and_lower_case_for_lookups() -> None:
    head, _ = parse(post("X-Acs-Action: Encrypt\r\nAccept: a\r\naccept: b\r\n"))
    assert head.headers["x-acs-action"] == "Encrypt" and head.headers["accept"] == "a, b"
    assert ("X-Acs-Action", "Encrypt") in head.fields


@pytest.mark.parametrize("field", [
    "Content-Length: 0\r\nContent-Length: 0",  # even equal: one framing per message
    "Content-Length: 30\r\nContent-Length: 0",
    "Content-Length: \xb2",  # '²': str.isdigit() says yes, int() says no
    "Content-Length: \u0663".encode().decode("latin-1"),  # an Arabic-Indic digit, as UTF-8 bytes
    "Content-Length: -1", "Content-Length: +5", "Content-Length: 1e12", "Content-Length: 0x10",
    "Content-Length: 5, 5", "Content-Length: ", "Content-Length: 99999999999999999999",
    "Content-Length: 2000000",  # over max_body
    "Content-Length: 3\r\nTransfer-Encoding: chunked",
    "Transfer-Encoding: gzip", "Transfer-Encoding: chunked, chunked", "Transfer-Encoding: identity",
    "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
    "Content-Length : 0",  # whitespace before the colon (a smuggling vector)
    "X-A: 1\r\n folded: value",  # obsolete line folding
    "Bad Name: 1", "no colon here", "X-A: a\rb", "Host: y",  # repeated Host
])  # fmt: skip
def test_wire_ambiguous_framing_is_refused(field: str) -> None:
    with pytest.raises(BadRequest):
        parse(post(field + "\r\n"))


def test_wire_transfer_encoding_on_http_1_0_is_refused() -> None:
    with pytest.raises(BadRequest):
        parse(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


def test_wire_header_budget_is_total_not_per_line_and_stops_reading_at_it() -> None:
    """99 headers of 64 KB each used to be read in full (6.4 MB held); now the budget ends it."""
    line = b"X-Pad: " + b"a" * 65000 + b"\r\n"
    rfile = reader(b"GET / HTTP/1.1\r\n" + line * 99 + b"\r\n")
    with pytest.raises(BadRequest, match="too large"):
        read_head(rfile, LIMITS)
    assert rfile.tell() <= len(b"GET / HTTP/1.1\r\n") + LIMITS.max_header_bytes + 1
    small = Limits(max_header_bytes=100)
    with pytest.raises(BadRequest):  # many short lines hit the same budget
        read_head(reader(b"GET / HTTP/1.1\r\n" + b"X: 1234567\r\n" * 10 + b"\r\n"), small)
    with pytest.raises(BadRequest):  # and the count limit on its own
        read_head(reader(b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * 101 + b"\r\n"), LIMITS)


@pytest.mark.parametrize(("chunked", "expected"), [
    (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
    (b"A\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n", b"0123456789!"),
    (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (b"0005\r\nhello\r\n000\r\n\r\n", b"hello"),
    (b'5;name=value;flag ; q="a \\"b\\" c"\r\nhello\r\n0;last\r\n\r\n', b"hello"),  # extensions ignored
    (b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nChecksum: abc\r\n\r\n", b"hello"),  # trailers read and dropped
    (b"0\r\n\r\n", b""),
])  # fmt: skip
def test_wire_chunked_bodies_decode(chunked: bytes, expected: bytes) -> None:
    head, body = parse(post("Transfer-Encoding: Chunked\r\n", chunked))
    assert head.body_length is None and body == expected


@pytest.mark.parametrize("chunked", [
    b"5g\r\nhello\r\n0\r\n\r\n", b"-5\r\nhello\r\n0\r\n\r\n", b"0x5\r\nhello\r\n0\r\n\r\n",
    b" 5\r\nhello\r\n0\r\n\r\n", b"5 \r\nhello\r\n0\r\n\r\n", b"\r\nhello\r\n0\r\n\r\n",
    b"+5\r\nhello\r\n0\r\n\r\n", b"5\nhello\r\n0\r\n\r\n",  # bare LF
    b"00000000000000005\r\nhello\r\n0\r\n\r\n",  # 17 hex digits
    b"5;\r\nhello\r\n0\r\n\r\n", b"5;a=\"x\r\nhello\r\n0\r\n\r\n", b"5;a b\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhelloXY0\r\n\r\n",  # data not followed by CRLF
    b"5\r\nhello\r\n0\r\nno colon\r\n\r\n",  # malformed trailer
    b"ffffffffffffffff\r\n", b"100001\r\n",  # over max_body, refused before reading
    b"5;" + b"x" * 5000 + b"\r\nhello\r\n0\r\n\r\n",  # chunk line over max_chunk_line
])  # fmt: skip
def test_wire_malformed_or_oversize_chunked_bodies_are_refused(chunked: bytes) -> None:
    with pytest.raises(BadRequest):
        parse(post("Transfer-Encoding: chunked\r\n", chunked))


def test_wire_chunked_total_counts_every_chunk_and_framing_is_bounded() -> None:
    small = Limits(max_body=10)
    assert parse(post("Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), small)[1] == b"helloworld"
    with pytest.raises(BadRequest, match="too large"):
        parse(post("Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n5\r\nworld\r\n1\r\n!\r\n0\r\n\r\n"), small)
    with pytest.raises(BadRequest, match="Too many chunks"):  # 1-byte chunks: overhead, not data, is the cost
        parse(post("Transfer-Encoding: chunked\r\n", b"1\r\na\r\n" * 20000 + b"0\r\n\r\n"))


@pytest.mark.parametrize("cut", [b"5\r\nhel", b"5\r\nhello", b"5\r\nhello\r", b"5", b"5\r\nhello\r\n0\r\n"])
def test_wire_chunked_body_cut_short_is_a_gone_client(cut: bytes) -> None:
    with pytest.raises(ClientGone):
        parse(post("Transfer-Encoding: chunked\r\n", cut))


def test_wire_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="head_timeout"):
        Limits(head_timeout=0)


# --- both servers ----------------------------------------------------------------------------------------
@pytest.fixture(params=["emulator", "replay"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    stub: Any = Emulator() if request.param == "emulator" else ReplayServer(Cassette("wire"))
    with stub:
        host, port = stub.endpoint.split("//")[1].rsplit(":", 1)
        yield host, int(port)


def exchange(address: tuple[str, int], data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Send, half-close, read to EOF; every response on the connection, parsed."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    found = []
    while raw:
        head, sep, raw = raw.partition(b"\r\n\r\n")
        assert sep, raw[:200]
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(v) for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "content-length")
        found.append((int(lines[0].split()[1]), json.loads(raw[:length])))
        raw = raw[length:]
    return found


SMUGGLED = b"GET /?Action=ListKeys HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("headers", [
    f"Content-Length: {len(SMUGGLED)}\r\nContent-Length: 0\r\n",  # the last used to win
    "Content-Length: \xb2\r\n",  # used to drop the connection unanswered
    f"Content-Length: {len(SMUGGLED)}\r\nTransfer-Encoding: chunked\r\n",
    "Content-Length: -1\r\n", "Content-Length: 1000000000000\r\n", "Content-Length: 1e12\r\n",
    "Transfer-Encoding: chunked\r\n",  # the body below is not valid chunked framing
])  # fmt: skip
def test_wire_servers_answer_bad_framing_400_json_and_read_no_smuggled_request(server: tuple[str, int], headers: str) -> None:
    answers = exchange(server, post(headers, SMUGGLED))
    assert len(answers) == 1, answers  # the body was never parsed as a second request
    status, body = answers[0]
    assert (status, body["Code"], body["HttpStatus"]) == (400, "ParseRequestParameterException", 400)
    assert set(body) == ERROR_KEYS


@pytest.mark.parametrize("chunked", [b"100001\r\n" + b"a" * 64, b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXY0\r\n\r\n"])
def test_wire_servers_refuse_oversize_and_malformed_chunked_bodies(server: tuple[str, int], chunked: bytes) -> None:
    [(status, body)] = exchange(server, post("Transfer-Encoding: chunked\r\n", chunked))
    assert (status, body["Code"]) == (400, "ParseRequestParameterException") and set(body) == ERROR_KEYS


def chunks(data: bytes, size: int) -> bytes:
    """``data`` in chunks of ``size`` bytes (the last with an extension), then trailers."""
    parts = [data[i:i + size] for i in range(0, len(data), size)]
    framed = b"".join(b"%x%s\r\n%s\r\n" % (len(p), b";n=1" if p is parts[-1] else b"", p) for p in parts)
    return framed + b"0\r\nX-Trailer: dropped\r\n\r\n"


def test_wire_servers_take_a_well_formed_chunked_body_and_keep_the_connection(server: tuple[str, int]) -> None:
    """The decoded body reaches the handler: the emulator checks a signature over it, the stub matches it."""
    from tests.test_emulator_server import common, signed_v1

    form = urlencode(signed_v1("POST", common("DescribeRegions"))).encode()
    headers = "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
    last = b"GET /?Action=ListKeys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answers = exchange(server, post(headers, chunks(form, 50), "/") + last)
    assert len(answers) == 2  # the same connection read the next request after the chunked one
    (status, body), (_, after) = answers
    if "Regions" in body:  # the emulator: the signature over the decoded form verified
        assert status == 200 and body["Regions"]["Region"]
        assert after["Code"] == "MissingParameter"
    else:  # the stub: the decoded form's parameters were matched (and named in its answer)
        assert (status, body["Code"]) == (400, "Replay.NoMatch") and "DescribeRegions" in body["Message"]
        assert after["Code"] == "Replay.NoMatch" and "ListKeys" in after["Message"]


def test_wire_default_connection_cap_fits_under_the_descriptor_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    from helpers.httpwire import default_max_connections

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (256, 4096))  # macOS's default soft limit
    assert default_max_connections() == 112 and Limits().max_connections == 112
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (20000, 20000))
    assert default_max_connections() == 128
