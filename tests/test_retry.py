"""The retry policy, counted in real HTTP requests through the unmodified SDK."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

import helpers
from helpers import errors
from helpers.retry import RetryPolicy
from tests.stub_server import StubServer, error

OK_ENCRYPT = (200, {"KeyId": "k", "KeyVersionId": "v", "CiphertextBlob": "Yg==", "RequestId": "r"})


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(stub: StubServer, sleeps: Sleeps, attempts: int = 4) -> helpers.Kms:
    policy = RetryPolicy(max_attempts=attempts, sleep=sleeps, rng=random.Random(7))
    return helpers.connect("emulator", endpoint=stub.endpoint, retry=policy)


def test_retry_encrypt_recovers_after_two_503s():
    sleeps = Sleeps()
    with StubServer([error(503, "ServiceUnavailableTemporary"), error(503, "ServiceUnavailableTemporary"), OK_ENCRYPT]) as stub:
        kms = client(stub, sleeps)
        result = kms.encrypt("alias/x", "hello")
    assert result.ciphertext_blob == "Yg=="
    assert len(stub.requests) == 3
    assert [a.code for a in kms.retries] == ["ServiceUnavailableTemporary"] * 2
    assert [a.attempt for a in kms.retries] == [1, 2]
    assert sleeps == [a.waited for a in kms.retries]


def test_retry_throttling_429_is_retried():
    sleeps = Sleeps()
    with StubServer([error(429, "Rejected.Throttling", "QPS Limit Exceeded"), OK_ENCRYPT]) as stub:
        kms = client(stub, sleeps)
        kms.encrypt("alias/x", "hello")
    assert len(stub.requests) == 2


def test_retry_gives_up_after_max_attempts_and_raises_the_last_error():
    sleeps = Sleeps()
    with StubServer([error(503, "ServiceUnavailableTemporary")] * 10) as stub:
        kms = client(stub, sleeps, attempts=3)
        with pytest.raises(errors.ServiceUnavailableError) as info:
            kms.decrypt("Yg==")
    assert len(stub.requests) == 3
    assert len(sleeps) == 2
    assert info.value.http_status == 503


@pytest.mark.parametrize("action", ["create_key", "create_alias"])
def test_retry_never_repeats_create_calls(action):
    sleeps = Sleeps()
    with StubServer([error(503, "ServiceUnavailableTemporary"), OK_ENCRYPT]) as stub:
        kms = client(stub, sleeps)
        call = kms.create_key if action == "create_key" else lambda: kms.create_alias("alias/a", "k")
        with pytest.raises(errors.ServiceUnavailableError):
            call()
    assert len(stub.requests) == 1
    assert sleeps == []


def test_retry_client_errors_are_not_retried():
    sleeps = Sleeps()
    with StubServer([error(400, "InvalidParameter"), OK_ENCRYPT]) as stub:
        kms = client(stub, sleeps)
        with pytest.raises(errors.InvalidParameterError):
            kms.encrypt("alias/x", "hello")
    assert len(stub.requests) == 1


def test_retry_network_errors_are_retried_then_reported():
    sleeps = Sleeps()
    with StubServer() as stub:
        endpoint = stub.endpoint
    # the server is closed now: every connection is refused
    policy = RetryPolicy(max_attempts=3, sleep=sleeps)
    kms = helpers.connect("emulator", endpoint=endpoint, retry=policy)
    with pytest.raises(errors.KmsNetworkError) as info:
        kms.describe_key("alias/x")
    assert info.value.code == "SDK.HttpError"
    assert len(kms.retries) == 2
    assert "network" in info.value.hint or "endpoint" in info.value.hint


def test_retry_delays_are_jittered_and_capped():
    policy = RetryPolicy(base_delay=0.1, max_delay=0.5, rng=random.Random(1))
    delays = [policy.delay(n) for n in range(10) for _ in range(20)]
    assert all(0 <= d <= 0.5 for d in delays)
    assert len(set(delays)) > 100  # jitter: not a fixed schedule
    assert max(policy.delay(0) for _ in range(200)) <= 0.1


def test_retry_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(max_attempts=0)


class UpperBound(random.Random):
    """A jitter source that always picks the top of the range it is given, and records the ranges."""

    def __init__(self) -> None:
        super().__init__(0)
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


def failing(*failures: errors.KmsError) -> tuple[list[int], Callable[[], bytes]]:
    calls: list[int] = []

    def call() -> bytes:
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return b"ok"

    return calls, call


def test_retry_waits_exactly_the_capped_exponential_backoff():
    sleeps, rng = Sleeps(), UpperBound()
    policy = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=1.5, sleep=sleeps, rng=rng)
    unavailable = errors.ServiceUnavailableError("ServiceUnavailableTemporary", "busy", http_status=503)
    history: list = []
    calls, call = failing(unavailable, unavailable, unavailable)
    assert policy.run("Decrypt", call, history) == b"ok"
    assert len(calls) == 4
    # full jitter: random(0, min(cap, base * 2**n)) for n = 0, 1, 2; the fake picks the top
    assert rng.ranges == [(0, 0.5), (0, 1.0), (0, 1.5)]
    assert sleeps == [0.5, 1.0, 1.5]
    assert [(a.attempt, a.waited) for a in history] == [(1, 0.5), (2, 1.0), (3, 1.5)]


@pytest.mark.parametrize(("status", "retried"), [(500, True), (502, True), (599, True), (499, False), (404, False),
                                                 (None, False)])  # fmt: skip
def test_retry_a_generic_kms_error_is_retried_on_5xx_only(status, retried):
    """Not only the typed classes: any KmsError whose HTTP status is 5xx is the server's failure."""
    generic = errors.KmsError("InternalFailure", "something broke", http_status=status)
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=3, sleep=sleeps, rng=UpperBound())
    calls, call = failing(generic)
    if retried:
        assert policy.run("Encrypt", call, []) == b"ok"
        assert len(calls) == 2 and len(sleeps) == 1
    else:
        with pytest.raises(errors.KmsError) as info:
            policy.run("Encrypt", call, [])
        assert info.value is generic and len(calls) == 1 and sleeps == []
