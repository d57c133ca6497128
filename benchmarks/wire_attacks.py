"""Slow clients, header floods and descriptor exhaustion against the emulator, at its default limits.

``slow_client_figures()`` returns the figures docs/reliability.md reports (the report calls it);
``python benchmarks/wire_attacks.py`` prints them. The emulator runs in its own process so its
descriptors, RSS and CPU time are its own. Loopback only; every attack is bounded in count and time.

1. Slow clients: ``slow`` connections (more than the cap) each send a never-ending header a byte
   every ``trickle_every`` seconds while a fresh client makes one signed request every 0.2 s.
2. Header flood: ``cap`` connections each send the largest head the limits let through (a 64 KB
   request line and 32 KB of headers) and stall; then the 99 x 64 KB flood that used to be held.
3. Accept failures: the emulator under a 64-descriptor limit with the cap lifted, so accept()
   fails with EMFILE; its CPU use while clients keep knocking.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from tests.test_emulator_server import common, query, signed_v1  # noqa: E402 (an independent signer)

_SERVER = r"""
import resource, sys, time
from helpers.emulator import Emulator
from helpers.httpwire import Limits
low = int(sys.argv[1])
if low:
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
emu = Emulator().start()
if low:
    emu._server.limits = Limits(max_connections=10_000)  # lift the cap: accept() must fail for real
print(emu.endpoint, emu._server.limits.max_connections, flush=True)
sys.stdin.read()
"""


@contextmanager
def emulator(fd_limit: int = 0) -> Iterator[tuple[tuple[str, int], int, psutil.Process]]:
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(fd_limit)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        endpoint, cap = proc.stdout.readline().split()
        host, port = endpoint.split("//")[1].rsplit(":", 1)
        yield (host, int(port)), int(cap), psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait(10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _signed_request(address: tuple[str, int], timeout: float = 10.0) -> float:
    """Seconds for one signed DescribeRegions on a fresh connection; raises unless it is a 200."""
    start = time.perf_counter()
    with socket.create_connection(address, timeout=timeout) as sock:
        target = query(signed_v1("GET", common("DescribeRegions")))
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    if not raw.startswith(b"HTTP/1.1 200 "):
        raise RuntimeError(raw[:80])
    return time.perf_counter() - start


def _open(address: tuple[str, int], count: int, first: bytes) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=10)
        sock.sendall(first)
        socks.append(sock)
    return socks


def slow_clients(slow: int = 300, seconds: float = 12.0, trickle_every: float = 1.0) -> dict[str, Any]:
    with emulator() as (address, cap, server):
        base_fds = server.num_fds()
        socks = _open(address, slow, b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        connected = {s: time.monotonic() for s in socks}
        dropped_after: list[float] = []
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(trickle_every):
                for sock in list(connected):
                    try:
                        sock.send(b"a")
                    except OSError:
                        dropped_after.append(time.monotonic() - connected.pop(sock))

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        latencies, failures, held = [], 0, []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            held.append(server.num_fds() - base_fds)
            try:
                latencies.append(_signed_request(address))
            except (OSError, RuntimeError):
                failures += 1
            time.sleep(0.2)
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()
    return {"cap": cap, "slow clients": slow, "seconds": seconds, "trickle every (s)": trickle_every,
            "max connections held": max(held), "fresh requests": len(latencies) + failures,
            "fresh requests failed": failures, "fresh latency median (ms)": round(statistics.median(latencies) * 1000, 2),
            "fresh latency max (ms)": round(max(latencies) * 1000, 2),
            "slow clients dropped": len(dropped_after),
            # the ones over the cap go at once (room for newer ones); the rest at the head deadline
            "seconds to drop (detected per trickle), median": _round(statistics.median, dropped_after),
            "seconds to drop, max": _round(max, dropped_after)}  # fmt: skip


def _round(stat: Any, values: list[float]) -> float | None:
    return round(stat(values), 1) if values else None


def header_flood() -> dict[str, Any]:
    with emulator() as (address, cap, server):
        _signed_request(address)
        before = server.memory_info().rss
        line = b"POST /?" + b"a" * 65000 + b" HTTP/1.1\r\n"  # the longest request line allowed
        headers = b"".join(b"X-Pad-%03d: %s\r\n" % (i, b"b" * 300) for i in range(100))[:32000]
        socks = _open(address, cap, line + headers)  # every slot, each at the edge of the budget, stalled
        time.sleep(1.0)
        held_rss = server.memory_info().rss
        for sock in socks:
            sock.close()
        refused = 0
        for _ in range(20):  # the old 6.4 MB attack: answered at the budget instead of held
            with socket.create_connection(address, timeout=10) as sock:
                try:
                    sock.sendall(b"POST / HTTP/1.1\r\n" + (b"X-Pad: " + b"c" * 65000 + b"\r\n") * 99)
                except OSError:
                    pass
                try:
                    refused += sock.recv(4096).startswith(b"HTTP/1.1 400 ")
                except OSError:
                    pass
        after = server.memory_info().rss
    return {"connections": cap, "RSS before (MB)": round(before / 2**20, 1),
            "RSS with every slot holding a maximal head (MB)": round(held_rss / 2**20, 1),
            "99 x 64 KB floods answered 400": f"{refused}/20", "RSS after the floods (MB)": round(after / 2**20, 1)}  # fmt: skip


def accept_exhaustion(clients: int = 80, seconds: float = 3.0) -> dict[str, Any]:
    with emulator(fd_limit=64) as (address, _cap, server):
        socks = _open(address, clients, b"")  # the kernel completes the handshakes; accept() gets EMFILE
        time.sleep(0.5)
        start_cpu, start = sum(server.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds)
        cpu = (sum(server.cpu_times()[:2]) - start_cpu) / (time.monotonic() - start)
        for sock in socks:
            sock.close()
    return {"descriptor limit": 64, "clients": clients, "server CPU while accept() fails (% of a core)": round(cpu * 100, 1)}


def slow_client_figures() -> dict[str, Any]:
    """Every figure above, for benchmarks/reliability_report.py."""
    return {"slow clients": slow_clients(), "header flood": header_flood(), "accept exhaustion": accept_exhaustion()}


if __name__ == "__main__":
    print(json.dumps(slow_client_figures(), indent=2))
