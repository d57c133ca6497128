"""The playground panel driven by Button.click() (cleanup: tests/test_cleanup.py)."""

from __future__ import annotations

import datetime

import pytest

import helpers
from helpers.widgets import Playground
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)


@pytest.fixture
def kms(emulator):
    return helpers.connect("emulator", endpoint=emulator.endpoint)


def test_playground_encrypt_then_decrypt_by_clicking(kms):
    key = helpers.ensure_key(kms, "playground")
    panel = Playground(kms, [helpers.workshop.alias(kms, "playground")])
    panel.plaintext.value = "a secret sentence"
    panel.context.value = '{"app": "demo"}'
    panel.encrypt_button.click()
    assert panel.ciphertext.value and "Encrypted 17 chars" in panel.status.value
    assert key.key_id in panel.status.value
    assert "Action=Encrypt" in panel.wire.value and "Plaintext=<17 chars>" in panel.wire.value
    assert "a secret sentence" not in panel.wire.value
    panel.decrypt_button.click()
    assert panel.decrypted == "a secret sentence"
    assert "Plaintext" in panel.wire.value and "a secret sentence" not in panel.wire.value


def test_playground_uploaded_file_goes_as_bytes(kms):
    helpers.ensure_key(kms, "playground")
    panel = Playground(kms, [helpers.workshop.alias(kms, "playground")])
    panel.upload.value = ({"name": "a.bin", "type": "", "size": 3, "content": memoryview(b"\x00\x01\x02"),
                           "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    panel.encrypt_button.click()
    assert "3 bytes of file bytes" in panel.status.value


def test_playground_errors_show_the_hint_not_a_traceback(kms):
    helpers.ensure_key(kms, "playground")
    panel = Playground(kms, [helpers.workshop.alias(kms, "playground")])
    panel.plaintext.value = "x"
    panel.context.value = '{"app": "a"}'
    panel.encrypt_button.click()
    panel.context.value = '{"app": "b"}'
    panel.decrypt_button.click()
    assert "InvalidCiphertextError" in panel.status.value and "context" in panel.status.value
    panel.context.value = "[1, 2]"
    panel.encrypt_button.click()
    assert "JSON object" in panel.status.value
