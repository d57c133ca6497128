"""Sizing a room: N learners (default 10) started together on one hub, as root.

Prints the time from the REST calls that start all N servers to each server being ready, then,
with every learner's kernel up and its in-process emulator used (a key created, Encrypt, Decrypt),
the memory each learner costs: the unique set size (USS: what stopping that learner frees) and
the proportional set size (PSS: shared pages split among users) of every process of their uid
(server, kernel, emulator thread). Learners per GB = 1024 MB / PSS per learner. Loopback only;
the learners are throwaway system users removed at the end.

    sudo .venv/bin/python benchmarks/bench_hub.py --learners 10
"""

from __future__ import annotations

import argparse
import os
import platform
import pwd
import secrets
import statistics
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_hub import execute, open_room, wait_until  # noqa: E402 (the room the test builds)

WORK = ("import helpers\nkms = helpers.connect()\nalias = helpers.workshop.alias(kms, 'bench')\n"
        "helpers.ensure_key(kms, alias, 'bench')\nblob = kms.encrypt(alias, 'x' * 4096).ciphertext_blob\n"
        "assert kms.decrypt(blob).plaintext == 'x' * 4096\nprint('ok')")  # fmt: skip


def memory(uid: int) -> tuple[float, float, int]:
    uss = pss = 0
    count = 0
    for proc in psutil.process_iter(["uids"]):
        if proc.info["uids"] and proc.info["uids"].real == uid:
            try:
                full = proc.memory_full_info()
            except psutil.Error:
                continue
            uss, pss, count = uss + full.uss, pss + full.pss, count + 1
    return uss / 2**20, pss / 2**20, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_hub: needs root (it creates throwaway learners); nothing measured", file=sys.stderr)
        return 2
    tag = secrets.token_hex(2)
    names = [f"kmsb{i:02d}-{tag}" for i in range(args.learners)]
    with open_room(names) as room:
        started = time.monotonic()
        for name in names:
            assert room.api("POST", f"/users/{name}/server").status_code in (201, 202)
        ready: dict[str, float] = {}

        def poll() -> bool:
            for name in names:
                if name not in ready and room.api("GET", f"/users/{name}").json()["servers"].get("", {}).get("ready"):
                    ready[name] = time.monotonic() - started
            return len(ready) == len(names)

        wait_until(poll, 600, "not every server became ready")
        tokens = {}
        for name in names:
            r = room.api("POST", f"/users/{name}/tokens", json={"scopes": [f"access:servers!user={name}"]})
            tokens[name] = r.json()["token"]
        problems: list[str] = []

        def work(name: str) -> None:
            try:
                problems.extend(execute(room, name, tokens[name], "01_create_key.ipynb", [(WORK, False)], keep=True)[0])
            except Exception as exc:  # noqa: BLE001 (reported below: no figure from a learner that failed)
                problems.append(f"{name}: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=work, args=(name,)) for name in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not problems, problems
        kernels = {n: c for n, (_, _, c) in ((n, memory(pwd.getpwnam(n).pw_uid)) for n in names)}
        assert all(c >= 2 for c in kernels.values()), f"a learner's kernel is gone: {kernels}"
        time.sleep(2)
        per = {name: memory(pwd.getpwnam(name).pw_uid) for name in names}
        hub = psutil.Process(room.hub.pid)
        hub_pss = sum(p.memory_full_info().pss for p in [hub, *hub.children()] if p.uids().real == 0) / 2**20
    times = sorted(ready.values())
    uss = [u for u, _, _ in per.values()]
    pss = [p for _, p, _ in per.values()]
    procs = [c for _, _, c in per.values()]
    vm = psutil.virtual_memory()
    print(f"# bench_hub {date.today()} on {platform.node()}: {os.cpu_count()} CPUs, {vm.total / 2**30:.1f} GB RAM, "
          f"{platform.platform()}, Python {platform.python_version()}")  # fmt: skip
    print(f"learners started together: {len(names)}")
    print(f"time to a ready server, s: first {times[0]:.1f}, median {statistics.median(times):.1f}, last {times[-1]:.1f}")
    print(f"processes per learner: {min(procs)}-{max(procs)} (server, kernel; the emulator is a thread of the kernel)")
    print(f"memory per learner, MB: USS median {statistics.median(uss):.0f} (max {max(uss):.0f}), "
          f"PSS median {statistics.median(pss):.0f} (max {max(pss):.0f})")  # fmt: skip
    print(f"hub + proxy (root), PSS MB: {hub_pss:.0f}")
    print(f"learners per GB (1024 / max PSS): {1024 / max(pss):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
