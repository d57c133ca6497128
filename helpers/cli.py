"""`kms-workshop encrypt|decrypt|encrypt-dir|decrypt-dir`: files and trees of files, for scripts.

    kms-workshop encrypt key.pem key.pem.cipher --key-id alias/kms-workshop-demo
    kms-workshop decrypt key.pem.cipher - --context app=web | openssl pkey -noout
    kms-workshop encrypt-dir conf/ conf.enc/ --key-id alias/kms-workshop-demo --workers 8

`-` means stdin or stdout. Small text goes through KMS Encrypt, everything else through envelope
encryption (`--method` forces one). Plaintext files are written 0600 and atomically; nothing is
overwritten without `--force`. The directory verbs mirror the tree, run in parallel, show a progress
bar on a terminal, print one summary line to stderr, and are resumable: an output that exists is
complete (it was renamed into place only when done), so a re-run skips it.

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
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, BinaryIO

from . import envelope, files
from .atomic import PRIVATE, atomic_output, check_readable
from .client_default import or_default
from .errors import ConfigError, InvalidCiphertextError, KitError, KmsError, PlaintextTooLargeError

OK, DATA, USAGE, KMS, IO, INTERRUPTED = 0, 1, 2, 3, 4, 130
SUFFIX = ".cipher"  # the seed's name for an encrypted key.pem


class UsageError(KitError, ValueError):
    """Arguments that cannot work together; exit code 2."""


def exit_code(exc: BaseException, *, decrypting: bool) -> int:
    """The documented exit code for an exception (see the module docstring)."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(exc, envelope.EnvelopeError | InvalidCiphertextError):
        return DATA
    if isinstance(exc, KmsError | ConfigError):
        return KMS
    if isinstance(exc, OSError):
        return IO
    if isinstance(exc, PlaintextTooLargeError | UsageError):
        return USAGE
    if isinstance(exc, ValueError):  # not ciphertext (decrypt) / not fit for --method (encrypt)
        return DATA if decrypting else USAGE
    raise exc  # a bug: let the traceback show


def parse_context(pairs: list[str]) -> dict[str, str] | None:
    """`["app=web", "env=prod"]` -> `{"app": "web", "env": "prod"}`; none -> None."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--context takes key=value, not {pair!r}")
        context[key] = value
    return context or None


_DESCRIPTIONS = {
    "encrypt": "Encrypt a file (or stdin, '-'): KMS Encrypt for up to 6 KB of text, envelope otherwise.",
    "decrypt": "Decrypt a file (or stdin) written by `encrypt`, in either format; plaintext is 0600.",
    "encrypt-dir": "Encrypt every file of a folder tree into a mirror tree; re-runs skip finished files.",
    "decrypt-dir": "Decrypt a tree written by `encrypt-dir` into a mirror tree (0700 folders, 0600 files).",
}


def _parser(verb: str) -> argparse.ArgumentParser:
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
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    if directory:
        p.add_argument("-j", "--workers", type=int, default=min(8, 2 * (os.cpu_count() or 1)))
        p.add_argument("--suffix", default=SUFFIX, help=f"ciphertext file suffix (default {SUFFIX})")
        p.add_argument("-n", "--dry-run", action="store_true", help="list what would be done; call nothing")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar on stderr (default: only on a terminal)")  # fmt: skip
    return p


def run(verb: str, argv: list[str], kms: Any = None) -> int:
    """Parse `argv` for `verb` and run it; returns the exit code. `kms` is for tests."""
    try:
        args = _parser(verb).parse_args(argv)
        args.context = parse_context(args.context)
    except SystemExit as exc:  # argparse prints its message and exits 2 (or 0 for --help)
        return int(exc.code or 0)
    except UsageError as exc:
        print(f"kms-workshop {verb}: error: {exc}", file=sys.stderr)
        return USAGE
    decrypting = verb.startswith("decrypt")
    try:
        if verb.endswith("-dir"):
            return _run_dir(args, decrypting, kms)
        _run_one(args, decrypting, kms)
        return OK
    except BaseException as exc:  # noqa: BLE001 (mapped to a code; real bugs re-raise there)
        code = exit_code(exc, decrypting=decrypting)
        if code != INTERRUPTED:
            print(f"kms-workshop {verb}: error: {exc}", file=sys.stderr)
        return code


def encrypt(argv: list[str]) -> int:
    return run("encrypt", argv)


def decrypt(argv: list[str]) -> int:
    return run("decrypt", argv)


def encrypt_dir(argv: list[str]) -> int:
    return run("encrypt-dir", argv)


def decrypt_dir(argv: list[str]) -> int:
    return run("decrypt-dir", argv)


# --- one file or stream ---------------------------------------------------------------------------
def _run_one(args: argparse.Namespace, decrypting: bool, kms: Any) -> None:
    ctx: Mapping[str, str] | None = args.context
    if args.src != "-" and args.dst != "-":
        if decrypting:
            files.decrypt_file(args.src, args.dst, encryption_context=ctx, overwrite=args.force, kms=or_default(kms))
        else:
            files.encrypt_file(args.src, args.dst, args.key_id, encryption_context=ctx,
                               overwrite=args.force, kms=or_default(kms), method=args.method)  # fmt: skip
        return
    mode = PRIVATE if decrypting else files.CIPHERTEXT_MODE
    with _input(args.src) as fin, _output(args.dst, mode, args.force) as fout:
        if decrypting:
            files.decrypt_stream(fin, fout, encryption_context=ctx, kms=or_default(kms))
        else:
            files.encrypt_stream(fin, fout, args.key_id, encryption_context=ctx, kms=or_default(kms),
                                 method=args.method)  # fmt: skip


@contextlib.contextmanager
def _input(src: str) -> Iterator[BinaryIO]:
    if src == "-":
        yield sys.stdin.buffer
    else:
        with open(check_readable(src), "rb") as fin:
            yield fin


@contextlib.contextmanager
def _output(dst: str, mode: int, force: bool) -> Iterator[BinaryIO]:
    if dst == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with atomic_output(dst, mode=mode, overwrite=force) as fout:
            yield fout


# --- trees --------------------------------------------------------------------------------------
def _plan(src: Path, dst: Path, decrypting: bool, suffix: str) -> tuple[list[tuple[Path, Path]], int]:
    """(input, output) pairs in path order, and the count of files ignored."""
    pairs, ignored = [], 0
    for folder, dirs, names in os.walk(src):  # symlinks are not followed: stay inside the tree
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or (decrypting and not name.endswith(suffix)):
                ignored += 1
                continue
            rel = path.relative_to(src)
            out = dst / rel.parent / (name[: -len(suffix)] if decrypting else name + suffix)
            pairs.append((path, out))
    return pairs, ignored


def _makedirs(folder: Path, mode: int) -> None:
    # mkdir(parents=True) gives parents the default mode; plaintext trees need 0700 all the way.
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=mode, exist_ok=True)


def _remove_stale_temp(out: Path) -> None:
    """A run killed with -9 can leave `atomic_output`'s temporary file; remove exactly those."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.[a-z0-9_]{{8}}\.tmp$")
    if out.parent.is_dir():
        for leftover in out.parent.iterdir():
            if pattern.match(leftover.name):
                leftover.unlink(missing_ok=True)


def _run_dir(args: argparse.Namespace, decrypting: bool, kms: Any) -> int:
    src, dst = Path(args.src).resolve(), Path(args.dst).resolve()
    if not src.is_dir():
        raise FileNotFoundError(f"{args.src} is not a folder")
    if dst == src or src in dst.parents:
        raise UsageError(f"{args.dst} is inside {args.src}: the output would be read as input")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    verb = "decrypt" if decrypting else "encrypt"
    pairs, ignored = _plan(src, dst, decrypting, args.suffix)
    todo = [(i, o) for i, o in pairs if args.force or not o.exists()]
    skipped = len(pairs) - len(todo)
    if args.dry_run:
        for i, o in todo:
            print(f"would {verb} {i.relative_to(src)} -> {o}")
        print(f"{verb}-dir (dry run): {len(todo)} to {verb}, {skipped} already done, {ignored} ignored",
              file=sys.stderr)  # fmt: skip
        return OK
    client, codes, start = or_default(kms), [], time.perf_counter()

    def one(pair: tuple[Path, Path]) -> None:
        i, o = pair
        _makedirs(o.parent, 0o700 if decrypting else 0o755)
        _remove_stale_temp(o)
        if decrypting:
            files.decrypt_file(i, o, encryption_context=args.context, overwrite=args.force, kms=client)
        else:
            files.encrypt_file(i, o, args.key_id, encryption_context=args.context, overwrite=args.force,
                               kms=client, method=args.method)  # fmt: skip

    from tqdm import tqdm

    disable = None if args.progress is None else not args.progress  # None: only on a terminal
    with tqdm(total=len(todo), unit="file", file=sys.stderr, disable=disable) as bar, \
            ThreadPoolExecutor(args.workers) as pool:  # fmt: skip
        futures = {pool.submit(one, pair): pair for pair in todo}
        try:
            for future in as_completed(futures):
                i, exc = futures[future][0], future.exception()
                if exc is not None:
                    codes.append(exit_code(exc, decrypting=decrypting))
                    tqdm.write(f"FAILED {i.relative_to(src)}: {str(exc).splitlines()[0]}", file=sys.stderr)
                bar.update()
        except KeyboardInterrupt:
            pool.shutdown(cancel_futures=True)  # files in flight finish or vanish; none is partial
            raise
    took = time.perf_counter() - start
    done = len(todo) - len(codes)
    print(f"{verb}-dir: {done} {verb}ed, {skipped} skipped (already done), {len(codes)} failed, "
          f"{ignored} ignored in {took:.1f} s ({done / took if took else 0:.0f} files/s)", file=sys.stderr)  # fmt: skip
    return max(codes, default=OK)
