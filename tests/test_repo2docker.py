"""The image Binder and Zero to JupyterHub build from this repository, checked without Docker.

`jupyter-repo2docker --no-build --debug` prints the Dockerfile it would build. From it and the
files it names: the conda environment is this repository's root `environment.yml`; its pip section
installs the kit with the pinned constraints (so the learner set, at the versions the notebooks
were tested with); repo2docker's base environment for that Python is a Python the pinned set
accepts and carries jupyterhub-singleuser (which Zero to JupyterHub needs); with
`--target-repo-dir` the kit lands outside the home that the hub mounts a volume over. What is not
checked here: building and running the image (no Docker), and a cluster (deploy/z2jh/values.yaml is
checked for shape only)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import yaml

ROOT = Path(__file__).resolve().parents[1]
R2D = shutil.which("jupyter-repo2docker", path=str(Path(sys.executable).parent))


def dockerfile(*extra: str) -> str:
    assert R2D, "jupyter-repo2docker is in the dev extra: make env-dev"
    out = subprocess.run([R2D, "--no-build", "--debug", *extra, "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def base_lock(text: str) -> Path:
    """The conda lock file of repo2docker's base environment, named (escaped) in a COPY line."""
    name = re.search(r"COPY --chown=0:0 build_script_files/(\S+environment-2epy-2d[\d-]+e?\d*\S*-2elock)-\w+ /tmp/env/environment.lock", text)
    assert name, "no base environment lock in the Dockerfile"
    return Path(unquote(name.group(1).replace("-", "%")))


def test_the_image_installs_the_root_environment_yml_with_the_pinned_learner_set():
    text = dockerfile()
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"' in text
    assert "COPY --chown=0:0 src/ ${REPO_DIR}/" in text  # the repository, so -e . and -c constraints.txt resolve
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()  # else the root file is ignored
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-c constraints.txt", "-e ."]
    assert "python=3.11" in env["dependencies"]
    pins = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    assert {"jupyterlab", "ipykernel", "cryptography", "aliyun-python-sdk-kms"} <= {k.lower() for k in pins}


def test_the_base_environment_has_a_python_the_pins_accept_and_jupyterhub_singleuser():
    lock = base_lock(dockerfile()).read_text()
    python = re.search(r"/python-(3\.11\.(\d+))-", lock)
    assert python and int(python.group(2)) >= 5, "the pinned set needs Python 3.11.5 or newer"
    hub = re.search(r"/jupyterhub-singleuser-(\d+)\.(\d+)\.(\d+)-", lock)
    assert hub and int(hub.group(1)) >= 5  # Zero to JupyterHub 4.x runs JupyterHub 5: the same major version


def test_the_kit_lands_outside_the_home_the_hub_mounts_a_volume_over():
    # repo2docker passes --target-repo-dir as the REPO_DIR build argument: the Dockerfile must take
    # it as an ARG and copy the repository (and so the editable kit) there, not into ${HOME}.
    text = dockerfile("--target-repo-dir", "/srv/kms-workshop")
    assert "ARG REPO_DIR=${HOME}" in text and "COPY --chown=0:0 src/ ${REPO_DIR}/" in text
    assert "WORKDIR ${REPO_DIR}" in text


def test_z2jh_values_have_the_image_resources_authenticator_and_culling():
    values = yaml.safe_load((ROOT / "deploy" / "z2jh" / "values.yaml").read_text())
    single = values["singleuser"]
    assert single["image"]["name"] and str(single["image"]["tag"])
    assert single["cmd"] == ["python", "-m", "helpers.hub.singleuser"]
    assert single["extraEnv"]["KMS_WORKSHOP_BACKEND"] == "emulator"
    assert single["memory"]["guarantee"] and single["memory"]["limit"] and single["cpu"]["limit"]
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "native"
    assert values["hub"]["config"]["NativeAuthenticator"]["open_signup"] is False
    assert values["hub"]["config"]["Authenticator"]["allowed_users"]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
