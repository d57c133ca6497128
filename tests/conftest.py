"""Shared pytest fixtures."""

from __future__ import annotations

# ==== emulator fixtures (owner: the emulator; names prefixed emulator_) ==========================
import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpers.emulator import Emulator

EmulatorCall = Callable[..., dict[str, Any]]


@pytest.fixture
def emulator_server() -> Iterator[Emulator]:
    """A fresh in-memory emulator on a free loopback port, per test (state never leaks)."""
    with Emulator() as emu:
        yield emu


def emulator_client_for(emu: Emulator, key_id: str | None = None, secret: str | None = None, **kwargs: Any) -> Any:
    """An unmodified classic-SDK AcsClient pointed at ``emu`` (proxies ignored, endpoint mapped)."""
    from aliyunsdkcore.client import AcsClient

    if "credential" not in kwargs:  # a positional pair would win over credential= in AcsClient
        key_id, secret = key_id or emu.access_key_id, secret or emu.access_key_secret
    client = AcsClient(key_id, secret, emu.region, proxy={"http": None, "https": None}, **kwargs)
    client.add_endpoint(emu.region, "Kms", emu.endpoint)
    return client


def emulator_call_with(client: Any) -> EmulatorCall:
    """``call("Encrypt", KeyId=..., Plaintext=...)`` through the SDK's own request class."""

    def call(action: str, **params: Any) -> dict[str, Any]:
        module = importlib.import_module(f"aliyunsdkkms.request.v20160120.{action}Request")
        request = getattr(module, f"{action}Request")()
        for name, value in params.items():
            getattr(request, f"set_{name}")(value)
        return json.loads(client.do_action_with_exception(request))

    return call


@pytest.fixture
def emulator_client(emulator_server: Emulator) -> Any:
    return emulator_client_for(emulator_server)


@pytest.fixture
def emulator_call(emulator_client: Any) -> EmulatorCall:
    return emulator_call_with(emulator_client)


# ==== end of emulator fixtures ===================================================================
