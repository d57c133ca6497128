"""A re-recording you can review: recording an unchanged notebook against a fresh emulator gives
byte-identical cassettes and saved notebooks (the committed ones included), and editing one cell
changes only that cell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tools.record import emulator_upstream, record_notebook, replay_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
CASSETTES = NOTEBOOKS / "cassettes"

pytestmark = pytest.mark.slow


def record_copy(stem: str, folder: Path, edit=None) -> tuple[bytes, bytes]:
    """Record notebooks/<stem> in `folder` (a copy, with its certs), then save its replayed
    outputs; return (cassette bytes, notebook bytes)."""
    folder.mkdir()
    shutil.copytree(NOTEBOOKS / "certs", folder / "certs")
    path = folder / f"{stem}.ipynb"
    shutil.copy(NOTEBOOKS / path.name, path)
    if edit is not None:
        nb = nbformat.read(path, as_version=4)
        edit(nb)
        nbformat.write(nb, path)
    rec = record_notebook(path, folder / "cassettes", emulator_upstream(), timeout=60)
    replay_notebook(path, folder / "cassettes", timeout=60)
    return rec.cassette.read_bytes(), path.read_bytes()


@pytest.mark.parametrize("stem", ["01_create_key", "02_create_alias", "07_playground", "08_secrets", "99_cleanup"])
def test_recording_an_unchanged_notebook_twice_is_byte_identical_and_matches_git(stem, tmp_path):
    first = record_copy(stem, tmp_path / "first")
    second = record_copy(stem, tmp_path / "second")
    assert first == second
    assert first[0] == (CASSETTES / f"{stem}.yaml").read_bytes()  # so `make record` leaves git clean
    assert first[1] == (NOTEBOOKS / f"{stem}.ipynb").read_bytes()


def test_editing_one_markdown_cell_changes_only_that_cell(tmp_path):
    stem = "02_create_alias"

    def edit(nb):
        nb.cells[1].source += "\n6. (an edit a reviewer should see, and nothing else)"

    cassette, text = record_copy(stem, tmp_path / "edited", edit)
    assert cassette == (CASSETTES / f"{stem}.yaml").read_bytes()
    before = nbformat.reads((NOTEBOOKS / f"{stem}.ipynb").read_text(), as_version=4)
    after = nbformat.reads(text.decode("utf-8"), as_version=4)
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells))
               if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True)]
    assert changed == [1] and len(before.cells) == len(after.cells)
    assert before.metadata == after.metadata


def test_saved_outputs_hold_no_port_path_or_widget_model_id():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert "widgets" not in nb.metadata, path.name
        for cell in nb.cells:
            text = json.dumps(cell.get("outputs", []))
            assert "model_id" not in text, path.name
            assert "127.0.0.1:" not in text, (path.name, "a loopback port")
            assert str(REPO) not in text and "site-packages" not in text, (path.name, "a machine path")
