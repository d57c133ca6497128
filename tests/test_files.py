"""helpers.files: the seed's encrypt/decrypt of files, and the automatic direct/envelope choice."""

from __future__ import annotations

import os

import pytest

from helpers import envelope, files
from helpers.atomic import OutputExistsError
from helpers.errors import PlaintextTooLargeError
from helpers.encoding import MAX_PLAINTEXT_BYTES
from tests.fixtures_kms import emulator, key_id  # noqa: F401 (pytest fixtures)
from tests.test_envelope import kms  # noqa: F401 (a client that is closed at teardown)

CTX = {"purpose": "kms-workshop-test"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"-----BEGIN PRIVATE KEY-----\nabc\n", "direct"),
        (b"x" * MAX_PLAINTEXT_BYTES, "direct"),  # exactly 6 KB still fits Encrypt
        ("é".encode() * (MAX_PLAINTEXT_BYTES // 2), "direct"),  # 6144 bytes of 2-byte characters
        (b"x" * (MAX_PLAINTEXT_BYTES + 1), "envelope"),
        (b"\xff\xfe binary", "envelope"),
        (b"", "envelope"),  # KMS Encrypt refuses an empty Plaintext
    ],
)
def test_files_auto_choice_round_trips(kms, key_id, tmp_path, content, expected):
    src, enc, out = tmp_path / "in", tmp_path / "in.cipher", tmp_path / "out"
    src.write_bytes(content)
    assert files.choose_method(src) == expected
    files.encrypt_file(src, enc, key_id, encryption_context=CTX, kms=kms)
    assert envelope.is_envelope(enc.read_bytes()) == (expected == "envelope")
    files.decrypt_file(enc, out, encryption_context=CTX, kms=kms)
    assert out.read_bytes() == content
    assert out.stat().st_mode & 0o777 == 0o600


def test_files_direct_output_is_the_seed_ciphertext_blob(kms, key_id, tmp_path):
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    files.encrypt_file(tmp_path / "key.pem", tmp_path / "key.pem.cipher", key_id, kms=kms)
    blob = (tmp_path / "key.pem.cipher").read_text()
    assert kms.decrypt(blob).plaintext == "-----BEGIN PRIVATE KEY-----\n"


def test_files_method_can_be_forced(kms, key_id, tmp_path):
    (tmp_path / "small").write_text("hello")
    files.encrypt_file(tmp_path / "small", tmp_path / "small.cipher", key_id, kms=kms, method="envelope")
    assert envelope.is_envelope((tmp_path / "small.cipher").read_bytes())
    (tmp_path / "big").write_bytes(b"x" * (MAX_PLAINTEXT_BYTES + 1))
    with pytest.raises(PlaintextTooLargeError, match="method='envelope'"):
        files.encrypt_file(tmp_path / "big", tmp_path / "big.cipher", key_id, kms=kms, method="direct")
    with pytest.raises(ValueError, match="method must be one of"):
        files.encrypt_file(tmp_path / "small", tmp_path / "x", key_id, kms=kms, method="fast")  # type: ignore[arg-type]
    assert not (tmp_path / "big.cipher").exists() and not (tmp_path / "x").exists()


def test_files_no_overwrite_unless_asked_for_either_method(kms, key_id, tmp_path):
    for name, content in (("small", b"pem"), ("big", os.urandom(10_000))):
        src, enc = tmp_path / name, tmp_path / f"{name}.cipher"
        src.write_bytes(content)
        enc.write_bytes(b"keep me")
        with pytest.raises(OutputExistsError):
            files.encrypt_file(src, enc, key_id, kms=kms)
        assert enc.read_bytes() == b"keep me"
        files.encrypt_file(src, enc, key_id, kms=kms, overwrite=True)
        files.decrypt_file(enc, tmp_path / f"{name}.out", kms=kms)
        assert (tmp_path / f"{name}.out").read_bytes() == content


def test_files_decrypt_rejects_a_large_file_that_is_neither_format(kms, tmp_path):
    (tmp_path / "junk").write_bytes(b"A" * 100_000)
    with pytest.raises(ValueError, match="neither an envelope nor a CiphertextBlob"):
        files.decrypt_file(tmp_path / "junk", tmp_path / "out", kms=kms)
    assert not (tmp_path / "out").exists()
