"""Reading one HTTP/1.1 request (head and body) off a connection, with limits on everything a client
controls: the kit's two loopback servers (the emulator and the replay stub) share it, so the limits
have one owner. A leaf module: it imports only the standard library, so every layer may use it.

Framing follows RFC 9112 strictly where leniency lets one request be read as two (request
smuggling): one ``Content-Length`` of ASCII digits, never together with ``Transfer-Encoding``; the
only transfer coding is ``chunked`` (the Node.js Tea client sends every non-empty form body so);
no whitespace before a field's colon; no obsolete line folding. The time limits are enforced by
``httpguard`` (a deadline for the whole head, not per byte); this module bounds sizes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["BadRequest", "ClientGone", "Head", "Limits", "default_max_connections", "read_body", "read_head"]


@dataclass(frozen=True)
class Limits:
    """What one client may make a server hold. Defaults fit every request the kit's clients send."""

    max_line: int = 65536  # the request line: far above the 32 KB an Encrypt URL may need
    max_headers: int = 100  # header (and trailer) lines
    max_header_bytes: int = 32768  # all header lines together (real clients send < 2 KB)
    max_body: int = 1 << 20  # far above any valid request (Plaintext 6 KB, contexts 8 KB)
    max_chunk_line: int = 4096  # a chunk-size line with its extensions
    max_chunk_framing: int = 65536  # all chunk-size lines and CRLFs of one body together
    head_timeout: float = 10.0  # seconds for a whole request head (and a TLS handshake), from its first byte
    body_timeout: float = 30.0  # seconds for a whole body, once its head is in
    idle_timeout: float = 120.0  # seconds a keep-alive connection may wait for its next request
    # open connections; at the cap the longest-waiting one makes room
    max_connections: int = field(default_factory=lambda: default_max_connections())

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


def default_max_connections(ceiling: int = 128) -> int:
    """``ceiling``, or fewer where the descriptor limit is low (macOS's soft limit is 256): each
    connection holds one descriptor, and the process needs some for its state, logs and imports."""
    try:
        import resource
    except ImportError:  # Windows: no per-process descriptor limit to fit under
        return ceiling
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return ceiling
    return max(4, min(ceiling, (soft - 32) // 2))


class BadRequest(Exception):
    """The request cannot be framed: answer 400 and close (the rest of the stream is not trusted)."""


class ClientGone(ConnectionError):
    """The client closed (or was cut off) mid-request: nothing to answer."""


@dataclass
class Head:
    method: str
    target: str
    version: str  # "HTTP/1.0" or "HTTP/1.1"
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", " (RFC 9110 §5.3)
    fields: list[tuple[str, str]]  # as sent: names in their own case, in order (for a proxy to forward)
    body_length: int | None  # bytes to read; None: a chunked body
    close: bool  # the client asked for (or its version implies) one request per connection
    expect_continue: bool  # the client waits for "100 Continue" before it sends the body


class _Reader(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...
    def read(self, size: int = -1, /) -> bytes: ...


_BLANK = (b"\r\n", b"\n")
_VERSIONS = ("HTTP/1.0", "HTTP/1.1")
# Fields whose repetition changes how the message is framed or routed: refused, not joined.
_SINGLE = frozenset({"content-length", "host"})
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
# chunk-size [ chunk-ext ], RFC 9112 §7.1.1: at most 16 hex digits (a size above max_body fails anyway).
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?)*)"
)


def read_head(rfile: _Reader, limits: Limits) -> Head | None:
    """The request line and header fields; None if the client closed before sending a byte.

    Raises BadRequest for anything over a limit or malformed, ClientGone for a head cut short.
    """
    line = rfile.readline(limits.max_line + 1)
    if line in _BLANK:  # RFC 9112 §2.2: ignore one empty line before a request (old clients send it)
        line = rfile.readline(limits.max_line + 1)
    if not line:
        return None
    if len(line) > limits.max_line:
        raise BadRequest("The request line is too long.")
    if not line.endswith(b"\n"):
        raise ClientGone("request line cut short")
    words = line.decode("iso-8859-1").split()
    line = b""  # a stalled head holds the target once, not the raw line as well
    # Methods are tokens; every one a client of these servers uses is ASCII letters (cheaper to check).
    if len(words) != 3 or words[2] not in _VERSIONS or not (words[0].isascii() and words[0].isalpha()):
        raise BadRequest("Malformed HTTP request line.")
    method, target, version = words
    headers: dict[str, str] = {}
    fields = _read_fields(rfile, limits, headers, "header")
    return Head(method, target, version, headers, fields, _body_length(headers, version, limits),
                _wants_close(headers, version),
                version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue")  # fmt: skip


def _read_fields(rfile: _Reader, limits: Limits, into: dict[str, str], kind: str) -> list[tuple[str, str]]:
    """Field lines up to the empty line, within the count and byte budgets (headers, or trailers)."""
    fields: list[tuple[str, str]] = []
    budget = limits.max_header_bytes
    while True:
        # Never ask for more than the budget left: a flood of long lines is refused at the budget,
        # not after each line has been buffered.
        line = rfile.readline(budget + 1)
        if line in _BLANK:
            return fields
        budget -= len(line)
        if budget < 0 or len(fields) >= limits.max_headers:
            raise BadRequest(f"The request {kind}s are too large.")
        if not line.endswith(b"\n"):
            raise ClientGone(f"{kind}s cut short")
        if line.find(b"\r", 0, -2) >= 0:  # RFC 9110 §5.5: a bare CR must be refused (smuggling)
            raise BadRequest(f"Malformed HTTP {kind} line.")
        name, colon, value = line.decode("iso-8859-1").partition(":")
        # No whitespace in a name: before the colon it is a smuggling vector, and a leading one is
        # obsolete line folding (RFC 9112 §5.1, §5.2 say reject both with 400).
        if not colon or not name or " " in name or "\t" in name:
            raise BadRequest(f"Malformed HTTP {kind} line.")
        lower, value = name.lower(), value.strip(" \t\r\n")
        if lower in into:
            if lower in _SINGLE:
                raise BadRequest(f"Repeated {name} header.")
            into[lower] = f"{into[lower]}, {value}"
        else:
            into[lower] = value
        fields.append((name, value))


def _body_length(headers: dict[str, str], version: str, limits: Limits) -> int | None:
    coding = headers.get("transfer-encoding")
    if coding is not None:
        if "content-length" in headers:
            raise BadRequest("Content-Length and Transfer-Encoding together.")
        # HTTP/1.0 has no transfer codings (RFC 9112 §6.1); "chunked" must be the only one we get.
        if version != "HTTP/1.1" or coding.lower() != "chunked":
            raise BadRequest(f"Transfer-Encoding {coding!r} is not supported.")
        return None
    raw = headers.get("content-length")
    if raw is None:
        return 0
    # ASCII digits only: str.isdigit() alone takes "²", and int() takes "٣"
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise BadRequest("Invalid Content-Length.")
    length = int(raw)
    if length > limits.max_body:
        raise BadRequest("The request body is too large.")
    return length


def _wants_close(headers: dict[str, str], version: str) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return connection != "keep-alive"
    return connection == "close"


def read_body(rfile: _Reader, head: Head, limits: Limits) -> bytes:
    """The body as the client meant it: chunked bodies decoded (a V3 signature hashes those bytes)."""
    if head.body_length is None:
        return _read_chunked(rfile, limits)
    if not head.body_length:
        return b""
    body = rfile.read(head.body_length)
    if len(body) != head.body_length:
        raise ClientGone("body cut short")
    return body


def _read_chunked(rfile: _Reader, limits: Limits) -> bytes:
    """RFC 9112 §7.1: chunks until the last (size 0), then trailers, which are read and dropped."""
    parts: list[bytes] = []
    total, framing = 0, 0
    while True:
        line = _chunk_line(rfile, limits)
        framing += len(line) + 4  # the line and both CRLFs around the data
        if framing > limits.max_chunk_framing:
            raise BadRequest("Too many chunks in the request body.")
        match = _CHUNK_LINE.fullmatch(line)
        if match is None:
            raise BadRequest("Malformed chunk size line.")
        size = int(match.group(1), 16)  # extensions (group 2) are ignored, as §7.1.1 asks
        if size == 0:
            break
        total += size
        if total > limits.max_body:  # checked before reading, so nothing oversize is buffered
            raise BadRequest("The request body is too large.")
        data = rfile.read(size)
        if len(data) != size:
            raise ClientGone("chunk cut short")
        end = rfile.read(2)
        if end != b"\r\n":
            if len(end) == 2 or not b"\r\n".startswith(end):
                raise BadRequest("Chunk data is not followed by CRLF.")
            raise ClientGone("chunk cut short")
        parts.append(data)
    _read_fields(rfile, limits, {}, "trailer")  # RFC 9112 §7.1.2: may be discarded
    return b"".join(parts)


def _chunk_line(rfile: _Reader, limits: Limits) -> bytes:
    line = rfile.readline(limits.max_chunk_line + 1)
    if len(line) > limits.max_chunk_line:
        raise BadRequest("The chunk size line is too long.")
    if not line.endswith(b"\n"):
        raise ClientGone("chunk size line cut short")
    if not line.endswith(b"\r\n"):  # the chunk grammar has no bare-LF leniency; Node sends CRLF
        raise BadRequest("Malformed chunk size line.")
    return line[:-2]
