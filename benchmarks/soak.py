"""Load, soak and crash runs against the emulator in its own process (loopback only, bounded).

    python benchmarks/soak.py                         # make soak: 8 clients for 180 s
    python benchmarks/soak.py --clients 4 --seconds 20 --json out.json
    python benchmarks/soak.py --kill-cycles 10        # kill -9 / restart cycles instead of a soak

Every run stops by itself: a wall-clock limit AND a cap on round trips, with socket timeouts on
every call. ``tests/test_load.py`` and ``tests/test_faults.py`` run short versions of the same
code in ``make test``; ``benchmarks/reliability_report.py`` runs longer ones for docs/reliability.md.

A *round trip* is a call whose result is checked by a second call: Encrypt then Decrypt (same
text back), GenerateDataKey then Decrypt (same key bytes back), CreateAlias then DescribeKey by
alias (same key) then DeleteAlias. *Lost* = a request that got no HTTP answer; *corrupted* = an
answer that does not match what was sent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402 (after the path set-up, so the script runs from anywhere)
from helpers.errors import KmsError, KmsNetworkError  # noqa: E402
from helpers.retry import RetryPolicy  # noqa: E402

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0
_TEXT = "abcdefghijklmnopqrstuvwxyz ABCXYZ 0123456789 ~*+/=&%?#é中😀\n\t"


# --- the emulator as a separate process ---------------------------------------------------------
class EmulatorProcess:
    """``python -m helpers.emulator`` on a loopback port; ``kill()`` is SIGKILL, no clean-up."""

    def __init__(self, state: Path | None, *extra: str) -> None:
        # --test-account: the documented pair, which client() signs with (a loopback-only harness).
        args = [sys.executable, "-m", "helpers.emulator", "--host", LOOPBACK, "--port", "0", "--test-account", *extra]
        if state is not None:
            args += ["--state", str(state)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith(f"http://{LOOPBACK}:"):
            self.kill()
            raise RuntimeError(f"emulator did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}")
        self.endpoint = line

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


@contextmanager
def emulator_process(state: Path | None = None, *extra: str) -> Iterator[EmulatorProcess]:
    emu = EmulatorProcess(state, *extra)
    try:
        yield emu
    finally:
        emu.stop()


def client(endpoint: str, retry: RetryPolicy | None = None) -> helpers.Kms:
    """A helpers client on ``endpoint`` with no retries (so every failure is counted) and timeouts."""
    assert endpoint.startswith((f"http://{LOOPBACK}:", "https://localhost:")), endpoint  # loopback only
    kms = helpers.connect("emulator", endpoint=endpoint, retry=retry or RetryPolicy(max_attempts=1))
    kms.sdk_client._connect_timeout, kms.sdk_client._read_timeout = 5, 10  # no public setter on AcsClient
    return kms


def random_text(rng: random.Random, low: int = 1, high: int = 300) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(low, high)))


# --- load ---------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    clients: int
    seconds: float
    requests: int = 0
    round_trips: int = 0
    lost: int = 0
    corrupted: int = 0
    server_errors: int = 0  # 5xx answers
    errors: dict[str, int] = field(default_factory=dict)  # code -> count, any failure
    by_action: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests_per_second: float = 0.0
    hung_workers: int = 0

    @property
    def clean(self) -> bool:
        return not (self.lost or self.corrupted or self.server_errors or self.errors or self.hung_workers)

    def line(self) -> str:
        return (f"{self.clients} clients x {self.seconds:.1f} s: {self.requests} requests, {self.round_trips} round trips, "
                f"{self.requests_per_second:.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
                f"errors {sum(self.errors.values())}, lost {self.lost}, corrupted {self.corrupted}, 5xx {self.server_errors}")  # fmt: skip


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.round_trips = self.lost = self.corrupted = self.server_errors = 0

    def timed(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except KmsError as exc:
            with self.lock:
                self.errors[exc.code] += 1
                self.lost += isinstance(exc, KmsNetworkError)
                self.server_errors += bool(exc.http_status and exc.http_status >= 500)
            raise
        finally:
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latencies.append(elapsed)
                self.actions[action] += 1

    def corrupt(self, what: str) -> None:
        with self.lock:
            self.corrupted += 1
            self.errors[f"corrupted {what}"] += 1


def _round_trip(kms: helpers.Kms, key_id: str, rng: random.Random, tally: _Tally, worker: int, n: int) -> None:
    op = rng.choices(("encrypt", "datakey", "alias"), weights=(6, 3, 1))[0]
    context = {"worker": str(worker), "n": str(n)} if rng.random() < 0.5 else None
    if op == "encrypt":
        text = random_text(rng)
        blob = tally.timed("Encrypt", kms.encrypt, key_id, text, context).ciphertext_blob
        if tally.timed("Decrypt", kms.decrypt, blob, context).plaintext != text:
            tally.corrupt("Encrypt/Decrypt")
    elif op == "datakey":
        size = rng.choice((16, 32, 64))
        dk = tally.timed("GenerateDataKey", kms.generate_data_key, key_id, None, size, context)
        back = tally.timed("Decrypt", kms.decrypt, dk.ciphertext_blob, context, binary=True).plaintext
        if back != dk.plaintext or len(back) != size:
            tally.corrupt("GenerateDataKey/Decrypt")
    else:
        alias = f"alias/kms-workshop-load-{worker}-{n}"
        tally.timed("CreateAlias", kms.create_alias, alias, key_id)
        if tally.timed("DescribeKey", kms.describe_key, alias).key_id != key_id:
            tally.corrupt("CreateAlias/DescribeKey")
        tally.timed("DeleteAlias", kms.delete_alias, alias)
    with tally.lock:
        tally.round_trips += 1


def run_load(endpoint: str, *, clients: int = 4, seconds: float = 3.0, max_round_trips: int = 100_000,
             seed: int = 7) -> LoadResult:  # fmt: skip
    """N concurrent SDK clients (threads, each with its own AcsClient) for ``seconds``."""
    setup = client(endpoint, RetryPolicy(max_attempts=10, base_delay=0.01))  # retries only for the checks
    keys = [setup.create_key(description=f"kms-workshop: load {i}").key_id for i in range(2)]
    tally = _Tally()
    deadline = time.monotonic() + seconds
    budget = threading.Semaphore(max_round_trips)

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        kms = client(endpoint)
        n = 0
        while time.monotonic() < deadline and budget.acquire(blocking=False):
            n += 1
            try:
                _round_trip(kms, keys[n % len(keys)], rng, tally, index, n)
            except KmsError:
                pass  # counted in the tally; keep going until the deadline

    threads = [threading.Thread(target=worker, args=(i,), daemon=True, name=f"load-{i}") for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 30)  # a call has 5 s + 10 s timeouts
    elapsed = time.monotonic() - started
    latencies = sorted(tally.latencies)
    result = LoadResult(clients=clients, seconds=elapsed, requests=len(latencies), round_trips=tally.round_trips,
                        lost=tally.lost, corrupted=tally.corrupted, server_errors=tally.server_errors,
                        errors=dict(tally.errors), by_action=dict(tally.actions),
                        hung_workers=sum(t.is_alive() for t in threads))  # fmt: skip
    if latencies:
        result.p50_ms = 1000 * statistics.median(latencies)
        result.p99_ms = 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        result.requests_per_second = len(latencies) / elapsed
    # Nothing left behind: every alias the run created was deleted, no key appeared from nowhere.
    leftovers = [a for a in setup.iter_aliases() if a["AliasName"].startswith("alias/kms-workshop-load-")]
    if leftovers:
        result.errors["aliases left behind"] = len(leftovers)
    return result


# --- kill -9 and restart ------------------------------------------------------------------------
@dataclass
class Acked:
    """What the emulator acknowledged (answered 200) before it was killed."""

    keys: set[str] = field(default_factory=set)
    ciphertexts: list[tuple[str, str, dict[str, str] | None]] = field(default_factory=list)  # blob, text, ctx
    data_keys: list[tuple[str, bytes]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class KillResult:
    cycles: int = 0
    acked_keys: int = 0
    acked_ciphertexts: int = 0
    acked_data_keys: int = 0
    acked_aliases: int = 0
    missing_keys: int = 0
    undecryptable: int = 0
    missing_aliases: int = 0
    integrity: list[str] = field(default_factory=list)
    failed_after_kill: int = 0  # calls that were in flight or started after the kill (expected > 0)
    unexpected_errors: list[str] = field(default_factory=list)  # error answers during the load (expected none)

    @property
    def nothing_lost(self) -> bool:
        lost = self.missing_keys or self.undecryptable or self.missing_aliases or self.unexpected_errors
        return not lost and set(self.integrity) == {"ok"}


def integrity_check(state: Path) -> str:
    """SQLite's own check of the file: "ok", or what is wrong (a file that is not a database says so)."""
    try:
        db = sqlite3.connect(f"file:{state}?mode=rw", uri=True, timeout=10)
        try:
            return "; ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check").fetchall())
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"error: {exc}"


def _crash_worker(endpoint: str, acked: Acked, stop: threading.Event, seed: int, failures: list[int],
                  unexpected: list[str]) -> None:  # fmt: skip
    rng = random.Random(seed)
    kms = client(endpoint)
    kms.sdk_client._read_timeout = 3
    n = 0
    while not stop.is_set() and n < 100_000:
        n += 1
        try:
            with acked.lock:
                known = sorted(acked.keys)
            if not known or (len(known) < 40 and rng.random() < 0.15):  # well under the 200-key quota
                key_id = kms.create_key(description="kms-workshop: crash test").key_id
                with acked.lock:
                    acked.keys.add(key_id)
                continue
            key_id = rng.choice(known)
            op = rng.random()
            if op < 0.6:
                text, ctx = random_text(rng, 1, 200), ({"n": str(n)} if rng.random() < 0.5 else None)
                blob = kms.encrypt(key_id, text, ctx).ciphertext_blob
                with acked.lock:
                    acked.ciphertexts.append((blob, text, ctx))
            elif op < 0.9:
                dk = kms.generate_data_key(key_id)
                with acked.lock:
                    acked.data_keys.append((dk.ciphertext_blob, dk.plaintext))
            elif len(acked.aliases) < 150:  # well under the 300-alias quota
                alias = f"alias/kms-workshop-crash-{seed}-{n}"
                kms.create_alias(alias, key_id)
                with acked.lock:
                    acked.aliases[alias] = key_id
        except KmsNetworkError:
            failures.append(1)  # cut off by the kill (no answer)
            if stop.is_set():
                return
            time.sleep(0.01)  # the server is gone: wait for the cycle to end
        except KmsError as exc:
            unexpected.append(exc.code)  # an answer, but an error: must not happen


def run_kill_restart(state: Path, *, cycles: int = 3, clients: int = 3, load_seconds: tuple[float, float] = (0.4, 1.0),
                     seed: int = 11) -> KillResult:  # fmt: skip
    """Load, SIGKILL mid-load, check the file, restart on it, check everything acknowledged survived."""
    rng = random.Random(seed)
    acked = Acked()
    result = KillResult()
    for cycle in range(cycles):
        emu = EmulatorProcess(state)
        stop = threading.Event()
        failures: list[int] = []
        threads = [threading.Thread(target=_crash_worker, args=(emu.endpoint, acked, stop, seed * 100 + cycle * 10 + i, failures,
                                                                result.unexpected_errors),
                                    daemon=True) for i in range(clients)]  # fmt: skip
        for t in threads:
            t.start()
        time.sleep(rng.uniform(*load_seconds))
        emu.kill()  # SIGKILL while the workers are still sending
        time.sleep(0.2)  # let in-flight calls fail against the dead server
        stop.set()
        for t in threads:
            t.join(timeout=20)
        result.failed_after_kill += len(failures)
        result.integrity.append(integrity_check(state))
        result.cycles = cycle + 1
    # Restart on the same file and check every acknowledged thing.
    with emulator_process(state) as emu:
        verify_acked(client(emu.endpoint), acked, result)
    result.integrity.append(integrity_check(state))
    return result


def verify_acked(kms: helpers.Kms, acked: Acked, result: KillResult) -> KillResult:
    """Every acknowledged key exists, every acknowledged ciphertext and data key decrypts to what it was."""
    for key_id in sorted(acked.keys):
        try:
            kms.describe_key(key_id)
        except KmsError:
            result.missing_keys += 1
    for blob, text, ctx in acked.ciphertexts:
        try:
            ok = kms.decrypt(blob, ctx).plaintext == text
        except KmsError:
            ok = False
        result.undecryptable += not ok
    for blob, key in acked.data_keys:
        try:
            ok = kms.decrypt(blob, binary=True).plaintext == key
        except KmsError:
            ok = False
        result.undecryptable += not ok
    for alias, key_id in acked.aliases.items():
        try:
            ok = kms.describe_key(alias).key_id == key_id
        except KmsError:
            ok = False
        result.missing_aliases += not ok
    result.acked_keys, result.acked_ciphertexts = len(acked.keys), len(acked.ciphertexts)
    result.acked_data_keys, result.acked_aliases = len(acked.data_keys), len(acked.aliases)
    return result


# --- command line -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=180.0, help="wall-clock limit of the load (default 180)")
    parser.add_argument("--max-round-trips", type=int, default=1_000_000)
    parser.add_argument("--kill-cycles", type=int, default=0, help="run kill -9 / restart cycles instead")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kms-soak-") as tmp:
        state = Path(tmp) / "state.sqlite"
        if args.kill_cycles:
            kill = run_kill_restart(state, cycles=args.kill_cycles)
            print(f"kill -9 cycles: {kill.cycles}; acknowledged: {kill.acked_keys} keys, {kill.acked_ciphertexts} "
                  f"ciphertexts, {kill.acked_data_keys} data keys, {kill.acked_aliases} aliases; lost: "
                  f"{kill.missing_keys} keys, {kill.undecryptable} ciphertexts, {kill.missing_aliases} aliases; "
                  f"integrity_check: {sorted(set(kill.integrity))}")  # fmt: skip
            data: dict[str, Any] = asdict(kill)
            ok = kill.nothing_lost
        else:
            with emulator_process(state) as emu:
                import psutil

                proc = psutil.Process(emu.pid)
                rss_before = proc.memory_info().rss
                load = run_load(emu.endpoint, clients=args.clients, seconds=args.seconds,
                                max_round_trips=args.max_round_trips)  # fmt: skip
                rss_after = proc.memory_info().rss
            print(load.line())
            print(f"emulator RSS: {rss_before / 2**20:.1f} MiB -> {rss_after / 2**20:.1f} MiB")
            data = asdict(load) | {"rss_before_mib": rss_before / 2**20, "rss_after_mib": rss_after / 2**20}
            ok = load.clean
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
