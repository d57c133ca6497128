"""Emulator benchmark: one run, one table (``make bench``).

1. Encrypt latency, classic SDK -> server over loopback, emulator vs a do-nothing server that
   returns a canned Encrypt body (the transport floor). Both servers run in their own process.
2. Encrypt+Decrypt throughput, emulator in its own process (``python -m helpers.emulator``),
   8 client threads.
3. Encrypt throughput and server CPU per request, emulator vs the floor server, the same 8 client
   threads against each in turn (so the ratio does not depend on how fast this machine is).
4. Emulator RSS after 10,000 requests.
Targets: latency <= 1.25x floor, >= 750 req/s, RSS < 80 MB; the throughput and CPU ratios are
reported (the floor does no crypto, no signature check and no SQLite, so they show what those cost).
"""

from __future__ import annotations

import json
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
from aliyunsdkcore.client import AcsClient
from aliyunsdkkms.request.v20160120.CreateKeyRequest import CreateKeyRequest
from aliyunsdkkms.request.v20160120.DecryptRequest import DecryptRequest
from aliyunsdkkms.request.v20160120.EncryptRequest import EncryptRequest

ROOT = Path(__file__).resolve().parent.parent
LATENCY_CALLS, WARMUP = 1000, 50
THREADS, THROUGHPUT_SECONDS, RSS_REQUESTS = 8, 5.0, 10_000

_FLOOR_SERVER = r"""
import http.server, socket
BODY = b'{"KeyId":"key-hzz000000000000000000","KeyVersionId":"00000000-0000-4000-8000-000000000000","CiphertextBlob":"MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==","RequestId":"00000000-0000-4000-8000-000000000000"}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: %d\r\n\r\n" % len(BODY)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        self.wfile.write(HEAD + BODY)   # one write, like the emulator
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print("http://127.0.0.1:%d" % s.server_address[1], flush=True)
s.serve_forever()
"""


# endpoint -> the AccessKey pair its server printed (the emulator's second line); the floor server
# checks no signature, so any pair does there.
_PAIRS: dict[str, tuple[str, str]] = {}


@contextmanager
def serve(args: list[str], *, prints_pair: bool = False) -> Iterator[tuple[str, psutil.Process]]:
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        endpoint = proc.stdout.readline().strip() if proc.stdout else ""
        if prints_pair and proc.stdout:
            fields = dict(field.split("=", 1) for field in proc.stdout.readline().split())
            _PAIRS[endpoint] = (fields["AccessKeyId"], fields["AccessKeySecret"])
        yield endpoint, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()


def client(endpoint: str) -> AcsClient:
    key_id, secret = _PAIRS.get(endpoint, ("testid", "testsecret"))
    acs = AcsClient(key_id, secret, "cn-hangzhou", proxy={"http": None, "https": None})
    acs.add_endpoint("cn-hangzhou", "Kms", endpoint)
    return acs


def call(acs: AcsClient, request: Any) -> dict[str, Any]:
    return dict(json.loads(acs.do_action_with_exception(request)))


def encrypt_request(key_id: str, text: str = "aGVsbG8gd29ybGQ=") -> EncryptRequest:
    request = EncryptRequest()
    request.set_KeyId(key_id)
    request.set_Plaintext(text)
    return request


def latencies(endpoints: list[str], key_id: str, rounds: int = 10) -> list[list[float]]:
    """Alternate blocks of calls between the servers, so load drift on the box hits both alike."""
    clients = [client(e) for e in endpoints]
    samples: list[list[float]] = [[] for _ in endpoints]
    for acs in clients:
        for _ in range(WARMUP):
            acs.do_action_with_exception(encrypt_request(key_id))
    for _ in range(rounds):
        for acs, bucket in zip(clients, samples, strict=True):
            for _ in range(LATENCY_CALLS // rounds):
                start = time.perf_counter()
                acs.do_action_with_exception(encrypt_request(key_id))
                bucket.append((time.perf_counter() - start) * 1000)
    return samples


NEW_ACTION_CALLS = 300


def action_cost(endpoints: list[tuple[str, psutil.Process]], make_request: Any, rounds: int = 5) -> list[tuple[float, float]]:
    """(median latency ms, server CPU us per call) of one request kind on each server, alternating
    blocks between them; the floor answers its canned body to any action."""
    clients = [client(e) for e, _ in endpoints]
    samples: list[list[float]] = [[] for _ in endpoints]
    cpu = [0.0 for _ in endpoints]
    for acs in clients:
        for _ in range(WARMUP // 5):
            acs.do_action_with_exception(make_request())
    for _ in range(rounds):
        for n, (acs, (_, process)) in enumerate(zip(clients, endpoints, strict=True)):
            before = process.cpu_times()
            for _ in range(NEW_ACTION_CALLS // rounds):
                start = time.perf_counter()
                acs.do_action_with_exception(make_request())
                samples[n].append((time.perf_counter() - start) * 1000)
            after = process.cpu_times()
            cpu[n] += (after.user - before.user) + (after.system - before.system)
    return [(statistics.median(s), c / len(s) * 1e6) for s, c in zip(samples, cpu, strict=True)]


def sign_and_secret_requests(endpoint: str) -> tuple[Any, Any]:
    """An RSA_2048 signing key and a secret on the emulator; factories of their requests."""
    import base64
    import hashlib

    from aliyunsdkkms.request.v20160120.AsymmetricSignRequest import AsymmetricSignRequest
    from aliyunsdkkms.request.v20160120.CreateSecretRequest import CreateSecretRequest
    from aliyunsdkkms.request.v20160120.GetSecretValueRequest import GetSecretValueRequest
    from aliyunsdkkms.request.v20160120.ListKeyVersionsRequest import ListKeyVersionsRequest

    acs = client(endpoint)
    create = CreateKeyRequest()
    create.set_KeySpec("RSA_2048")
    create.set_KeyUsage("SIGN/VERIFY")
    key_id = call(acs, create)["KeyMetadata"]["KeyId"]
    versions = ListKeyVersionsRequest()
    versions.set_KeyId(key_id)
    version = call(acs, versions)["KeyVersions"]["KeyVersion"][0]["KeyVersionId"]
    secret = CreateSecretRequest()
    secret.set_SecretName("bench-secret")
    secret.set_VersionId("v1")
    secret.set_SecretData("x" * 1800)  # about the size of the demo PEM
    call(acs, secret)
    digest = base64.b64encode(hashlib.sha256(b"release.tar").digest()).decode()

    def sign() -> Any:
        request = AsymmetricSignRequest()
        request.set_KeyId(key_id)
        request.set_KeyVersionId(version)
        request.set_Algorithm("RSA_PSS_SHA_256")
        request.set_Digest(digest)
        return request

    def get_secret() -> Any:
        request = GetSecretValueRequest()
        request.set_SecretName("bench-secret")
        return request

    return sign, get_secret


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def throughput(endpoint: str, key_id: str, seconds: float) -> tuple[float, int]:
    """Encrypt+Decrypt pairs from 8 threads; returns requests/s and the error count."""
    stop, counts, failures = threading.Event(), [0] * THREADS, [0] * THREADS

    def worker(n: int) -> None:
        acs = client(endpoint)
        while not stop.is_set():
            try:
                blob = call(acs, encrypt_request(key_id, f"thread {n}"))["CiphertextBlob"]
                request = DecryptRequest()
                request.set_CiphertextBlob(blob)
                call(acs, request)
                counts[n] += 2
            except Exception:  # noqa: BLE001 — counted and reported, a benchmark must finish
                failures[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start), sum(failures)


def encrypt_load(endpoint: str, key_id: str, process: psutil.Process, seconds: float) -> tuple[float, float, int]:
    """Encrypt from THREADS threads for ``seconds``: (requests/s, server CPU µs per request, failures)."""
    stop, counts, failures = threading.Event(), [0] * THREADS, [0] * THREADS

    def worker(n: int) -> None:
        acs = client(endpoint)
        while not stop.is_set():
            try:
                acs.do_action_with_exception(encrypt_request(key_id))
                counts[n] += 1
            except Exception:  # noqa: BLE001 — counted and reported, a benchmark must finish
                failures[n] += 1

    before = process.cpu_times()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    after = process.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    done = max(sum(counts), 1)
    return sum(counts) / elapsed, cpu / done * 1e6, sum(failures)


def main() -> int:
    with serve(["-m", "helpers.emulator"], prints_pair=True) as (endpoint, process), serve(["-c", _FLOOR_SERVER]) as (floor_endpoint, floor_process):
        key_id = call(client(endpoint), CreateKeyRequest())["KeyMetadata"]["KeyId"]
        emulator, floor = latencies([endpoint, floor_endpoint], key_id)
        rate, failed = throughput(endpoint, key_id, THROUGHPUT_SECONDS)
        done = 1 + WARMUP + LATENCY_CALLS + int(rate * THROUGHPUT_SECONDS)
        if done < RSS_REQUESTS:  # top up to at least 10,000 requests before reading RSS
            extra, more_failed = throughput(endpoint, key_id, (RSS_REQUESTS - done) / max(rate, 1) + 0.5)
            failed += more_failed
            done += int(extra * ((RSS_REQUESTS - done) / max(rate, 1) + 0.5))
        # emulator, floor, emulator again: drift on a shared machine hits both sides alike
        first = encrypt_load(endpoint, key_id, process, THROUGHPUT_SECONDS / 2)
        floor_rate, floor_cpu, floor_failed = encrypt_load(floor_endpoint, key_id, floor_process, THROUGHPUT_SECONDS)
        second = encrypt_load(endpoint, key_id, process, THROUGHPUT_SECONDS / 2)
        enc_rate, enc_cpu, enc_failed = ((a + b) / 2 for a, b in zip(first, second, strict=True))
        done += int((first[0] + second[0]) * THROUGHPUT_SECONDS / 2)
        sign, get_secret = sign_and_secret_requests(endpoint)
        costs = {name: action_cost([(endpoint, process), (floor_endpoint, floor_process)], factory)
                 for name, factory in (("AsymmetricSign (RSA_2048, PSS)", sign), ("GetSecretValue", get_secret))}  # fmt: skip
        done += 2 * (NEW_ACTION_CALLS + WARMUP // 5) + 4
        rss_mb = process.memory_info().rss / 2**20
    med_e, med_f = statistics.median(emulator), statistics.median(floor)
    rows = [
        ("Encrypt latency median (ms)", f"{med_e:.3f}", f"floor {med_f:.3f}; ratio {med_e / med_f:.3f}x", "<= 1.25x floor", med_e <= 1.25 * med_f),
        ("Encrypt latency p99 (ms)", f"{p99(emulator):.3f}", f"floor {p99(floor):.3f}; ratio {p99(emulator) / p99(floor):.2f}x", "(reported)", True),
        (f"Encrypt+Decrypt throughput, {THREADS} threads (req/s)", f"{rate:.0f}", f"{failed} failed requests", ">= 750", rate >= 750 and not failed),
        (f"Encrypt throughput, {THREADS} threads (req/s)", f"{enc_rate:.0f}",
         f"floor {floor_rate:.0f}; ratio {enc_rate / floor_rate:.2f}x of the floor's; {enc_failed + floor_failed:.0f} failed",
         "(reported)", not enc_failed and not floor_failed),
        ("Server CPU per Encrypt (us)", f"{enc_cpu:.0f}", f"floor {floor_cpu:.0f}; ratio {enc_cpu / floor_cpu:.2f}x", "(reported)", True),
        *[row for name, ((lat, cpu), (floor_lat, floor_cpu)) in costs.items() for row in (
            (f"{name} latency median (ms)", f"{lat:.3f}", f"floor {floor_lat:.3f}; ratio {lat / floor_lat:.2f}x", "(reported)", True),
            (f"{name} server CPU per call (us)", f"{cpu:.0f}", f"floor {floor_cpu:.0f}; ratio {cpu / floor_cpu:.2f}x", "(reported)", True),
        )],
        (f"Server RSS after ~{done:,} requests (MB)", f"{rss_mb:.1f}", "psutil rss of the server process", "< 80", rss_mb < 80),
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    header = ("measure", "value", "detail", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " | met")
    print("-+-".join("-" * w for w in widths) + "-+----")
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row[:4], widths, strict=True)) + f" | {'yes' if row[4] else 'NO'}")
    print(f"({LATENCY_CALLS} sequential calls per server after {WARMUP} warm-up, interleaved in 10 blocks, one keep-alive "
          "client each; servers in their own processes; "
          f"{psutil.cpu_count()} CPUs; Python {sys.version.split()[0]})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
