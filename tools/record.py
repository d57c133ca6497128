"""`python -m tools.record` (`make record`): re-record notebooks' cassettes, then re-execute them against replay.

For each notebook: start a FRESH upstream (a new emulator state, so recordings are reproducible),
put a `Recorder` in front of it, execute the notebook in a new kernel whose `KMS_WORKSHOP_ENDPOINT`
points at the recorder, and write `notebooks/cassettes/<stem>.yaml`. Then execute each notebook
again against its new cassette (backend `replay`) and save those outputs into the `.ipynb`: they are
what `pytest --nbval` compares and what gets committed.

Against Alibaba Cloud (`--upstream cloud`, or `auto` with credentials configured) it says what it
will create, asks before going on unless `--yes`, and afterwards removes the aliases the notebooks
created and schedules their keys for deletion.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.replay.cassette import Cassette
from helpers.replay.cassette import cassette_dir as notebooks_cassette_dir
from helpers.replay.recorder import Exchange, Recorder


from .record_cloud import cleanup_cloud, cloud_plan, created_resources
from .run_notebook import DEFAULT_TIMEOUT, execute, kernel_env
from .seeds import RECORD_LEARNER, SEEDS
from .stable import notebook_seed, stabilise

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
#: Recordings are always made in one region, so CI (which uses the default) replays them.
RECORD_REGION = "cn-hangzhou"


# Upstreams -------------------------------------------------------------------------------------


@dataclass
class Upstream:
    """Where recordings come from. `open()` gives an endpoint for one notebook."""

    label: str  # written into the cassette: "emulator", "cloud" or "url"
    description: str
    backend: str  # the kernel's KMS_WORKSHOP_BACKEND while recording
    factory: Callable[[Path, int], Any] | None = None  # (state path, seed) -> started server
    url: str | None = None

    @contextlib.contextmanager
    def open(self, seed: int = 0) -> Iterator[str]:
        """An endpoint for one notebook; a local emulator is fresh and seeded with `seed`."""
        if self.factory is None:
            assert self.url is not None
            yield self.url
            return
        with tempfile.TemporaryDirectory(prefix="kms-record-") as tmp:
            server = self.factory(Path(tmp) / "state.sqlite", seed)
            try:
                yield server.endpoint
            finally:
                server.stop()


def emulator_upstream() -> Upstream:
    def start(state: Path, seed: int) -> Any:
        from helpers.emulator import Emulator

        return Emulator(state_path=state, seed=seed).start()

    return Upstream("emulator", "the local KMS emulator (a fresh state for each notebook)", "emulator", start)


def cloud_configured() -> bool:
    from helpers import credentials
    from helpers.errors import ConfigError

    try:
        credentials.resolve()
    except ConfigError:
        return False
    return True


def choose_upstream(kind: str, region: str = RECORD_REGION) -> Upstream:
    if kind == "auto":
        kind = "cloud" if cloud_configured() else "emulator"
    if kind == "emulator":
        return emulator_upstream()
    if kind == "cloud":
        url = f"https://kms.{region}.aliyuncs.com"
        return Upstream("cloud", f"Alibaba Cloud KMS at {url}", "cloud", url=url)
    if kind.startswith(("http://", "https://")):
        return Upstream("url", f"the KMS endpoint {kind} (its state is NOT reset between notebooks)",
                        "emulator", url=kind)
    raise ValueError(f"--upstream must be auto, emulator, cloud or a URL, not {kind!r}")


@dataclass
class Recording:
    notebook: Path
    cassette: Path
    interactions: int
    seconds: float
    raw: list[Exchange]


def record_notebook(
    path: Path,
    cassette_dir: Path,
    upstream: Upstream,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    region: str = RECORD_REGION,
    keep_raw: bool = False,
) -> Recording:
    """Record one notebook's cassette. The committed cassette is replaced only on success.

    Seeded notebooks (99_cleanup) are always recorded against a fresh seeded emulator: their
    saved output shows what cleanup keeps and why, and recording them never deletes real keys.
    """
    if path.stem in SEEDS:
        upstream = emulator_upstream()
    target = cassette_dir / f"{path.stem}.yaml"
    start = time.perf_counter()
    with upstream.open(seed=notebook_seed(path)) as endpoint, tempfile.TemporaryDirectory(prefix="kms-cassette-") as tmp:
        if path.stem in SEEDS:
            SEEDS[path.stem](endpoint)
        partial = Path(tmp) / target.name
        recorder = Recorder(endpoint, partial, notebook=path.stem, upstream_label=upstream.label,
                            keep_raw=keep_raw, learner=RECORD_LEARNER).start()
        try:
            env = kernel_env(KMS_WORKSHOP_BACKEND=upstream.backend, KMS_WORKSHOP_ENDPOINT=recorder.endpoint,
                             KMS_WORKSHOP_REGION=region, KMS_WORKSHOP_LEARNER=RECORD_LEARNER)
            execute(path, env, timeout)
        except BaseException:
            recorder.stop()  # the partial cassette goes with the temporary folder
            raise
        recorder.stop()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(partial, target)
    return Recording(path, target, len(recorder.interactions), time.perf_counter() - start, recorder.raw)


def replay_notebook(path: Path, cassette_dir: Path, *, timeout: int = DEFAULT_TIMEOUT,
                    region: str = RECORD_REGION, save: bool = True) -> Any:
    """Execute a notebook against its cassette and (by default) save the outputs into it."""
    import nbformat

    env = kernel_env(KMS_WORKSHOP_BACKEND="replay", KMS_WORKSHOP_CASSETTES=str(cassette_dir),
                     KMS_WORKSHOP_REGION=region)
    original = nbformat.read(path, as_version=4)
    nb = stabilise(execute(path, env, timeout), original)
    if save and nbformat.writes(nb) + "\n" != path.read_text(encoding="utf-8"):  # unchanged: leave it be
        nbformat.write(nb, path)
    return nb


# Command line ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.record",
        description="Re-record notebooks' cassettes, then re-execute the notebooks against replay "
        "and save their outputs.",
    )
    p.add_argument("notebooks", nargs="*", type=Path, help="notebooks to record (paths or stems)")
    p.add_argument("--all", action="store_true", help="every notebooks/*.ipynb")
    p.add_argument("--upstream", default="auto",
                   help="emulator, cloud, an http(s):// URL, or auto (cloud when credentials are "
                   "configured, else emulator; default)")
    p.add_argument("--yes", action="store_true", help="record against the cloud without asking")
    p.add_argument("--no-execute", action="store_true", help="record only; don't re-execute against replay")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="per-cell timeout in seconds")
    p.add_argument("--cassettes", type=Path, default=None, help="cassette folder (default notebooks/cassettes)")
    p.add_argument("--region", default=RECORD_REGION, help=f"region to record in (default {RECORD_REGION})")
    return p


def _resolve(names: list[Path]) -> list[Path]:
    out = []
    for name in names:
        path = name if name.suffix == ".ipynb" else NOTEBOOKS / f"{name}.ipynb"
        if not path.is_file():
            raise SystemExit(f"no such notebook: {path}")
        out.append(path.resolve())
    return out


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb")) if args.all else _resolve(args.notebooks)
    if not notebooks:
        print("Nothing to record: name notebooks or pass --all.", file=sys.stderr)
        return 2
    cassette_dir = (args.cassettes or notebooks_cassette_dir()).resolve()
    upstream = choose_upstream(args.upstream, args.region)
    print(f"Recording {len(notebooks)} notebook(s) against {upstream.description}.", flush=True)
    if upstream.label == "cloud":
        print("This creates real KMS keys and aliases in your account. From the last recordings:")
        print(cloud_plan(notebooks, cassette_dir))
        print(f"Afterwards the kit's cleanup removes what each recording created (learner {RECORD_LEARNER}):")
        print("its aliases are deleted and its keys scheduled for deletion (7 days). 99_cleanup itself is")
        print("recorded against a seeded emulator. Release the KMS instance when you are done.")
        if not args.yes:
            if not sys.stdin.isatty():
                print("Not a terminal: pass --yes to record against the cloud.", file=sys.stderr)
                return 2
            if input("Continue? [y/N] ").strip().lower() not in ("y", "yes"):
                print("Nothing recorded.")
                return 1
    cleaner = None
    if upstream.label == "cloud":
        import helpers

        cleaner = helpers.connect("cloud", region=args.region, learner=RECORD_LEARNER)
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    for nb in notebooks:
        try:
            rec = record_notebook(nb, cassette_dir, upstream, timeout=args.timeout, region=args.region)
        except (CellExecutionError, CellTimeoutError) as exc:
            print(f"{nb.name} failed while recording; its cassette is unchanged:\n{exc}", file=sys.stderr)
            return 1
        print(f"  {nb.name}: {rec.interactions} request(s) -> {_rel(rec.cassette)} ({rec.seconds:.1f} s)",
              flush=True)
        if cleaner is not None:
            cleanup_cloud(cleaner, created_resources(Cassette.load(rec.cassette))[0])
    if args.no_execute:
        print("Not re-executed: run `python -m tools.record` without --no-execute before committing.")
        return 0
    print("Re-executing against the new cassettes (backend replay) and saving the outputs:", flush=True)
    for nb in notebooks:
        start = time.perf_counter()
        replay_notebook(nb, cassette_dir, timeout=args.timeout, region=args.region)
        print(f"  {_rel(nb)} ({time.perf_counter() - start:.1f} s)", flush=True)
    print("Done. Review `git diff notebooks/` and commit the cassettes with the notebooks.")
    return 0


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
