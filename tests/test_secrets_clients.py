"""Both official secrets-manager clients, unmodified, against an in-process emulator: they fetch
a secret, serve it from their cache, see a new version once their cache refreshes, and raise their
own exception for an unknown secret (404 Forbidden.ResourceNotFound)."""

from __future__ import annotations

import importlib

import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from helpers.secrets_client import close_cache_client
from helpers.emulator import Emulator, responses
from tests.conftest import emulator_call_with, emulator_client_for

REGION = "cn-hangzhou"
DEADLINE_S = 30.0  # a refresh that has not happened by then fails the test


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    from aliyunsdkcore.endpoint.default_endpoint_resolver import DefaultEndpointResolver

    # The classic client registers its endpoint in the core SDK's process-global table, where it
    # would outlive this emulator and send later tests' cn-hangzhou calls to a closed port.
    monkeypatch.setattr(DefaultEndpointResolver.predefined_endpoint_resolver, "endpoints_data",
                        dict(DefaultEndpointResolver.predefined_endpoint_resolver.endpoints_data))  # fmt: skip
    for name in ("cache_client_region_id", "credentials_type", "credentials_access_key_id",
                 "credentials_access_secret", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Emulator() as emu:
        yield emu


@pytest.fixture
def gets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SecretName of every GetSecretValue the emulator answers."""
    seen: list[str] = []
    real = responses.ACTIONS["GetSecretValue"]

    def counting(call: Any) -> dict[str, object]:
        seen.append(call.params.get("SecretName", ""))
        return real(call)

    monkeypatch.setitem(responses.ACTIONS, "GetSecretValue", counting)
    return seen


def cache_client(package: str, emu: Emulator, ttl_ms: dict[str, int]) -> Any:
    """The official cache client of `package` on the emulator; both packages have the same layout.
    The v2 (Tea) client sends and signs `endpoint`'s whole URL as its Host."""
    region_info = importlib.import_module(f"{package}.model.region_info").RegionInfo
    builders = importlib.import_module(f"{package}.service.default_secret_manager_client_builder")
    cache_builders = importlib.import_module(f"{package}.secret_manager_cache_client_builder")
    inner = (builders.DefaultSecretManagerClientBuilder.standard().with_access_key(emu.access_key_id, emu.access_key_secret)
             .add_region_info(region_info(REGION, endpoint=emu.endpoint)).build())  # fmt: skip
    builder = cache_builders.SecretManagerCacheClientBuilder.new_cache_client_builder(inner)
    for name, ttl in ttl_ms.items():
        builder = builder.with_secret_ttl(name, ttl)
    return builder.build()


CLIENTS: dict[str, Callable[[Emulator, dict[str, int]], Any]] = {
    "classic": partial(cache_client, "alibaba_cloud_secretsmanager_client"),
    "tea": partial(cache_client, "alibabacloud_secretsmanager_client_v2"),
}


@pytest.fixture(params=sorted(CLIENTS))
def make(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Callable[..., Any]]:
    made: list[Any] = []

    def build(**ttl_ms: int) -> Any:
        made.append(CLIENTS[request.param](emu, ttl_ms))
        return made[-1]

    yield build
    for client in made:
        close_cache_client(client)  # the kit's close: the clients' own deadlocks mid-refresh


def test_secrets_client_fetches_then_serves_from_its_cache(emu: Emulator, gets: list[str], make: Any) -> None:
    call = emulator_call_with(emulator_client_for(emu))
    call("CreateSecret", SecretName="db-password", VersionId="v1", SecretData="s3cret")  # pragma: allowlist secret
    client = make()
    assert client.get_secret_value("db-password") == "s3cret"
    info = client.get_secret_info("db-password")
    assert (info.version_id, info.secret_data_type, info.secret_type) == ("v1", "text", "Generic")
    assert client.get_secret_value("db-password") == "s3cret"
    assert gets == ["db-password"]  # one request: the other reads came from the cache


def test_secrets_client_sees_a_new_version_after_its_cache_refreshes(emu: Emulator, gets: list[str], make: Any) -> None:
    call = emulator_call_with(emulator_client_for(emu))
    call("CreateSecret", SecretName="api-token", VersionId="v1", SecretData="first")  # pragma: allowlist secret
    client = make(**{"api-token": 50})  # a 50 ms TTL (their API); the default is one hour
    assert client.get_secret_value("api-token") == "first"
    call("PutSecretValue", SecretName="api-token", VersionId="v2", SecretData="second")  # pragma: allowlist secret
    deadline = time.monotonic() + DEADLINE_S
    while client.get_secret_value("api-token") != "second":
        assert time.monotonic() < deadline, "the client never saw the new version"
        time.sleep(0.05)
    assert client.get_secret_info("api-token").version_id == "v2"
    assert len(gets) >= 2


def test_secrets_client_unknown_secret_raises_its_own_error(emu: Emulator, gets: list[str], make: Any) -> None:
    client = make()
    with pytest.raises(Exception) as info:
        client.get_secret_value("no-such-secret")
    error = info.value
    code = getattr(error, "code", None) or error.get_error_code()  # Tea: .code; classic core: get_error_code()
    status = getattr(error, "statusCode", None) or getattr(error, "get_http_status", lambda: None)()
    assert (code, status) == ("Forbidden.ResourceNotFound", 404)
    assert type(error).__module__.startswith(("aliyunsdkcore", "alibabacloud_tea_openapi", "Tea"))
    assert gets == ["no-such-secret"]  # 404 is not retried by either client
