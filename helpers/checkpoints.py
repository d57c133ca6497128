"""The room's checkpoints (docs/instructor-notes.md, "Agenda"): has this learner got where the
agenda expects, and is nothing left behind that should not be?

    python -m helpers checkpoint            # in JupyterLab's terminal, from the kit's folder
    helpers.checkpoints.report(kms)         # or in a cell

Each line is `ok`, `todo` (not reached yet: which notebook gets you there) or `FAIL` (something
is wrong now, whatever the time: a plaintext key on disk, a ciphertext that does not decrypt).
Nothing printed is a secret: files are named, keys by alias, never their contents.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from . import preflight, startup, workshop
from .errors import KitError, KmsError
from .kms import Kms

#: what notebooks 03 and 04 use; a checkpoint proves the learner's file decrypts with it
CONTEXT = {"purpose": "tls-private-key", "host": "localhost"}
KEY_NAME = "Apollo/WorkKey"
CIPHER = Path("work") / "key.pem.cipher"
#: by when docs/instructor-notes.md's agenda expects each checkpoint (h:mm from the start)
AGENDA = {"ready": "0:15", "named key": "0:40", "encrypted": "0:55", "no plaintext": "any"}
#: a PEM private key's armour: if it is in a file under work/, the key is on disk in plaintext
PEM_PRIVATE = b"PRIVATE KEY-----"


@dataclass(frozen=True)
class Checkpoint:
    name: str
    state: str  # "ok", "todo" or "FAIL"
    detail: str

    @property
    def at(self) -> str:
        return AGENDA[self.name]

    def __str__(self) -> str:
        return f"{self.state:<4}  {self.at:>4}  {self.name:<12} {self.detail}"


def _ready(kms: Kms) -> Checkpoint:
    failed = [c.name for c in preflight.run(kms) if not c.ok]
    if failed:
        return Checkpoint("ready", "FAIL", f"preflight fails on {', '.join(failed)}: run 00_setup")
    return Checkpoint("ready", "ok", "the preflight passes")


def _named_key(kms: Kms) -> Checkpoint:
    alias = workshop.alias(kms, KEY_NAME)
    try:
        meta = kms.describe_key(alias)
    except KmsError as err:
        return Checkpoint("named key", "todo", f"{alias} does not resolve ({err.code}): run 02_create_alias")
    state = "ok" if meta.key_state == "Enabled" else "FAIL"
    return Checkpoint("named key", state, f"{alias} -> a key that is {meta.key_state}")


def _encrypted(kms: Kms, notebooks: Path) -> Checkpoint:
    cipher = notebooks / CIPHER
    if not cipher.is_file():
        return Checkpoint("encrypted", "todo", f"no {CIPHER.as_posix()} yet: run 03_encrypt_private_key")
    if PEM_PRIVATE in cipher.read_bytes():
        return Checkpoint("encrypted", "FAIL", f"{CIPHER.as_posix()} holds a plaintext key: re-run 03")
    try:
        key = startup.decrypt_key(cipher, encryption_context=CONTEXT, kms=kms)
    except KitError as err:
        why = getattr(err, "code", type(err).__name__)
        return Checkpoint("encrypted", "FAIL",
                          f"{CIPHER.as_posix()} does not decrypt with 03's context ({why}): re-run 03")  # fmt: skip
    is_key = PEM_PRIVATE in key
    startup.wipe(key)
    found = "a PEM private key" if is_key else "something that is not a PEM private key"
    return Checkpoint("encrypted", "ok" if is_key else "FAIL", f"{CIPHER.as_posix()} decrypts to {found} (not shown)")


def _no_plaintext(notebooks: Path) -> Checkpoint:
    """A decrypted key left under work/ (04 writes one on purpose, then deletes it) ends up in backups."""
    work = notebooks / "work"
    left = sorted(p.relative_to(notebooks).as_posix() for p in work.rglob("*")
                  if p.is_file() and not p.is_symlink() and PEM_PRIVATE in p.read_bytes()) if work.is_dir() else []  # fmt: skip
    if left:
        return Checkpoint("no plaintext", "FAIL", f"plaintext private key on disk: {', '.join(left)}; delete it")
    return Checkpoint("no plaintext", "ok", "no decrypted key is left under work/")


def run(kms: Kms, notebooks: Path | str = Path("notebooks")) -> list[Checkpoint]:
    """The checkpoints in agenda order; `notebooks` is the folder holding `work/` (the kit's notebooks/)."""
    folder = Path(notebooks)
    return [_ready(kms), _named_key(kms), _encrypted(kms, folder), _no_plaintext(folder)]


def report(kms: Kms, notebooks: Path | str = Path(".")) -> bool:
    """Print the checkpoints (in a notebook the folder is the notebooks' own); True when none fails."""
    checkpoints = run(kms, notebooks)
    for checkpoint in checkpoints:
        print(checkpoint)
    return all(c.state != "FAIL" for c in checkpoints)


def main(argv: list[str]) -> int:
    """`kms-workshop checkpoint [--notebooks DIR]`: exit 0 when nothing fails (todo lines are fine)."""
    import argparse

    from .client import connect

    parser = argparse.ArgumentParser(prog="kms-workshop checkpoint", description=main.__doc__)
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                        help="the folder that holds work/ (default: notebooks, from the kit's folder)")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.notebooks.is_dir():
        print(f"kms-workshop checkpoint: error: {args.notebooks} is not a folder; run it from the kit's folder "
              "or pass --notebooks", file=sys.stderr)  # fmt: skip
        return 2
    return 0 if report(connect(), args.notebooks) else 1
