"""Slow and greedy clients against both loopback servers (helpers/httpguard.py).

A thread-per-connection server used to give each connection a per-read timeout that every byte
restarted: clients trickling a byte every few seconds held their threads forever, ~1,020 of them
ran the process out of descriptors, and then the accept loop spun a core. The promises here:
open connections never exceed the cap, a client that sends its request at once is answered while
slow clients attack, a slow head is dropped at its deadline however steadily it trickles, and a
failing accept() backs off. Deadlines and the cap are shrunk per test (loopback only, bounded in
count and time); ``benchmarks/wire_attacks.py`` measures the same attacks at the default limits.
"""

from __future__ import annotations

import errno
import json
import math
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from helpers.emulator import Emulator
from helpers.httpguard import Connection, GuardedHTTPServer
from helpers.httpwire import Limits
from helpers.replay import Cassette, ReplayServer
from tests.test_emulator_server import common, query, signed_v1

GUARD_TIMEOUT = 10.0  # a socket read that would hang without the promise fails the test at this point
TRICKLE_EVERY = 0.05  # seconds between bytes: far below every per-read timeout used here


@contextmanager
def running(kind: str, limits: Limits) -> Iterator[tuple[tuple[str, int], GuardedHTTPServer]]:
    stub: Any = Emulator() if kind == "emulator" else ReplayServer(Cassette("slow"))
    with stub:
        server = stub._server if kind == "emulator" else stub._httpd
        server.limits = limits  # read per connection: the next ones get these
        host, port = stub.endpoint.split("//")[1].rsplit(":", 1)
        yield (host, int(port)), server


def answer(address: tuple[str, int]) -> int:
    """One complete, validly signed request on a fresh connection; the status of its JSON answer."""
    target = query(signed_v1("GET", common("DescribeRegions")))
    with socket.create_connection(address, timeout=GUARD_TIMEOUT) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    json.loads(body)  # a whole JSON answer, not a reset
    return int(head.split()[1])


class Trickler:
    """Slow clients: each connection sends a never-ending header, one byte every TRICKLE_EVERY."""

    def __init__(self, address: tuple[str, int], count: int, *, silent: int = 0,
                 prefix: bytes = b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ") -> None:  # fmt: skip
        self.socks = [socket.create_connection(address, timeout=GUARD_TIMEOUT) for _ in range(count + silent)]
        self._talkers = self.socks[:count]
        for sock in self._talkers:
            sock.sendall(prefix)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(TRICKLE_EVERY):
            for sock in self._talkers:
                try:
                    sock.send(b"a")
                except OSError:
                    pass  # dropped by the server: what the tests look for

    def all_dropped_unanswered(self) -> bool:
        """Block until every connection is closed by the server; True if none got any bytes back."""
        got = b""
        for sock in self.socks:
            try:
                while chunk := sock.recv(4096):  # socket.timeout here means a connection was kept
                    got += chunk
            except ConnectionResetError:
                pass
        return got == b""

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.socks:
            sock.close()


@pytest.mark.parametrize("kind", ["emulator", "replay"])
def test_slow_heads_are_dropped_at_the_head_deadline_not_per_byte(kind: str) -> None:
    """Bytes keep arriving far inside the per-read timeout; only a deadline for the whole head ends them."""
    limits = Limits(head_timeout=0.5, idle_timeout=GUARD_TIMEOUT * 3)
    with running(kind, limits) as (address, server):
        slow = Trickler(address, 6, silent=2)  # silent ones: connected, never a byte
        try:
            assert slow.all_dropped_unanswered()
        finally:
            slow.close()
        assert server.dropped >= 8
        assert answer(address) == (200 if kind == "emulator" else 400)  # and it still serves (the stub: NoMatch)


@pytest.mark.parametrize("kind", ["emulator", "replay"])
def test_fresh_clients_are_served_while_more_slow_clients_than_the_cap_attack(kind: str) -> None:
    cap = 6
    limits = Limits(max_connections=cap, head_timeout=GUARD_TIMEOUT * 3, idle_timeout=GUARD_TIMEOUT * 3)
    with running(kind, limits) as (address, server):
        slow = Trickler(address, cap * 3)  # three times the cap, none ever finishing its head
        try:
            held = []
            statuses = []
            for _ in range(10):
                statuses.append(answer(address))
                held.append(server.open_connections)
            expected = 200 if kind == "emulator" else 400  # the stub's empty cassette answers NoMatch
            assert statuses == [expected] * 10
            assert max(held) <= cap
            assert server.dropped >= cap * 2  # the slow ones made room, oldest first
        finally:
            slow.close()


def test_a_tls_handshake_that_never_finishes_is_dropped_at_the_head_deadline() -> None:
    with Emulator(tls=True) as emu:
        assert emu._server is not None
        emu._server.limits = Limits(head_timeout=0.5, idle_timeout=GUARD_TIMEOUT * 3)
        host, port = emu.endpoint.split("//")[1].rsplit(":", 1)
        # a ClientHello record that announces 16 KB, then arrives a byte at a time
        slow = Trickler((host, int(port)), 2, prefix=b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03")
        try:
            assert slow.all_dropped_unanswered()
        finally:
            slow.close()
        assert emu._server.dropped >= 2


def test_a_header_flood_is_refused_at_the_budget_not_held() -> None:
    """99 headers of 64 KB (6.4 MB) used to be read and held; the answer now comes at ~32 KB."""
    with running("emulator", Limits()) as (address, _server):
        with socket.create_connection(address, timeout=GUARD_TIMEOUT) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
            sent, raw = 0, b""
            try:
                while sent < 99 * 65536:  # stops early: the server answers and closes
                    sock.sendall(b"X-Pad: " + b"a" * 8192 + b"\r\n")
                    sent += 8201
            except OSError:
                pass
            try:
                while chunk := sock.recv(65536):
                    raw += chunk
            except ConnectionResetError:
                pass
    assert raw.startswith(b"HTTP/1.1 400 "), raw[:100]
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["Code"] == "ParseRequestParameterException"


class _FailingListener:
    """Stands in for the listening socket: accept() fails as when the process is out of descriptors."""

    def __init__(self, real: socket.socket, failures: list[int]) -> None:
        self.real, self.failures = real, failures

    def accept(self) -> tuple[socket.socket, Any]:
        if self.failures:
            raise OSError(self.failures.pop(0), "simulated")
        return self.real.accept()


def test_accept_failures_back_off_instead_of_spinning() -> None:
    with running("emulator", Limits()) as (address, server):
        # The serving thread would accept (and take failures from) the same listener: stop it, so
        # this test alone calls get_request(). The socket stays open; stop() later is a no-op here.
        server.shutdown()
        naps: list[float] = []
        server.sleep = naps.append
        real = server.socket
        server.socket = _FailingListener(real, [errno.EMFILE] * 8 + [errno.ENFILE, errno.ECONNABORTED])  # type: ignore[assignment]
        try:
            with socket.create_connection(address, timeout=GUARD_TIMEOUT) as client:
                for _ in range(10):
                    with pytest.raises(OSError):
                        server.get_request()
                assert naps == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5, 0.5]  # none for ECONNABORTED
                sock, _ = server.get_request()  # descriptors are back: accepted, and the back-off resets
                server.shutdown_request(sock)
                client.settimeout(GUARD_TIMEOUT)
                server.socket = _FailingListener(real, [errno.EMFILE])  # type: ignore[assignment]
                with pytest.raises(OSError):
                    server.get_request()
                assert naps[-1] == 0.01
        finally:
            server.socket = real


def test_at_the_cap_with_every_connection_busy_accept_waits_instead_of_dropping_one() -> None:
    """Only connections waiting on their client may be dropped; one being answered never is."""
    with running("emulator", Limits(max_connections=1)) as (_address, server):
        left, right = socket.socketpair()
        with left, right:
            with server._room:  # as get_request() and a handler answering a request leave it
                server._conns[left] = Connection(left, None, math.inf)
            with pytest.raises(OSError, match="connection cap"):
                server._make_room()
            assert server.dropped == 0 and server.open_connections == 1
            server._conns[left].since = 0.0  # now waiting on its client: it makes room
            server._make_room()
            assert server.dropped == 1 and server.open_connections == 0
