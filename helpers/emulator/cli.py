"""``python -m helpers.emulator`` (and ``python -m helpers serve``): run the emulator standalone."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
from types import FrameType

from . import access_keys
from .auth import DEFAULT_ACCOUNTS, Account
from .faults import parse_qps
from .responses import ACTIONS
from .app import Emulator
from .statefile import StateFileError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kms-workshop serve", description="Local Alibaba Cloud KMS emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--state", default=None, help="SQLite state file (default: in memory, lost on exit)")
    parser.add_argument("--region", default="cn-hangzhou", help="region this endpoint serves")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a freshly generated local CA")
    parser.add_argument("--qps-limit", default=None, help="per-account limit: an integer, 'real' (750) or 'off'")
    parser.add_argument("--unavailable-every", type=int, default=None, help="answer every Nth request with 503")
    parser.add_argument("--test-account", action="store_true",
                        help="accept the documented test pairs (testid/testsecret, ...) instead of a generated "
                             "pair: for tests and the signature example; anyone who reaches the port can use them")  # fmt: skip
    room = parser.add_mutually_exclusive_group()
    room.add_argument("--accounts", type=int, default=None, metavar="N",
                      help="one account per learner (learner01..learnerNN) besides your own pair; docs/hub.md")
    room.add_argument("--accounts-file", default=None, metavar="NAMES",
                      help="as --accounts, one learner per line of NAMES")  # fmt: skip
    parser.add_argument("--accounts-dir", default=None,
                        help="where each learner's pair is kept, <name>.env, 0600 (default: <state>-accounts/)")
    parser.add_argument("--print-accounts", action="store_true", help="also print a table: learner, account, pair")
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
    accounts: list[Account] | None = None  # with --state: the state file's own pair (access_keys.py)
    if args.test_account:
        accounts = list(DEFAULT_ACCOUNTS)
        if not _is_loopback(args.host):
            print(f"warning: --test-account on {args.host}: anyone who can reach this port can use the emulator "
                  "with the public pair testid/testsecret.", file=sys.stderr)  # fmt: skip
    elif args.state is None:
        accounts = [access_keys.generate()]  # in memory: a fresh pair per run
    learners: list[tuple[str, Account]] = []
    if args.accounts is not None or args.accounts_file is not None:
        try:
            learners = _learner_accounts(args)
        except (ValueError, OSError, StateFileError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        own = accounts or [access_keys.for_state(args.state)]  # your own pair stays the second line
        accounts = [*own, *(account for _, account in learners)]
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        emu = Emulator(args.state, host=args.host, port=args.port, tls=args.tls, region=args.region,
                       accounts=accounts, qps_limit=qps, unavailable_every=args.unavailable_every)  # fmt: skip
        try:
            emu.start()
        except StateFileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        with emu:
            # The endpoint is the FIRST line and the pair the SECOND: scripts read them from there.
            print(emu.endpoint)
            print(f"AccessKeyId={emu.access_key_id} AccessKeySecret={emu.access_key_secret}")
            if emu.ca_bundle:
                print(f"CA bundle: {emu.ca_bundle}  (AcsClient(verify=...) or ALIBABA_CLOUD_CA_BUNDLE)")
            print(f"fault control: POST {emu.endpoint}/-/faults with header x-kms-emulator-control: {emu.control_token}")
            pair = ("the documented test pairs" if args.test_account else
                    f"pair kept in {emu.access_key_file}" if emu.access_key_file else "a new pair for this run")  # fmt: skip
            if learners:
                pair = f"your pair kept in {access_keys.pair_file(args.state)}" if args.state and not args.test_account else pair
                print(f"learners: {len(learners)} accounts, each pair in {_accounts_dir(args)}/<name>.env (0600)")
            if args.print_accounts:
                for name, account in learners:
                    print(f"{name}\t{account.account_id}\tKMS_WORKSHOP_ACCESS_KEY_ID={account.access_key_id}\t"
                          f"KMS_WORKSHOP_ACCESS_KEY_SECRET={account.access_key_secret}")  # fmt: skip
            print(f"state: {args.state or 'in memory'} ({pair}); stop with Ctrl+C", flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _accounts_dir(args: argparse.Namespace) -> str:
    if args.accounts_dir:
        return str(args.accounts_dir)
    if args.state:
        return f"{args.state}-accounts"
    raise ValueError("--accounts in memory needs --accounts-dir, where each learner's pair is written")


def _learner_accounts(args: argparse.Namespace) -> list[tuple[str, Account]]:
    if args.accounts_file is not None:
        with open(args.accounts_file, encoding="utf-8") as names_file:
            names = [n.split("#", 1)[0].strip() for n in names_file]
        names = [n for n in names if n]
    else:
        names = [f"learner{i:02d}" for i in range(1, args.accounts + 1)]
    if not names or len(set(names)) != len(names) or not all(n.replace("-", "").replace("_", "").isalnum() for n in names):
        raise ValueError("learner names must be distinct, non-empty, letters, digits, - and _ (at least one)")
    return access_keys.for_learners(_accounts_dir(args), names)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface
