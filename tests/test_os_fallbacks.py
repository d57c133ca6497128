"""What the kit promises on macOS and Windows, checked here by forcing their code paths: no memfd,
no RAM file system, no file modes. The promises printed must stay true on each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import atomic, startup, tls

ROOT = Path(__file__).resolve().parents[1]
CERT, KEY = ROOT / "notebooks" / "certs" / "server.crt", (ROOT / "notebooks" / "certs" / "server.key").read_bytes()
BODY = b"".join(KEY.split(b"-----BEGIN PRIVATE KEY-----")[1].split(b"-----END")[0].split())


@pytest.fixture
def no_memfd(monkeypatch):
    monkeypatch.delattr(os, "memfd_create", raising=False)


def test_without_memfd_the_key_file_holds_only_an_encrypted_key_and_is_gone_after(no_memfd):
    seen = {}
    with tls._key_path(tls._pem_block(KEY)) as (path, password):
        data = Path(path).read_bytes()
        seen["path"], seen["mode"] = path, os.stat(path).st_mode & 0o777
    assert password and b"BEGIN ENCRYPTED PRIVATE KEY" in data
    assert BODY[:40] not in b"".join(data.split())  # no run of the plaintext key's Base64
    assert seen["mode"] == 0o600 and not Path(seen["path"]).exists()
    assert "encrypted under a one-time password" in tls.key_storage()


def test_without_memfd_https_still_serves_with_the_key(no_memfd):
    with tls.serve_https(CERT, KEY) as url:
        status, body = tls.fetch(url, ROOT / "notebooks" / "certs" / "ca.crt")
    assert status == 200 and b"Hello over TLS" in body


def test_with_memfd_the_promise_is_memory_only(monkeypatch):
    monkeypatch.setattr(os, "memfd_create", getattr(os, "memfd_create", lambda *a: -1), raising=False)
    assert tls.key_storage().startswith("in memory only")


def test_no_ram_file_system_says_what_to_do_instead(monkeypatch):
    monkeypatch.setattr(startup, "is_tmpfs", lambda _path: False)
    with pytest.raises(FileNotFoundError) as info:
        startup.tmpfs_dir()
    text = str(info.value)
    assert "macOS and Windows" in text and "without --tmpfs" in text and "--folder" in text


def test_protection_claims_match_the_os(tmp_path, monkeypatch):
    path = tmp_path / "key.pem"
    path.write_text("x")
    path.chmod(0o600)
    assert atomic.protection(path) == "mode 0600 (owner only)"
    path.chmod(0o644)
    assert atomic.protection(path) == "mode 0644 (others can read it)"
    monkeypatch.setattr(os, "name", "nt")
    assert "Windows: file modes do not apply" in atomic.protection(path)
