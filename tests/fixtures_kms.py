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
def kms(emulator: Emulator) -> helpers.Kms:
    return helpers.connect("emulator", endpoint=emulator.endpoint)


@pytest.fixture
def key_id(kms: helpers.Kms) -> str:
    return kms.create_key(description="kms-workshop: test").key_id
