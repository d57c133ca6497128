"""Notebooks on the replay stub, run the way CI runs them: `pytest --nbval` in its own process.

Each test starts real kernels, so they are marked slow (~3 s each).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from helpers.replay import Cassette
from tools.record import emulator_upstream, record_notebook, replay_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "00_setup.ipynb"
CASSETTE = REPO / "notebooks" / "cassettes" / "00_setup.yaml"
SANITIZE = REPO / "tests" / "nbval-sanitize.cfg"
ALIAS = "alias/kms-workshop/ada/demo"  # what 00 calls `helpers.ensure_key(kms, "demo")`, recorded as ada

pytestmark = pytest.mark.slow


def _env(**kit: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_WORKSHOP_")}
    env.update(kit)
    return env


def _nbval(notebook: Path, env: dict[str, str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-cell-timeout=60",
           "--nbval-sanitize-with", str(SANITIZE), "-p", "no:cacheprovider", "-q", str(notebook)]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_replay_notebook_with_stub_in_another_process(tmp_path: Path):
    """The kernel, pytest and the stub are three processes; only KMS_WORKSHOP_ENDPOINT links them."""
    stub = subprocess.Popen([sys.executable, "-m", "helpers", "replay", "--cassette", str(CASSETTE), "--strict"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        endpoint = stub.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:"), endpoint
        # KMS_WORKSHOP_CASSETTES points nowhere: the kernel must not start its own in-process stub.
        run = _nbval(NOTEBOOK, _env(KMS_WORKSHOP_BACKEND="replay", KMS_WORKSHOP_ENDPOINT=endpoint,
                                    KMS_WORKSHOP_CASSETTES=str(tmp_path / "none")), REPO)
    finally:
        stub.terminate()
        _, err = stub.communicate(timeout=10)
    assert run.returncode == 0, run.stdout + run.stderr
    served = len(Cassette.load(CASSETTE).interactions)
    assert f"Served {served} request(s), 0 without a match." in err


def test_replay_edited_notebook_fails_nbval_with_the_mismatch_message(tmp_path: Path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    edited = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and '"demo"' in cell.source:
            cell.source = cell.source.replace('"demo"', '"renamed"')
            edited += 1
    assert edited
    nbformat.write(nb, tmp_path / NOTEBOOK.name)
    (tmp_path / "cassettes").mkdir()
    shutil.copy(CASSETTE, tmp_path / "cassettes" / CASSETTE.name)
    start = time.perf_counter()
    run = _nbval(tmp_path / NOTEBOOK.name,
                 _env(KMS_WORKSHOP_BACKEND="replay", KMS_WORKSHOP_CASSETTES=str(tmp_path / "cassettes")),
                 tmp_path, timeout=120)
    elapsed = time.perf_counter() - start
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert elapsed < 60  # failed, not timed out
    assert "Replay.NoMatch" in out
    assert "DescribeKey(KeyId='alias/kms-workshop/ada/renamed'" in out
    assert re.search(rf"Closest recorded request \(#\d+\): DescribeKey\(KeyId='{ALIAS}'", out), out
    assert f"KeyId='alias/kms-workshop/ada/renamed', recorded '{ALIAS}'" in out
    assert "make record" in out
    assert "00_setup.yaml" in out


def test_record_reproduces_the_committed_cassette_and_outputs(tmp_path: Path):
    """Re-recording on a fresh emulator gives the same requests, and replay the same outputs."""
    rec = record_notebook(NOTEBOOK, tmp_path, emulator_upstream(), timeout=60)
    new, old = Cassette.load(rec.cassette), Cassette.load(CASSETTE)
    assert new.upstream == "emulator"
    assert [i.request.action for i in new.interactions] == [i.request.action for i in old.interactions]
    assert [sorted(i.request.params) for i in new.interactions] == [sorted(i.request.params) for i in old.interactions]
    assert [i.response.status for i in new.interactions] == [i.response.status for i in old.interactions]
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    replayed = replay_notebook(copy, tmp_path, timeout=60, save=False)
    committed = nbformat.read(NOTEBOOK, as_version=4)

    def outputs(nb: nbformat.NotebookNode) -> list[str]:
        return [json.dumps(c.outputs, sort_keys=True) for c in nb.cells if c.cell_type == "code"][1:]  # [0]: port

    assert outputs(replayed) == outputs(committed)


def test_record_failing_notebook_keeps_the_old_cassette(tmp_path: Path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("broken on purpose")'))
    path = tmp_path / NOTEBOOK.name
    nbformat.write(nb, path)
    old = tmp_path / "cassettes" / CASSETTE.name
    old.parent.mkdir()
    shutil.copy(CASSETTE, old)
    out = subprocess.run([sys.executable, "-m", "tools.record", str(path), "--upstream", "emulator",
                          "--cassettes", str(old.parent), "--timeout", "60"],
                         capture_output=True, text=True, cwd=REPO, env=_env(), timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "failed while recording; its cassette is unchanged" in out.stderr
    assert "broken on purpose" in out.stderr
    assert old.read_bytes() == CASSETTE.read_bytes()
    assert sorted(p.name for p in old.parent.iterdir()) == [CASSETTE.name]
