"""Every exercise solution under notebooks/solutions/ runs, as `%load` would run it in its notebook."""

from __future__ import annotations

from pathlib import Path

import pytest

import helpers
from tests.fixtures_kms import emulator  # noqa: F401 (fixture)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.py"))
CONTEXT = {"purpose": "tls-private-key", "host": "localhost"}


def test_solutions_exist_for_every_exercise_link():
    linked = set()
    for nb in NOTEBOOKS.glob("*.ipynb"):
        text = nb.read_text()
        linked |= {part.split("`")[0].split(")")[0] for part in text.split("%load solutions/")[1:]}
    assert linked == {p.name for p in SOLUTIONS}


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solution_runs_in_its_notebook_context(solution, emulator, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "certs").symlink_to(NOTEBOOKS / "certs")
    (tmp_path / "work").mkdir()
    kms = helpers.connect("emulator", endpoint=emulator.endpoint)
    helpers.ensure_key(kms, "Apollo/WorkKey")
    helpers.encrypt_file("certs/server.key", "work/key.pem.cipher", helpers.workshop.alias(kms, "Apollo/WorkKey"),
                         encryption_context=CONTEXT, kms=kms)
    helpers.ensure_key(kms, "envelope")
    # the names the notebooks define before their exercises (ALIAS: 03's, or 05's for 05)
    alias = "envelope" if solution.name.startswith("05") else "Apollo/WorkKey"
    context = {"kms": kms, "helpers": helpers, "ALIAS": helpers.workshop.alias(kms, alias), "bundle": b"x" * 70_000}
    exec(compile(solution.read_text(), str(solution), "exec"), context)
    out = capsys.readouterr().out
    expected = {
        "01_tagged_key.py": "ada - and the kit's own tags: kms-workshop",
        "02_second_alias.py": "Enabled",
        "03_wrong_context.py": "InvalidCiphertextError InvalidParameter",
        "04_start_server.py": "200",
        "05_streams.py": "True",
        "06_longest_window.py": "PendingDeletion",
        "08_roll_back.py": "the cache serves v1",
        "09_ecdsa.py": "DER signature from EC_P256: verifies offline",
    }[solution.name]
    assert expected in out
