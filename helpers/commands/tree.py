"""`encrypt-dir` / `decrypt-dir`: a folder tree into a mirror tree, in parallel, resumable.

Resuming trusts nothing by its name alone: an output is skipped only when `journal.py` proves it
was written by this tool from the source as it is now, with the same options; an output it did
not write is refused (`--force` replaces it). One run per output tree at a time (`lock.py`).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import files
from ..client_default import or_default
from .common import IO, OK, UsageError, exit_code
from .journal import JOURNAL_NAME, Journal, options_digest
from .lock import LOCK_NAME, tree_lock

BOOKKEEPING = frozenset({JOURNAL_NAME, LOCK_NAME})  # the kit's own files at a tree's root


@dataclass
class Plan:
    todo: list[tuple[Path, Path, bool]] = field(default_factory=list)  # input, output, replace it
    done: int = 0
    refused: list[tuple[Path, str]] = field(default_factory=list)
    ignored: int = 0
    notes: list[str] = field(default_factory=list)  # said before the work starts


def check_suffix(suffix: str) -> None:
    if not suffix:
        raise UsageError("--suffix must not be empty: the ciphertext would take the plaintext's name "
                         "(decrypt-dir could not tell them apart); use e.g. --suffix .cipher")  # fmt: skip
    if "/" in suffix or "\\" in suffix or suffix in (".", ".."):
        raise UsageError(f"--suffix {suffix!r} is not a file-name ending; use e.g. --suffix .cipher")


def _outputs(src: Path, dst: Path, decrypting: bool, suffix: str, plan: Plan) -> list[tuple[Path, Path, str]]:
    """(input, output, output relative to dst) in path order; what is left out is counted or said."""
    pairs = []
    for folder, dirs, names in os.walk(src):  # symlinks are not followed: stay inside the tree
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            rel = path.relative_to(src)
            if folder == str(src) and name in BOOKKEEPING:  # the kit's own files: not data
                continue
            if path.is_symlink():
                plan.ignored += 1
                continue
            kind = stat.S_IFMT(path.lstat().st_mode)
            if kind != stat.S_IFREG:  # a FIFO would block the run, a device never end
                plan.ignored += 1
                plan.notes.append(f"skipping {rel}: not a regular file (a FIFO, device or socket)")
                continue
            if decrypting and not name.endswith(suffix):
                plan.ignored += 1
                continue
            out_name = name[: -len(suffix)] if decrypting else name + suffix
            if out_name in ("", ".", "..") or (rel.parent == Path(".") and out_name in BOOKKEEPING):
                plan.ignored += 1
                plan.notes.append(f"skipping {rel}: it would decrypt to {out_name!r}, which cannot be a file here")
                continue
            out_rel = rel.parent / out_name
            pairs.append((path, dst / out_rel, out_rel.as_posix()))
    return pairs


def plan(src: Path, dst: Path, decrypting: bool, args: argparse.Namespace, journal: Journal) -> Plan:
    result = Plan()
    verb = "decrypt" if decrypting else "encrypt"
    for i, o, rel in _outputs(src, dst, decrypting, args.suffix, result):
        if args.force:
            result.todo.append((i, o, True))
            continue
        verdict, why = journal.judge(i, o, rel)
        if verdict == "new":
            result.todo.append((i, o, False))
        elif verdict == "redo":
            result.todo.append((i, o, True))
            result.notes.append(f"re-{verb}ing {i.relative_to(src)}: {why}")
        elif verdict == "refuse":
            result.refused.append((i, why))
        else:
            result.done += 1
    return result


def _makedirs(folder: Path, mode: int) -> None:
    # mkdir(parents=True) gives parents the default mode; plaintext trees need 0700 all the way.
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=mode, exist_ok=True)


def run_tree(args: argparse.Namespace, decrypting: bool, kms: Any) -> int:
    src, dst = Path(args.src).resolve(), Path(args.dst).resolve()
    check_suffix(args.suffix)
    if not src.is_dir():
        raise FileNotFoundError(f"{args.src} is not a folder")
    if dst == src or src in dst.parents:
        raise UsageError(f"{args.dst} is inside {args.src}: the output would be read as input")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    verb = "decrypt" if decrypting else "encrypt"
    options = options_digest(verb=verb, context=args.context, key_id=getattr(args, "key_id", None),
                             method=getattr(args, "method", None))  # fmt: skip
    if args.dry_run:  # reads the journal, writes nothing: no lock, no folder
        work = plan(src, dst, decrypting, args, Journal(dst, options))
        for note in work.notes:
            print(note, file=sys.stderr)
        for i, o, _ in work.todo:
            print(f"would {verb} {i.relative_to(src)} -> {o}")
        for i, why in work.refused:
            print(f"would refuse {i.relative_to(src)}: {why}", file=sys.stderr)
        print(f"{verb}-dir (dry run): {len(work.todo)} to {verb}, {work.done} already done, "
              f"{len(work.refused)} refused, {work.ignored} ignored", file=sys.stderr)  # fmt: skip
        return OK
    mode = 0o700 if decrypting else 0o755
    _makedirs(dst, mode)
    with tree_lock(dst, f"{verb}-dir"):
        journal = Journal(dst, options)
        try:
            return _run(src, dst, decrypting, args, kms, plan(src, dst, decrypting, args, journal), journal, mode)
        finally:
            journal.compact(dst)


def _run(src: Path, dst: Path, decrypting: bool, args: argparse.Namespace, kms: Any, work: Plan, journal: Journal,
         mode: int) -> int:  # fmt: skip
    verb = "decrypt" if decrypting else "encrypt"
    client, codes, start = or_default(kms), [IO for _ in work.refused], time.perf_counter()

    def one(item: tuple[Path, Path, bool]) -> None:
        i, o, replace = item
        _makedirs(o.parent, mode)
        source = i.stat()  # before reading: a change during the run shows as a change next time
        rel = o.relative_to(dst).as_posix()

        def before_publish(out: os.stat_result) -> None:
            journal.record(rel, source, out)

        if decrypting:
            files.decrypt_file(i, o, encryption_context=args.context, overwrite=replace, kms=client,
                               before_publish=before_publish)  # fmt: skip
        else:
            files.encrypt_file(i, o, args.key_id, encryption_context=args.context, overwrite=replace,
                               kms=client, method=args.method, before_publish=before_publish)  # fmt: skip

    from tqdm import tqdm

    for note in work.notes:
        tqdm.write(note, file=sys.stderr)
    for i, why in work.refused:
        tqdm.write(f"FAILED {i.relative_to(src)}: {why}", file=sys.stderr)
    disable = None if args.progress is None else not args.progress  # None: only on a terminal
    with tqdm(total=len(work.todo), unit="file", file=sys.stderr, disable=disable) as bar, \
            ThreadPoolExecutor(args.workers) as pool:  # fmt: skip
        futures = {pool.submit(one, item): item for item in work.todo}
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
    done = len(work.todo) - (len(codes) - len(work.refused))
    print(f"{verb}-dir: {done} {verb}ed, {work.done} skipped (already done), {len(codes)} failed, "
          f"{work.ignored} ignored in {took:.1f} s ({done / took if took else 0:.0f} files/s)", file=sys.stderr)  # fmt: skip
    return max(codes, default=OK)
