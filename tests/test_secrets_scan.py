"""Secrets hygiene.

1. ``tools.secretscan`` (detect-secrets plus Alibaba Cloud rules) finds nothing in any file git
   tracks, in what the notebooks show, or in what the cassettes hold once Base64 is decoded.
2. The scanner catches each kind of secret it promises to (planted in a temporary tree; the
   planted values are assembled at run time so this file itself stays clean).
3. The helpers never log a secret or a plaintext, with DEBUG logging on everywhere, including the
   SDK's ``aliyunsdkcore`` loggers, its vendored urllib3, and the SDK's own ``DEBUG=sdk`` switch.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import helpers
from tools import secretscan
from helpers.emulator import Emulator
from helpers.retry import RetryPolicy

REPO = Path(__file__).resolve().parents[1]


def test_secrets_scan_repository_notebook_outputs_and_cassettes_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    report = secretscan.scan()
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    with capsys.disabled():
        print(f"\n[secrets] {report.files} files, {report.documents} documents: {len(report.findings)} secrets found")
    assert [str(f) for f in report.findings] == []
    assert report.files == len(tracked)
    notebooks = [p for p in tracked if p.endswith(".ipynb")]
    cassettes = [p for p in tracked if p.startswith("notebooks/cassettes/") and p.endswith(".yaml")]
    assert notebooks and cassettes and report.documents >= len(tracked) + len(notebooks) + len(cassettes) - 2  # minus images


# --- the scanner catches what it promises -------------------------------------------------------
def _key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()  # fmt: skip


def _key_der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _plant(tmp_path: Path) -> dict[str, Path]:
    ak_id = "LT" + "AI" + "5tQ8pZr2VnXk7Wm3Yc9B"
    ak_sk = "Zq8" + "Xw2Lm5Np7Rt9Vb3Hj6Kd4Fs1Gy0"  # 30 letters and digits
    sts_id = "ST" + "S." + "NUgYrLnoC37mZZCNnAbez2Hdx"
    sts_token = "CA" + "IS" + "8AF1q6Ft5B2yfSjIr5bSEsnAf" * 4
    aws = "AK" + "IA" + "IOSFODNN7EXAMPLQ"
    demo_src = REPO / secretscan.DEMO_KEY
    demo_pem = secretscan._PEM.search(demo_src.read_text()).group(0)  # type: ignore[union-attr]
    files = {
        "notebooks/certs/server.key": demo_src.read_text(),  # the demo key itself: allowed
        "docs/demo-key-copy.md": f"The workshop's demo key:\n{demo_pem}\n",  # allowed: same public key
        "app/settings.py": f'ACCESS_KEY_ID = "{ak_id}"\n# rotated\nACCESS_KEY_SECRET = "{ak_sk}"\n',
        "app/.env": f"ALIBABA_CLOUD_ACCESS_KEY_SECRET={ak_sk}\n",
        "app/sts.txt": f"{sts_id}\n{sts_token}\n",
        "app/aws.cfg": f"aws_access_key_id = {aws}\n",
        "app/other.key": _key_pem(),
        "app/test_only.py": 'password = "testsecret"\n',  # the emulator's public test secret: allowed
    }
    paths = {}
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths[rel] = path
    notebook = {"cells": [{"cell_type": "code", "source": "print(key)", "metadata": {}, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": _key_pem().splitlines(keepends=True)}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # fmt: skip
    cassette = {"version": 1, "interactions": [{"request": {"action": "Decrypt", "params": {}}, "response": {"body": {
        "Plaintext": base64.b64encode(_key_pem().encode()).decode(), "Other": base64.b64encode(_key_der()).decode()}}}]}  # fmt: skip
    for rel, text in {"notebooks/01_x.ipynb": json.dumps(notebook, indent=1),
                      "notebooks/cassettes/01_x.yaml": yaml.safe_dump(cassette)}.items():  # fmt: skip
        paths[rel] = tmp_path / rel
        paths[rel].parent.mkdir(parents=True, exist_ok=True)
        paths[rel].write_text(text)
    return paths


def test_secrets_scan_catches_each_kind_of_secret(tmp_path: Path) -> None:
    paths = _plant(tmp_path)
    found = {(f.where, f.rule) for f in secretscan.scan(tmp_path, paths.values()).findings}
    expected = {
        ("app/settings.py", "Alibaba Cloud AccessKey ID"),
        ("app/settings.py", "Alibaba Cloud AccessKey secret"),
        ("app/settings.py", "AccessKey secret next to an AccessKey ID"),
        ("app/.env", "Alibaba Cloud AccessKey secret"),
        ("app/sts.txt", "Alibaba Cloud STS AccessKey ID"),
        ("app/sts.txt", "Alibaba Cloud STS security token"),
        ("app/aws.cfg", "AWS Access Key"),  # a detect-secrets detector: the library is wired in
        ("app/other.key", "private key (not the kit's demo key)"),
        ("notebooks/01_x.ipynb#outputs", "private key (not the kit's demo key)"),
        ("notebooks/cassettes/01_x.yaml#decoded", "private key (not the kit's demo key)"),
        ("notebooks/cassettes/01_x.yaml#decoded", "DER private key (not the kit's demo key)"),
    }
    assert expected <= found, expected - found
    flagged = {where.split("#")[0] for where, _ in found}
    assert not flagged & {"notebooks/certs/server.key", "docs/demo-key-copy.md", "app/test_only.py"}, found


def test_secrets_scan_command_fails_on_a_finding(tmp_path: Path) -> None:
    _plant(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    assert secretscan.main([str(tmp_path)]) == 1  # (the clean repository is scanned by the first test)


# --- the helpers never log secrets --------------------------------------------------------------
class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

        self.seen: set[int] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self.seen:  # attached to every logger: count each record once
            return
        self.seen.add(id(record))
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()} {record.exc_text or ''}")


SDK_LOGGERS = ("aliyunsdkcore", "aliyunsdkcore.client", "aliyunsdkcore.http.http_response",
               "aliyunsdkcore.vendored.requests.packages.urllib3", "urllib3", "helpers")  # fmt: skip


@pytest.mark.parametrize("sdk_debug", [False, True], ids=["DEBUG logging", "DEBUG logging and DEBUG=sdk"])
def test_secrets_helpers_never_log_secrets_or_plaintext(sdk_debug: bool, monkeypatch: pytest.MonkeyPatch,
                                                        capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    if sdk_debug:
        monkeypatch.setenv("DEBUG", "sdk")  # the SDK's own switch: dumps every request line
    handler = Everything()
    # Earlier tests may have run logging.config with disable_existing_loggers (Jupyter does):
    # a learner's session has every logger enabled, so this test does too.
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)  # setLevel, not a plain assignment: it clears the loggers' level caches
    # On root and directly on every logger, so a logger that does not propagate is heard too.
    for name in SDK_LOGGERS:
        logging.getLogger(name)
    loggers = [root, *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for logger in loggers:
        logger.addHandler(handler)
    marker_text = "PLAINTEXT-" + "q7Zx9Lm2"
    try:
        with Emulator() as emu:
            kms = helpers.connect("emulator", endpoint=emu.endpoint, retry=RetryPolicy(sleep=lambda s: None))
            key = kms.create_key().key_id
            blob = kms.encrypt(key, marker_text, {"ctx": "c"}).ciphertext_blob
            assert kms.decrypt(blob, {"ctx": "c"}).plaintext == marker_text
            data_key = kms.generate_data_key(key)
            emu.configure_faults(unavailable_next=1)  # one retry, which the helpers log
            kms.decrypt(data_key.ciphertext_blob, binary=True)
            with pytest.raises(helpers.InvalidCiphertextError):
                kms.decrypt(blob, {"ctx": "other"})
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(previous_level)
    out, err = capfd.readouterr()
    logged = "\n".join(handler.lines)
    assert any("retrying" in line for line in handler.lines), "DEBUG capture is not working"
    secrets = {
        "plaintext": marker_text, "plaintext (URL-encoded)": marker_text.replace("-", "%2D"),
        "data key": base64.b64encode(data_key.plaintext).decode(), "AccessKey secret": "testsecret",
        "ciphertext": blob[:40],
    }
    for name, value in secrets.items():
        for where, text in (("log records", logged), ("stdout", out), ("stderr", err)):
            assert value not in text, f"{name} appears in {where}"
