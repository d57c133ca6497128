"""`kms-workshop decrypt-key SRC`: a server's TLS key at start-up, to stdout or a 0600 tmpfs file.

Exit codes as for every verb (`helpers.commands`): 0 ok, 1 cannot decrypt, 2 usage, 3 KMS or
configuration, 4 input/output, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from ..startup import decrypt_key, is_tmpfs, wipe, write_key_file
from .common import USAGE, exit_code, parse_context, shell_message


def main(argv: list[str]) -> int:
    """`kms-workshop decrypt-key SRC [--context k=v] [--tmpfs]`: the key to stdout, or a path."""
    parser = argparse.ArgumentParser(prog="kms-workshop decrypt-key", description=main.__doc__,
                                     epilog="exit codes: 0 ok, 1 cannot decrypt (altered/wrong context), 2 usage, "
                                     "3 KMS or configuration, 4 input/output, 130 interrupted")  # fmt: skip
    parser.add_argument("src", help="the ciphertext key file (from `kms-workshop encrypt`)")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--tmpfs", action="store_true",
                        help="write a 0600 file on tmpfs and print its path; the caller removes it")  # fmt: skip
    parser.add_argument("--folder", help="with --tmpfs: the folder to use instead of /dev/shm")
    try:
        args = parser.parse_args(argv)
        context = parse_context(args.context)
    except SystemExit as exc:
        return int(exc.code or 0)
    except ValueError as exc:
        print(f"kms-workshop decrypt-key: error: {exc}", file=sys.stderr)
        return USAGE
    try:
        if args.tmpfs:
            if args.folder and not is_tmpfs(args.folder):
                print(f"kms-workshop decrypt-key: warning: {args.folder} is not tmpfs", file=sys.stderr)
            print(write_key_file(args.src, encryption_context=context, folder=args.folder))
        else:
            key = decrypt_key(args.src, encryption_context=context)
            sys.stdout.buffer.write(key)
            sys.stdout.buffer.flush()
            wipe(key)
        return 0
    except BaseException as exc:  # noqa: BLE001 (mapped to a documented code; bugs re-raise there)
        code = exit_code(exc, decrypting=True)
        print(f"kms-workshop decrypt-key: error: {shell_message(exc)}", file=sys.stderr)
        return code
