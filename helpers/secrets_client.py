"""Alibaba's own secrets-manager client (`alibabacloud-secretsmanager-client-v2`, Tea) for the
connection a notebook already has, and a close that cannot hang.

An application does not call GetSecretValue on every request: the official client fetches a secret
once, keeps it in memory and refreshes it on a schedule (one hour unless told otherwise).
`open_cache_client(kms)` builds that client, unmodified, for `kms`'s endpoint and credentials:
the in-process emulator's or replay stub's loopback endpoint and its AccessKey pair, or on the
cloud the credentials provider `connect()` resolved (environment, CLI profile or ECS RAM role).

`close_cache_client(client)` shuts it down. The client's own `close()` stops its APScheduler while
holding the job-store lock and waits for running jobs; a refresh job that is running then blocks
on adding its next run and `close()` never returns. So job runs are paused first, and `close()`
is called only once no job is running.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .kms import Kms

#: what the v2 client reads by itself, besides what it is given: it would add regions (cloud
#: endpoints) or replace the credentials, so on a local backend requests could leave the machine
_CLIENT_ENV = ("cache_client_region_id", "credentials_type")
_CLIENT_CONFIG_FILE = "secretsmanager.properties"
#: The client logs every fetch at INFO to its own stderr handler (with timestamps) unless given a
#: logger: this one is quiet unless the learner configures logging (`logging.basicConfig()`).
_LOGGER = logging.getLogger("helpers.secrets_client")
_LOGGER.addHandler(logging.NullHandler())
_LOGGER.setLevel(logging.WARNING)


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _is_loopback(endpoint: str) -> bool:
    host = endpoint.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in _LOOPBACK or host.startswith("127.")


def _bypass_proxies_for_loopback() -> None:
    """The v2 client sends even loopback requests through HTTP(S)_PROXY (its HTTP layer reads them
    from the environment and ignores NO_PROXY), which breaks the local emulator behind any proxy.
    So for a loopback endpoint the proxy variables are removed from this process's environment:
    on the emulator and replay backends nothing in the kernel needs them (the kit's own client
    never proxies loopback either, see client.py)."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ.pop(var, None)


def open_cache_client(kms: Kms, ttl_ms: Mapping[str, int] | None = None) -> Any:
    """A `SecretManagerCacheClient` (the v2 client's) for `kms`'s backend, region and credentials.

    Args:
        kms: the notebook's client (`helpers.connect()`), whose endpoint and credentials are used.
        ttl_ms: per secret name, how long a fetched value is served from the cache before the
            client refreshes it (the client's `with_secret_ttl`); default one hour.

    Returns:
        The client: `get_secret_value(name)`, `get_secret_info(name)`, `refresh_now(name)`.
        Close it with `close_cache_client()`.

    Raises:
        ConfigError: on the emulator or replay, the v2 client's own environment variables or
            configuration file are present; they would send its requests elsewhere.
    """
    from alibabacloud_secretsmanager_client_v2.model.region_info import RegionInfo
    from alibabacloud_secretsmanager_client_v2.secret_manager_cache_client_builder import SecretManagerCacheClientBuilder
    from alibabacloud_secretsmanager_client_v2.service.default_secret_manager_client_builder import (
        DefaultSecretManagerClientBuilder,
    )

    conn = kms.connection
    provider = _provider_of(kms)
    inner = DefaultSecretManagerClientBuilder.standard()
    if conn.backend == "cloud":
        inner = inner.with_credentials_provider(provider)
    else:
        _refuse_client_overrides(conn.backend)
        pair = provider.get_credentials()
        inner = inner.with_access_key(pair.get_access_key_id(), pair.get_access_key_secret())
    if _is_loopback(conn.endpoint):
        _bypass_proxies_for_loopback()
    # endpoint="http://127.0.0.1:PORT" is sent (and signed) whole as the Host; the replay stub and
    # the recorder match and forward it as such (helpers/replay/recorder.py)
    inner = inner.add_region_info(RegionInfo(conn.region, endpoint=conn.endpoint))
    builder = SecretManagerCacheClientBuilder.new_cache_client_builder(inner.build()).with_logger(_LOGGER)
    for name, ttl in (ttl_ms or {}).items():
        builder = builder.with_secret_ttl(name, ttl)
    return builder.build()


def close_cache_client(client: Any, timeout: float = 30.0) -> None:
    """Stop the client's refresh scheduler and thread pool, then close it, without the deadlock of
    its own `close()` (see the module docstring). Closing twice is harmless.

    Raises:
        TimeoutError: a refresh job still runs after `timeout` seconds; the client is left open.
    """
    sched = getattr(client, "sched", None)
    if sched is not None and sched.running:
        sched.pause()
        executor = sched._lookup_executor("default")
        deadline = time.monotonic() + timeout
        while any(executor._instances.values()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"a refresh job of the secrets client still runs after {timeout:g} s")
            time.sleep(0.01)
    client.close()
    for sdk in getattr(client.secret_client, "client_dict", {}).values():
        session = getattr(sdk, "session", None) or getattr(sdk, "_session", None)
        if session is not None:
            session.close()


def _provider_of(kms: Kms) -> Any:
    """The credentials provider `kms` signs with: the single source of this connection's pair."""
    signer = kms._transport.signer.inner  # transport.RecordingSigner around credentials.ProviderSigner
    return signer._provider


def _refuse_client_overrides(backend: str) -> None:
    found = [name for name in _CLIENT_ENV if os.environ.get(name)]
    if Path(_CLIENT_CONFIG_FILE).is_file():
        found.append(f"./{_CLIENT_CONFIG_FILE}")
    if found:
        raise ConfigError(
            f"The secrets-manager client would read {', '.join(found)} and could send requests away from "
            f"the {backend} backend: unset or remove it, then restart the kernel."
        )
