"""Every committed cassette is scrubbed: no credential, signature, nonce, timestamp, token or account
id, no raw sensitive value in a request, and no private key other than the kit's throwaway demo key.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.replay.cassette import ACCOUNT_PLACEHOLDER, DIGESTED_PARAMS, DROPPED_PARAMS, is_digest

REPO = Path(__file__).resolve().parents[1]
CASSETTES = sorted((REPO / "notebooks" / "cassettes").glob("*.yaml"))
DEMO_KEY = REPO / "notebooks" / "certs" / "server.key"
EMULATOR_ACCOUNT = "1234567890123456"

_PEM_KEY = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
_ARN_ACCOUNT = re.compile(r"acs:[a-z]+:[a-z0-9-]*:([^:]*):")
_ACCESS_KEY = re.compile(r"\bLTAI[0-9A-Za-z]{12,30}\b|\bSTS\.[0-9A-Za-z]{20,}")


def _public_der(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _demo_public_keys() -> set[bytes]:
    if not DEMO_KEY.is_file():
        return set()
    pems = _PEM_KEY.finditer(DEMO_KEY.read_text())
    return {_public_der(serialization.load_pem_private_key(m.group(0).encode(), None)) for m in pems}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _decoded(text: str) -> list[bytes]:
    """The text itself, and its Base64 decoding when it is Base64 (binary=True plaintexts)."""
    out = [text.encode("utf-8", errors="replace")]
    compact = "".join(text.split())
    if len(compact) >= 64 and re.fullmatch(r"[A-Za-z0-9+/]+=*", compact):
        try:
            out.append(base64.b64decode(compact, validate=True))
        except (binascii.Error, ValueError):
            pass
    return out


def private_keys_in(value: Any) -> list[bytes | None]:
    """Public-key DER of each private key found (None when one cannot be parsed), PEM or DER."""
    found: list[bytes | None] = []
    for text in _strings(value):
        for data in _decoded(text):
            for m in _PEM_KEY.finditer(data.decode("latin-1")):
                try:
                    found.append(_public_der(serialization.load_pem_private_key(m.group(0).encode("latin-1"), None)))
                except (ValueError, TypeError):
                    found.append(None)  # encrypted or malformed: a key all the same
            if data[:1] == b"\x30" and len(data) > 64:
                try:
                    found.append(_public_der(serialization.load_der_private_key(data, None)))
                except (ValueError, TypeError):
                    pass  # DER that is not a private key (a certificate, a ciphertext)
    return found


def problems(path: Path, demo: set[bytes] | None = None) -> list[str]:
    """Everything wrong with one cassette, as readable lines (empty: the cassette is clean)."""
    demo = _demo_public_keys() if demo is None else demo
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    out = []
    if data.get("version") != 1:
        out.append(f"unknown cassette version {data.get('version')!r}")
    for needle in (EMULATOR_ACCOUNT, "testsecret"):
        if needle in text:
            out.append(f"contains {needle!r}")
    for m in _ACCESS_KEY.finditer(text):
        out.append(f"contains what looks like an AccessKey or STS token: {m.group(0)[:8]}…")
    for n, item in enumerate(data.get("interactions") or [], 1):
        params = (item.get("request") or {}).get("params") or {}
        body = (item.get("response") or {}).get("body")
        for name, value in params.items():
            if name in DROPPED_PARAMS:
                out.append(f"#{n}: request parameter {name} is stored")
            if name in DIGESTED_PARAMS and not is_digest(value):
                out.append(f"#{n}: request parameter {name} is stored in the clear")
        for s in _strings([params, body]):
            for account in _ARN_ACCOUNT.findall(s):
                if account and account != ACCOUNT_PLACEHOLDER:
                    out.append(f"#{n}: ARN with account id {account}")
        for creator in _creators(body):
            if creator != ACCOUNT_PLACEHOLDER:
                out.append(f"#{n}: Creator {creator!r} is not the placeholder")
        for key in private_keys_in([params, body]):
            if key is None or key not in demo:
                out.append(f"#{n}: holds a private key that is not the kit's demo key")
    return out


def _creators(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Creator" and isinstance(v, str) and v:
                yield v
            else:
                yield from _creators(v)
    elif isinstance(value, list):
        for v in value:
            yield from _creators(v)


def test_cassette_scan_finds_committed_cassettes():
    assert CASSETTES, "no cassettes under notebooks/cassettes: run `make record`"


@pytest.mark.parametrize("path", CASSETTES, ids=[p.name for p in CASSETTES])
def test_cassette_scan_committed_cassette_is_clean(path: Path):
    assert problems(path) == []


# The scanner itself: it must catch what it is there to catch ----------------------------------


def _write(tmp_path: Path, params: dict[str, str], body: Any) -> Path:
    doc = {"version": 1, "notebook": "x", "interactions": [
        {"request": {"action": "Decrypt", "params": params}, "response": {"status": 200, "body": body}}]}
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _fresh_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_cassette_scan_flags_a_private_key_in_text_or_base64(tmp_path: Path):
    pem = _fresh_key_pem()
    assert any("private key" in p for p in problems(_write(tmp_path, {}, {"Plaintext": pem}), set()))
    b64 = base64.b64encode(pem.encode()).decode()
    assert any("private key" in p for p in problems(_write(tmp_path, {}, {"Plaintext": b64}), set()))


@pytest.mark.skipif(not DEMO_KEY.is_file(), reason="no demo key in this checkout")
def test_cassette_scan_allows_the_demo_key(tmp_path: Path):
    pem = _PEM_KEY.search(DEMO_KEY.read_text()).group(0)
    b64 = base64.b64encode(pem.encode()).decode()
    assert problems(_write(tmp_path, {}, {"Plaintext": pem, "Other": b64})) == []


# Built at run time so that no AccessKey-shaped literal is ever committed.
FAKE_ACCESS_KEY_ID = "LTAI" + "5tAbCdEfGhIjKlMnOpQr"


def test_cassette_scan_flags_secrets_accounts_and_clear_values(tmp_path: Path):
    found = problems(_write(
        tmp_path,
        {"AccessKeyId": FAKE_ACCESS_KEY_ID, "Signature": "x", "Plaintext": "hello",
         "KeyId": f"acs:kms:cn-hangzhou:{EMULATOR_ACCOUNT}:key/k"},
        {"KeyMetadata": {"Creator": "2000000000000001"}},
    ), set())
    text = "\n".join(found)
    for expected in ("AccessKey", "AccessKeyId is stored", "Signature is stored", "Plaintext is stored in the clear",
                     f"ARN with account id {EMULATOR_ACCOUNT}", "Creator '2000000000000001'", repr(EMULATOR_ACCOUNT)):
        assert expected in text, expected
