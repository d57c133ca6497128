"""Generated documents and the code they describe: a digest of the sources each was generated
from, written into the document, so a test can tell when the code moved on without it.

    python -m tools.generated            # says which generated documents are out of date
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: document -> the files whose behaviour it reports (globs, relative to the repository)
SOURCES: dict[str, tuple[str, ...]] = {
    "docs/reliability.md": (
        "helpers/emulator/*.py", "helpers/envelope.py", "helpers/streams.py", "helpers/retry.py",
        "helpers/transport.py", "tools/secretscan.py", "benchmarks/reliability_report.py",
        "benchmarks/soak.py", "tests/test_hostile_*.py", "helpers/httpwire.py", "helpers/httpguard.py",
        "benchmarks/wire_attacks.py", "docs/mutants.json",
        # the attack classes the report runs (benchmarks/reliability_report.py, ATTACK_CLASSES)
        "tests/test_wire_limits.py", "tests/test_gateway_guards.py", "tests/test_access_keys.py",
        "tests/test_state_files.py", "tests/test_cli_hostile.py", "tests/test_cli_kill.py", "tests/test_atomic.py",
        "tests/test_plaintext_limit.py", "tests/test_mutant_kills.py",
    ),
}
_MARK = re.compile(r"<!-- generated-from: sha256:([0-9a-f]{64}) -->")


def source_files(document: str) -> list[Path]:
    files = {p for pattern in SOURCES[document] for p in REPO.glob(pattern) if p.is_file()}
    return sorted(files)


def source_digest(document: str) -> str:
    """SHA-256 over the sources' paths and bytes (line endings as committed)."""
    digest = hashlib.sha256()
    for path in source_files(document):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def mark(document: str) -> str:
    """The line a generator writes into its document."""
    return f"<!-- generated-from: sha256:{source_digest(document)} -->"


def stale() -> list[str]:
    """Generated documents whose sources changed since they were generated, with what to run."""
    out = []
    for document in SOURCES:
        found = _MARK.search((REPO / document).read_text(encoding="utf-8"))
        if found is None or found.group(1) != source_digest(document):
            out.append(document)
    return out


def main() -> int:
    late = stale()
    for document in late:
        print(f"{document} describes older code: run `make reliability` and commit it")
    return 1 if late else 0


if __name__ == "__main__":
    sys.exit(main())
