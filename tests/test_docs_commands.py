"""Docs that stay true: every command the README and docs/ tell someone to run is accounted for,
either run here (against a private emulator, in temporary folders) or named with the test or CI
step that runs it, or with the reason it cannot run on this machine. A doc that gains a command
nobody runs fails this test."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import helpers
from helpers.emulator import Emulator

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```(?:sh|bash|shell|console|powershell)\n(.*?)```", re.S)
_INLINE = re.compile(r"`((?:make|python3? -m|\.venv/bin/python -m|kms-workshop|aliyun|conda|sudo|pip|uv|jupyter|git) [^`]*|make)`")

#: how each documented command is run; "here" means by this module's tests below
COVERED = {
    "make": "here: test_make_help_lists_every_target",
    "make help": "here: test_make_help_lists_every_target",
    "make lab": "tests/test_browser.py: every notebook run in JupyterLab started by make lab",
    "make env": "tests/test_setup.py: make env offline from a wheelhouse, with uv",
    "make test": "CI: .ci/run",
    "python -m helpers checkpoint": "tests/test_checkpoints.py: the command's exit codes for todo, a failure and a missing folder",
    "make test-notebooks": "CI: make test runs it",
    "make record": "tests/test_recording_determinism.py: records notebooks with the same code, twice",
    "make screenshots": "maintainer only (rewrites docs/img/); tests/test_browser.py runs the same code",
    "make serve": "here: test_make_serve_prints_endpoint_and_pair",
    "make reset": "here: test_make_reset_keeps_the_venv_and_clean_removes_it",
    "make clean": "here: test_make_reset_keeps_the_venv_and_clean_removes_it",
    "make bench": "maintainer only (minutes of load); each benchmark is a script under benchmarks/",
    "make reliability": "maintainer only (about 3 min); tests/test_generated_docs.py checks its output is fresh",
    "make soak": "maintainer only (3 min of load by default); tests/test_load.py runs a bounded load",
    "make test-pythons": "maintainer only (needs Python 3.11-3.13 installed); CI runs one Python",
    "python -m helpers": "here: test_cli_verbs_from_the_readme_run_against_the_emulator",
    "python -m helpers serve": "here: test_serve_commands_start_and_answer",
    "python -m helpers replay": "tests/test_replay_notebooks.py: the stub in another process",
    "python -m helpers.emulator": "here: test_serve_commands_start_and_answer",
    "python -m tools.record": "tests/test_replay_notebooks.py: record a failing notebook through the CLI",
    ".venv/bin/python -m tools.record": "tests/test_replay_notebooks.py: the same CLI",
    "kms-workshop": "here: test_cli_verbs_from_the_readme_run_against_the_emulator",
    "kms-workshop encrypt": "here: test_cli_verbs_from_the_readme_run_against_the_emulator",
    "kms-workshop encrypt-dir": "here: test_cli_verbs_from_the_readme_run_against_the_emulator",
    "kms-workshop decrypt": "here: test_cli_verbs_from_the_readme_run_against_the_emulator",
    "kms-workshop decrypt-dir": "tests/test_cli.py: directory round trips",
    "kms-workshop decrypt-key": "here: test_cli_verbs_from_the_readme_run_against_the_emulator",
    "kms-workshop serve": "here: test_serve_commands_start_and_answer",
    "python3 -m pip download": "checked by hand for the instructor notes' offline install (needs PyPI)",
    "python3 -m venv": "tests/test_setup.py: the make-less steps create the venv the same way",
    "python -m pip install": "tests/test_setup.py: the make-less install (README's short form of docs/setup.md)",
    "export": "a shell assignment, not a command",
    "make wheelhouse": "tests/test_setup.py: builds this platform's with the same tool (all platforms take minutes of downloads)",
    "python -m helpers lab": "tests/test_setup.py: the make-less path, with make removed from PATH",
    ".venv/bin/python -m helpers lab": "tests/test_setup.py: the make-less path, with make removed from PATH",
    ".venv/bin/python -m pip install": "tests/test_setup.py: the make-less install, offline, from a wheelhouse",
    "py": "NOT RUN: the Windows launcher; tests/test_setup.py runs the same steps with python3 -m venv",
    ".venv\\Scripts\\python -m pip install": "NOT RUN: Windows paths; tests/test_setup.py runs the same install",
    ".venv\\Scripts\\python -m helpers lab": "NOT RUN: Windows paths; tests/test_setup.py runs the same command",
    "python -m http.server": "NOT RUN: Python's own file server, started by an instructor for a wheelhouse",
    "KEY=$(kms-workshop": "here: test_start_up_snippet_from_the_envelope_doc_runs",
    "trap": "here: test_start_up_snippet_from_the_envelope_doc_runs",
    "server": "here: test_start_up_snippet_from_the_envelope_doc_runs (a stand-in server)",
    "aliyun": "NOT RUN: the aliyun CLI and an Alibaba Cloud account are not available here",
    "conda": "NOT RUN: conda is not installed here; environment.yml installs the same pinned set with pip",
    "sudo": "CI: .ci/run installs Debian's chromium the same way (as root, without sudo)",
    "jupyter": "tests/test_browser.py: make lab starts the same jupyter lab",
    "git": "a reviewer's own command; tests/test_recording_determinism.py checks what its diff would show",
    "make mutants": "maintainer only (about 15 min on 2 cores); tests/test_mutants_tool.py runs the same tool on one module",
    "make hub": "tests/test_hub.py: the hub with two learners, started the same way (as root)",
    "make hub-env": "tests/test_hub.py: builds the kit's hub environment in a scratch copy",
    "make test-hub": "CI: make test runs it",
    "python -m helpers hub": "tests/test_hub.py: add-users, start, reset and remove-users",
    "python -m helpers.hub.singleuser": "tests/test_hub.py: each learner's server is started through it",
    "jupyter-repo2docker": "tests/test_repo2docker.py: --no-build --debug prints the Dockerfile it would build",
    "docker": "NOT RUN: no Docker daemon here; tests/test_repo2docker.py checks what the image would install",
    "helm": "NOT RUN: no Kubernetes cluster here; tests/test_repo2docker.py checks deploy/z2jh/values.yaml's shape",
    "sudoedit": "NOT RUN: an instructor editing the hub's learner list as root",
    "make test-server": "CI: make test runs it",
    "apt-get": "CI: .ci/run installs Debian's nginx the same way (as root)",
    "scp": "NOT RUN: copies to a remote server; tests/test_server_nginx.py uses the same files in place",
    "install": "NOT RUN: copies deploy/server/ into /etc and /usr/local; tests/test_server_nginx.py runs them in place",
    "systemctl": "NOT RUN: systemd is not PID 1 here; tests/test_server_nginx.py runs the unit's commands in systemd's order",
    "systemd-analyze": "tests/test_server_nginx.py: systemd-analyze verify over nginx.service and the drop-in",
    "curl": "tests/test_server_nginx.py: the same HTTPS request, verified against notebooks/certs/ca.crt for localhost",
    "pip": "NOT RUN: both packages are in the dev install; tests/test_server_nginx.py runs the doc's ten lines with them",
    "make site": "tests/test_site.py: builds the site with make site and opens it in Chromium, offline",
    "make slides": "tests/test_site.py: test_make_slides_alone_writes_the_deck",
    "make test-links": "tests/test_links.py: the same checker over the repository, and on broken trees",
    "make linkcheck-external": "tests/test_links.py: the same report against local servers (no internet here)",
}


def command_key(line: str) -> str:
    """`make serve SERVE_PORT=9000` -> "make serve"; `kms-workshop encrypt a b -k x` -> "kms-workshop encrypt"."""
    words = line.split()
    if not words:
        return ""
    if words[0] in ("make", "kms-workshop"):
        second = next((w for w in words[1:] if not w.startswith("-") and "=" not in w and "<" not in w), None)
        return f"{words[0]} {second}" if second else words[0]
    if words[0].endswith("python") or words[0].endswith("python3"):
        if len(words) > 2 and words[1] == "-m":
            module = words[2]
            verb = words[3] if len(words) > 3 and module == "helpers" and not words[3].startswith(("-", "<")) else ""
            if module == "pip" and len(words) > 3:
                verb = words[3]
            return " ".join(p for p in (words[0], "-m", module, verb) if p)
    return words[0]


def documented_commands() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        lines = []
        for block in _BLOCK.findall(text):
            lines += [ln.strip() for ln in re.sub(r"\\\n\s*", " ", block).splitlines()]
        lines += _INLINE.findall(text)
        for line in lines:
            line = line.split("  #")[0].strip().removeprefix("$ ")
            if not line or line.startswith("#"):
                continue
            key = command_key(line)
            if key in ("python -m", "python3 -m") or key.startswith("python -m helpers.emulator"):
                key = "python -m helpers.emulator" if "helpers.emulator" in line else key
            found.setdefault(key, set()).add(doc.name)
    return found


def test_every_documented_command_is_run_somewhere():
    found = documented_commands()
    assert {"make lab", "make test", "kms-workshop encrypt"} <= set(found)
    unaccounted = {k: sorted(v) for k, v in found.items() if k not in COVERED}
    assert not unaccounted, f"commands in the docs that nothing runs: {unaccounted}; run them or list them in COVERED"
    for how in COVERED.values():
        where = how.split(":")[0]
        if where.startswith("tests/"):
            assert (REPO / where).is_file(), how
        elif where == "here":
            assert how.split(": ")[1].split()[0] in globals(), how


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def test_make_help_lists_every_target():
    out = run(["make", "--no-print-directory", "help"], cwd=REPO)
    assert out.returncode == 0, out.stderr
    makefile = (REPO / "Makefile").read_text()
    documented = set(re.findall(r"^([a-z-]+):.*## ", makefile, re.M))
    assert documented and all(f"make {t}" in out.stdout for t in documented)
    for key in (k for k in documented_commands() if k.startswith("make ")):
        assert key.split()[1] in documented, f"{key} is in the docs but not a documented make target"


def test_make_reset_keeps_the_venv_and_clean_removes_it(tmp_path):
    """Run both targets in a scratch copy of the kit's top level, with a scratch HOME."""
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    home = tmp_path / "home"
    state = home / ".kms-workshop" / "emulator.sqlite"
    for path in (state, state.with_name("emulator.sqlite-wal"), tmp_path / ".kms-workshop" / "state.sqlite",
                 tmp_path / "notebooks" / "work" / "key.pem", tmp_path / ".venv" / "bin" / "python",
                 tmp_path / ".mypy_cache" / "x", tmp_path / "helpers" / "__pycache__" / "x.pyc",
                 tmp_path / "notebooks" / "00_setup.ipynb"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    env = {k: v for k, v in os.environ.items() if k != "KMS_WORKSHOP_STATE"} | {"HOME": str(home)}
    out = run(["make", "--no-print-directory", "reset"], cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert not state.exists() and not state.with_name("emulator.sqlite-wal").exists()
    assert not (tmp_path / ".kms-workshop").exists() and not (tmp_path / "notebooks" / "work").exists()
    assert (tmp_path / ".venv" / "bin" / "python").exists() and (tmp_path / "notebooks" / "00_setup.ipynb").exists()
    out = run(["make", "--no-print-directory", "clean"], cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / ".venv").exists() and not (tmp_path / ".mypy_cache").exists()
    assert not (tmp_path / "helpers" / "__pycache__").exists()
    assert (tmp_path / "notebooks" / "00_setup.ipynb").exists()  # the kit itself stays


def test_make_serve_prints_endpoint_and_pair():
    proc = subprocess.Popen(["make", "--no-print-directory", "-s", "serve", "SERVE_PORT=0"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # make forwarding the signal is not what this test is about
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=20)
    text = "".join(lines)
    assert "http://127.0.0.1:" in text and re.search(r"^AccessKeyId=\S+ AccessKeySecret=\S+$", text, re.M), text


@pytest.mark.parametrize("cmd", [
    [sys.executable, "-m", "helpers", "serve", "--port", "0"],
    [sys.executable, "-m", "helpers.emulator", "--port", "0"],
])
def test_serve_commands_start_and_answer(cmd, tmp_path, monkeypatch):
    proc = subprocess.Popen([*cmd, "--state", str(tmp_path / "s.sqlite")], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        endpoint = proc.stdout.readline().strip()
        pair = dict(field.split("=", 1) for field in proc.stdout.readline().split())  # the state file's own pair
        monkeypatch.setenv("KMS_WORKSHOP_ACCESS_KEY_ID", pair["AccessKeyId"])
        monkeypatch.setenv("KMS_WORKSHOP_ACCESS_KEY_SECRET", pair["AccessKeySecret"])
        with helpers.connect("emulator", endpoint=endpoint) as kms:
            assert "cn-hangzhou" in kms.describe_regions()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    listed = run([sys.executable, "-m", "helpers.emulator", "--list-actions"], cwd=REPO)
    assert listed.returncode == 0 and "Encrypt" in listed.stdout


def test_cli_verbs_from_the_readme_run_against_the_emulator(tmp_path):
    """The README's command-line examples, exactly as written, on the backend they name."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Command line (for servers)")[1].split("```sh")[1].split("```")[0]
    examples = [ln.split("  #")[0].strip() for ln in block.strip().splitlines()]
    with Emulator(state_path=None) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_WORKSHOP_")}
        env |= {"KMS_WORKSHOP_ENDPOINT": emu.endpoint, "KMS_WORKSHOP_LEARNER": "ada"}
        with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as kms:
            helpers.ensure_key(kms, "Apollo/WorkKey")
            helpers.ensure_key(kms, "envelope")
        shutil.copy(REPO / "notebooks" / "certs" / "server.key", tmp_path / "key.pem")
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "app.conf").write_text("timeout = 30s\n")
        ran = 0
        for line in examples:
            words = line.split()
            if words[:2] == ["kms-workshop", "serve"]:
                continue  # test_serve_commands_start_and_answer
            out = run([sys.executable, "-m", "helpers", *words[1:]], cwd=tmp_path, env=env)
            assert out.returncode == 0, (line, out.stderr)
            ran += 1
        assert ran >= 3
    assert (tmp_path / "key.pem.cipher").is_file() and (tmp_path / "config.enc" / "app.conf.cipher").is_file()


def test_start_up_snippet_from_the_envelope_doc_runs(tmp_path):
    """docs/envelope.md's start-up lines in bash, with a stand-in `server` that checks the key file
    it is given: 0600, the demo key, on tmpfs; and the trap removes it when the script ends."""
    text = (REPO / "docs" / "envelope.md").read_text()
    snippet = next(b for b in _BLOCK.findall(text) if "decrypt-key" in b and "trap" in b)
    cipher = tmp_path / "key.pem.cipher"
    seen = tmp_path / "seen"
    with Emulator(state_path=None) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_WORKSHOP_")}
        env |= {"KMS_WORKSHOP_ENDPOINT": emu.endpoint, "KMS_WORKSHOP_LEARNER": "ada",
                "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        with helpers.connect("emulator", endpoint=emu.endpoint, learner="ada") as kms:
            key = helpers.ensure_key(kms, "Apollo/WorkKey")
            helpers.encrypt_file(REPO / "notebooks" / "certs" / "server.key", cipher, key.key_id,
                                 encryption_context={"app": "web"}, kms=kms)
        stand_in = (f'server() {{ stat -c %a "$2" > {seen}; cmp -s "$2" {REPO}/notebooks/certs/server.key && '
                    f'echo same >> {seen}; echo "$2" >> {seen}; }}\n')
        script = stand_in + snippet.replace("/etc/app/key.pem.cipher", str(cipher))
        out = run(["bash", "-e", "-c", script], env=env)
    assert out.returncode == 0, out.stderr
    mode, same, path = seen.read_text().split()
    assert mode == "600" and same == "same"
    assert not Path(path).exists()  # the trap removed it


def test_readme_lists_the_kms_actions_each_notebook_really_calls():
    from helpers.replay import Cassette

    readme = (REPO / "README.md").read_text()
    for cassette in sorted((REPO / "notebooks" / "cassettes").glob("*.yaml")):
        row = re.search(rf"^\| `{cassette.stem}` \| .*? \| (.*?) \| \d+ \|$", readme, re.M)
        assert row, f"README's notebook table has no row for {cassette.stem}"
        listed = {a.strip() for a in row.group(1).split(",")}
        called = {i.request.action for i in Cassette.load(cassette).interactions}
        assert listed == called, (cassette.stem, "README lists", sorted(listed), "the recording calls", sorted(called))
