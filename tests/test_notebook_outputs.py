"""Saved notebook outputs never show credentials, any private key (not even the demo key, in
full) or full plaintext. tools.secretscan covers secrets repository-wide; this is stricter for
what a learner sees. The plaintexts are known exactly: every Decrypt/GenerateDataKey answer in a
notebook's cassette.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tools.secretscan import notebook_outputs

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
SECRET_PATTERNS = {
    "Alibaba AccessKey id": re.compile(r"LTAI[A-Za-z0-9]{12,}"),
    "emulator secret": re.compile(r"testsecret"),
    "PEM private key body": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n[A-Za-z0-9+/=]{40,}"),
    "STS token": re.compile(r"SecurityToken=[^<&\s]"),
    "signature": re.compile(r"Signature=[A-Za-z0-9+/%]{10,}"),
}


def decrypted_values(path: Path) -> set[str]:
    cassette = NOTEBOOKS / "cassettes" / f"{path.stem}.yaml"
    if not cassette.exists():
        return set()
    found = set()
    for item in yaml.safe_load(cassette.read_text())["interactions"]:
        body = item["response"].get("body") or {}
        if isinstance(body, dict) and isinstance(body.get("Plaintext"), str):
            found.add(body["Plaintext"])
    return found


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_outputs_have_no_credentials_or_key_material(path):
    text = notebook_outputs(path)
    for name, pattern in SECRET_PATTERNS.items():
        assert not pattern.search(text), f"{path.name}: saved outputs contain a {name}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_outputs_never_show_a_full_plaintext(path):
    text = notebook_outputs(path)
    for plaintext in decrypted_values(path):
        if len(plaintext) >= 6:
            assert plaintext not in text, f"{path.name}: a decrypted plaintext is printed in full"


def test_outputs_scan_would_catch_a_leak(tmp_path):
    leak = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stdout",
         "text": "-----BEGIN PRIVATE KEY-----\n" + "A" * 64 + "\nLTAI" + "x" * 16}]}]}
    path = tmp_path / "leak.ipynb"
    path.write_text(json.dumps(leak))
    text = notebook_outputs(path)
    assert SECRET_PATTERNS["PEM private key body"].search(text)
    assert SECRET_PATTERNS["Alibaba AccessKey id"].search(text)
