"""Fixtures for helper tests: a private in-memory emulator per module, and a client on it.

Import the fixtures into a test module (`from tests.fixtures_kms import emulator, kms`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import helpers
from helpers.emulator import Emulator


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
