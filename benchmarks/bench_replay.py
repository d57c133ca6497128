"""Replay benchmark: is the recorded-response stub ever the slow part of `make test`? One run, three tables.

1. Per cassette: the time the emulator takes to answer a notebook's requests (measured at the
   recording proxy while the notebook runs on a fresh emulator) vs the time the replay stub takes
   to answer the very same raw requests (signed bytes resent over one keep-alive loopback
   connection). Median of at least 5 replays.
2. Per notebook: where a notebook's run goes under replay (kernel start, first cell = imports and
   connect(), other cells, of which the replay server was busy, kernel shutdown), with nbclient and a
   stub in this process.
3. `pytest --nbval` (the flags of `make test-notebooks`) over all the kit's notebooks vs over as many
   EMPTY notebooks (one `pass` cell each, so each still starts its kernel), alternated, median of
   REPEATS. Target: at most 2x.

Nothing here writes to notebooks/: recordings go to a temporary folder.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers.replay import ReplayServer  # noqa: E402
from tools.record import emulator_upstream, record_notebook  # noqa: E402
from tools.run_notebook import kernel_env  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TARGET_RATIO = 1.3
CASSETTES = ROOT / "notebooks" / "cassettes"
SANITIZE = ROOT / "tests" / "nbval-sanitize.cfg"
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-cell-timeout=120", "--nbval-sanitize-with", str(SANITIZE),
         "-p", "no:cacheprovider", "-q"]


def replay_raw(cassette: Path, raw: list) -> tuple[float, int]:
    """Seconds to serve the raw requests from `cassette`, and how many found no match."""
    with ReplayServer(cassette) as stub:
        conn = http.client.HTTPConnection("127.0.0.1", stub.port, timeout=30)
        start = time.perf_counter()
        for ex in raw:
            conn.request(ex.method, ex.path, body=ex.body or None, headers=ex.headers)
            conn.getresponse().read()
        seconds = time.perf_counter() - start
        conn.close()
    return seconds, sum(1 for s in stub.served if s.index is None)


def table_cassettes(tmp: Path) -> None:
    print("1. Serving each cassette's requests: emulator vs replay (loopback, one keep-alive connection)")
    print(f"   {'cassette':<34}{'requests':>9}{'emulator ms':>13}{'replay ms':>11}{'replay/emulator':>17}")
    for nb in NOTEBOOKS:
        rec = record_notebook(nb, tmp, emulator_upstream(), keep_raw=True)
        emulator = sum(ex.upstream_seconds for ex in rec.raw)
        runs = [replay_raw(rec.cassette, rec.raw) for _ in range(max(REPEATS, 5))]
        replay = statistics.median(s for s, _ in runs)
        missed = max(m for _, m in runs)
        note = "" if not missed else f"  ({missed} unmatched!)"
        print(f"   {nb.stem + '.yaml':<34}{len(rec.raw):>9}{emulator * 1000:>13.1f}{replay * 1000:>11.1f}"
              f"{replay / emulator if emulator else 0:>16.2f}x{note}")
    print()


def run_notebook(nb_path: Path) -> dict[str, float]:
    nb = nbformat.read(nb_path, as_version=4)
    with ReplayServer(CASSETTES / f"{nb_path.stem}.yaml") as stub:
        env = kernel_env(KMS_WORKSHOP_BACKEND="replay", KMS_WORKSHOP_ENDPOINT=stub.endpoint)
        client = NotebookClient(nb, kernel_name="python3", timeout=120, shutdown_kernel="immediate",
                                resources={"metadata": {"path": str(nb_path.parent)}})
        t0 = time.perf_counter()
        cells: list[float] = []
        ctx = client.setup_kernel(env=env)
        ctx.__enter__()
        t1 = time.perf_counter()
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                c0 = time.perf_counter()
                client.execute_cell(cell, index)
                cells.append(time.perf_counter() - c0)
        finally:
            t2 = time.perf_counter()
            ctx.__exit__(None, None, None)
            t3 = time.perf_counter()
        busy = sum(s.seconds for s in stub.served)
        calls = len(stub.served)
    return {"kernel": t1 - t0, "first": cells[0] if cells else 0.0, "rest": sum(cells[1:]), "busy": busy,
            "calls": calls, "shutdown": t3 - t2, "total": t3 - t0}


def table_notebooks() -> None:
    print(f"2. Where a notebook's run goes on replay (nbclient, median of {REPEATS})")
    print(f"   {'notebook':<26}{'kernel start':>13}{'1st cell':>10}{'other cells':>13}"
          f"{'KMS calls':>11}{'replay busy':>13}{'shutdown':>10}{'total':>8}")
    for nb in NOTEBOOKS:
        runs = [run_notebook(nb) for _ in range(REPEATS)]
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"   {nb.stem:<26}{m['kernel']:>12.2f}s{m['first']:>9.2f}s{m['rest']:>12.2f}s{int(m['calls']):>11}"
              f"{m['busy'] * 1000:>11.1f}ms{m['shutdown']:>9.2f}s{m['total']:>7.2f}s")
    print("   (1st cell = `import helpers` + connect(); 'replay busy' = time the stub spent answering)")
    print()


def nbval(paths: list[Path], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_WORKSHOP_")}
    env["KMS_WORKSHOP_BACKEND"] = "replay"
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", *NBVAL, *map(str, paths)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"nbval failed:\n{out.stdout[-3000:]}")
    return seconds


def table_nbval(tmp: Path) -> None:
    empty_dir = tmp / "empty"
    empty_dir.mkdir()
    empties = []
    for nb in NOTEBOOKS:
        path = empty_dir / nb.name
        nbformat.write(new_notebook(cells=[new_code_cell("pass")], metadata={"kernelspec": {
            "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}), path)
        empties.append(path)
    kit, empty = [], []
    for _ in range(REPEATS):  # alternated, so drift on a busy machine hits both alike
        kit.append(nbval(NOTEBOOKS, ROOT))
        empty.append(nbval(empties, empty_dir))
    k, e = statistics.median(kit), statistics.median(empty)
    co_start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", *NBVAL, "--co", *map(str, NOTEBOOKS)], cwd=ROOT,
                   capture_output=True, timeout=300)
    co = time.perf_counter() - co_start
    print(f"3. pytest --nbval on replay, side by side (median of {REPEATS}; flags of make test-notebooks)")
    print(f"   kit notebooks ({len(NOTEBOOKS)}):   {k:6.2f} s   runs {', '.join(f'{x:.2f}' for x in kit)}")
    print(f"   empty notebooks ({len(empties)}): {e:6.2f} s   runs {', '.join(f'{x:.2f}' for x in empty)}")
    # <= 1.3x: the kit's own cost per notebook (import, connect, its calls) stays small next to a
    # kernel's start and stop, which empty notebooks pay too
    print(f"   ratio:               {k / e:6.2f}x  (target <= {TARGET_RATIO}x)   "
          f"{'OK' if k / e <= TARGET_RATIO else 'OVER TARGET'}")
    print(f"   of which pytest startup + collection (--co): {co:.2f} s")


def main() -> int:
    if not NOTEBOOKS:
        print("no notebooks under notebooks/")
        return 1
    print(f"bench_replay: {len(NOTEBOOKS)} notebook(s), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        table_cassettes(Path(tmp))
        table_notebooks()
        table_nbval(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
