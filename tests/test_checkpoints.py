"""The room's checkpoints (helpers/checkpoints.py): each moves from todo to ok as the learner gets
through the agenda, and a plaintext key on disk or a ciphertext that does not decrypt is a FAIL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import helpers
from helpers import checkpoints
from helpers.__main__ import main as cli
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)

CERTS = Path(__file__).resolve().parents[1] / "notebooks" / "certs"


@pytest.fixture
def room(emulator, tmp_path, monkeypatch):  # noqa: F811
    """A learner's notebooks folder with work/, and a client of their own on a shared emulator."""
    monkeypatch.setenv("KMS_WORKSHOP_LEARNER", f"cp{tmp_path.name[-6:].replace('_', '')}")
    (tmp_path / "work").mkdir()
    with helpers.connect("emulator", endpoint=emulator.endpoint) as kms:
        yield kms, tmp_path


def states(kms, folder) -> dict[str, str]:
    return {c.name: c.state for c in checkpoints.run(kms, folder)}


def encrypt_key(kms, folder, context=checkpoints.CONTEXT):
    alias = helpers.workshop.alias(kms, checkpoints.KEY_NAME)
    helpers.ensure_key(kms, alias, "Apollo work key")
    helpers.encrypt_file(CERTS / "server.key", folder / checkpoints.CIPHER, alias,
                         encryption_context=context, overwrite=True, kms=kms)  # fmt: skip
    return alias


def test_checkpoints_a_fresh_learner_is_ready_with_the_rest_still_to_do(room):
    kms, folder = room
    assert states(kms, folder) == {"ready": "ok", "named key": "todo", "encrypted": "todo", "no plaintext": "ok"}
    lines = [str(c) for c in checkpoints.run(kms, folder)]
    assert "run 02_create_alias" in lines[1] and "run 03_encrypt_private_key" in lines[2]


def test_checkpoints_pass_in_order_as_the_notebooks_are_done(room):
    kms, folder = room
    helpers.ensure_key(kms, helpers.workshop.alias(kms, checkpoints.KEY_NAME), "Apollo work key")
    assert states(kms, folder)["named key"] == "ok" and states(kms, folder)["encrypted"] == "todo"
    encrypt_key(kms, folder)
    assert set(states(kms, folder).values()) == {"ok"}


def test_checkpoints_a_decrypted_key_left_under_work_fails_and_is_named_not_shown(room, capsys):
    kms, folder = room
    (folder / "work" / "old").mkdir()
    shutil.copy(CERTS / "server.key", folder / "work" / "old" / "server.key")
    assert checkpoints.report(kms, folder) is False
    out = capsys.readouterr().out
    assert "FAIL" in out and "work/old/server.key" in out
    assert "BEGIN" not in out and (CERTS / "server.key").read_text().splitlines()[1] not in out


def test_checkpoints_a_ciphertext_from_another_context_fails_saying_what_to_redo(room):
    kms, folder = room
    encrypt_key(kms, folder, context={"purpose": "something-else"})
    (found,) = [c for c in checkpoints.run(kms, folder) if c.name == "encrypted"]
    assert found.state == "FAIL" and "does not decrypt with 03's context" in found.detail and "re-run 03" in found.detail


def test_checkpoints_a_plaintext_key_in_the_cipher_file_fails(room):
    kms, folder = room
    shutil.copy(CERTS / "server.key", folder / checkpoints.CIPHER)
    assert states(kms, folder)["encrypted"] == "FAIL"


def test_checkpoints_a_disabled_workshop_key_fails(room):
    kms, folder = room
    alias = encrypt_key(kms, folder)
    kms.disable_key(kms.describe_key(alias).key_id)
    assert states(kms, folder)["named key"] == "FAIL"


def test_checkpoints_command_exits_0_with_todos_1_on_a_failure_2_without_the_folder(room, emulator, monkeypatch, capsys):  # noqa: F811
    kms, folder = room
    monkeypatch.setenv("KMS_WORKSHOP_BACKEND", "emulator")
    monkeypatch.setenv("KMS_WORKSHOP_ENDPOINT", emulator.endpoint)
    assert cli(["checkpoint", "--notebooks", str(folder)]) == 0
    assert "todo" in capsys.readouterr().out
    shutil.copy(CERTS / "server.key", folder / "work" / "server.key")
    assert cli(["checkpoint", "--notebooks", str(folder)]) == 1
    assert cli(["checkpoint", "--notebooks", str(folder / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
