"""State files: planted files and links refused, deleted keys scrubbed, bad files explained in one
line, a full disk answered 503, missing folders made 0700.

Planting another user's file needs root (os.chown); without root those cases report what they
did not check and still run the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import helpers
from helpers.emulator import Emulator, errors, models
from helpers.emulator.backend import KmsBackend
from helpers.emulator.cli import main
from helpers.emulator.models import Scope
from helpers.emulator.statefile import StateFileError
from helpers.emulator.store import APPLICATION_ID, Store
from helpers.errors import ConfigError
from tests.conftest import emulator_call_with, emulator_client_for

ROOT = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
OTHER_UID = 65534  # nobody
SCOPE = Scope("1234567890123456", "cn-hangzhou")


def not_checked(capsys: pytest.CaptureFixture[str], what: str) -> None:
    with capsys.disabled():
        print(f"\n[state files] NOT CHECKED without root: {what}")


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A folder like /tmp: anyone may create files, only owners may remove them (sticky)."""
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o1777)
    return folder


def made_state(path: Path, keys: int = 3) -> None:
    backend = KmsBackend(Store(path))
    for i in range(keys):
        backend.create_key(SCOPE, description=f"k{i}" * 500)
    backend.store.close()


# --- item 10: planted files and links ------------------------------------------------------------
def test_planted_symlink_to_the_victims_file_is_refused_untouched(shared: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    os.chmod(victim, 0o644)
    (shared / "state.sqlite").symlink_to(victim)
    with pytest.raises(StateFileError, match="symbolic link"):
        Store(shared / "state.sqlite")
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644 and victim.read_text() == "mine"


def test_dangling_symlink_creates_nothing_where_it_points(shared: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.sqlite"
    (shared / "state.sqlite").symlink_to(target)
    with pytest.raises(StateFileError, match="symbolic link"):
        Store(shared / "state.sqlite")
    assert not target.exists()


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_planted_companion_links_are_refused(shared: Path, tmp_path: Path, suffix: str) -> None:
    dangling, victim = tmp_path / f"catch{suffix}", tmp_path / "victim.txt"
    victim.write_text("mine")
    os.chmod(victim, 0o644)
    for target in (dangling, victim):
        Path(f"{shared / 'state.sqlite'}{suffix}").unlink(missing_ok=True)
        Path(f"{shared / 'state.sqlite'}{suffix}").symlink_to(target)
        with pytest.raises(StateFileError, match="symbolic link"):
            Store(shared / "state.sqlite")
    assert not dangling.exists()
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644 and victim.read_text() == "mine"


def test_a_journal_another_process_deletes_while_it_is_judged_is_no_error(shared: Path, monkeypatch) -> None:
    """Kernels sharing one new state file: each one's SQLite makes and deletes a -journal for a
    moment; one that is gone (or unlinked under the open descriptor) by the time it is judged is
    not a hot journal, and must not stop another kernel from starting."""
    from helpers.emulator import statefile, store

    journal = Path(f"{shared / 'state.sqlite'}-journal")
    real, calls = statefile.open_existing, []

    def deleted_meanwhile(path: Path, what: str, *, write: bool) -> int:
        calls.append(path)
        fd = real(path, what, write=write)
        if path == journal:
            os.unlink(path)  # the other process's SQLite is done with it
            try:
                statefile._check_descriptor(fd, path, what)  # judged now: 0 links
            finally:
                os.close(fd)
        return fd

    journal.write_bytes(b"")
    os.chmod(journal, 0o600)
    monkeypatch.setattr(statefile, "open_existing", deleted_meanwhile)
    Store(shared / "state.sqlite").close()
    assert journal in calls and not journal.exists()


def test_a_journal_that_stays_hard_linked_is_still_refused_after_the_retries(shared: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-name"
    other.write_bytes(b"")
    os.link(other, Path(f"{shared / 'state.sqlite'}-journal"))
    with pytest.raises(StateFileError, match="2 hard links"):
        Store(shared / "state.sqlite")


def test_hard_linked_state_file_is_refused(shared: Path, tmp_path: Path) -> None:
    other = shared / "other-name"
    other.write_bytes(b"")
    os.link(other, shared / "state.sqlite")
    with pytest.raises(StateFileError, match="2 hard links"):
        Store(shared / "state.sqlite")


def test_fifo_is_refused_without_hanging(shared: Path) -> None:
    os.mkfifo(shared / "state.sqlite")
    with pytest.raises(StateFileError, match="not a regular file"):
        Store(shared / "state.sqlite")


def test_own_world_writable_wal_is_made_private_before_use(shared: Path) -> None:
    path = shared / "state.sqlite"
    wal = Path(f"{path}-wal")
    wal.touch()
    os.chmod(wal, 0o666)
    store = Store(path)
    try:
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        store.close()


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_attacker_owned_files_are_refused_and_not_read(shared: Path, suffix: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    if not IS_ROOT:
        not_checked(capsys, f"an attacker-owned state{suffix} file (os.chown needs root)")
        return
    path = shared / "state.sqlite"
    planted = Path(f"{path}{suffix}")
    planted.write_bytes(b"")
    os.chmod(planted, 0o666)
    os.chown(planted, OTHER_UID, OTHER_UID)
    with pytest.raises(StateFileError, match=f"another user \\(uid {OTHER_UID}\\)"):
        Store(path)
    assert planted.stat().st_size == 0 and stat.S_IMODE(planted.stat().st_mode) == 0o666


def test_folder_of_another_user_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not IS_ROOT:
        not_checked(capsys, "a folder owned by another user (os.chown needs root)")
        return
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, OTHER_UID, OTHER_UID)
    with pytest.raises(StateFileError, match="belongs to another user"):
        Store(theirs / "state.sqlite")
    assert list(theirs.iterdir()) == []


# --- item 13: folders 0700 whatever the umask ----------------------------------------------------
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_missing_folders_are_made_0700_under_any_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "a" / "b" / "c" / "state.sqlite"
    old = os.umask(umask)
    try:
        Store(path).close()
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- item 11: deleted keys leave no material behind ----------------------------------------------
def test_deleted_key_material_is_gone_from_the_file_and_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    now = [datetime(2026, 1, 5, tzinfo=timezone.utc)]
    store = Store(path)
    backend = KmsBackend(store, clock=lambda: now[0])
    try:
        keep = backend.create_key(SCOPE)
        doomed = backend.create_key(SCOPE)
        material = store.get_version(SCOPE, doomed.primary_version)[1]  # type: ignore[index]
        assert material is not None and len(material) == 32

        def raw() -> bytes:
            return b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal") if Path(f"{path}{s}").exists())

        assert material in raw()  # the check below can fail: the material is there before deletion
        _, blob = backend.encrypt(SCOPE, doomed.key_id, b"x", None)
        backend.decrypt(SCOPE, blob, None)  # the version's material is now cached in the process too
        assert material in [m for _, m in backend._versions.values()]
        backend.schedule_key_deletion(SCOPE, doomed.key_id, 7)
        now[0] += timedelta(days=8)
        with pytest.raises(errors.KeyNotFound):
            backend.resolve(SCOPE, doomed.key_id)  # deletion is lazy: this look-up deletes it
        assert material not in raw()
        assert material not in [m for _, m in backend._versions.values()]
        assert backend.resolve(SCOPE, keep.key_id).state == models.ENABLED
    finally:
        store.close()


# --- item 12: bad files, one line each -----------------------------------------------------------
def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign_db(path: Path, app_id: int = 0) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes (body) VALUES ('not a kms key')")
    if app_id:
        db.execute(f"PRAGMA application_id={app_id}")
    db.commit()
    db.close()


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 100)


def truncated(path: Path) -> None:
    made_state(path, keys=20)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def corrupt_pages(path: Path) -> None:
    made_state(path, keys=20)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page, len(data), page):
        data[offset : offset + 8] = b"\xff" * 8  # every b-tree page header but the first page's
    path.write_bytes(bytes(data))


def newer_kit(path: Path) -> None:
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()


BAD_FILES = {
    "garbage": (garbage, "not an SQLite database"),
    "truncated": (truncated, "damaged"),
    "corrupt pages": (corrupt_pages, "damaged"),
    "another application's database": (foreign_db, "other tables \\(notes\\)"),
    "another application id": (lambda p: foreign_db(p, 0x12345), "another application's SQLite database"),
    "a newer kit's file": (newer_kit, "newer version of the kit"),
    "a directory": (lambda p: p.mkdir(), "is a folder, not a file"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_state_file_is_one_line_exit_2_and_a_config_error(tmp_path: Path, case: str,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    make, why = BAD_FILES[case]
    path = tmp_path / "state.sqlite"
    make(path)
    before = sha(path) if path.is_file() else None
    with pytest.raises(StateFileError, match=why):
        Store(path)
    assert main(["--state", str(path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    monkeypatch.setenv("KMS_WORKSHOP_STATE", str(path))
    monkeypatch.delenv("KMS_WORKSHOP_ENDPOINT", raising=False)
    with pytest.raises(ConfigError, match=why):
        helpers.connect("emulator")
    if before is not None:
        assert sha(path) == before  # refused without modification (no tables added, no mark)
    leftovers = {p.name for p in tmp_path.iterdir()} - {"state.sqlite"}
    assert not any(name.endswith(("-wal", "-shm")) for name in leftovers), leftovers


def test_unmarked_file_of_the_kits_own_tables_is_adopted_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    made_state(path, keys=2)
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id=0")  # as written before files were marked
    db.close()
    store = Store(path)
    try:
        assert len(store.list_keys(SCOPE)) == 2
        assert store._db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    finally:
        store.close()


def test_read_only_state_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.sqlite"
    made_state(path, keys=1)
    os.chmod(path, 0o400)
    command = [sys.executable, "-m", "helpers.emulator", "--state", str(path), "--port", "0"]
    if IS_ROOT:  # root ignores modes; without CAP_DAC_OVERRIDE it is held to them like anyone
        if shutil.which("setpriv") is None:
            not_checked(capsys, "a read-only state file (root ignores modes; setpriv is not installed)")
            return
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "permission denied" in out.stderr and "chmod 600" in out.stderr


# --- item 12: a full disk is a 503, and the connection stays usable ------------------------------
@pytest.fixture
def full(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Emulator, Any]]:
    with Emulator(tmp_path / "state.sqlite") as emu:
        call = emulator_call_with(emulator_client_for(emu, auto_retry=False))
        call("CreateKey")
        assert emu._store is not None
        pages = emu._store._db.execute("PRAGMA page_count").fetchone()[0]
        emu._store._db.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL as soon as the file must grow
        yield emu, call


def test_full_disk_answers_503_in_the_service_shape(full: tuple[Emulator, Any], caplog: pytest.LogCaptureFixture) -> None:
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    emu, call = full
    with pytest.raises(ServerException) as info:
        for _ in range(200):
            call("CreateKey", Description="x" * 4000)
    assert (info.value.get_http_status(), info.value.get_error_code()) == (503, "ServiceUnavailableTemporary")
    assert "disk is full" in info.value.get_error_msg() and info.value.get_request_id()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no traceback per request
    assert emu._store is not None and not emu._store._db.in_transaction
    emu._store._db.execute("PRAGMA max_page_count=1073741823")  # space freed: the same connection works
    key_id = call("CreateKey", Description="after")["KeyMetadata"]["KeyId"]
    assert call("DescribeKey", KeyId=key_id)["KeyMetadata"]["Description"] == "after"


class _FailingCommit:
    """The store's connection, except that COMMIT fails like a disk that filled up at that moment."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.failures = db, 1

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.failures:
            self.failures -= 1
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13  # type: ignore[attr-defined]
            raise error
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_failed_commit_is_rolled_back_and_the_store_stays_usable(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    real = store._db
    store._db = _FailingCommit(real)  # type: ignore[assignment]
    backend = KmsBackend(store)
    try:
        with pytest.raises(errors.StateStorageFull):
            backend.create_key(SCOPE, description="lost")
        assert not real.in_transaction  # a failed COMMIT used to leave the transaction open
        assert store.list_keys(SCOPE) == []
        kept = backend.create_key(SCOPE, description="kept")
        assert [k.key_id for k in store.list_keys(SCOPE)] == [kept.key_id]
    finally:
        store._db = real
        store.close()


def test_store_json_error_shape_for_state_full() -> None:
    assert issubclass(errors.StateStorageFull, errors.ServiceUnavailableTemporary)
    assert (errors.StateStorageFull.code, errors.StateStorageFull.http_status) == ("ServiceUnavailableTemporary", 503)
    assert json.dumps(errors.StateStorageFull().message)  # the message is plain text for the JSON body
