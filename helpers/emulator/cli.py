"""``python -m helpers.emulator`` (and ``python -m helpers serve``): run the emulator standalone."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .faults import parse_qps
from .responses import ACTIONS
from .app import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kms-workshop serve", description="Local Alibaba Cloud KMS emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--state", default=None, help="SQLite state file (default: in memory, lost on exit)")
    parser.add_argument("--region", default="cn-hangzhou", help="region this endpoint serves")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a freshly generated local CA")
    parser.add_argument("--qps-limit", default=None, help="per-account limit: an integer, 'real' (750) or 'off'")
    parser.add_argument("--unavailable-every", type=int, default=None, help="answer every Nth request with 503")
    parser.add_argument("--list-actions", action="store_true", help="print the supported actions and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_actions:
        print("\n".join(ACTIONS))
        return 0
    try:
        qps = parse_qps(args.qps_limit)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Emulator(args.state, host=args.host, port=args.port, tls=args.tls, region=args.region,
                      qps_limit=qps, unavailable_every=args.unavailable_every) as emu:  # fmt: skip
            # The endpoint is the FIRST line: scripts and `make lab` read it from there.
            print(emu.endpoint)
            print(f"AccessKeyId={emu.access_key_id} AccessKeySecret={emu.access_key_secret}")
            if emu.ca_bundle:
                print(f"CA bundle: {emu.ca_bundle}  (AcsClient(verify=...) or ALIBABA_CLOUD_CA_BUNDLE)")
            print(f"state: {args.state or 'in memory'}; stop with Ctrl+C", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
