"""Transport: a threaded stdlib HTTP(S) server around the gateway. HTTP only: the parts are put
together by ``app.Emulator``. Framing and connection limits (a cap, whole-head deadlines, accept
back-off) are ``helpers.httpwire`` / ``helpers.httpguard``, shared with the replay stub."""

from __future__ import annotations

import socket
import ssl
import time
from email.utils import formatdate

from helpers.httpguard import GuardedHandler, GuardedHTTPServer
from helpers.httpwire import Head, Limits

from . import errors
from .gateway import Gateway, HttpRequest, HttpResponse

LIMITS = Limits()  # what HttpServer uses unless given others


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header, formatted once per second (formatting costs more than the rest of a send)."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class _Handler(GuardedHandler):
    server_version = "KmsEmulator"
    sys_version = ""
    server: HttpServer

    def serve(self, head: Head, body: bytes) -> None:
        path, _, query = head.target.partition("?")
        request = HttpRequest(head.method, path, query, head.headers, body, self.client_address[0])
        self._send(self.server.gateway.handle(request))

    def reject(self, message: str) -> None:
        # Unframeable requests still get the service's JSON shape (and the connection closes).
        self._send(self.server.gateway.render(errors.ParseRequestParameterException(message)))

    def _send(self, response: HttpResponse) -> None:
        # Status line, headers and body in ONE write: two writes cost ~44 ms (Nagle + delayed ACK).
        reason = self.responses.get(response.status, ("",))[0]
        extra = "".join(f"{k}: {v}\r\n" for k, v in response.headers.items())
        close = "Connection: close\r\n" if self.close_connection else ""
        head = (f"HTTP/1.1 {response.status} {reason}\r\n{extra}Content-Length: {len(response.body)}\r\n"
                f"Date: {_http_date()}\r\n{close}\r\n")  # fmt: skip
        self.wfile.write(head.encode("latin-1") + (b"" if self.command == "HEAD" else response.body))


class HttpServer(GuardedHTTPServer):
    def __init__(self, address: tuple[str, int], gateway: Gateway, tls: ssl.SSLContext | None,
                 limits: Limits | None = None) -> None:  # fmt: skip
        self.gateway = gateway
        self.tls = tls
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler, limits or LIMITS)

    def wrap(self, sock: socket.socket) -> socket.socket:
        if self.tls is None:
            return sock
        # The handshake happens in the connection's own thread (GuardedHandler.setup).
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
