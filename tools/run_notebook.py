"""Executing a notebook in a fresh kernel, the way recording and the notebook tests do: the kit's
own environment variables replaced, and the kernel on Unix sockets where the OS has them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 120
_KIT_ENV = ("KMS_WORKSHOP_BACKEND", "KMS_WORKSHOP_ENDPOINT", "KMS_WORKSHOP_CASSETTES", "KMS_WORKSHOP_STATE",
            "KMS_WORKSHOP_LEARNER")


def kernel_env(**kit: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _KIT_ENV}
    env.update(kit)
    return env


def execute(path: Path, env: dict[str, str], timeout: int = DEFAULT_TIMEOUT) -> Any:
    """Run a notebook in a new kernel (cwd = its folder) and return it with its new outputs."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    with _kernel_manager() as km:
        return _run(nb, km, path, env, timeout)


@contextlib.contextmanager
def _kernel_manager() -> Iterator[Any]:
    """Kernels talk to the recorder over Unix sockets in a private folder where the OS has them:
    over loopback TCP they are unencrypted, and every kernel start says so. Yields the kernel
    manager class for nbclient (which then owns and closes it), or None for its default."""
    if os.name != "posix":
        yield None  # nbclient's default: TCP on loopback
        return
    from jupyter_client.manager import AsyncKernelManager

    with tempfile.TemporaryDirectory(prefix="kms-kernel-") as folder:  # 0700

        class IpcKernelManager(AsyncKernelManager):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.transport, self.ip = "ipc", os.path.join(folder, "kernel")

        yield IpcKernelManager


def _run(nb: Any, km: Any, path: Path, env: dict[str, str], timeout: int) -> Any:
    from nbclient import NotebookClient

    extra = {} if km is None else {"kernel_manager_class": km}
    client = NotebookClient(
        nb,
        **extra,
        kernel_name="python3",
        timeout=timeout,
        store_widget_state=False,  # widget model ids are new on every run; the text form stays
        shutdown_kernel="immediate",  # a graceful shutdown sometimes waits ~3 s (docs/sdk-behaviour.md, Notebook tooling)
        record_timing=False,  # no per-cell timestamps in committed notebooks
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)
    return nb
