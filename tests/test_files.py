"""encrypt_file / decrypt_file: the seed's scripts with every file-safety promise tested."""

from __future__ import annotations

import os
import stat

import pytest

import helpers
from helpers.atomic import OutputExistsError, atomic_output, atomic_write
from tests.fixtures_kms import emulator, key_id, kms  # noqa: F401 (fixtures)
from tests.stub_server import StubServer

PEM = "-----BEGIN PRIVATE KEY-----\nTHROWAWAY TEST KEY\n-----END PRIVATE KEY-----\n"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def pem(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text(PEM)
    return path


def test_files_round_trip_writes_plaintext_0600(kms, key_id, pem, tmp_path):
    cipher = helpers.encrypt_file(pem, tmp_path / "key.pem.cipher", key_id, kms=kms)
    assert PEM.encode() not in cipher.read_bytes()
    out = helpers.decrypt_file(cipher, tmp_path / "out.pem", kms=kms)
    assert out.read_text() == PEM
    assert mode(out) == 0o600
    assert leftovers(tmp_path) == []


def test_files_plaintext_is_0600_even_with_a_permissive_umask(kms, key_id, pem, tmp_path):
    cipher = helpers.encrypt_file(pem, tmp_path / "c", key_id, kms=kms)
    old = os.umask(0)
    try:
        out = helpers.decrypt_file(cipher, tmp_path / "out.pem", kms=kms)
    finally:
        os.umask(old)
    assert mode(out) == 0o600


def test_files_context_must_match(kms, key_id, pem, tmp_path):
    cipher = helpers.encrypt_file(pem, tmp_path / "c", key_id, encryption_context={"host": "a"}, kms=kms)
    with pytest.raises(helpers.InvalidCiphertextError):
        helpers.decrypt_file(cipher, tmp_path / "out.pem", encryption_context={"host": "b"}, kms=kms)
    assert not (tmp_path / "out.pem").exists()
    assert leftovers(tmp_path) == []


def test_files_never_overwrite_unless_asked(kms, key_id, pem, tmp_path):
    cipher = helpers.encrypt_file(pem, tmp_path / "c", key_id, kms=kms)
    existing = tmp_path / "out.pem"
    existing.write_text("keep me")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        helpers.decrypt_file(cipher, existing, kms=kms)
    assert existing.read_text() == "keep me"
    helpers.decrypt_file(cipher, existing, overwrite=True, kms=kms)
    assert existing.read_text() == PEM and mode(existing) == 0o600


def test_files_existing_output_is_refused_before_any_kms_call(pem, tmp_path):
    (tmp_path / "c").write_text("already here")
    with StubServer() as stub:
        kms = helpers.connect("emulator", endpoint=stub.endpoint)
        with pytest.raises(OutputExistsError):
            helpers.encrypt_file(pem, tmp_path / "c", "alias/x", kms=kms)
    assert stub.requests == []


def test_files_kms_failure_leaves_no_partial_file(kms, pem, tmp_path):
    with pytest.raises(helpers.KeyNotFoundError):
        helpers.encrypt_file(pem, tmp_path / "c", "alias/kms-workshop-missing", kms=kms)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]


def test_files_failure_while_writing_leaves_nothing(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as out:
            out.write(b"half a secret")
            raise RuntimeError("disk full, say")
    assert list(tmp_path.iterdir()) == []


def test_files_atomic_write_refuses_text(tmp_path):
    with pytest.raises(TypeError, match="bytes"):
        atomic_write(tmp_path / "x", "text")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("problem", ["missing", "folder"])
def test_files_unreadable_input_says_what_to_do(problem, tmp_path):
    src = tmp_path / ("nope.pem" if problem == "missing" else "adir")
    if problem == "folder":
        src.mkdir()
    with StubServer() as stub:
        kms = helpers.connect("emulator", endpoint=stub.endpoint)
        with pytest.raises(OSError) as info:
            helpers.encrypt_file(src, tmp_path / "c", "alias/x", kms=kms)
    assert str(src) in str(info.value)
    assert stub.requests == [] and not (tmp_path / "c").exists()


def test_files_output_folder_must_exist(kms, key_id, pem, tmp_path):
    with pytest.raises(FileNotFoundError, match="create it first"):
        helpers.encrypt_file(pem, tmp_path / "no" / "c", key_id, kms=kms)


def test_files_wrong_client_type_is_a_type_error(pem, tmp_path):
    with pytest.raises(TypeError, match="helpers.connect"):
        helpers.encrypt_file(pem, tmp_path / "c", "alias/x", kms="not a client")  # type: ignore[arg-type]
