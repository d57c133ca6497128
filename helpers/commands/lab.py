"""`python -m helpers lab`: JupyterLab on the kit's notebooks with the local emulator, on any OS.

The same as `make lab` (which calls it), for learners without `make` (Windows, a fresh macOS):
loopback only, no browser opened, the JupyterLab news pop-up and update check switched off (no
request to the Internet from a workshop room), `--allow-root` when run as root (containers, CI).
JupyterLab prints the URL to open, with its token. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

#: the kit's notebooks, next to the package in a checkout (the kit is installed with `-e .`)
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
_NO_NEWS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def settings_override(prefix: Path | None = None) -> Path:
    """Write JupyterLab's settings override into this environment (no news pop-up, no update
    check), keeping any other overrides already there; return its path."""
    path = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    current: dict[str, object] = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            current = {}
    if all(current.get(k) == v for k, v in _NO_NEWS.items()):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**current, **_NO_NEWS}, indent=2), encoding="utf-8")
    return path


def command(port: int, notebooks: Path, as_root: bool) -> list[str]:
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.root_dir={notebooks}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if as_root:
        cmd.append("--allow-root")  # containers and CI machines run as root; JupyterLab refuses otherwise
    return cmd


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kms-workshop lab", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="port on 127.0.0.1 (default 8888)")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS, help="the folder to serve (default: the kit's)")
    args = parser.parse_args(argv)
    if not args.notebooks.is_dir():
        print(f"kms-workshop lab: error: {args.notebooks} is not a folder; pass --notebooks", file=sys.stderr)
        return 2
    try:
        import jupyterlab  # noqa: F401 (only to say clearly that it is missing)
    except ImportError:
        print("kms-workshop lab: error: JupyterLab is not installed in this environment; install the kit "
              "with `python -m pip install -c constraints.txt -e .` (docs/setup.md)", file=sys.stderr)
        return 3
    settings_override()
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    print("Starting JupyterLab with the local KMS emulator (no account, no network).")
    print(f"Open the http://127.0.0.1:{args.port}/lab?token=... URL printed below. Ctrl-C stops it.")
    if as_root:
        print("Running as root (a container or CI machine): passing --allow-root to JupyterLab.")
    env = {**os.environ, "KMS_WORKSHOP_BACKEND": os.environ.get("KMS_WORKSHOP_BACKEND") or "emulator"}
    proc = subprocess.Popen(command(args.port, args.notebooks.resolve(), as_root), env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # JupyterLab got the Ctrl-C too and shuts down
        try:
            return proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            return 130
