"""Secret scanning for the kit: the git checkout, notebook outputs and cassettes.

    python -m tools.secretscan            # scan this checkout; exit 1 and list findings if any

Built on Yelp's maintained ``detect-secrets`` (its pattern detectors: AWS, GitHub, Slack, JWT,
private keys, "password = ..." keywords and more; the entropy detectors are left out, since every
cassette is full of legitimately random ciphertext) plus the Alibaba Cloud rules it lacks:

- AccessKey ids (``LTAI`` + 12-30 characters) and an AccessKey secret (30 letters and digits)
  assigned to a secret-looking name or sitting within three lines of an AccessKey id;
- STS credentials: temporary ids ``STS.…`` and security tokens (``CAIS…``);
- PEM and DER private keys, also Base64-encoded inside cassettes, except the kit's throwaway
  demo key (notebooks/certs/server.key), recognised by its public key rather than by file name.

A line marked ``# pragma: allowlist secret`` (detect-secrets' convention) is exempt from
detect-secrets' pattern rules, for test data such as a secret's made-up value; never from the
Alibaba AccessKey or private-key rules.

Allowed on purpose: the emulator's built-in test credentials (public: the docs' signature example, docs/emulator.md) and a
few sentinel strings that tests plant to prove a value is *never printed* (``ALLOWED``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detect_secrets.core.scan import scan_file
from detect_secrets.settings import transient_settings

REPO = Path(__file__).resolve().parents[1]
DEMO_KEY = Path("notebooks/certs/server.key")
#: detect-secrets detectors used (all but the entropy ones and "public IP address")
BUILTIN_PLUGINS = (
    "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
    "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector", "GitLabTokenDetector",
    "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector", "KeywordDetector",
    "MailchimpDetector", "NpmDetector", "OpenAIDetector", "PypiTokenDetector", "SendGridDetector",
    "SlackDetector", "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector",
    "TelegramBotTokenDetector", "TwilioKeyDetector",
)  # fmt: skip
#: values that look secret but are not, and why
ALLOWED = {
    "testsecret": "the emulator's built-in test account (the pair of the documented signature example)",
    "testsecret2": "the emulator's second built-in test account",
    "testsecret-sts": "the emulator's built-in STS test account",
    "test-sts-token": "the emulator's built-in STS test token",
    "s3cr3t-value-never-printed": "a sentinel tests/test_client.py plants to prove it is never printed",
    "the launch code is 0000": "a sentinel plaintext tests/test_replay.py checks is scrubbed",
}
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\s*\n(.*?)-----END \1PRIVATE KEY-----", re.S)
_AK_ID = re.compile(r"\bLTAI[0-9A-Za-z]{12,30}\b")
_AK_SECRET_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{30}(?![0-9A-Za-z])")


#: the Alibaba Cloud rules detect-secrets lacks: (rule, pattern whose group 1 is the secret)
ALIBABA_RULES = (
    ("Alibaba Cloud AccessKey ID", re.compile(r"\b(LTAI[0-9A-Za-z]{12,30})\b")),
    ("Alibaba Cloud AccessKey secret", re.compile(
        r"(?i)(?:access[_-]?key[_-]?secret|secret[_-]?access[_-]?key)"
        r"""["']?\s*[:=]\s*["']?([0-9A-Za-z]{30})(?![0-9A-Za-z])""")),
    ("Alibaba Cloud STS AccessKey ID", re.compile(r"\b(STS\.[0-9A-Za-z]{16,})")),
    ("Alibaba Cloud STS security token", re.compile(r"\b(CAIS[0-9A-Za-z+/=]{60,})")),
)  # fmt: skip


def alibaba_findings(where: str, text: str) -> Iterator[Finding]:
    for number, line in enumerate(text.splitlines(), 1):
        for rule, pattern in ALIBABA_RULES:
            for m in pattern.finditer(line):
                if m.group(1) not in ALLOWED:
                    yield Finding(where, number, rule, _preview(m.group(1)))


@dataclass(frozen=True)
class Finding:
    where: str  # path, or path#outputs / path#decoded for text taken out of a notebook or cassette
    line: int
    rule: str
    preview: str  # the first characters only: a report must not repeat the secret

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.rule} ({self.preview})"


@dataclass
class Report:
    files: int = 0
    documents: int = 0
    findings: list[Finding] = field(default_factory=list)


def _preview(value: str) -> str:
    return f"{value[:4]}… {len(value)} chars"


def _public_der(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def demo_public_keys(root: Path = REPO) -> set[bytes]:
    from cryptography.hazmat.primitives import serialization

    path = root / DEMO_KEY
    if not path.is_file():
        return set()
    return {_public_der(serialization.load_pem_private_key(m.group(0).encode(), None)) for m in _PEM.finditer(path.read_text())}


def private_key_findings(where: str, text: str, demo: set[bytes]) -> Iterator[Finding]:
    """PEM blocks with a body that is a private key other than the demo key (or cannot be parsed)."""
    from cryptography.hazmat.primitives import serialization

    for m in _PEM.finditer(text):
        body = "".join(m.group(2).split())
        if len(body) < 64:  # a header with placeholder text, as tests use: not key material
            continue
        try:
            public = _public_der(serialization.load_pem_private_key(m.group(0).encode("latin-1", "replace"), None))
        except (ValueError, TypeError, UnicodeError):
            public = None  # encrypted, OpenSSH or damaged: a private key all the same
        if public is None or public not in demo:
            yield Finding(where, text.count("\n", 0, m.start()) + 1, "private key (not the kit's demo key)", _preview(body))


_SMALLEST_DER_KEY = 48


def _der_findings(where: str, data: bytes, demo: set[bytes]) -> Iterator[Finding]:
    from cryptography.hazmat.primitives import serialization

    # 48 bytes: the smallest PKCS#8 private key (Ed25519, X25519); shorter DER cannot hold one.
    if data[:1] == b"\x30" and len(data) >= _SMALLEST_DER_KEY:
        try:
            public = _public_der(serialization.load_der_private_key(data, None))
        except (ValueError, TypeError):
            return  # DER that is not a private key (a certificate, a ciphertext)
        if public not in demo:
            yield Finding(where, 0, "DER private key (not the kit's demo key)", f"{len(data)} bytes")


def _adjacent_secret_findings(where: str, text: str) -> Iterator[Finding]:
    """A secret-shaped token within three lines of an AccessKey id: the pair leaked together."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not _AK_ID.search(line):
            continue
        for j in range(max(0, i - 3), min(len(lines), i + 4)):
            for token in _AK_SECRET_SHAPE.findall(lines[j]):
                if not _AK_ID.fullmatch(token) and not token.isdigit() and not token.isalpha() and token not in ALLOWED:
                    yield Finding(where, j + 1, "AccessKey secret next to an AccessKey ID", _preview(token))


def private_keys_in(value: Any, demo: set[bytes], where: str = "") -> list[Finding]:
    """Private keys other than the demo key in any string of a parsed document (a cassette's
    request or response): as PEM text, or Base64 of PEM or DER (binary=True plaintexts)."""
    found: list[Finding] = []
    for text in strings(value):
        found += private_key_findings(where, text, demo)
        decoded = _base64(text)
        if decoded is not None:
            found += private_key_findings(where, decoded.decode("latin-1"), demo)
            found += _der_findings(where, decoded, demo)
    return found


def strings(value: Any) -> Iterator[str]:
    """Every string in nested dicts and lists, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def _base64(text: str) -> bytes | None:
    compact = "".join(text.split())
    if len(compact) >= 64 and re.fullmatch(r"[A-Za-z0-9+/]+=*", compact):
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def notebook_outputs(path: Path) -> str:
    """Everything a saved notebook shows: stream text, rich data, error values and tracebacks."""
    parts: list[str] = []
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for value in out.get("data", {}).values():
                parts.append("".join(value) if isinstance(value, list) else value if isinstance(value, str) else json.dumps(value))
            parts.append(out.get("evalue", "") + "\n".join(out.get("traceback", [])))
    return "\n".join(parts)


def cassette_strings(path: Path) -> tuple[str, list[bytes]]:
    """Every string in a cassette, one per line, and the Base64 decodings among them."""
    import yaml

    values = list(strings(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
    decoded = [d for d in (_base64(v) for v in values) if d is not None]
    return "\n".join(values), decoded


def _documents(root: Path, paths: Iterable[Path]) -> Iterator[tuple[str, str, list[bytes]]]:
    """(where, text, binary blobs) for each file, plus what notebooks show and cassettes hold."""
    for path in paths:
        rel = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        if b"\x00" in raw[:8192]:
            continue  # binary (images): no text to leak through
        text = raw.decode("utf-8", errors="replace")
        yield rel, text, []
        if path.suffix == ".ipynb":
            yield f"{rel}#outputs", notebook_outputs(path), []
        if path.suffix in (".yaml", ".yml") and "cassettes" in path.parts:
            values, blobs = cassette_strings(path)
            texts = [b.decode("utf-8", errors="replace") for b in blobs]
            yield f"{rel}#decoded", values + "\n" + "\n".join(texts), blobs


KEYWORD = "Secret Keyword"
#: how cassettes store a sensitive parameter (SecretData, Plaintext): its SHA-256, never the value
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
#: detect-secrets' inline marker for a value that only looks secret (a test's made-up SecretData);
#: honoured for its pattern rules, never for the Alibaba AccessKey or private-key rules
ALLOW_PRAGMA = "pragma: allowlist secret"
#: KMS fields and actions (and this scanner's own functions) whose names contain "secret" or "key"
#: but do not hold one; the keyword rule would flag ``SecretName="app-key"`` (or prose after
#: "GetSecretValue:") as if it were the secret
_IDENTIFIER_FIELDS = re.compile(
    r"(?i)(?<![A-Za-z])(secret_?names?|secret_?types?|secret_?data_?types?|secret_?list|secret_?arn"
    r"|secret_?version_?ids?|secret_?namespace|secrets_?manager|private_keys?_(?:in|findings)|adjacent_secret_findings"
    r"|(?:create|get|put|describe|list|update|delete|restore|rotate)_?secrets?"
    r"(?:_?value|_?version_?ids|_?version_?stage|_?rotation_?policy)?)(?![A-Za-z])"
)


def _keyword_values(filename: str, line: str) -> list[str]:
    """The values the keyword rule finds on ``line`` once identifier fields are masked: a value
    assigned to ``SecretData`` or ``password`` is still found, one assigned to ``SecretName`` is not."""
    from detect_secrets.plugins.keyword import KeywordDetector

    masked = _IDENTIFIER_FIELDS.sub("field", line)
    return sorted({s.secret_value or "" for s in KeywordDetector().analyze_line(filename=filename, line=masked, line_number=0)})


def git_files(root: Path = REPO) -> list[Path]:
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True).stdout
    return [root / p for p in out.decode().split("\0") if p and (root / p).is_file()]


def scan(root: Path = REPO, paths: Iterable[Path] | None = None) -> Report:
    """Scan ``paths`` (default: every file git tracks under ``root``)."""
    files = list(paths) if paths is not None else git_files(root)
    demo = demo_public_keys(root)
    report = Report(files=len(files))
    plugins = [{"name": n} for n in BUILTIN_PLUGINS]
    with tempfile.TemporaryDirectory(prefix="secretscan-") as tmp, transient_settings({"plugins_used": plugins}):
        for n, (where, text, blobs) in enumerate(_documents(root, files)):
            report.documents += 1
            # detect-secrets scans files: derived text (outputs, decoded strings) goes through a copy.
            target = root / where if "#" not in where else Path(tmp) / f"doc{n}.txt"
            if "#" in where:
                target.write_text(text, encoding="utf-8", errors="replace")
            lines = text.splitlines()
            for secret in scan_file(str(target)):
                if 0 < secret.line_number <= len(lines) and ALLOW_PRAGMA in lines[secret.line_number - 1]:
                    continue  # marked on its line as a made-up value (detect-secrets' own convention)
                values = [secret.secret_value or ""]
                if secret.type == KEYWORD and 0 < secret.line_number <= len(lines):
                    values = _keyword_values(str(target), lines[secret.line_number - 1])
                for value in values:
                    if value not in ALLOWED and not _DIGEST.fullmatch(value):
                        report.findings.append(Finding(where, secret.line_number, secret.type, _preview(value)))
            report.findings.extend(alibaba_findings(where, text))
            report.findings.extend(private_key_findings(where, text, demo))
            report.findings.extend(_adjacent_secret_findings(where, text))
            for blob in blobs:
                report.findings.extend(_der_findings(where, blob, demo))
    return report


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]).resolve() if argv else REPO
    report = scan(root)
    for finding in report.findings:
        print(finding)
    print(f"scanned {report.files} files ({report.documents} documents incl. notebook outputs and decoded "
          f"cassettes): {len(report.findings)} secrets found")  # fmt: skip
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
