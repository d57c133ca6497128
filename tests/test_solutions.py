"""Every exercise solution under notebooks/solutions/ runs, as `%load` would run it in its notebook,
answers the exercise's question in a `# Answer:` comment, and ends with asserts that check the
learner's result (so a wrong solution fails here instead of teaching something wrong)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import helpers
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))
CONTEXT = {"purpose": "tls-private-key", "host": "localhost"}


def _alias(name: str) -> Callable[[helpers.Kms], dict[str, Any]]:
    return lambda kms: {"ALIAS": helpers.workshop.alias(kms, name)}


def _new_key(description: str) -> Callable[[helpers.Kms], dict[str, Any]]:
    """A fresh kit key, as the notebook made it before its exercise."""
    return lambda kms: {"new_key": helpers.workshop.new_key(kms, description)}


def _tls(kms: helpers.Kms) -> dict[str, Any]:
    return {**_alias("Apollo/WorkKey")(kms), "CONTEXT": dict(CONTEXT), "CERTS": Path("certs"), "WORK": Path("work")}


#: file name -> the names its notebook defines before the exercise (beyond `kms` and `helpers`).
#: A solution that needs anything else defines it itself.
SETUP: dict[str, Callable[[helpers.Kms], dict[str, Any]]] = {
    "01_rotating_key.py": lambda kms: {},
    "02_second_alias.py": lambda kms: {**_alias("Apollo/WorkKey")(kms), **_new_key("Apollo work key, rotated")(kms)},
    "03_wrong_context.py": _tls,
    "04_start_server.py": _tls,
    "05_streams.py": lambda kms: {**_alias("envelope")(kms), "bundle": b"x" * 70_000},
    "06_longest_window.py": _new_key("longest window"),
    "08_roll_back.py": _alias("Apollo/WorkKey"),
    "09_ecdsa.py": lambda kms: {},
}


def shape_problems(source: str) -> list[str]:
    """What keeps a solution's text from the shared shape (empty: it has it)."""
    problems = []
    body = ast.parse(source).body
    if not body or not isinstance(body[-1], ast.Assert):
        problems.append("does not end with an assert")
    first_comment = next((line for line in source.splitlines() if line.startswith("#")), "")
    if not first_comment.startswith("# Answer: ") or source.lstrip().splitlines()[0] != first_comment:
        problems.append("does not open with a '# Answer: ...' comment")
    return problems


def test_solutions_exist_for_every_exercise_link():
    linked = set()
    for nb in NOTEBOOKS.glob("*.ipynb"):
        text = nb.read_text()
        linked |= {part.split("`")[0].split(")")[0] for part in text.split("%load solutions/")[1:]}
    assert linked == {p.name for p in SOLUTIONS}


def test_every_solution_has_a_setup_entry():
    assert set(SETUP) == {p.name for p in SOLUTIONS}


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solution_answers_in_a_comment_and_ends_with_asserts(solution):
    assert shape_problems(solution.read_text()) == [], solution.name


def test_shape_check_rejects_a_solution_without_answer_or_final_assert():
    good = "# Answer: 42.\nx = 42\nassert x == 42\n"
    assert shape_problems(good) == []
    assert shape_problems("x = 42\nassert x == 42\n") == ["does not open with a '# Answer: ...' comment"]
    assert shape_problems("# Answer: 42.\nassert True\nprint(x)\n") == ["does not end with an assert"]
    assert shape_problems("import os\n# Answer: 42.\nassert x\n") == ["does not open with a '# Answer: ...' comment"]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solution_runs_in_its_notebook_context(solution, emulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "certs").symlink_to(NOTEBOOKS / "certs")
    (tmp_path / "work").mkdir()
    kms = helpers.connect("emulator", endpoint=emulator.endpoint)
    helpers.ensure_key(kms, "Apollo/WorkKey")
    helpers.encrypt_file("certs/server.key", "work/key.pem.cipher", helpers.workshop.alias(kms, "Apollo/WorkKey"),
                         encryption_context=CONTEXT, overwrite=True, kms=kms)
    helpers.ensure_key(kms, "envelope")
    context = {"kms": kms, "helpers": helpers, **SETUP[solution.name](kms)}
    # The solution's own final asserts are the check: an AssertionError here is a wrong solution.
    exec(compile(solution.read_text(), str(solution), "exec"), context)


def test_a_wrong_solution_fails_its_own_asserts(emulator):
    kms = helpers.connect("emulator", endpoint=emulator.endpoint)
    helpers.ensure_key(kms, "wrong")
    wrong = (NOTEBOOKS / "solutions" / "03_wrong_context.py").read_text().replace('{"env": "prod"}', '{"env": "dev"}')
    with pytest.raises(AssertionError):
        exec(compile(wrong, "wrong.py", "exec"), {"kms": kms, "helpers": helpers, "ALIAS": helpers.workshop.alias(kms, "wrong")})
