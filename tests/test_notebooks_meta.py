"""Lint of the committed notebooks: what `pytest --nbval` needs to compare outputs at all.

nbval compares a cell's outputs only when the stored cell has an `execution_count`, so a notebook
saved without outputs would silently pass; these checks make that fail loudly instead.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
CASSETTES = REPO / "notebooks" / "cassettes"
_RAISES = {"raises-exception", "nbval-raises-exception"}
_NOT_RUN = {"nbval-skip", "skip-execution"}
_IDS = [p.stem for p in NOTEBOOKS]


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _tags(cell: nbformat.NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def test_notebooks_meta_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_IDS)
def test_notebooks_meta_kernelspec_is_python3(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_IDS)
def test_notebooks_meta_outputs_are_kept(path: Path):
    cells = [c for c in _code_cells(path) if not _tags(c) & _NOT_RUN and c.source.strip()]
    unrun = [n for n, c in enumerate(cells) if c.execution_count is None]
    assert not unrun, f"code cells {unrun} have no execution_count: re-execute (make record) and commit outputs"
    assert any(c.outputs for c in cells), "no cell has an output: the notebook was saved without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_IDS)
def test_notebooks_meta_no_unexpected_error_output(path: Path):
    for n, cell in enumerate(_code_cells(path)):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors and not _tags(cell) & _RAISES:
            pytest.fail(f"code cell {n} stored an error ({errors[0].ename}) but is not tagged raises-exception")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_IDS)
def test_notebooks_meta_has_a_cassette(path: Path):
    assert (CASSETTES / f"{path.stem}.yaml").is_file(), f"no cassette for {path.name}: run `make record`"


def test_notebooks_meta_no_orphan_cassettes():
    stems = {p.stem for p in NOTEBOOKS}
    orphans = [c.name for c in CASSETTES.glob("*.yaml") if c.stem not in stems]
    assert not orphans, f"cassettes without a notebook: {orphans}"
