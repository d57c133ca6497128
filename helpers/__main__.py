"""`python -m helpers <verb>` (also installed as `kms-workshop`): the kit's command line.

Each verb lives with the code it drives; this module only routes.
"""

from __future__ import annotations

import importlib
import sys

# verb -> (module, one-line help); modules expose main(argv: list[str]) -> int, or name the
# function after a colon ("helpers.commands:encrypt") when one module serves several verbs.
VERBS: dict[str, tuple[str, str]] = {
    "lab": ("helpers.commands.lab", "start JupyterLab on the kit's notebooks with the local emulator (as make lab)"),
    "hub": ("helpers.commands.hub", "JupyterHub for a room: each learner on their own emulator (as make hub; root)"),
    "serve": ("helpers.emulator.cli", "run the local KMS emulator until interrupted"),
    "replay": ("helpers.replay.cli", "serve one recorded cassette on loopback until interrupted"),
    "encrypt": ("helpers.commands:encrypt", "encrypt a file or stdin (KMS Encrypt up to 6 KB of text, else envelope)"),
    "decrypt": ("helpers.commands:decrypt", "decrypt a file or stdin written by `encrypt` (either format)"),
    "encrypt-dir": ("helpers.commands:encrypt_dir", "encrypt a folder tree in parallel; re-runs skip finished files"),
    "decrypt-dir": ("helpers.commands:decrypt_dir", "decrypt a tree written by `encrypt-dir`; resumable"),
    "decrypt-key": ("helpers.commands.decrypt_key", "decrypt a server's key at start-up: to stdout or a 0600 tmpfs file"),
    "checkpoint": ("helpers.checkpoints", "where this learner is on the room's agenda, and no plaintext key left on disk"),
}


def usage() -> str:
    lines = ["usage: python -m helpers <verb> [options]", "", "verbs:"]
    lines += [f"  {verb:<14} {text}" for verb, (_, text) in VERBS.items()]
    lines.append("\n`python -m helpers <verb> --help` shows a verb's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    verb, rest = args[0], args[1:]
    if verb not in VERBS:
        print(f"unknown verb {verb!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _, function = VERBS[verb][0].partition(":")
    module = importlib.import_module(module_name)
    return int(getattr(module, function or "main")(rest))


if __name__ == "__main__":
    sys.exit(main())
