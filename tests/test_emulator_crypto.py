"""Blob format and AES-256-GCM sealing."""

from __future__ import annotations

import base64
import uuid

import pytest

from helpers.emulator import crypto


@pytest.fixture
def material() -> bytes:
    return crypto.new_key_material()


def test_crypto_blob_layout(material: bytes) -> None:
    version = str(uuid.uuid4())
    blob = crypto.seal(material, version, b"hello", {"a": "b"})
    assert blob[:36].decode() == version and len(blob) == 36 + 12 + 5 + 16
    assert crypto.blob_version_id(blob) == version
    assert crypto.decode_blob(crypto.encode_blob(blob)) == blob


def test_crypto_fresh_iv_and_material_each_time(material: bytes) -> None:
    version = str(uuid.uuid4())
    assert crypto.seal(material, version, b"x", None) != crypto.seal(material, version, b"x", None)
    assert crypto.new_key_material() != crypto.new_key_material() and len(material) == 32


def test_crypto_context_is_canonical(material: bytes) -> None:
    version = str(uuid.uuid4())
    blob = crypto.seal(material, version, b"data", {"b": "2", "a": "1"})
    assert crypto.open_blob(material, blob, {"a": "1", "b": "2"}) == b"data"
    assert crypto.canonical_context({}) == crypto.canonical_context(None) == b""
    assert crypto.canonical_context({"a=b&c": "d"}) != crypto.canonical_context({"a": "b&c=d"})


@pytest.mark.parametrize("context", [None, {"a": "2"}, {"a": "1", "extra": ""}])
def test_crypto_wrong_context_fails(material: bytes, context: dict[str, str] | None) -> None:
    blob = crypto.seal(material, str(uuid.uuid4()), b"data", {"a": "1"})
    with pytest.raises(crypto.BlobError):
        crypto.open_blob(material, blob, context)


def test_crypto_every_flipped_bit_fails(material: bytes) -> None:
    blob = crypto.seal(material, str(uuid.uuid4()), b"data", None)
    for index in range(36, len(blob)):
        for bit in (0, 7):
            tampered = bytearray(blob)
            tampered[index] ^= 1 << bit
            with pytest.raises(crypto.BlobError):
                crypto.open_blob(material, bytes(tampered), None)


def test_crypto_wrong_key_and_truncation_fail(material: bytes) -> None:
    blob = crypto.seal(material, str(uuid.uuid4()), b"data", None)
    with pytest.raises(crypto.BlobError):
        crypto.open_blob(crypto.new_key_material(), blob, None)
    for cut in (0, 10, 36, 63, len(blob) - 1):
        with pytest.raises(crypto.BlobError):
            crypto.open_blob(material, blob[:cut], None)


@pytest.mark.parametrize("text", ["", "not base64!", "QUJ", "é", base64.b64encode(b"x").decode() + "\n=="])
def test_crypto_decode_blob_is_strict(text: str) -> None:
    if text == "":
        assert crypto.decode_blob(text) == b""
        return
    with pytest.raises(crypto.BlobError):
        crypto.decode_blob(text)


def test_crypto_version_prefix_must_be_a_uuid() -> None:
    with pytest.raises(crypto.BlobError):
        crypto.blob_version_id(b"x" * 80)
    with pytest.raises(crypto.BlobError):
        crypto.blob_version_id(b"\xff" * 80)
