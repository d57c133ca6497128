"""The project's own set-up files agree with each other."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_installs_the_learner_set_with_the_pinned_constraints():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "conda-forge" in env["channels"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert pip == ["-c constraints.txt", "-e ."]  # the learner set: no test tools on Binder


def test_runtime_dependencies_leave_the_test_tools_to_the_dev_extra():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[<>=]", d)[0].lower() for d in project["dependencies"]}
    dev = {re.split(r"[<>=]", d)[0].lower() for d in project["optional-dependencies"]["dev"]}
    assert "cryptography" in runtime and "trustme" not in runtime | dev  # serve --tls makes its CA with cryptography
    assert {"pytest", "hypothesis", "playwright", "mypy", "detect-secrets", "nbval"} <= dev
    assert not runtime & dev


def test_constraints_pin_every_runtime_dependency():
    pins = {
        line.split("==")[0].lower()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    pyproject = (ROOT / "pyproject.toml").read_text()
    names = re.findall(r'^\s+"([A-Za-z0-9_.-]+)[<>=]', pyproject, re.M)
    assert names, "no dependencies parsed"
    assert {n.lower() for n in names} <= pins


def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    declared = re.findall(r"^([a-z-]+):.*## ", (ROOT / "Makefile").read_text(), re.M)
    for target in declared:
        assert f"make {target} " in out
    for target in ("lab", "test", "clean", "serve", "record", "bench"):
        assert target in declared


def test_ci_runs_what_the_readme_tells_users():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make lab" in readme


def test_cli_help_lists_verbs():
    out = subprocess.run([sys.executable, "-m", "helpers", "--help"], capture_output=True, text=True, check=True).stdout
    assert "serve" in out
