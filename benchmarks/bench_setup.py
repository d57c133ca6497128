"""A learner's first minutes, side by side in one run: from a fresh copy of the kit to JupyterLab
answering, via `make lab` (uv), via the make-less path (pip, docs/setup.md), and the yardstick: a
bare `pip install jupyterlab` + `jupyter lab` in a fresh venv. Plus the size of each venv.

Targets: the kit's set-up <= 0.5x the yardstick with uv, <= 1.2x with pip; learner venv <= 1.3x
the bare JupyterLab venv. Caches (pip's, uv's) are as this machine has them: warm after the first run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-setup-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def copy_kit(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".mypy_cache",
                                                               ".kms-workshop", "work", "wheelhouse", ".hypothesis"))
    return dest


def until_answering(cmd: list[str], cwd: Path, env: dict[str, str], port: int, start: float) -> float:
    """Run `cmd` (which ends by serving JupyterLab on `port`); seconds from `start` to a 200."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KMS_WORKSHOP_", "VIRTUAL_ENV"))}
    env |= {"JUPYTER_TOKEN": TOKEN}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
        base = Path(tmp)
        # 1. make lab (uv, bootstrapped into the venv when it is not on PATH)
        kit = copy_kit(base / "make")
        port, start = free_port(), time.perf_counter()
        jenv = env | {"JUPYTER_CONFIG_DIR": str(base / "c1"), "JUPYTER_RUNTIME_DIR": str(base / "r1")}
        t_make = until_answering(["make", "--no-print-directory", "lab", f"LAB_PORT={port}"], kit, jenv, port, start)
        rows.append(("make lab (uv)", t_make, size_mib(kit / ".venv")))
        # 2. the make-less path with pip (docs/setup.md)
        kit = copy_kit(base / "makeless")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(kit / ".venv")], check=True)
        py = str(kit / ".venv" / "bin" / "python")
        subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", "constraints.txt",
                        "-e", "."], cwd=kit, env=env, check=True, capture_output=True)
        port = free_port()
        jenv = env | {"JUPYTER_CONFIG_DIR": str(base / "c2"), "JUPYTER_RUNTIME_DIR": str(base / "r2")}
        t_pip = until_answering([py, "-m", "helpers", "lab", "--port", str(port)], kit, jenv, port, start)
        rows.append(("make-less: pip + python -m helpers lab", t_pip, size_mib(kit / ".venv")))
        # 3. yardstick: bare JupyterLab
        bare = base / "bare"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(bare / ".venv")], check=True)
        bpy = str(bare / ".venv" / "bin" / "python")
        subprocess.run([bpy, "-m", "pip", "install", "-q", "--disable-pip-version-check", "jupyterlab"],
                       env=env, check=True, capture_output=True)
        port = free_port()
        jenv = env | {"JUPYTER_CONFIG_DIR": str(base / "c3"), "JUPYTER_RUNTIME_DIR": str(base / "r3")}
        t_bare = until_answering([bpy, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                                  "--allow-root", f"--ServerApp.root_dir={bare}"], bare, jenv, port, start)
        rows.append(("yardstick: pip install jupyterlab", t_bare, size_mib(bare / ".venv")))
    print(f"bench_setup: fresh copy -> JupyterLab answering, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"   {'path':40} {'seconds':>8} {'x yardstick':>12} {'venv MiB':>9} {'x bare venv':>12}")
    for name, seconds, mib in rows:
        print(f"   {name:40} {seconds:8.1f} {seconds / t_bare:12.2f} {mib:9.0f} {mib / rows[2][2]:12.2f}")
    ok = t_make / t_bare <= 0.5 and t_pip / t_bare <= 1.2 and rows[0][2] / rows[2][2] <= 1.3
    print(f"   targets: make lab (uv) <= 0.5x, pip <= 1.2x, learner venv <= 1.3x: {'OK' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
