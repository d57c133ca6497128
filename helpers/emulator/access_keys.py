"""The AccessKey pair of one state file: generated once, kept 0600 beside it, shared by every process.

The emulator listens on a loopback port that every local user can reach, so the documented
``testid``/``testsecret`` pair would let any of them use a learner's keys. A state file therefore
gets its own pair, made with ``secrets`` the first time an emulator opens it and written to
``<state file>-accesskey`` (next to SQLite's own ``-wal`` and ``-shm``), under the same rules as the
state file (statefile.py). Several kernels starting at once on one state file all end up with the
same pair: the file is created with ``O_EXCL``, and whoever loses that race reads the winner's.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from pathlib import Path

from . import statefile
from .auth import DEFAULT_ACCOUNTS, Account
from .statefile import StateFileError

SUFFIX = "-accesskey"
#: the account a generated pair belongs to: the first test account's, so keys made in a state file
#: before it had a pair of its own stay visible (an account id is a namespace, not a secret)
ACCOUNT_ID = DEFAULT_ACCOUNTS[0].account_id
_ALPHABET = string.ascii_letters + string.digits
_WHAT = "emulator AccessKey file"
_WAIT_FOR_WRITER_S = 2.0  # the winner of the O_EXCL race writes ~150 bytes right after creating it


def pair_file(state: str | Path) -> Path:
    return Path(f"{Path(state).expanduser()}{SUFFIX}")


def generate(account_id: str = ACCOUNT_ID) -> Account:
    """A fresh pair: an ``EMU``-prefixed id (never mistaken for a cloud ``LTAI`` id) and a 30-character secret."""
    key_id = "EMU" + "".join(secrets.choice(_ALPHABET) for _ in range(17))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(30))
    return Account(key_id, secret, account_id)


def for_state(state: str | Path) -> Account:
    """The pair of ``state``: read from its AccessKey file, or generated and written there first."""
    path = pair_file(state)
    statefile.make_private_folder(path.parent)
    fd = statefile.create_new(path, _WHAT)
    if fd is None:
        return _read(path)
    account = generate()
    record = {"AccessKeyId": account.access_key_id, "AccessKeySecret": account.access_key_secret,
              "AccountId": account.account_id}  # fmt: skip
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
        out.flush()
        os.fsync(out.fileno())  # a kernel that crashes now must not leave others a half-written pair
    return account


def _read(path: Path) -> Account:
    fd = statefile.open_existing(path, _WHAT, write=False)
    with os.fdopen(fd, "rb") as source:
        deadline = time.monotonic() + _WAIT_FOR_WRITER_S
        while True:
            source.seek(0)
            account = _parse(source.read())
            if account is not None:
                return account
            if time.monotonic() > deadline:
                raise StateFileError(
                    f"{path} does not hold an AccessKey pair (empty or damaged); delete it and start again "
                    "(the emulator makes a new pair; its keys are kept)."
                )
            time.sleep(0.02)  # just lost the O_EXCL race: the winner is still writing


def _parse(data: bytes) -> Account | None:
    try:
        record = json.loads(data.decode("utf-8"))
        fields = [record["AccessKeyId"], record["AccessKeySecret"], record["AccountId"]]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(f, str) and f for f in fields):
        return None
    return Account(*fields)


def for_learners(folder: str | Path, names: list[str]) -> list[tuple[str, Account]]:
    """One account per learner for a shared emulator (``serve --accounts``): each its own account
    id and pair, kept in ``folder/<name>.env`` (0600, in a 0700 folder) and read back on restart.
    The file holds the two ``KMS_WORKSHOP_ACCESS_KEY_*`` lines a learner's shell needs."""
    folder = Path(folder).expanduser()
    statefile.make_private_folder(folder)
    taken = {ACCOUNT_ID}
    learners = []
    for name in names:
        path = folder / f"{name}.env"
        fd = statefile.create_new(path, _WHAT)
        if fd is None:
            account = _read_env(path)
        else:
            account = generate(_new_account_id(taken))
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(f"# kms-workshop emulator account {account.account_id} of learner {name}\n"
                          f"KMS_WORKSHOP_ACCESS_KEY_ID={account.access_key_id}\n"
                          f"KMS_WORKSHOP_ACCESS_KEY_SECRET={account.access_key_secret}\n")  # fmt: skip
        if account.account_id in taken:
            raise StateFileError(f"{path} shares its account id with another learner's; delete it and start again")
        taken.add(account.account_id)
        learners.append((name, account))
    return learners


def _new_account_id(taken: set[str]) -> str:
    while True:
        candidate = str(secrets.randbelow(9 * 10**15) + 10**15)  # 16 digits, like Alibaba's
        if candidate not in taken:
            return candidate


def _read_env(path: Path) -> Account:
    fd = statefile.open_existing(path, _WHAT, write=False)
    with os.fdopen(fd, encoding="utf-8") as source:
        text = source.read()
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    head = text.split(" account ", 1)[-1].split(" ", 1)[0] if " account " in text else ""
    key_id, secret = fields.get("KMS_WORKSHOP_ACCESS_KEY_ID", ""), fields.get("KMS_WORKSHOP_ACCESS_KEY_SECRET", "")
    if not (key_id and secret and head.isdigit()):
        raise StateFileError(f"{path} does not hold a learner's AccessKey pair; delete it and start again")
    return Account(key_id, secret, head)
