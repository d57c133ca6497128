"""Fixtures for helper tests: a private in-memory emulator per module, and a client on it; and,
for the emulator's domain rules without HTTP, a backend on an in-memory store with a clock the
test moves (`clock[0] = T0 + timedelta(...)`).

Import the fixtures into a test module (`from tests.fixtures_kms import emulator, kms`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

import helpers
from helpers.emulator import Emulator
from helpers.emulator.backend import KmsBackend
from helpers.emulator.models import Scope
from helpers.emulator.store import Store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SCOPE = Scope("1234567890123456", "cn-hangzhou")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(state_path=None) as emu:
        yield emu


@pytest.fixture
def kms(emulator: Emulator) -> Iterator[helpers.Kms]:
    # Closed at teardown: a client kept alive by a traceback would otherwise have its pooled
    # sockets collected in no set order, and an unclosed socket is a ResourceWarning (an error).
    with helpers.connect("emulator", endpoint=emulator.endpoint) as client:
        yield client


@pytest.fixture
def key_id(kms: helpers.Kms) -> str:
    return kms.create_key(description="kms-workshop: test").key_id


@pytest.fixture
def clock() -> list[datetime]:
    return [T0]


@pytest.fixture
def backend(clock: list[datetime]) -> Iterator[KmsBackend]:
    store = Store(None)
    yield KmsBackend(store, lambda: clock[0])
    store.close()  # Python 3.13 warns about SQLite connections left open
