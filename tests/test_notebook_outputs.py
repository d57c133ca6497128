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


# A saved error is what a learner reads first when something fails: short, free of the machine's
# paths and of the SDK's coloured frames, and ending in what to do (`KitError._render_traceback_`,
# `helpers/notebook_errors.py`).
MAX_ERROR_LINES = 8
ERROR_NOISE = {
    "an installed-package frame": re.compile(r"site-packages|dist-packages|\.venv"),
    "an absolute path": re.compile(r"(?:^|[\s\"'(=])/(?:[\w.-]+/)+[\w.-]*|\b[A-Za-z]:\\[\w.\\-]+"),
    "ANSI colour codes": re.compile(r"\x1b\["),
}


def saved_errors(path: Path) -> list[tuple[int, str]]:
    """(cell number, what the learner sees) for every saved `error` output of a notebook."""
    found = []
    for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append((number, "\n".join(out.get("traceback", []))))
    return found


def error_problems(shown: str) -> list[str]:
    """What is wrong with one saved error's text; empty when it reads well."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)  # colour codes would hide a path from the pattern
    problems = [name for name, pattern in ERROR_NOISE.items() if pattern.search(shown if "ANSI" in name else plain)]
    lines = plain.splitlines()
    if len(lines) > MAX_ERROR_LINES:
        problems.append(f"{len(lines)} lines (at most {MAX_ERROR_LINES})")
    if not any(line.startswith("Hint: ") for line in lines):
        problems.append("no 'Hint:' line")
    return problems


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_saved_errors_are_short_with_a_hint(path):
    bad = {number: error_problems(shown) for number, shown in saved_errors(path)}
    bad = {number: problems for number, problems in bad.items() if problems}
    assert not bad, f"{path.name}: saved errors that read badly, by cell: {bad}"


def test_error_check_catches_a_raw_sdk_traceback():
    raw = ("\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
           "\x1b[0;31mServerException\x1b[0m  Traceback (most recent call last)\n"
           "File \x1b[0;32m/work/kit/.venv/lib/python3.11/site-packages/aliyunsdkcore/client.py:512\x1b[0m\n"
           + "    frame\n" * 8 + "ServerException: HTTP Status: 400 Error:InvalidParameter")
    problems = error_problems(raw)
    assert set(ERROR_NOISE) <= set(problems)
    assert any("lines" in p for p in problems) and "no 'Hint:' line" in problems
    short = ("InvalidCiphertextError: HTTP 400 InvalidParameter: not valid. (RequestId r-1)\n"
             "Hint: pass exactly the same context.\n(helpers.debug() shows the full traceback)")
    assert error_problems(short) == []
    assert error_problems(short.replace("not valid.", "see /home/ada/kit/work/key.pem.cipher")) == ["an absolute path"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_saved_outputs_name_the_backend_they_were_recorded_on(path):
    cassette = NOTEBOOKS / "cassettes" / f"{path.stem}.yaml"
    upstream = yaml.safe_load(cassette.read_text())["upstream"]
    where = {"emulator": "the emulator", "cloud": "Alibaba Cloud"}[upstream]
    text = notebook_outputs(path)
    assert f"backend=replay (recorded on {where})" in text, f"{path.name}: the Kms repr does not say where it was recorded"
    assert not re.search(r"backend=replay(?! \(recorded on )", text), f"{path.name}: an output names replay without saying where it was recorded"
