"""Every learner's laptop, and a room with no Wi-Fi: the learner set installs from a wheelhouse
with the network unreachable, without make, holds none of the test tools, starts JupyterLab with
`python -m helpers lab`, runs every notebook and serves the emulator over TLS."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEV_TOOLS = ("pytest", "hypothesis", "playwright", "mypy", "detect_secrets", "nbval")  # psutil: ipykernel needs it
#: proxies to a closed port and pip's own configuration ignored: nothing can reach an index
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
           "https_proxy": "http://127.0.0.1:9", "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
           "UV_OFFLINE": "1", "UV_NO_CONFIG": "1"}

pytestmark = pytest.mark.slow


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """This platform's learner wheelhouse (`make wheelhouse` builds every platform's)."""
    out = tmp_path_factory.mktemp("wheelhouse")
    run([sys.executable, "-m", "tools.wheelhouse", "--this-platform", "--out", str(out)], cwd=REPO)
    assert (out / "constraints.txt").is_file() and list(out.glob("kms_workshop-*.whl"))
    return out


def checkout(dest: Path) -> Path:
    """The kit as a learner has it: the working tree, without venvs, caches or state."""
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".mypy_cache",
                                                               ".kms-workshop", "work", "wheelhouse", ".hypothesis"))
    return dest


@pytest.fixture(scope="module")
def learner(tmp_path_factory, wheelhouse) -> Path:
    """A learner's checkout with the docs/setup.md steps done, offline and without make."""
    kit = checkout(tmp_path_factory.mktemp("laptop") / "kit")
    run([sys.executable, "-m", "venv", str(kit / ".venv")])
    python = kit / ".venv" / "bin" / "python"
    env = {**os.environ, **OFFLINE, "PATH": str(python.parent)}  # no make on PATH
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--find-links",
         str(wheelhouse), "-c", "constraints.txt", "-e", "."], cwd=kit, env=env)
    return kit


def test_the_learner_install_holds_no_test_or_maintainer_tools(learner):
    python = learner / ".venv" / "bin" / "python"
    probe = f"import importlib.util as u; print([m for m in {DEV_TOOLS!r} if u.find_spec(m)])"
    assert run([str(python), "-c", probe]).stdout.strip() == "[]"
    assert run([str(python), "-c", "import helpers, helpers.emulator.tls, jupyterlab, nbclient; print('ok')"]).stdout.strip() == "ok"


def test_make_less_lab_answers_api_status(learner, tmp_path):
    python = learner / ".venv" / "bin" / "python"
    port, token = free_port(), "setup-test-token"
    env = {**os.environ, **OFFLINE, "PATH": str(python.parent), "JUPYTER_TOKEN": token,
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "KMS_WORKSHOP_STATE": str(tmp_path / "state.sqlite")}
    assert shutil.which("make", path=env["PATH"]) is None
    proc = subprocess.Popen([str(python), "-m", "helpers", "lab", "--port", str(port)], cwd=learner, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                    status = r.status
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.3)
        assert status == 200
        overrides = learner / ".venv" / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
        assert json.loads(overrides.read_text())["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    finally:
        os.killpg(proc.pid, 15)
        out = proc.communicate(timeout=30)[0]
    assert "Starting JupyterLab with the local KMS emulator" in out


def test_every_notebook_runs_in_the_learner_install(learner, tmp_path):
    """nbclient (a JupyterLab dependency, so it is there) in the learner's own venv, on the emulator."""
    python = learner / ".venv" / "bin" / "python"
    script = """
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
failures = []
for path in sorted(Path("notebooks").glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": "notebooks"}}).execute()
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if bool(errors) != ("raises-exception" in cell.metadata.get("tags", [])):
            failures.append(path.name)
print(json.dumps(failures))
"""
    env = {**os.environ, **OFFLINE, "PATH": str(python.parent), "KMS_WORKSHOP_BACKEND": "emulator",
           "KMS_WORKSHOP_STATE": str(tmp_path / "state.sqlite"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    env.pop("KMS_WORKSHOP_ENDPOINT", None)
    out = run([str(python), "-c", script], cwd=learner, env=env)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_serve_tls_works_in_the_learner_install(learner):
    python = learner / ".venv" / "bin" / "python"
    proc = subprocess.Popen([str(python), "-m", "helpers", "serve", "--tls", "--port", "0"], cwd=learner,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        endpoint = proc.stdout.readline().strip()
        key_id, secret = (field.split("=", 1)[1] for field in proc.stdout.readline().split())  # this run's pair
        bundle = proc.stdout.readline().split("CA bundle: ")[1].split()[0]
        check = (f"import helpers, os; os.environ['ALIBABA_CLOUD_CA_BUNDLE'] = {bundle!r}; "
                 f"os.environ['KMS_WORKSHOP_ACCESS_KEY_ID'] = {key_id!r}; os.environ['KMS_WORKSHOP_ACCESS_KEY_SECRET'] = {secret!r}; "
                 f"print(helpers.connect('emulator', endpoint={endpoint!r}).describe_regions()[0])")
        assert run([str(python), "-c", check], cwd=learner).stdout.strip() == "cn-hangzhou"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert endpoint.startswith("https://127.0.0.1:")


def test_make_env_installs_offline_from_the_wheelhouse_with_uv(tmp_path, wheelhouse):
    kit = checkout(tmp_path / "kit")
    env = {**os.environ, **OFFLINE, "KMS_WORKSHOP_WHEELHOUSE": str(wheelhouse)}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists())
    out = run(["make", "--no-print-directory", "env"], cwd=kit, env=env)
    assert f"Installing from the wheelhouse {wheelhouse} (no network)." in out.stdout
    assert "Installing with uv (in the venv)." in out.stdout
    assert run([str(kit / ".venv" / "bin" / "python"), "-c", "import helpers.emulator, jupyterlab; print('ok')"]
               ).stdout.strip() == "ok"
    again = run(["make", "--no-print-directory", "env"], cwd=kit, env=env)
    assert "Installing" not in again.stdout  # a second make env (or make lab) installs nothing
