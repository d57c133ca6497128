"""Transport: a threaded stdlib HTTP(S) server around the gateway. HTTP only: the parts are put
together by ``app.Emulator``."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import errors
from .gateway import Gateway, HttpRequest, HttpResponse

_MAX_LINE = 65536  # request line and each header line: far above the 32 KB an Encrypt URL may need
_MAX_HEADERS = 100
MAX_BODY = 1 << 20  # far above any valid request (Plaintext 6 KB, contexts 8 KB)
_IDLE_TIMEOUT = 120.0  # seconds a keep-alive connection may sit idle before its thread ends


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header, formatted once per second (formatting costs more than the rest of a send)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK pools connections
    server_version = "KmsEmulator"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    server: HttpServer

    def setup(self) -> None:
        # Handshake here, in the connection's own thread, so a slow TLS client cannot stall accept().
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def parse_request(self) -> bool:
        """Request line and headers, without the stdlib's email parser (the slowest part of a
        request there: ~40 us). Headers land lower-cased in ``header_map``."""
        self.command, self.request_version, self.close_connection = None, "HTTP/0.9", True  # type: ignore[assignment]
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")  # type: ignore[attr-defined]
        words = self.requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(400)
            return False
        self.command, self.path, self.request_version = words
        self.header_map: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(431)
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name.strip():
                self.send_error(400)
                return False
            self.header_map[name.strip().lower()] = value.strip()
        else:
            self.send_error(431)
            return False
        connection = self.header_map.get("connection", "").lower()
        self.close_connection = connection == "close" or (self.request_version == "HTTP/1.0" and connection != "keep-alive")
        if self.header_map.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits 1 s for this on bodies > 1 KB
        return True

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def _serve(self) -> None:
        gateway = self.server.gateway
        path, _, query = self.path.partition("?")
        headers = self.header_map
        try:
            body = self._read_body(headers)
        except errors.KmsApiError as exc:
            self.close_connection = True  # the unread body would be parsed as the next request
            self._send(gateway.render(exc))
            return
        self._send(gateway.handle(HttpRequest(self.command, path, query, headers, body, self.client_address[0])))

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise errors.ParseRequestParameterException("Chunked request bodies are not supported.")
        raw = headers.get("content-length", "0").strip() or "0"
        if not raw.isdigit():
            raise errors.ParseRequestParameterException("Invalid Content-Length.")
        if int(raw) > MAX_BODY:
            raise errors.ParseRequestParameterException("The request body is too large.")
        return self.rfile.read(int(raw)) if int(raw) else b""

    def _send(self, response: HttpResponse) -> None:
        # Status line, headers and body in ONE write: two writes cost ~44 ms (Nagle + delayed ACK).
        reason = self.responses.get(response.status, ("",))[0]
        extra = "".join(f"{k}: {v}\r\n" for k, v in response.headers.items())
        close = "Connection: close\r\n" if self.close_connection else ""
        head = (f"HTTP/1.1 {response.status} {reason}\r\n{extra}Content-Length: {len(response.body)}\r\n"
                f"Date: {_http_date()}\r\n{close}\r\n")  # fmt: skip
        self.wfile.write(head.encode("latin-1") + (b"" if self.command == "HEAD" else response.body))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed request lines/headers (stdlib parse errors) still get the service's JSON shape.
        self.close_connection = True
        exc = errors.ParseRequestParameterException(f"Malformed HTTP request ({code}).")
        self._send(self.server.gateway.render(exc))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet by default: one line per request would drown notebook output


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], gateway: Gateway, tls: ssl.SSLContext | None) -> None:
        self.gateway = gateway
        self.tls = tls
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open.add(sock)
        return sock, addr

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake idle keep-alive threads on stop, so none outlives the store it would use."""
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-request is not an emulator error
