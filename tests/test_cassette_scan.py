"""Every committed cassette is scrubbed: no credential, signature, nonce, timestamp, token or account
id, no raw sensitive value in a request, and no private key other than the kit's throwaway demo key.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tools import secretscan
from helpers.replay.cassette import ACCOUNT_PLACEHOLDER, DIGESTED_PARAMS, DROPPED_PARAMS, is_digest

REPO = Path(__file__).resolve().parents[1]
CASSETTES = sorted((REPO / "notebooks" / "cassettes").glob("*.yaml"))
DEMO_KEY = REPO / "notebooks" / "certs" / "server.key"
EMULATOR_ACCOUNT = "1234567890123456"

_PEM_KEY = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.S)
_ARN_ACCOUNT = re.compile(r"acs:[a-z]+:[a-z0-9-]*:([^:]*):")
_ACCESS_KEY = re.compile(r"\bLTAI[0-9A-Za-z]{12,30}\b|\bSTS\.[0-9A-Za-z]{20,}")


def problems(path: Path, demo: set[bytes] | None = None) -> list[str]:
    """Everything wrong with one cassette, as readable lines (empty: the cassette is clean)."""
    demo = secretscan.demo_public_keys() if demo is None else demo
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
        for s in secretscan.strings([params, body]):
            for account in _ARN_ACCOUNT.findall(s):
                if account and account != ACCOUNT_PLACEHOLDER:
                    out.append(f"#{n}: ARN with account id {account}")
        for creator in _creators(body):
            if creator != ACCOUNT_PLACEHOLDER:
                out.append(f"#{n}: Creator {creator!r} is not the placeholder")
        if secretscan.private_keys_in([params, body], demo):
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
