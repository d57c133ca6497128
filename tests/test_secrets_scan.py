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
import hashlib
import json
import logging
import subprocess
import sys
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
    images = [p for p in tracked if p.endswith(".png")]  # binary: no text document
    assert notebooks and cassettes and report.documents >= len(tracked) + len(notebooks) + len(cassettes) - len(images)


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


@pytest.mark.parametrize("after_prefix", [12, 16, 20])  # ids of 16 (legacy), 20 and 24 characters
def test_secrets_scan_catches_access_key_ids_of_every_length(tmp_path: Path, after_prefix: int) -> None:
    ak_id = "LT" + "AI" + ("q7Rk2Zp9Wm4Xc8Vn3Bt6Hy5J" * 2)[:after_prefix]
    ak_sk = "Zq8" + "Xw2Lm5Np7Rt9Vb3Hj6Kd4Fs1Gy0"
    path = tmp_path / "deploy.sh"
    path.write_text(f"export KEY_ID={ak_id}\n# and, two lines down, the pair's other half\nexport K2={ak_sk}\n")
    found = {(f.line, f.rule, f.preview) for f in secretscan.scan(tmp_path, [path]).findings}
    assert (1, "Alibaba Cloud AccessKey ID", f"LTAI… {len(ak_id)} chars") in found, found
    assert (3, "AccessKey secret next to an AccessKey ID", "Zq8X… 30 chars") in found, found
    assert ak_id not in str(found) and ak_sk not in str(found)  # a report never repeats a secret


def test_secrets_scan_access_key_id_rule_bounds() -> None:
    """LTAI plus 12 to 30 letters and digits is an id; shorter, or inside a longer word, is not."""
    body = "Ab3" * 11
    for n, is_id in ((11, False), (12, True), (30, True), (31, False)):
        text = f"id: LT{'AI'}{body[:n]}\n"
        rules = [f.rule for f in secretscan.alibaba_findings("x", text)]
        assert rules == (["Alibaba Cloud AccessKey ID"] if is_id else []), (n, rules)
    assert list(secretscan.alibaba_findings("x", f"xLT{'AI'}{body[:16]}")) == []


def test_secrets_scan_an_access_key_secret_within_three_lines_of_an_id_and_not_four() -> None:
    ak_id = "LT" + "AI" + "q7Rk2Zp9Wm4Xc8Vn"
    ak_sk = "Zq8" + "Xw2Lm5Np7Rt9Vb3Hj6Kd4Fs1Gy0"
    for gap, flagged in ((3, True), (4, False)):
        for text in (f"{ak_id}\n" + "-\n" * (gap - 1) + f"{ak_sk}\n", f"{ak_sk}\n" + "-\n" * (gap - 1) + f"{ak_id}\n"):
            found = [f.line for f in secretscan._adjacent_secret_findings("x", text)]
            assert found == ([text.splitlines().index(ak_sk) + 1] if flagged else []), (gap, text)
    # at the very top and bottom of a file the window is cut, not wrapped around
    assert [f.line for f in secretscan._adjacent_secret_findings("x", f"{ak_sk}\n{ak_id}\n")] == [1]
    digits, letters = "1" * 30, "Q" * 30  # shaped like a secret but all digits or all letters: not one
    assert list(secretscan._adjacent_secret_findings("x", f"{ak_id}\n{digits}\n{letters}\n")) == []


def test_secrets_scan_secret_rule_reports_the_value_not_the_assignment() -> None:
    ak_sk = "Zq8" + "Xw2Lm5Np7Rt9Vb3Hj6Kd4Fs1Gy0"
    [finding] = secretscan.alibaba_findings("x", f'\n\nmy_access_key_secret = "{ak_sk}"\n')
    assert (finding.line, finding.preview) == (3, "Zq8X… 30 chars")


def test_secrets_scan_private_keys_in_a_parsed_document(tmp_path: Path) -> None:
    """What tests/test_cassette_scan.py relies on: PEM text or Base64 of PEM/DER in any string."""
    pem, der = _key_pem(), _key_der()
    doc = {"a": [pem], "b": {"c": base64.b64encode(pem.encode()).decode(), "d": base64.b64encode(der).decode()}}
    rules = sorted(f.rule for f in secretscan.private_keys_in(doc, set(), "c.yaml"))
    assert rules == ["DER private key (not the kit's demo key)", "private key (not the kit's demo key)",
                     "private key (not the kit's demo key)"]  # fmt: skip
    assert secretscan.private_keys_in({"a": "plain text", "b": "QUJD" * 15}, set()) == []
    assert [f.line for f in secretscan.private_key_findings("x", "one\ntwo\n" + pem, set())] == [3]


def test_secrets_scan_base64_is_decoded_from_64_characters_and_strictly() -> None:
    assert secretscan._base64("QUJD" * 16) == b"ABC" * 16  # 64 characters
    assert secretscan._base64("QUJD" * 15 + "QUI") is None  # 63
    assert secretscan._base64("QUJD" * 16 + "!") is None
    assert secretscan._base64("QUJD" * 16 + "Q") is None  # bad padding: not silently dropped


def test_secrets_scan_der_keys_need_the_sequence_tag_and_more_than_64_bytes() -> None:
    der = _key_der()
    [finding] = secretscan._der_findings("c.yaml", der, set())
    assert (finding.line, finding.preview) == (0, f"{len(der)} bytes")
    assert list(secretscan._der_findings("c.yaml", b"\x31" + der[1:], set())) == []
    assert list(secretscan._der_findings("c.yaml", b"\x30" * 64, set())) == []


def test_secrets_scan_finds_the_smallest_private_keys_in_der() -> None:
    """Ed25519 and X25519 private keys are 48 bytes of PKCS#8 DER: Base64 of one in a cassette is a leak."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

    for key in (ed25519.Ed25519PrivateKey.generate(), x25519.X25519PrivateKey.generate()):
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        assert len(der) == 48
        [finding] = secretscan.private_keys_in({"blob": base64.b64encode(der).decode()}, set(), "c.yaml")
        assert finding.rule == "DER private key (not the kit's demo key)"
    assert list(secretscan._der_findings("c.yaml", der[:47], set())) == []


def test_secrets_scan_notebook_outputs_include_error_values_and_tracebacks(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": [{"outputs": [{"output_type": "error", "evalue": "EVALUE",
                                                        "traceback": ["TB1", "TB2"]}]}]}))  # fmt: skip
    text = secretscan.notebook_outputs(path)
    assert "EVALUE" in text and "TB1\nTB2" in text


def test_secrets_scan_only_cassettes_are_decoded_and_derived_text_is_scanned_as_a_copy(tmp_path: Path) -> None:
    pem64 = base64.b64encode(_key_pem().encode()).decode()
    for rel in ("notebooks/cassettes/a.yaml", "config/b.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(yaml.safe_dump({"body": pem64}))
    report = secretscan.scan(tmp_path, [tmp_path / "notebooks/cassettes/a.yaml", tmp_path / "config/b.yaml"])
    assert {f.where for f in report.findings} == {"notebooks/cassettes/a.yaml#decoded"}
    assert report.files == 2 and report.documents == 3


def test_secrets_scan_pem_bodies_from_64_characters_are_checked_and_lines_counted_from_1() -> None:
    def block(body: str) -> str:
        return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"

    assert [f.line for f in secretscan.private_key_findings("x", "\n" + block("A" * 64), set())] == [2]
    assert list(secretscan.private_key_findings("x", block("A" * 63), set())) == []  # placeholder text


def test_secrets_scan_defaults_to_this_checkout_and_runs_as_a_command(tmp_path: Path) -> None:
    assert secretscan.REPO == REPO
    (tmp_path / "k.pem").write_text(_key_pem())
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    run = subprocess.run([sys.executable, "-m", "tools.secretscan", str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 1 and "k.pem:1: private key" in run.stdout, run


def test_secrets_scan_binary_means_a_nul_in_the_first_8192_bytes(tmp_path: Path) -> None:
    pem = _key_pem()
    for offset, scanned in ((8191, False), (8192, True)):
        path = tmp_path / f"f{offset}.txt"
        path.write_bytes(b"x" * offset + b"\x00" + b"\n" + pem.encode())
        found = secretscan.scan(tmp_path, [path]).findings
        assert bool(found) is scanned, (offset, found)


def test_secrets_scan_derived_text_goes_through_detect_secrets_too(tmp_path: Path) -> None:
    aws = "AK" + "IA" + "IOSFODNN7EXAMPLQ"
    config = base64.b64encode(f"[default]\naws_access_key_id = {aws}\n".encode() * 3).decode()
    path = tmp_path / "notebooks/cassettes/c.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"body": config}))
    found = {(f.where, f.rule) for f in secretscan.scan(tmp_path, [path]).findings}
    assert ("notebooks/cassettes/c.yaml#decoded", "AWS Access Key") in found, found


def test_secrets_scan_notebook_rich_outputs_are_scanned(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps({"cells": [{"outputs": [{"data": {"text/plain": ["LIST", "ED"], "text/html": "PLAIN",
                                                                 "application/json": {"k": "JSONVAL"}}}]}]}))  # fmt: skip
    text = secretscan.notebook_outputs(path)
    assert "LISTED" in text and "PLAIN" in text and "JSONVAL" in text


def test_secrets_scan_a_secrets_name_is_not_a_secret_but_its_data_is(tmp_path: Path) -> None:
    """The keyword rule matches any name holding "secret": SecretName and SecretType values only name
    a secret, so they are not findings; SecretData and password values still are."""
    path = tmp_path / "calls.py"
    data, word = "hunter2" + "-but-longer", "correct-horse" + "-battery"
    path.write_text('kms.create_secret(SecretName="app-tls-key", SecretType="Generic")\n'
                    'secret_name = "kms-workshop/ada/tls"\n'
                    'put(SecretName="app-tls-key", SecretData="' + data + '")\n'
                    'db_pass' 'word = "' + word + '"\n'
                    '- **GetSecretValue**: `VersionStage` (default `ACSCurrent`) or `VersionId`\n')  # fmt: skip
    found = {(f.line, f.preview) for f in secretscan.scan(tmp_path, [path]).findings}
    assert found == {(3, "hunt… 18 chars"), (4, "corr… 21 chars")}


def test_secrets_scan_the_allowlist_pragma_exempts_pattern_rules_never_access_keys(tmp_path: Path) -> None:
    """A test's made-up SecretData may carry detect-secrets' marker; an AccessKey id may not."""
    path = tmp_path / "fixture.py"
    value = "made-up" + "-value"
    ak_id = "LTAI" + "5tR7yU9iO1pA3sD5fG7h"
    marker = "# pragma: " + "allowlist secret"
    path.write_text(f'put(SecretData="{value}")  {marker}\nput(SecretData="{value}")\nid = "{ak_id}"  {marker}\n')
    found = sorted((f.line, f.rule) for f in secretscan.scan(tmp_path, [path]).findings)
    assert found == [(2, "Secret Keyword"), (3, "Alibaba Cloud AccessKey ID")]


def test_secrets_scan_a_cassettes_digest_of_secret_data_is_not_a_secret(tmp_path: Path) -> None:
    """Cassettes keep `SecretData: sha256:<hex>` (replay matches on the digest); the value itself is flagged."""
    path = tmp_path / "cassettes" / "08_x.yaml"
    path.parent.mkdir()
    digest = "sha256:" + hashlib.sha256(b"x").hexdigest()
    value = "the-real-" + "secret-value"
    path.write_text(f"- request:\n    params:\n      SecretData: {digest}\n- request:\n    params:\n      SecretData: {value}\n")
    found = [(f.line, f.rule) for f in secretscan.scan(tmp_path, [path]).findings]
    assert found == [(6, "Secret Keyword")]


def test_secrets_scan_the_allowlist_pragma_counts_anywhere_on_its_line_first_and_last_too(tmp_path: Path) -> None:
    """detect-secrets honours the marker only after a comment sign it knows (#, //, --, <!--); text
    with no comment syntax (what a notebook prints, a plain-text fixture) may carry it anywhere."""
    path = tmp_path / "printed.txt"
    value = "made-up" + "-value"
    marker = "(pragma: " + "allowlist secret)"
    path.write_text(f'put(SecretData="{value}") {marker}\nput(SecretData="{value}")\nput(SecretData="{value}") {marker}\n')
    found = [(f.line, f.rule) for f in secretscan.scan(tmp_path, [path]).findings]
    assert found == [(2, "Secret Keyword")]


def test_secrets_scan_keyword_values_are_masked_on_every_line_first_and_last_too(tmp_path: Path) -> None:
    path = tmp_path / "calls.py"
    data = "hunter2" + "-but-longer"
    name = 'secret_name = "kms-workshop/ada/tls"\n'
    path.write_text(name + 'put(SecretData="' + data + '")\n' + name)
    found = [(f.line, f.preview) for f in secretscan.scan(tmp_path, [path]).findings]
    assert found == [(2, "hunt… 18 chars")]


def test_secrets_scan_a_detect_secrets_finding_shows_its_values_first_characters_and_length(tmp_path: Path) -> None:
    path = tmp_path / "config.ini"
    aws = "AK" + "IA" + "IOSFODNN7EXAMPLQ"
    path.write_text(f"[default]\naws_access_key_id = {aws}\n")
    found = [(f.line, f.rule, f.preview) for f in secretscan.scan(tmp_path, [path]).findings]
    assert found == [(2, "AWS Access Key", "AKIA… 20 chars")]
