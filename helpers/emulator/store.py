"""SQLite persistence for keys, versions, aliases and tags.

A file path or ":memory:". Several processes (one in-process emulator per Jupyter kernel) may
open the same file: WAL lets readers run beside one writer, the busy timeout makes writers wait
instead of failing, and every check-then-write (quotas, alias uniqueness) runs inside
``BEGIN IMMEDIATE`` so two processes cannot both pass a quota check. Within a process one
connection is shared behind a lock, which is simpler than a pool and fast enough (the GIL
serialises the Python side anyway).

Opening a file is strict (statefile.py has the rules): the file and its ``-wal``/``-shm`` must be
ours and private; it must pass ``PRAGMA quick_check``; and it must be the kit's own (marked with
``PRAGMA application_id``), new and empty, or an unmarked file of the kit's tables from before the
mark. Anything else (garbage, a damaged file, another application's database) is refused with a
``StateFileError`` before anything is written to it. Deleted keys do not linger: ``secure_delete``
zeroes their rows and a ``wal_checkpoint(TRUNCATE)`` after each deletion empties the WAL.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from . import errors, statefile
from .models import Alias, Key, Scope
from .statefile import StateFileError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, description TEXT NOT NULL,
  key_spec TEXT NOT NULL, key_usage TEXT NOT NULL, origin TEXT NOT NULL,
  protection_level TEXT NOT NULL, state TEXT NOT NULL, creation_date TEXT NOT NULL,
  delete_date TEXT, primary_version TEXT NOT NULL, rotation_interval INTEGER,
  last_rotation_date TEXT,
  PRIMARY KEY (account, region, key_id));
CREATE TABLE IF NOT EXISTS versions (
  version_id TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
  key_id TEXT NOT NULL, material BLOB, creation_date TEXT);
CREATE TABLE IF NOT EXISTS aliases (
  account TEXT NOT NULL, region TEXT NOT NULL, alias_name TEXT NOT NULL, key_id TEXT NOT NULL,
  PRIMARY KEY (account, region, alias_name));
CREATE TABLE IF NOT EXISTS tags (
  account TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL, PRIMARY KEY (account, region, key_id, tag_key));
-- secrets (queries in secret_store.py)
CREATE TABLE IF NOT EXISTS secrets (
  account TEXT NOT NULL, region TEXT NOT NULL, secret_name TEXT NOT NULL, secret_type TEXT NOT NULL,
  description TEXT NOT NULL, encryption_key_id TEXT NOT NULL, create_time TEXT NOT NULL,
  update_time TEXT NOT NULL, planned_delete_time TEXT,
  PRIMARY KEY (account, region, secret_name));
CREATE TABLE IF NOT EXISTS secret_versions (
  account TEXT NOT NULL, region TEXT NOT NULL, secret_name TEXT NOT NULL, version_id TEXT NOT NULL,
  data_type TEXT NOT NULL, blob BLOB NOT NULL, create_time TEXT NOT NULL,
  PRIMARY KEY (account, region, secret_name, version_id));
CREATE TABLE IF NOT EXISTS secret_stages (
  account TEXT NOT NULL, region TEXT NOT NULL, secret_name TEXT NOT NULL, stage TEXT NOT NULL,
  version_id TEXT NOT NULL, PRIMARY KEY (account, region, secret_name, stage));
CREATE TABLE IF NOT EXISTS secret_tags (
  account TEXT NOT NULL, region TEXT NOT NULL, secret_name TEXT NOT NULL, tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL, PRIMARY KEY (account, region, secret_name, tag_key));
CREATE TABLE IF NOT EXISTS secret_service_keys (
  account TEXT NOT NULL, region TEXT NOT NULL, version_id TEXT NOT NULL, material BLOB NOT NULL,
  PRIMARY KEY (account, region));
"""
# One statement at a time: executescript() would COMMIT the transaction the schema is made in.
_SCHEMA_STATEMENTS = [s.strip() for s in _SCHEMA.split(";") if s.strip()]
_KEY_COLUMNS = (
    "key_id, account, region, description, key_spec, key_usage, origin, protection_level, "
    "state, creation_date, delete_date, primary_version, rotation_interval, last_rotation_date"
)
_UPSERT_KEY = "ON CONFLICT (account, region, key_id) DO UPDATE SET " + ", ".join(
    f"{c}=excluded.{c}" for c in ("description", "state", "delete_date", "primary_version", "rotation_interval",
                                          "last_rotation_date")
)
_BUSY_TIMEOUT_MS = 10_000
#: PRAGMA application_id of the kit's state files: "KMSW"
APPLICATION_ID = 0x4B4D5357
#: PRAGMA user_version: the schema above; a file with a higher number comes from a newer kit.
#: 2 added keys.last_rotation_date and versions.creation_date (key versions and rotation).
SCHEMA_VERSION = 2
#: columns added after version 1, appended by ALTER TABLE when an older file is opened (NULL in
#: old rows: a key's last rotation is then its creation, see _migrate for versions)
_ADDED_COLUMNS = (("keys", "last_rotation_date", "TEXT"), ("versions", "creation_date", "TEXT"))
# Primary result codes (sqlite3.SQLITE_* names exist only from Python 3.11 on, kept literal here).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 3, 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26
_COMPANIONS = ("-wal", "-shm")

# Files this process has open through SQLite. Closing *any* descriptor of a file drops every POSIX
# lock the process holds on it, SQLite's included, so a second Store on the same file in this
# process checks names only (lstat) instead of opening and closing descriptors of its own.
_open_here: Counter[tuple[int, int]] = Counter()
_open_lock = threading.Lock()


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _expected_objects() -> tuple[set[tuple[str, str]], dict[str, list[str]]]:
    """What the schema creates: (type, name) of every object, and each table's columns."""
    db = sqlite3.connect(":memory:")
    try:
        for statement in _SCHEMA_STATEMENTS:
            db.execute(statement)
        return _objects(db)
    finally:
        db.close()


def _objects(db: sqlite3.Connection) -> tuple[set[tuple[str, str]], dict[str, list[str]]]:
    found = {(str(t), str(n)) for t, n in db.execute("SELECT type, name FROM sqlite_master")}
    columns = {name: [str(row[1]) for row in db.execute(f'PRAGMA table_info("{name}")')]
               for kind, name in found if kind == "table"}  # fmt: skip
    return found, columns


_EXPECTED = _expected_objects()


class Store:
    def __init__(self, path: str | Path | None = None) -> None:
        target = ":memory:" if path in (None, ":memory:") else str(Path(path).expanduser())
        self.path = target
        self._lock = threading.RLock()
        self._checkpoint_due = False
        self._identity: tuple[int, int] | None = None
        if target == ":memory:":
            self._db = _connect(target)
            _initialise(self._db)
        else:
            self._db = self._open_file(Path(target))

    def _open_file(self, path: Path) -> sqlite3.Connection:
        statefile.make_private_folder(path.parent)
        with _open_lock:
            identity = _identity(path)
            if identity is not None and _open_here[identity]:
                for suffix in ("", *_COMPANIONS, "-journal"):
                    statefile.check_name(Path(f"{path}{suffix}"), "emulator state")
                created: list[Path] = []
            else:
                created = _prepare_files(path)
            try:
                db = _open_checked(path)
            except StateFileError:
                for companion in created:  # leave a refused file as it was found
                    if companion.name != path.name and companion.exists() and companion.stat().st_size == 0:
                        companion.unlink()
                raise
            self._identity = _identity(path)
            if self._identity is not None:
                _open_here[self._identity] += 1
        return db

    def close(self) -> None:
        with self._lock, _open_lock:
            self._db.close()
            if self._identity is not None:
                _open_here[self._identity] -= 1
                self._identity = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """An IMMEDIATE write transaction: takes the file's write lock up front (multi-process safe)."""
        with self._lock:
            if self._db.in_transaction:  # nested use joins the outer transaction
                yield
                return
            with _full_is_503():
                self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                with _full_is_503():
                    self._db.execute("COMMIT")
            except BaseException:
                self._rollback()  # also after a failed COMMIT, which leaves the transaction open
                raise
            if self._checkpoint_due:
                self._checkpoint()

    def _rollback(self) -> None:
        # SQLite rolls some failures back by itself (SQLITE_FULL may): ROLLBACK only what is open.
        if self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing more can be done here; the original error is the one to report

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and truncate it, so a deleted key's material leaves the WAL too."""
        try:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            busy = 1  # e.g. the disk is full: try again after the next write
        self._checkpoint_due = bool(busy)  # another process was reading: the next commit retries

    def _all(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock, _full_is_503():
            return self._db.execute(sql, args).fetchall()

    def _run(self, sql: str, args: tuple[object, ...]) -> None:
        with self._lock, _full_is_503():
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
        self._run(f"INSERT INTO keys ({_KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) {_UPSERT_KEY}", (
            key.key_id, key.account_id, key.region, key.description, key.key_spec, key.key_usage,
            key.origin, key.protection_level, key.state, _iso(key.creation_date),
            _iso(key.delete_date) if key.delete_date else None, key.primary_version, key.rotation_interval,
            _iso(key.last_rotation_date) if key.last_rotation_date else None))  # fmt: skip

    def delete_key(self, scope: Scope, key_id: str) -> None:
        args = (scope.account_id, scope.region, key_id)
        with self._lock:
            for table in ("keys", "versions", "aliases", "tags"):
                self._run(f"DELETE FROM {table} WHERE account=? AND region=? AND key_id=?", args)
            self._checkpoint_due = True  # secure_delete zeroed the rows; the WAL still has old copies
            if not self._db.in_transaction:
                self._checkpoint()

    # --- versions -----------------------------------------------------------------------------
    def add_version(self, scope: Scope, key_id: str, version_id: str, material: bytes | None,
                    creation_date: datetime) -> None:  # fmt: skip
        self._run("INSERT INTO versions (version_id, account, region, key_id, material, creation_date) "
                  "VALUES (?,?,?,?,?,?)",
                  (version_id, scope.account_id, scope.region, key_id, material, _iso(creation_date)))  # fmt: skip

    def list_versions(self, scope: Scope, key_id: str) -> list[tuple[str, datetime | None]]:
        """(version id, creation date) of a key's versions, oldest first; never material."""
        rows = self._all("SELECT version_id, creation_date FROM versions WHERE account=? AND region=? AND key_id=? "
                         "ORDER BY rowid", (scope.account_id, scope.region, key_id))  # fmt: skip
        return [(str(v), datetime.fromisoformat(str(d)) if d else None) for v, d in rows]

    def count_versions(self, scope: Scope, key_id: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM versions WHERE account=? AND region=?"
        args: tuple[str, ...] = (scope.account_id, scope.region)
        if key_id is not None:
            sql, args = sql + " AND key_id=?", (*args, key_id)
        return int(str(self._all(sql, args)[0][0]))

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
     state, created, deleted, primary, rotation, rotated) = row  # fmt: skip
    return Key(
        key_id=str(key_id), account_id=str(account), region=str(region), description=str(description),
        key_spec=str(spec), key_usage=str(usage), origin=str(origin), protection_level=str(level),
        state=str(state), creation_date=datetime.fromisoformat(str(created)),
        delete_date=datetime.fromisoformat(str(deleted)) if deleted else None,
        primary_version=str(primary), rotation_interval=int(rotation) if rotation is not None else None,  # type: ignore[call-overload]
        last_rotation_date=datetime.fromisoformat(str(rotated)) if rotated else None,
    )


# --- opening a file -------------------------------------------------------------------------------
def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
    # check_same_thread=False: the connection is shared by server threads, guarded by Store._lock.
    db = sqlite3.connect(target, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False, uri=uri)
    db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free space
    return db


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _prepare_files(path: Path) -> list[Path]:
    """Before SQLite opens anything by name: the file, -wal and -shm exist, ours and 0600.

    SQLite would create a missing -wal/-shm itself, but would also adopt one planted by another
    user (and write key material into it), so they are made here, exclusively. Returns what was made.
    """
    created: list[Path] = []
    for suffix in ("", *_COMPANIONS):
        name = Path(f"{path}{suffix}")
        fd, new = statefile.open_private(name, "emulator state")
        os.close(fd)  # before SQLite opens it: closing later would drop SQLite's locks (see _open_here)
        if new:
            created.append(name)
    _check_journal(Path(f"{path}-journal"))
    return created


def _check_journal(journal: Path, attempts: int = 3) -> None:
    """A hot rollback journal is replayed into the file, so it must be one of ours.

    Another process opening the same state file (kernels sharing it) makes and deletes its own
    -journal for a moment, until its database is in WAL mode: a journal that is gone by the time it
    is judged (not found, or judged with no links left) was no threat. One that stays is judged again.
    """
    for attempt in range(attempts):
        if not os.path.lexists(journal):
            return
        try:
            os.close(statefile.open_existing(journal, "emulator state", write=True))
            return
        except StateFileError:
            if not os.path.lexists(journal):
                return
            if attempt == attempts - 1:
                raise
            time.sleep(0.01)


def _open_checked(path: Path) -> sqlite3.Connection:
    """Connect, and refuse what is not a healthy state file of this kit before writing anything."""
    # mode=rw: never create the file by name here (it was made safely above).
    db = _connect(path.absolute().as_uri() + "?mode=rw", uri=True)
    try:
        rows = [str(r[0]) for r in db.execute("PRAGMA quick_check")]
        if rows != ["ok"]:
            raise StateFileError(f"{path} is damaged (SQLite quick_check: {rows[0]}); restore it from a backup, "
                                 "or move it away to start again with no keys.")  # fmt: skip
        for suffix in ("", *_COMPANIONS):  # whatever SQLite opened while reading must still be ours
            statefile.check_name(Path(f"{path}{suffix}"), "emulator state")
        _classify(db, path)  # raises for another application's database, before anything is written
        db.execute("PRAGMA journal_mode=WAL")  # WAL/SHM files are the 0600 ones made above
        db.execute("PRAGMA synchronous=NORMAL")
        for suffix in _COMPANIONS:
            statefile.check_name(Path(f"{path}{suffix}"), "emulator state")
        _initialise(db, path)
    except sqlite3.Error as exc:
        db.close()
        raise _open_error(path, exc) from exc
    except BaseException:
        db.close()
        raise
    return db


def _classify(db: sqlite3.Connection, path: Path | None) -> str:
    """"ours" (marked), "new" (no tables yet) or "unmarked" (the kit's tables from before the mark)."""
    app_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if app_id == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise StateFileError(f"{path} was written by a newer version of the kit (schema {version}); "
                                 "update the kit, or choose another state file.")  # fmt: skip
        return "ours"
    if app_id != 0:
        raise StateFileError(f"{path} is another application's SQLite database (application_id {app_id:#x}), "
                             "not an emulator state file; it was left untouched. Choose another state file.")  # fmt: skip
    found, columns = _objects(db)
    if not found:
        return "new"
    expected, expected_columns = _EXPECTED
    # an older kit's tables have a prefix of today's columns (later ones are appended, _ADDED_COLUMNS)
    if found <= expected and all(expected_columns[t][: len(columns[t])] == columns[t] for t in columns):
        return "unmarked"
    others = sorted(name for _, name in found - expected) or sorted(columns)
    raise StateFileError(f"{path} is an SQLite database with other tables ({', '.join(others[:5])}), not an "
                         "emulator state file; it was left untouched. Choose another state file.")  # fmt: skip


def _initialise(db: sqlite3.Connection, path: Path | None = None) -> None:
    """Create the tables and mark the file as the kit's, once, even with several processes racing."""
    if _classify(db, path) == "ours" and not _missing_tables(db) and not _outdated(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        # another process may have done it meanwhile; a file of an older kit gets the newer tables
        if _classify(db, path) != "ours" or _missing_tables(db) or _outdated(db):
            for statement in _SCHEMA_STATEMENTS:
                db.execute(statement)
            _migrate(db)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _outdated(db: sqlite3.Connection) -> bool:
    return int(db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older kit's tables up to SCHEMA_VERSION, inside _initialise's transaction."""
    for table, column, declaration in _ADDED_COLUMNS:
        if column not in {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    # Before versions had dates every key had exactly one version, made with the key.
    db.execute("UPDATE versions SET creation_date = (SELECT k.creation_date FROM keys k WHERE k.account = "
               "versions.account AND k.region = versions.region AND k.key_id = versions.key_id) "
               "WHERE creation_date IS NULL")  # fmt: skip


def _missing_tables(db: sqlite3.Connection) -> bool:
    """A marked file from before a table was added (e.g. the secrets tables) lacks it."""
    return not _EXPECTED[0] <= {(str(t), str(n)) for t, n in db.execute("SELECT type, name FROM sqlite_master")}


def _open_error(path: Path, exc: sqlite3.Error) -> StateFileError:
    code = _code(exc)
    if code == _SQLITE_NOTADB:
        return StateFileError(f"{path} is not an SQLite database (garbage, or another kind of file); move it away, "
                              "or choose another state file (a missing file is created).")  # fmt: skip
    if code == _SQLITE_CORRUPT:
        return StateFileError(f"{path} is damaged ({exc}); restore it from a backup, or move it away to start "
                              "again with no keys.")  # fmt: skip
    if code == _SQLITE_FULL:
        return StateFileError(f"No space left on the disk that holds {path}; free some space, or choose another place.")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StateFileError(f"{path} stayed locked by another program for {_BUSY_TIMEOUT_MS // 1000} s; close "
                              "it (a database browser?) and start again.")  # fmt: skip
    if code in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN, _SQLITE_IOERR):
        return StateFileError(f"Cannot write {path} ({exc}); check that it and its folder are yours and writable, "
                              "or choose another state file.")  # fmt: skip
    return StateFileError(f"Cannot use {path} as the emulator's state ({exc}); move it away, or choose another file.")


@contextmanager
def _full_is_503() -> Iterator[None]:
    """A full disk is a 503 in the service's shape, not a 500 with a traceback per request."""
    try:
        yield
    except sqlite3.Error as exc:
        if _code(exc) == _SQLITE_FULL:
            raise errors.StateStorageFull() from exc
        raise
