"""Faults: kill -9 mid-load, injected 429/503, lost answers to Create* calls.

1. The standalone emulator is SIGKILLed while clients are writing, then restarted on the same
   state file: every key, ciphertext, data key and alias it acknowledged is still there and
   decrypts, and SQLite's ``PRAGMA integrity_check`` says ``ok`` after every kill.
2. Injected 503s and 429s: the helpers' retries recover within their attempt budget, and
   ``kms.retries`` reports every retry (action, attempt, code, wait).
3. Create* is never retried blindly: when the answer to a CreateKey/CreateAlias is lost after the
   server acted, the helper reports the failure instead of creating a duplicate; an idempotent
   call through the same fault is retried and recovers.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

import helpers
from helpers import errors
from helpers.emulator import DEFAULT_ACCOUNTS, Emulator
from helpers.retry import RetryPolicy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import soak  # noqa: E402


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --- 1. kill -9 and restart -------------------------------------------------------------------
def test_faults_kill_9_mid_load_loses_nothing_acknowledged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.sqlite"
    result = soak.run_kill_restart(state, cycles=3, clients=3, load_seconds=(0.5, 0.9))
    with capsys.disabled():
        print(f"\n[faults] kill -9 x{result.cycles}: acknowledged {result.acked_keys} keys, {result.acked_ciphertexts} "
              f"ciphertexts, {result.acked_data_keys} data keys, {result.acked_aliases} aliases; lost "
              f"{result.missing_keys + result.undecryptable + result.missing_aliases}; integrity {sorted(set(result.integrity))}")  # fmt: skip
    assert result.integrity == ["ok"] * (result.cycles + 1)
    assert (result.missing_keys, result.undecryptable, result.missing_aliases) == (0, 0, 0)
    assert result.unexpected_errors == [] and result.nothing_lost
    # The kills really landed mid-load: work was acknowledged, and calls failed against the dead server.
    assert result.cycles == 3 and result.acked_keys >= 3 and result.acked_ciphertexts >= 30
    assert result.failed_after_kill >= 3


def test_faults_verification_notices_a_loss() -> None:
    """The check above can fail: a key or ciphertext the server does not have is reported."""
    with Emulator() as emu:
        kms = soak.client(emu.endpoint)
        key = kms.create_key().key_id
        good = kms.encrypt(key, "kept").ciphertext_blob
        acked = soak.Acked(keys={key, "key-hzznot0there000000000"},
                           ciphertexts=[(good, "kept", None), (good, "not what was sent", None)],
                           aliases={"alias/kms-workshop-never-made": key})  # fmt: skip
        result = soak.verify_acked(kms, acked, soak.KillResult(integrity=["ok"]))
    assert (result.missing_keys, result.undecryptable, result.missing_aliases) == (1, 1, 1)
    assert not result.nothing_lost


def test_faults_integrity_check_reports_a_corrupt_file(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with Emulator(state, accounts=DEFAULT_ACCOUNTS) as emu:  # soak.client signs with the test pair
        kms = soak.client(emu.endpoint)
        for _ in range(30):
            kms.create_key(description="x" * 2000)
    assert soak.integrity_check(state) == "ok"
    data = bytearray(state.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page, len(data), page):
        data[offset : offset + 8] = b"\xff" * 8  # every b-tree page header but the first page's
    state.write_bytes(bytes(data))
    assert soak.integrity_check(state) != "ok"


# --- 2. injected 503 / 429 --------------------------------------------------------------------
@pytest.mark.parametrize("failures", [0, 1, 2, 3, 4])
def test_faults_injected_503_retries_recover_within_budget(failures: int) -> None:
    sleeps = Sleeps()
    with Emulator() as emu:
        kms = helpers.connect("emulator", endpoint=emu.endpoint,
                              retry=RetryPolicy(max_attempts=4, sleep=sleeps, rng=random.Random(1)))  # fmt: skip
        key = kms.create_key().key_id
        emu.configure_faults(unavailable_next=failures)
        if failures < 4:
            blob = kms.encrypt(key, "survives 503s").ciphertext_blob
            assert kms.decrypt(blob).plaintext == "survives 503s"
        else:  # the budget is 4 attempts: the 4th 503 is reported, not retried forever
            with pytest.raises(errors.ServiceUnavailableError):
                kms.encrypt(key, "x")
            assert emu.faults.unavailable_next == 0  # exactly 4 requests were made
    retries = kms.retries
    assert [(a.action, a.attempt, a.code) for a in retries] == [
        ("Encrypt", n, "ServiceUnavailableTemporary") for n in range(1, min(failures, 3) + 1)]  # fmt: skip
    assert sleeps == [a.waited for a in retries] and all(0 <= w <= 0.1 * 2**i for i, w in enumerate(sleeps))


class NoJitter(random.Random):
    """Always the longest delay the policy allows: makes the time the retries span predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_faults_injected_429_throttling_recovers_within_budget() -> None:
    limit, calls = 10, 25
    policy = RetryPolicy(max_attempts=5, base_delay=0.25, max_delay=1.0, rng=NoJitter())  # waits 0.25+0.5+1+1 s
    with Emulator(qps_limit=limit) as emu:
        kms = helpers.connect("emulator", endpoint=emu.endpoint, retry=policy)
        key = kms.create_key().key_id
        started = time.monotonic()
        for n in range(calls):
            kms.encrypt(key, f"call {n}")
        elapsed = time.monotonic() - started
    codes = {a.code for a in kms.retries}
    assert codes == {"Rejected.Throttling"} and len(kms.retries) >= 1
    assert max(a.attempt for a in kms.retries) <= policy.max_attempts - 1
    assert elapsed >= (calls - limit) / limit - 1  # the limit held: no more than `limit` per second got through


# --- 3. Create* and lost answers --------------------------------------------------------------
class DroppingProxy:
    """Loopback proxy that forwards each request to the emulator, and for the next ``drop`` requests
    hangs up instead of delivering the answer: the server acted, the client never hears of it."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.split("//")[1].rsplit(":", 1)
        self.upstream = (host, int(port))
        self.drop = 0
        self.dropped: list[bytes] = []  # request lines whose answer was thrown away
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_message(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return b"", b""
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += sock.recv(65536)
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        buffer = b""
        with conn:
            while True:
                request, buffer = self._read_message(conn, buffer)
                if not request:
                    return
                with socket.create_connection(self.upstream, timeout=10) as up:
                    up.sendall(request)
                    response, _ = self._read_message(up, b"")
                if self.drop > 0:
                    self.drop -= 1
                    self.dropped.append(request.split(b"\r\n", 1)[0])
                    return  # hang up: the answer is lost
                conn.sendall(response)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def lossy() -> tuple[Emulator, DroppingProxy, helpers.Kms, helpers.Kms]:
    with Emulator() as emu:
        proxy = DroppingProxy(emu.endpoint)
        through = helpers.connect("emulator", endpoint=proxy.endpoint, retry=RetryPolicy(sleep=Sleeps()))
        direct = soak.client(emu.endpoint)
        yield emu, proxy, through, direct
        proxy.close()


def test_faults_lost_answer_to_create_key_is_not_retried(lossy) -> None:  # type: ignore[no-untyped-def]
    emu, proxy, kms, direct = lossy
    proxy.drop = 1
    with pytest.raises(errors.KmsNetworkError):
        kms.create_key(description="kms-workshop: made once")
    assert kms.retries == [] and len(proxy.dropped) == 1 and b"Action=CreateKey" in proxy.dropped[0]
    # The server did create it, exactly once: a blind retry would have made a second key.
    made = [k for k in direct.iter_keys() if direct.describe_key(k["KeyId"]).description == "kms-workshop: made once"]
    assert len(made) == 1


def test_faults_lost_answer_to_create_alias_is_not_retried(lossy) -> None:  # type: ignore[no-untyped-def]
    emu, proxy, kms, direct = lossy
    key = direct.create_key().key_id
    proxy.drop = 1
    with pytest.raises(errors.KmsNetworkError):  # not AliasExistsError from a second, blind attempt
        kms.create_alias("alias/kms-workshop-once", key)
    assert kms.retries == []
    assert direct.describe_key("alias/kms-workshop-once").key_id == key


def test_faults_lost_answer_to_an_idempotent_call_is_retried(lossy) -> None:  # type: ignore[no-untyped-def]
    emu, proxy, kms, direct = lossy
    key = direct.create_key().key_id
    proxy.drop = 1
    blob = kms.encrypt(key, "retried once").ciphertext_blob
    assert [(a.action, a.attempt, a.code) for a in kms.retries] == [("Encrypt", 1, "SDK.HttpError")]
    assert direct.decrypt(blob).plaintext == "retried once"


@pytest.mark.parametrize("action", ["CreateKey", "CreateAlias"])
def test_faults_injected_503_on_create_is_reported_not_retried(action: str) -> None:
    with Emulator() as emu:
        kms = helpers.connect("emulator", endpoint=emu.endpoint, retry=RetryPolicy(sleep=Sleeps()))
        key = kms.create_key().key_id
        emu.configure_faults(unavailable_next=1)
        with pytest.raises(errors.ServiceUnavailableError):
            kms.create_key() if action == "CreateKey" else kms.create_alias("alias/kms-workshop-x", key)
        assert kms.retries == []
        assert kms.list_keys().total_count == 1 and kms.list_aliases().total_count == 0
