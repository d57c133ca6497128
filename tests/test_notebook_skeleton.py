"""Every notebook follows the kit's skeleton, checked by machine: one H1, the spine of
sections in order, short cells, failures tagged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SPINE = ["## Overview", "## Prerequisites", "## Setup", "## Summary", "### What's next?",
         "## Cleaning up", "## Resources and references"]


def markdown(path: Path) -> list[str]:
    """Markdown cells without their fenced code blocks (a shell comment there is not a heading)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown"]
    return [re.sub(r"```.*?```", "", "".join(c["source"]), flags=re.S) for c in cells]


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_notebook_names_follow_nn_verb_object():
    assert NOTEBOOKS and all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)
    assert NOTEBOOKS[0].name == "00_setup.ipynb" and NOTEBOOKS[-1].name == "99_cleanup.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_h1_and_the_spine_in_order(path):
    cells = markdown(path)
    h1 = [line for text in cells for line in text.splitlines() if re.match(r"# \S", line)]
    assert len(h1) == 1 and cells[0].startswith("# "), f"{path.name}: exactly one H1, in the first cell"
    headings = [line.strip() for text in cells for line in text.splitlines() if line.startswith("#")]
    positions = [next((i for i, h in enumerate(headings) if h.startswith(s)), -1) for s in SPINE]
    assert -1 not in positions, f"{path.name}: missing {[s for s, p in zip(SPINE, positions) if p < 0]}"
    assert positions == sorted(positions), f"{path.name}: spine out of order"
    assert "**Time to learn**" in "".join(cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_connects_with_its_own_session_and_keeps_cells_short(path):
    cells = code_cells(path)
    assert f'helpers.connect(session="{path.stem}")' in "".join(cells[0]["source"])
    for cell in cells:
        lines = "".join(cell["source"]).splitlines()
        assert len(lines) <= 12, f"{path.name}: a code cell of {len(lines)} lines; split it"
        assert not any(line.lstrip().startswith("# ") for line in lines), f"{path.name}: narrative in a # comment"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_failures_are_tagged_never_hidden(path):
    for cell in code_cells(path):
        tags = cell["metadata"].get("tags", [])
        source = "".join(cell["source"])
        if "raises-exception" in tags:
            assert "try:" not in source, f"{path.name}: an expected failure wrapped in try/except"


def cells(path: Path) -> list[tuple[str, str]]:
    """(cell type, source) of every cell, in order."""
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]


def predict_then_run_problems(notebook: list[tuple[str, str]]) -> list[str]:
    """Why a notebook's predict-then-run prompts do not have the shared shape (empty: they do).

    The shape: a markdown cell starting `**Predict:**` with a question, the code cell that
    answers it right after, then a markdown cell starting `**What happened:**`.
    """
    starts = [i for i, (kind, text) in enumerate(notebook) if kind == "markdown" and text.startswith("**Predict:**")]
    if not starts:
        return ["no markdown cell starting **Predict:**"]
    problems = []
    for i in starts:
        question = notebook[i][1]
        if "?" not in question:
            problems.append(f"cell {i}: the prediction asks no question")
        after = [kind for kind, _ in notebook[i + 1:i + 2]]
        if after != ["code"] or not notebook[i + 1][1].strip():
            problems.append(f"cell {i}: not followed by the code cell that answers it")
        elif i + 2 >= len(notebook) or notebook[i + 2][0] != "markdown" or not notebook[i + 2][1].startswith("**What happened:**"):
            problems.append(f"cell {i}: the code cell is not followed by a **What happened:** cell")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_predict_then_run_prompt(path):
    assert predict_then_run_problems(cells(path)) == [], path.name


def test_predict_then_run_check_rejects_the_wrong_shapes():
    good = [("markdown", "**Predict:** will it fail?"), ("code", "run()"), ("markdown", "**What happened:** it did.")]
    assert predict_then_run_problems(good) == []
    assert predict_then_run_problems([("markdown", "Predict: will it fail?"), *good[1:]]) == [
        "no markdown cell starting **Predict:**"]
    assert "asks no question" in predict_then_run_problems([("markdown", "**Predict:** it fails."), *good[1:]])[0]
    assert "not followed by the code" in predict_then_run_problems([good[0], good[2]])[0]
    assert "What happened" in predict_then_run_problems([*good[:2], ("markdown", "It did.")])[0]
    assert "What happened" in predict_then_run_problems(good[:2])[0]
