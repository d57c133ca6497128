"""SQLite rows of secrets: the secret, its versions (each value sealed under a CMK), which version
holds which stage label, its tags, and each account's default secrets key.

Only SQL lives here (the rules are in ``vault.py``). The tables (``secrets``, ``secret_versions``,
``secret_stages``, ``secret_tags``, ``secret_service_keys``) are part of the state file's schema in
``store._SCHEMA``, so a state file that holds secrets is still recognised as the kit's own; the
queries use the Store's lock, transactions and error handling (``transaction``, ``_all``, ``_run``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from .models import Scope
from .store import Store

_TABLES = ("secrets", "secret_versions", "secret_stages", "secret_tags")
_SECRET_COLUMNS = ("secret_name, secret_type, description, encryption_key_id, create_time, update_time, "
                   "planned_delete_time")  # fmt: skip


@dataclass(frozen=True)
class Secret:
    """A secret's metadata (never its value)."""

    name: str
    secret_type: str
    description: str
    #: the CMK's key id, or "" for the account's default secrets key
    encryption_key_id: str
    create_time: datetime
    update_time: datetime
    planned_delete_time: datetime | None = None


@dataclass(frozen=True)
class SecretVersion:
    version_id: str
    data_type: str
    blob: bytes
    create_time: datetime


class SecretStore:
    """The secrets' SQL over a ``Store``; every method takes the caller's Scope."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[None]:
        return self.store.transaction()

    # --- secrets ----------------------------------------------------------------------------
    def get(self, scope: Scope, name: str) -> Secret | None:
        rows = self.store._all(f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE account=? AND region=? AND secret_name=?",
                               (scope.account_id, scope.region, name))  # fmt: skip
        return _secret(rows[0]) if rows else None

    def secrets(self, scope: Scope) -> list[Secret]:
        rows = self.store._all(f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE account=? AND region=? ORDER BY rowid",
                               (scope.account_id, scope.region))  # fmt: skip
        return [_secret(r) for r in rows]

    def put(self, scope: Scope, secret: Secret) -> None:
        self.store._run(
            "INSERT INTO secrets VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (account, region, secret_name) DO UPDATE SET "
            "description=excluded.description, update_time=excluded.update_time, "
            "planned_delete_time=excluded.planned_delete_time",
            (scope.account_id, scope.region, secret.name, secret.secret_type, secret.description,
             secret.encryption_key_id, secret.create_time.isoformat(), secret.update_time.isoformat(),
             secret.planned_delete_time.isoformat() if secret.planned_delete_time else None),
        )  # fmt: skip

    def delete(self, scope: Scope, name: str) -> None:
        """The secret, every version and stage and tag: gone from the file and (at commit) its WAL."""
        for table in _TABLES:
            self.store._run(f"DELETE FROM {table} WHERE account=? AND region=? AND secret_name=?",
                            (scope.account_id, scope.region, name))  # fmt: skip
        # secure_delete zeroed the rows; the transaction's commit then truncates the WAL's old copies.
        self.store._checkpoint_due = True

    # --- versions ---------------------------------------------------------------------------
    def versions(self, scope: Scope, name: str) -> list[SecretVersion]:
        """Oldest first."""
        rows = self.store._all("SELECT version_id, data_type, blob, create_time FROM secret_versions "
                               "WHERE account=? AND region=? AND secret_name=? ORDER BY rowid",
                               (scope.account_id, scope.region, name))  # fmt: skip
        return [SecretVersion(str(v), str(t), bytes(b), datetime.fromisoformat(str(c))) for v, t, b, c in rows]  # type: ignore[call-overload]

    def version(self, scope: Scope, name: str, version_id: str) -> SecretVersion | None:
        rows = self.store._all("SELECT version_id, data_type, blob, create_time FROM secret_versions "
                               "WHERE account=? AND region=? AND secret_name=? AND version_id=?",
                               (scope.account_id, scope.region, name, version_id))  # fmt: skip
        if not rows:
            return None
        v, t, b, c = rows[0]
        return SecretVersion(str(v), str(t), bytes(b), datetime.fromisoformat(str(c)))  # type: ignore[call-overload]

    def add_version(self, scope: Scope, name: str, version: SecretVersion) -> None:
        self.store._run("INSERT INTO secret_versions VALUES (?,?,?,?,?,?,?)",
                        (scope.account_id, scope.region, name, version.version_id, version.data_type, version.blob,
                         version.create_time.isoformat()))  # fmt: skip

    def delete_version(self, scope: Scope, name: str, version_id: str) -> None:
        self.store._run("DELETE FROM secret_versions WHERE account=? AND region=? AND secret_name=? AND version_id=?",
                        (scope.account_id, scope.region, name, version_id))  # fmt: skip
        self.store._checkpoint_due = True

    # --- stages -----------------------------------------------------------------------------
    def stages(self, scope: Scope, name: str) -> dict[str, str]:
        """Stage label -> version id."""
        rows = self.store._all("SELECT stage, version_id FROM secret_stages WHERE account=? AND region=? "
                               "AND secret_name=? ORDER BY rowid", (scope.account_id, scope.region, name))  # fmt: skip
        return {str(s): str(v) for s, v in rows}

    def set_stage(self, scope: Scope, name: str, stage: str, version_id: str) -> None:
        self.store._run("INSERT INTO secret_stages VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                        "version_id=excluded.version_id",
                        (scope.account_id, scope.region, name, stage, version_id))  # fmt: skip

    def remove_stage(self, scope: Scope, name: str, stage: str) -> None:
        self.store._run("DELETE FROM secret_stages WHERE account=? AND region=? AND secret_name=? AND stage=?",
                        (scope.account_id, scope.region, name, stage))  # fmt: skip

    # --- tags -------------------------------------------------------------------------------
    def tags(self, scope: Scope, name: str) -> dict[str, str]:
        rows = self.store._all("SELECT tag_key, tag_value FROM secret_tags WHERE account=? AND region=? "
                               "AND secret_name=? ORDER BY rowid", (scope.account_id, scope.region, name))  # fmt: skip
        return {str(k): str(v) for k, v in rows}

    def put_tag(self, scope: Scope, name: str, key: str, value: str) -> None:
        self.store._run("INSERT INTO secret_tags VALUES (?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                        "tag_value=excluded.tag_value", (scope.account_id, scope.region, name, key, value))  # fmt: skip

    def delete_tag(self, scope: Scope, name: str, key: str) -> None:
        self.store._run("DELETE FROM secret_tags WHERE account=? AND region=? AND secret_name=? AND tag_key=?",
                        (scope.account_id, scope.region, name, key))  # fmt: skip

    # --- the default secrets key --------------------------------------------------------------
    def service_key(self, scope: Scope) -> tuple[str, bytes] | None:
        rows = self.store._all("SELECT version_id, material FROM secret_service_keys WHERE account=? AND region=?",
                               (scope.account_id, scope.region))  # fmt: skip
        return (str(rows[0][0]), bytes(rows[0][1])) if rows else None  # type: ignore[call-overload]

    def add_service_key(self, scope: Scope, version_id: str, material: bytes) -> None:
        self.store._run("INSERT INTO secret_service_keys VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                        (scope.account_id, scope.region, version_id, material))  # fmt: skip


def _secret(row: tuple[object, ...]) -> Secret:
    name, kind, description, key_id, created, updated, planned = row
    return Secret(str(name), str(kind), str(description), str(key_id), datetime.fromisoformat(str(created)),
                  datetime.fromisoformat(str(updated)), datetime.fromisoformat(str(planned)) if planned else None)  # fmt: skip
