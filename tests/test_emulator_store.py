"""SQLite state: private files, restart survival, several processes and threads at once."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.emulator import Emulator
from helpers.emulator.statefile import StateFileError
from helpers.emulator.store import Store
from tests.conftest import emulator_call_with, emulator_client_for


def test_store_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "state.sqlite"
    with Emulator(path) as emu:
        emulator_call_with(emulator_client_for(emu))("CreateKey")
        for suffix in ("", "-wal", "-shm"):
            assert stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode) == 0o600, suffix
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_store_tightens_a_loose_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_store_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(StateFileError, match="writable by others"):
        Store(shared / "state.sqlite")


def test_store_restart_keeps_every_key_working(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    blobs: dict[str, str] = {}
    with Emulator(path) as emu:
        call = emulator_call_with(emulator_client_for(emu))
        for i in range(5):
            key_id = call("CreateKey", Description=f"k{i}")["KeyMetadata"]["KeyId"]
            blobs[key_id] = call("Encrypt", KeyId=key_id, Plaintext=f"secret {i}")["CiphertextBlob"]
        call("CreateAlias", KeyId=next(iter(blobs)), AliasName="alias/kept")
    with Emulator(path) as emu:  # a new process would see the same: nothing lives only in memory
        call = emulator_call_with(emulator_client_for(emu))
        for i, (key_id, blob) in enumerate(blobs.items()):
            answer = call("Decrypt", CiphertextBlob=blob)
            assert (answer["KeyId"], answer["Plaintext"]) == (key_id, f"secret {i}")
        assert call("DescribeKey", KeyId="alias/kept")["KeyMetadata"]["KeyId"] == next(iter(blobs))


def test_store_concurrent_threads(emulator_server: Emulator) -> None:
    call = emulator_call_with(emulator_client_for(emulator_server))
    key_id = call("CreateKey")["KeyMetadata"]["KeyId"]

    def work(i: int) -> bool:
        mine = emulator_call_with(emulator_client_for(emulator_server))
        blob = mine("Encrypt", KeyId=key_id, Plaintext=f"t{i}")["CiphertextBlob"]
        mine("CreateAlias", KeyId=key_id, AliasName=f"alias/t{i}")
        return bool(mine("Decrypt", CiphertextBlob=blob)["Plaintext"] == f"t{i}")

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(40)))
    assert call("ListAliases", PageSize=100)["TotalCount"] == 40


_WORKER = textwrap.dedent(
    """
    import json, sys
    from helpers.emulator import Emulator
    from tests.conftest import emulator_call_with, emulator_client_for
    with Emulator(sys.argv[1]) as emu:            # one in-process emulator per "kernel"
        call = emulator_call_with(emulator_client_for(emu))
        made = 0
        for i in range(int(sys.argv[2])):
            try:
                call("CreateKey"); made += 1
            except Exception as exc:
                assert "Rejected.LimitExceeded" in str(exc), exc
        print(made)
    """
)


def test_store_processes_share_one_file_and_one_quota(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    Store(path).close()
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(path), "80"], stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).parent.parent) for _ in range(3)]  # fmt: skip
    made = [int(w.communicate(timeout=120)[0].strip()) for w in workers]
    assert all(w.returncode == 0 for w in workers)
    assert sum(made) == 200  # 240 attempts, exactly the quota succeeded: no lost or doubled writes
    with Emulator(path) as emu:
        assert emulator_call_with(emulator_client_for(emu))("ListKeys")["TotalCount"] == 200
