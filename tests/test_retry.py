"""The retry policy, counted in real HTTP requests through the unmodified SDK."""

from __future__ import annotations

import random

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
