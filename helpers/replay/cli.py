"""`python -m helpers replay --cassette FILE`: serve one cassette until interrupted.

The first line printed is the endpoint URL (as `python -m helpers serve` does), so a script or a
test can start the stub in its own process and hand the URL to a kernel:

    KMS_WORKSHOP_BACKEND=replay KMS_WORKSHOP_ENDPOINT=<that URL> jupyter lab
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .cassette import cassette_dir
from .server import ReplayServer


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers replay", description=__doc__.splitlines()[0])
    p.add_argument("--cassette", required=True, type=Path, help="a cassette, or a notebook stem such as 00_setup")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    p.add_argument("--strict", action="store_true", help="don't repeat a used response; answer Replay.NoMatch")
    args = p.parse_args(argv)
    path = args.cassette
    if not path.suffix and not path.exists():
        path = cassette_dir() / f"{path}.yaml"
    if not path.is_file():
        print(f"No cassette {path}: run `make record` to record it.", file=sys.stderr)
        return 2
    server = ReplayServer(path, port=args.port, strict=args.strict).start()
    print(server.endpoint, flush=True)
    print(f"Replaying {len(server.cassette.interactions)} recorded request(s) from {path}. Ctrl-C stops.",
          file=sys.stderr, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    served = len(server.served)
    missed = sum(1 for s in server.served if s.index is None)
    print(f"Served {served} request(s), {missed} without a match.", file=sys.stderr, flush=True)
    return 0
