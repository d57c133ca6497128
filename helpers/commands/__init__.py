"""The command line's verbs for files: `kms-workshop encrypt|decrypt|encrypt-dir|decrypt-dir`.

One module each: `single` (a file or a stream), `tree` (a folder, in parallel), `decrypt_key`
(a server's key at start-up); `common` holds the exit codes; `journal` and `lock` are the
directory verbs' resume record and one-run-per-tree lock. Examples:

    kms-workshop encrypt key.pem key.pem.cipher --key-id alias/kms-workshop-demo
    kms-workshop decrypt key.pem.cipher - --context app=web | openssl pkey -noout
    kms-workshop encrypt-dir conf/ conf.enc/ --key-id alias/kms-workshop-demo --workers 8

`-` means stdin or stdout. Small text goes through KMS Encrypt, everything else through envelope
encryption (`--method` forces one). Plaintext files are written 0600 and atomically; nothing is
overwritten without `--force`. The directory verbs mirror the tree, run in parallel, show a progress
bar on a terminal, print one summary line to stderr, and are resumable: a re-run skips an output
only when the tree's record proves it matches the current source and options (`journal.py`),
redoes changed ones saying why, and refuses outputs it did not write (`--force` replaces them).
One run per output tree at a time (`lock.py`). Inputs must be regular files: FIFOs and devices
are refused (single files) or skipped with a message (trees).

Exit codes (stable; scripts may rely on them):
    0   success (directory verbs: every file done now or by an earlier run)
    1   the data could not be decrypted: altered, truncated, wrong EncryptionContext, not ciphertext
    2   usage: bad arguments or options that do not fit the input
    3   KMS or configuration: key not found or disabled, other account, credentials, network
    4   input/output: input missing or unreadable, output exists (use --force), disk full
    130 interrupted
A directory verb with several failures exits with the largest of their codes.

Decrypting to stdout emits each chunk once it has verified: on exit code 1 the reader has received
an authentic but incomplete prefix and must discard it. Decrypt to a file when that matters.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .. import files
from .common import DATA, INTERRUPTED, IO, KMS, OK, SUFFIX, USAGE, UsageError, exit_code, guarded, parse_context

__all__ = ["DATA", "INTERRUPTED", "IO", "KMS", "OK", "USAGE", "SUFFIX", "UsageError", "exit_code",
           "parse_context", "run", "encrypt", "decrypt", "encrypt_dir", "decrypt_dir"]

_DESCRIPTIONS = {
    "encrypt": "Encrypt a file (or stdin, '-'): KMS Encrypt for up to 6 KB of text, envelope otherwise.",
    "decrypt": "Decrypt a file (or stdin) written by `encrypt`, in either format; plaintext is 0600.",
    "encrypt-dir": "Encrypt every file of a folder tree into a mirror tree; re-runs skip outputs that still match.",
    "decrypt-dir": "Decrypt a tree written by `encrypt-dir` into a mirror tree (0700 folders, 0600 files).",
}


def parser(verb: str) -> argparse.ArgumentParser:
    directory, encrypting = verb.endswith("-dir"), verb.startswith("encrypt")
    p = argparse.ArgumentParser(prog=f"kms-workshop {verb}", description=_DESCRIPTIONS[verb],
                                epilog="exit codes: 0 ok, 1 cannot decrypt (altered/wrong context), 2 usage, "
                                "3 KMS or configuration, 4 input/output, 130 interrupted")  # fmt: skip
    what = "folder" if directory else "file, or - for stdin/stdout"
    p.add_argument("src", help=f"input {what}")
    p.add_argument("dst", help=f"output {what}")
    if encrypting:
        p.add_argument("-k", "--key-id", required=True, help="key id, alias/... or ARN")
        p.add_argument("--method", choices=files.METHODS, default="auto",
                       help="auto: KMS Encrypt for <= 6 KB of text, envelope otherwise")  # fmt: skip
    p.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE",
                   help="EncryptionContext pair; repeat for several; decrypt needs the same")  # fmt: skip
    p.add_argument("-f", "--force", action="store_true",
                   help="overwrite existing outputs (directory verbs: redo every file)")  # fmt: skip
    if directory:
        p.add_argument("-j", "--workers", type=int, default=min(8, 2 * (os.cpu_count() or 1)))
        p.add_argument("--suffix", default=SUFFIX, help=f"ciphertext file suffix, not empty (default {SUFFIX})")
        p.add_argument("-n", "--dry-run", action="store_true", help="list what would be done; call nothing")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: only on a terminal)")  # fmt: skip
    return p


def run(verb: str, argv: list[str], kms: Any = None) -> int:
    """Parse `argv` for `verb` and run it; returns the exit code. `kms` is for tests."""
    try:
        args = parser(verb).parse_args(argv)
        args.context = parse_context(args.context)
    except SystemExit as exc:  # argparse prints its message and exits 2 (or 0 for --help)
        return int(exc.code or 0)
    except UsageError as exc:
        print(f"kms-workshop {verb}: error: {exc}", file=sys.stderr)
        return USAGE
    decrypting = verb.startswith("decrypt")
    if verb.endswith("-dir"):
        from .tree import run_tree

        return guarded(verb, lambda: run_tree(args, decrypting, kms), decrypting=decrypting)
    from .single import run_single

    def single() -> int:
        run_single(args, decrypting, kms)
        return OK

    return guarded(verb, single, decrypting=decrypting)


def encrypt(argv: list[str]) -> int:
    return run("encrypt", argv)


def decrypt(argv: list[str]) -> int:
    return run("decrypt", argv)


def encrypt_dir(argv: list[str]) -> int:
    return run("encrypt-dir", argv)


def decrypt_dir(argv: list[str]) -> int:
    return run("decrypt-dir", argv)
