"""Connection limits for the kit's threaded loopback servers (the emulator and the replay stub).

A thread-per-connection server is easy to starve: a client that sends a byte every few seconds
keeps a per-read timeout from ever firing, ~1,000 of them exhaust the file descriptors, and then
``accept()`` fails at once, every time, and the accept loop spins a core. So:

* a cap on open connections; at the cap, the connection that has waited longest on its client
  (idle keep-alive, or still sending its request) is dropped to make room, so a client that sends
  its request at once is served while slow ones attack;
* a deadline for each whole request head (and TLS handshake) and each whole body, not per byte,
  enforced by one sweep in the accept loop (no timer per request: the hot path only stores floats);
* back-off when ``accept()`` fails for want of descriptors or memory.

A leaf module: it imports only the standard library (and ``httpwire``, the framing it drives).
"""

from __future__ import annotations

import errno
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from .httpwire import BadRequest, Head, Limits, read_body, read_head

__all__ = ["Connection", "GuardedHTTPServer", "GuardedHandler"]

# accept() fails like this when the process or the system is out of descriptors or buffers; the
# pending connection stays queued, so without a pause the next select() returns at once.
_OUT_OF_RESOURCES = frozenset(e for e in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM,
                                          getattr(errno, "WSAEMFILE", None)) if e is not None)  # fmt: skip
_BACKOFF_FIRST, _BACKOFF_MAX = 0.01, 0.5  # seconds; doubled after each failed accept() in a row
_ROOM_WAIT = 0.05  # seconds the accept loop waits for a slot when every connection is busy
_INF = math.inf


class Connection:
    """What the guard knows of one connection; the handler's thread updates it, the sweep reads it."""

    __slots__ = ("deadline", "since", "sock")

    def __init__(self, sock: socket.socket, since: float | None, deadline: float) -> None:
        self.sock = sock
        self.since = since  # when it began waiting on its client; None while the server works for it
        self.deadline = deadline  # when the sweep drops it; inf while idle (the socket timeout bounds that)


class GuardedHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer with the limits above; ``wrap()`` may turn an accepted socket into TLS."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[GuardedHandler], limits: Limits | None = None) -> None:
        self.limits = limits or Limits()  # read per connection, so a test may change it on a running server
        self.dropped = 0  # connections cut off at a deadline or to make room (for tests and figures)
        self.sleep: Callable[[float], None] = time.sleep  # injectable: tests count the back-off
        self._conns: dict[socket.socket, Connection] = {}
        self._room = threading.Condition()
        self._backoff = 0.0
        self._next_sweep = 0.0
        super().__init__(address, handler)

    @property
    def open_connections(self) -> int:
        """Connections the server holds now (dropped ones leave as soon as their thread sees it)."""
        with self._room:
            return len(self._conns)

    def wrap(self, sock: socket.socket) -> socket.socket:
        return sock

    def get_request(self) -> tuple[socket.socket, Any]:
        self._make_room()
        try:
            sock, address = self.socket.accept()
        except OSError as exc:
            if exc.errno in _OUT_OF_RESOURCES:
                self._backoff = min(_BACKOFF_MAX, self._backoff * 2 or _BACKOFF_FIRST)
                self.sleep(self._backoff)
            raise  # socketserver skips this round and selects again
        self._backoff = 0.0
        try:
            sock = self.wrap(sock)
        except Exception:
            sock.close()
            raise
        now = time.monotonic()
        with self._room:  # a new connection's first head (and TLS handshake) is due one head_timeout after accept
            self._conns[sock] = Connection(sock, now, now + self.limits.head_timeout)
        return sock, address

    def connection(self, sock: socket.socket) -> Connection:
        with self._room:
            found = self._conns.get(sock)
        # Dropped between accept() and its thread starting: a record nobody sweeps, on a shut socket.
        return found if found is not None else Connection(sock, None, _INF)

    def _make_room(self) -> None:
        with self._room:
            if len(self._conns) < self.limits.max_connections:
                return
            waiting = [c for c in self._conns.values() if c.since is not None]
            if waiting:
                self._drop(min(waiting, key=lambda c: cast(float, c.since)))
                return
            self._room.wait(_ROOM_WAIT)  # every connection is being answered: one will finish soon
            if len(self._conns) >= self.limits.max_connections:
                raise OSError(errno.EAGAIN, "at the connection cap")  # not accepted: tried again next round

    def _drop(self, conn: Connection) -> None:
        """Cut a connection off (lock held): its thread's blocked read returns and the thread ends."""
        self._conns.pop(conn.sock, None)
        conn.since, conn.deadline = None, _INF
        self.dropped += 1
        try:
            # socket.socket's own shutdown, also for TLS: SSLSocket.shutdown would drop its SSL
            # object under the thread that is reading with it.
            socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by its client

    def service_actions(self) -> None:
        """Called by serve_forever() between polls: drop connections past their deadline."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        limits = self.limits
        self._next_sweep = now + max(0.01, min(0.5, limits.head_timeout / 4, limits.body_timeout / 4))
        with self._room:
            for conn in [c for c in self._conns.values() if c.deadline < now]:
                self._drop(conn)

    def shutdown_request(self, request: Any) -> None:
        with self._room:
            self._conns.pop(request, None)
            self._room.notify()
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every connection's thread (idle keep-alives too), so none outlives the server."""
        with self._room:
            for conn in list(self._conns.values()):
                self._drop(conn)

    def server_close(self) -> None:
        super().server_close()
        self.close_connections()

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-request is not a server error


class GuardedHandler(BaseHTTPRequestHandler):
    """Reads each request with ``httpwire`` under the guard's deadlines; subclasses answer it."""

    protocol_version = "HTTP/1.1"  # keep-alive: the SDKs pool connections
    server: GuardedHTTPServer

    def serve(self, head: Head, body: bytes) -> None:
        """Answer one well-framed request (write the whole response in one write)."""
        raise NotImplementedError

    def reject(self, message: str) -> None:
        """Answer a request that could not be framed; the connection is closed afterwards."""
        raise NotImplementedError

    def setup(self) -> None:
        self.limits = self.server.limits
        self.conn = self.server.connection(self.request)
        self.request.settimeout(self.limits.idle_timeout)  # per read; the sweep bounds heads and bodies as a whole
        # Handshake here, in the connection's own thread (under the first head's deadline), so a
        # slow TLS client cannot stall accept().
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def handle_one_request(self) -> None:
        conn, limits, monotonic = self.conn, self.limits, time.monotonic
        self.close_connection, self.command = True, ""
        try:
            conn.since = monotonic()  # waiting on the client from here: may make room for others
            if not cast(Any, self.rfile).peek(1):  # wait for the next request's first byte (idle)
                return
            if conn.deadline == _INF:
                conn.deadline = monotonic() + limits.head_timeout
            head = read_head(self.rfile, limits)
            if head is None:
                return
            self.command, self.path, self.request_version = head.method, head.target, head.version
            if head.body_length != 0:
                conn.deadline = monotonic() + limits.body_timeout
                if head.expect_continue:  # curl waits 1 s for this on bodies > 1 KB
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = read_body(self.rfile, head, limits)
        except BadRequest as exc:
            conn.since, conn.deadline = None, _INF
            self.reject(str(exc))
            return
        except OSError:  # a timeout, a reset, a request cut short or cut off by the guard: no answer
            return
        conn.since, conn.deadline = None, _INF
        self.close_connection = head.close
        self.serve(head, body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        pass  # quiet by default: one line per request would drown notebook output
