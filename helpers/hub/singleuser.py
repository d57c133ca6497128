"""A learner's server under the hub: their own copy of the notebooks and their own emulator.

JupyterHub's spawner runs ``python -m helpers.hub.singleuser ARGS`` *as the learner* (so every file
it makes is theirs, and root never writes into a home a learner controls). On the first start it
copies the kit's notebooks into ``~/kms-workshop`` (0700); later starts keep the learner's edits.
Then it becomes ``jupyterhub-singleuser ARGS`` serving that folder. Kernels start the in-process
emulator on loopback with the state in ``~/.kms-workshop/emulator.sqlite`` and that file's own
generated AccessKey pair (emulator/access_keys.py), so only the learner can use their keys.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

#: the kit's notebooks, next to the package (the kit is installed with `-e .`)
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
FOLDER = "kms-workshop"
_SKIP = shutil.ignore_patterns("work", ".ipynb_checkpoints", "__pycache__")
#: never passed to a learner's kernels: another emulator's address or pair, another state file,
#: cloud credentials from the instructor's shell
_DROP = ("KMS_WORKSHOP_ENDPOINT", "KMS_WORKSHOP_ACCESS_KEY_ID", "KMS_WORKSHOP_ACCESS_KEY_SECRET",
         "KMS_WORKSHOP_STATE", "KMS_WORKSHOP_LEARNER", "ALIBABA_CLOUD_ACCESS_KEY_ID",
         "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN")  # fmt: skip


def copy_notebooks(home: Path, source: Path = NOTEBOOKS) -> Path:
    """``home/kms-workshop``: copied from ``source`` the first time (whole or not at all), kept after."""
    target = home / FOLDER
    if target.exists():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".kms-workshop-", dir=home))  # 0700
    try:
        shutil.copytree(source, staging / FOLDER, ignore=_SKIP)
        os.chmod(staging / FOLDER, 0o700)
        os.rename(staging / FOLDER, target)  # a second server starting at once finds it whole or absent
    except FileExistsError:
        pass
    except OSError:
        if not target.exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def environment(env: Mapping[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in env.items() if k not in _DROP}
    clean["KMS_WORKSHOP_BACKEND"] = "emulator"
    return clean


def command(root: Path, argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *argv]


def main(argv: list[str] | None = None) -> None:
    os.umask(0o077)  # the learner's notebooks, outputs and emulator files: theirs alone
    root = copy_notebooks(Path.home())
    os.chdir(root)
    cmd = command(root, sys.argv[1:] if argv is None else argv)
    os.execve(cmd[0], cmd, environment(os.environ))


if __name__ == "__main__":
    main()
