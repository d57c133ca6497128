"""SQLite persistence for keys, versions, aliases and tags.

A file path or ":memory:". Several processes (one in-process emulator per Jupyter kernel) may
open the same file: WAL lets readers run beside one writer, the busy timeout makes writers wait
instead of failing, and every check-then-write (quotas, alias uniqueness) runs inside
``BEGIN IMMEDIATE`` so two processes cannot both pass a quota check. Within a process one
connection is shared behind a lock, which is simpler than a pool and fast enough (the GIL
serialises the Python side anyway).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from .models import Alias, Key, Scope

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, description TEXT NOT NULL,
  key_spec TEXT NOT NULL, key_usage TEXT NOT NULL, origin TEXT NOT NULL,
  protection_level TEXT NOT NULL, state TEXT NOT NULL, creation_date TEXT NOT NULL,
  delete_date TEXT, primary_version TEXT NOT NULL, rotation_interval INTEGER,
  PRIMARY KEY (account, region, key_id));
CREATE TABLE IF NOT EXISTS versions (
  version_id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
  key_id TEXT NOT NULL, material BLOB);
CREATE TABLE IF NOT EXISTS aliases (
  account TEXT NOT NULL, region TEXT NOT NULL, alias_name TEXT NOT NULL, key_id TEXT NOT NULL,
  PRIMARY KEY (account, region, alias_name));
CREATE TABLE IF NOT EXISTS tags (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL, PRIMARY KEY (account, region, key_id, tag_key));
"""
_KEY_COLUMNS = (
    "key_id, account, region, description, key_spec, key_usage, origin, protection_level, "
    "state, creation_date, delete_date, primary_version, rotation_interval"
)
_UPSERT_KEY = "ON CONFLICT (account, region, key_id) DO UPDATE SET " + ", ".join(
    f"{c}=excluded.{c}" for c in ("description", "state", "delete_date", "primary_version", "rotation_interval")
)
_BUSY_TIMEOUT_MS = 10_000


def _private_file(path: Path) -> None:
    """Create the state file 0600 inside a directory only its owner can change."""
    parent = path.parent
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = parent.stat().st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
        raise PermissionError(f"{parent} is writable by others; choose a private directory")
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)  # an older file might have been created with a looser umask


class Store:
    def __init__(self, path: str | Path | None = None) -> None:
        target = ":memory:" if path in (None, ":memory:") else str(Path(path).expanduser())
        if target != ":memory:":
            _private_file(Path(target))
        self.path = target
        self._lock = threading.RLock()
        # check_same_thread=False: the connection is shared by server threads, guarded by _lock.
        self._db = sqlite3.connect(target, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        if target != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")  # WAL/SHM files inherit the 0600 mode
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """An IMMEDIATE write transaction: takes the file's write lock up front (multi-process safe)."""
        with self._lock:
            if self._db.in_transaction:  # nested use joins the outer transaction
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, args: tuple[object, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)

    # --- keys ---------------------------------------------------------------------------------
    def get_key(self, scope: Scope, key_id: str) -> Key | None:
        rows = self._all(f"SELECT {_KEY_COLUMNS} FROM keys WHERE account=? AND region=? AND key_id=?",
                         (scope.account_id, scope.region, key_id))  # fmt: skip
        return _key(rows[0]) if rows else None

    def list_keys(self, scope: Scope) -> list[Key]:
        rows = self._all(f"SELECT {_KEY_COLUMNS} FROM keys WHERE account=? AND region=? ORDER BY rowid",
                         (scope.account_id, scope.region))  # fmt: skip
        return [_key(r) for r in rows]

    def count_keys(self, scope: Scope) -> int:
        count = self._all("SELECT COUNT(*) FROM keys WHERE account=? AND region=?", (scope.account_id, scope.region))
        return int(str(count[0][0]))

    def put_key(self, key: Key) -> None:
        # An upsert, not INSERT OR REPLACE: REPLACE deletes the row and would reorder ListKeys.
        self._run(f"INSERT INTO keys ({_KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) {_UPSERT_KEY}", (
            key.key_id, key.account_id, key.region, key.description, key.key_spec, key.key_usage,
            key.origin, key.protection_level, key.state, _iso(key.creation_date),
            _iso(key.delete_date) if key.delete_date else None, key.primary_version, key.rotation_interval))  # fmt: skip

    def delete_key(self, scope: Scope, key_id: str) -> None:
        args = (scope.account_id, scope.region, key_id)
        for table in ("keys", "versions", "aliases", "tags"):
            self._run(f"DELETE FROM {table} WHERE account=? AND region=? AND key_id=?", args)

    # --- versions -----------------------------------------------------------------------------
    def add_version(self, scope: Scope, key_id: str, version_id: str, material: bytes | None) -> None:
        self._run("INSERT INTO versions VALUES (?,?,?,?,?)",
                  (version_id, scope.account_id, scope.region, key_id, material))  # fmt: skip

    def get_version(self, scope: Scope, version_id: str) -> tuple[str, bytes | None] | None:
        """(key id, material) of a version, only if it belongs to this account and region."""
        rows = self._all("SELECT key_id, material FROM versions WHERE version_id=? AND account=? AND region=?",
                         (version_id, scope.account_id, scope.region))  # fmt: skip
        return (str(rows[0][0]), rows[0][1]) if rows else None  # type: ignore[return-value]

    # --- aliases ------------------------------------------------------------------------------
    def get_alias(self, scope: Scope, name: str) -> Alias | None:
        rows = self._all("SELECT alias_name, key_id FROM aliases WHERE account=? AND region=? AND alias_name=?",
                         (scope.account_id, scope.region, name))  # fmt: skip
        return Alias(str(rows[0][0]), str(rows[0][1]), scope) if rows else None

    def list_aliases(self, scope: Scope, key_id: str | None = None) -> list[Alias]:
        sql = "SELECT alias_name, key_id FROM aliases WHERE account=? AND region=?"
        args: tuple[str, ...] = (scope.account_id, scope.region)
        if key_id is not None:
            sql, args = sql + " AND key_id=?", (*args, key_id)
        return [Alias(str(n), str(k), scope) for n, k in self._all(sql + " ORDER BY rowid", args)]

    def count_aliases(self, scope: Scope) -> int:
        count = self._all("SELECT COUNT(*) FROM aliases WHERE account=? AND region=?", (scope.account_id, scope.region))
        return int(str(count[0][0]))

    def put_alias(self, alias: Alias) -> None:
        self._run("INSERT INTO aliases VALUES (?,?,?,?) ON CONFLICT DO UPDATE SET key_id=excluded.key_id",
                  (alias.scope.account_id, alias.scope.region, alias.alias_name, alias.key_id))  # fmt: skip

    def delete_alias(self, scope: Scope, name: str) -> None:
        self._run("DELETE FROM aliases WHERE account=? AND region=? AND alias_name=?",
                  (scope.account_id, scope.region, name))  # fmt: skip

    # --- tags ---------------------------------------------------------------------------------
    def get_tags(self, scope: Scope, key_id: str) -> dict[str, str]:
        rows = self._all("SELECT tag_key, tag_value FROM tags WHERE account=? AND region=? AND key_id=? ORDER BY rowid",
                         (scope.account_id, scope.region, key_id))  # fmt: skip
        return {str(k): str(v) for k, v in rows}

    def put_tag(self, scope: Scope, key_id: str, tag_key: str, tag_value: str) -> None:
        self._run("INSERT INTO tags VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET tag_value=excluded.tag_value",
                  (scope.account_id, scope.region, key_id, tag_key, tag_value))  # fmt: skip

    def delete_tag(self, scope: Scope, key_id: str, tag_key: str) -> None:
        self._run("DELETE FROM tags WHERE account=? AND region=? AND key_id=? AND tag_key=?",
                  (scope.account_id, scope.region, key_id, tag_key))  # fmt: skip


def _iso(value: datetime) -> str:
    return value.isoformat()


def _key(row: tuple[object, ...]) -> Key:
    (key_id, account, region, description, spec, usage, origin, level,
     state, created, deleted, primary, rotation) = row  # fmt: skip
    return Key(
        key_id=str(key_id), account_id=str(account), region=str(region), description=str(description),
        key_spec=str(spec), key_usage=str(usage), origin=str(origin), protection_level=str(level),
        state=str(state), creation_date=datetime.fromisoformat(str(created)),
        delete_date=datetime.fromisoformat(str(deleted)) if deleted else None,
        primary_version=str(primary), rotation_interval=int(rotation) if rotation is not None else None,  # type: ignore[call-overload]
    )
