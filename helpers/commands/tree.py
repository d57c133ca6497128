"""`encrypt-dir` / `decrypt-dir`: a folder tree into a mirror tree, in parallel, resumable."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .. import files
from ..client_default import or_default
from .common import OK, UsageError, exit_code


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


def run_tree(args: argparse.Namespace, decrypting: bool, kms: Any) -> int:
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
