"""`encrypt` / `decrypt` of one file, or of stdin to stdout (`-`): files.py decides the format."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from .. import files
from ..atomic import PRIVATE, atomic_output, open_input
from ..client_default import or_default


def run_single(args: argparse.Namespace, decrypting: bool, kms: Any) -> None:
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
        with open_input(src) as fin:  # a FIFO or device is refused, not waited on or read forever
            yield fin


@contextlib.contextmanager
def _output(dst: str, mode: int, force: bool) -> Iterator[BinaryIO]:
    if dst == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with atomic_output(dst, mode=mode, overwrite=force) as fout:
            yield fout


