"""helpers.secrets_client: the official v2 secrets-manager client built for a kit connection (its
endpoint and credentials, on each backend), serving from its cache, and a close that returns even
while a refresh job is running."""

from __future__ import annotations

import os

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import helpers
from helpers import workshop
from helpers.emulator import Emulator, responses
from helpers.errors import ConfigError
from helpers.secrets_client import close_cache_client, open_cache_client
from tests.test_client import clean_env  # noqa: F401 (autouse fixture)
from tests.test_secrets_clients import gets  # noqa: F401 (fixture: GetSecretValue calls seen)


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name in ("cache_client_region_id", "credentials_type", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                 "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Emulator() as emu:
        yield emu


def kit_secret(kms: helpers.Kms, data: str = "first") -> str:
    key = helpers.ensure_key(kms, "secrets")
    return workshop.new_secret(kms, "tls-key", data, encryption_key_id=key.key_id).secret_name


def serves_a_kit_secret(kms: helpers.Kms) -> str:
    """A new kit secret, fetched once through a cache client of `kms`; its name."""
    name = kit_secret(kms)
    client = open_cache_client(kms)
    try:
        assert client.get_secret_value(name) == "first"
    finally:
        close_cache_client(client)
    return name


def test_cache_client_fetches_once_then_serves_from_its_cache(emu, gets):
    with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as kms:
        name = kit_secret(kms)
        client = open_cache_client(kms)
        try:
            assert client.get_secret_value(name) == "first"
            kms.put_secret_value(name, "second", version_id="v2")
            assert client.get_secret_value(name) == "first"  # the cache, not KMS
            assert gets == [name]
            assert client.refresh_now(name) is True
            assert (client.get_secret_value(name), client.get_secret_info(name).version_id) == ("second", "v2")
            assert gets == [name, name]
        finally:
            close_cache_client(client)
    assert not client.sched.running
    close_cache_client(client)  # twice is harmless


def test_cache_client_on_the_cloud_backend_signs_with_the_resolved_credentials(emu, gets, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", emu.access_key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emu.access_key_secret)
    with helpers.connect("cloud", endpoint=emu.endpoint, learner="ada") as kms:
        name = serves_a_kit_secret(kms)
    assert gets == [name]


def test_close_returns_while_a_refresh_job_is_running(emu, monkeypatch):
    """The client's own close() never returns if a refresh job runs at that moment."""
    with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as kms:
        name = kit_secret(kms)
        client = open_cache_client(kms, ttl_ms={name: 50})
        assert client.get_secret_value(name) == "first"
        started, release = threading.Event(), threading.Event()
        real = responses.ACTIONS["GetSecretValue"]

        def slow(call: Any) -> dict[str, object]:
            started.set()
            release.wait(10)
            return real(call)

        monkeypatch.setitem(responses.ACTIONS, "GetSecretValue", slow)
        assert started.wait(10), "no refresh job ran"
        threading.Timer(0.3, release.set).start()
        begin = time.monotonic()
        close_cache_client(client, timeout=10)
    assert time.monotonic() - begin < 5 and not client.sched.running


def test_local_backends_refuse_the_clients_own_overrides(emu, monkeypatch, tmp_path):
    with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as kms:
        monkeypatch.setenv("cache_client_region_id", '[{"regionId":"cn-hangzhou"}]')
        with pytest.raises(ConfigError, match="cache_client_region_id"):
            open_cache_client(kms)
        monkeypatch.delenv("cache_client_region_id")
        monkeypatch.chdir(tmp_path)
        (tmp_path / "secretsmanager.properties").write_text("credentials_type=ak\n")
        with pytest.raises(ConfigError, match="secretsmanager.properties"):
            open_cache_client(kms)


def test_cache_client_reaches_a_loopback_emulator_behind_a_proxy(emu, gets, monkeypatch):
    """A proxy in the environment (a laptop on a corporate network, the learner-install test's
    unreachable one) must not swallow requests to the emulator on 127.0.0.1."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "intranet.example")
    with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as kms:
        name = serves_a_kit_secret(kms)
    assert gets == [name]
    assert "HTTP_PROXY" not in os.environ and os.environ["NO_PROXY"] == "intranet.example"
