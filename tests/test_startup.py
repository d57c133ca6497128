"""helpers.startup: decrypt a server's key at start-up, into memory or a 0600 tmpfs file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import files, startup
from helpers.envelope import ContextMismatchError
from tests.fixtures_kms import emulator, key_id  # noqa: F401 (pytest fixtures)
from tests.test_envelope import kms  # noqa: F401 (a client that is closed at teardown)

ROOT = Path(__file__).resolve().parents[1]
PEM = b"-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"
CTX = {"app": "web"}


@pytest.fixture(params=["direct", "envelope"])
def cipher(request, kms, key_id, tmp_path) -> Path:
    (tmp_path / "key.pem").write_bytes(PEM)
    files.encrypt_file(tmp_path / "key.pem", tmp_path / "key.pem.cipher", key_id,
                       encryption_context=CTX, kms=kms, method=request.param)  # fmt: skip
    (tmp_path / "key.pem").unlink()
    return tmp_path / "key.pem.cipher"


def test_startup_decrypt_key_into_memory_and_wipe(cipher, kms):
    key = startup.decrypt_key(cipher, encryption_context=CTX, kms=kms)
    assert isinstance(key, bytearray) and key == PEM
    startup.wipe(key)
    assert key == bytearray(len(PEM))
    assert [p.name for p in cipher.parent.iterdir()] == ["key.pem.cipher"]  # nothing written


def test_startup_key_file_is_private_on_tmpfs_and_removed(cipher, kms):
    with startup.key_file(cipher, encryption_context=CTX, kms=kms) as path:
        assert path.read_bytes() == PEM
        assert path.stat().st_mode & 0o777 == 0o600
        if os.path.isdir("/dev/shm"):
            assert str(path).startswith("/dev/shm/") and startup.is_tmpfs(path)
    assert not path.exists()


def test_startup_key_file_removed_when_the_server_fails(cipher, kms):
    with pytest.raises(RuntimeError), startup.key_file(cipher, encryption_context=CTX, kms=kms) as path:
        raise RuntimeError("server did not start")
    assert not path.exists()


def test_startup_wrong_context_gives_no_key_and_no_file(kms, key_id, tmp_path):
    (tmp_path / "big").write_bytes(os.urandom(10_000))
    files.encrypt_file(tmp_path / "big", tmp_path / "big.cipher", key_id, encryption_context=CTX, kms=kms)
    before = set(os.listdir(startup.tmpfs_dir()))
    with pytest.raises(ContextMismatchError):
        startup.write_key_file(tmp_path / "big.cipher", encryption_context={"app": "other"}, kms=kms)
    assert set(os.listdir(startup.tmpfs_dir())) == before


def test_startup_is_tmpfs_tells_disk_from_ram(tmp_path):
    assert startup.is_tmpfs("/proc") is False
    if os.path.isdir("/dev/shm"):
        assert startup.is_tmpfs("/dev/shm")


def test_startup_cli_verb(emulator, cipher):
    env = {**os.environ, "KMS_WORKSHOP_ENDPOINT": emulator.endpoint}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "helpers", "decrypt-key", *args], env=env, cwd=ROOT,
                              capture_output=True, timeout=60, check=False)  # fmt: skip

    to_stdout = run(str(cipher), "-c", "app=web")
    assert to_stdout.returncode == 0 and to_stdout.stdout == PEM
    to_file = run(str(cipher), "-c", "app=web", "--tmpfs")
    path = Path(to_file.stdout.decode().strip())
    try:
        assert to_file.returncode == 0 and path.read_bytes() == PEM and path.stat().st_mode & 0o777 == 0o600
    finally:
        startup.remove_key_file(path)
    wrong = run(str(cipher), "-c", "app=other")
    assert wrong.returncode == 1 and wrong.stdout == b"" and b"context" in wrong.stderr.lower()
    assert run(str(cipher.parent / "missing")).returncode == 4
