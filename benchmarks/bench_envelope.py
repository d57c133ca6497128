"""Envelope throughput and memory vs raw AES-GCM, and encrypt-dir's files/s: one table, one run.

    .venv/bin/python benchmarks/bench_envelope.py [--size-mib 1024] [--files 2000] [--workers 8]

Each measurement runs in its own subprocess so that its peak RSS (`ru_maxrss`) is its own. The
data key comes from a local emulator started here; the 1 GiB file sits in a temporary folder on
disk (in the page cache, as it was just written; outputs are fsync'ed, as the kit always does).
"Limit" is `cryptography`'s AESGCM over the same bytes already in memory, 1 MiB per call into a
reused buffer: no file system, no copies; nothing written to a file can beat it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHUNK = 1 << 20
BENCH_LEARNER = "bench"
KEY_ALIAS = f"alias/kms-workshop/{BENCH_LEARNER}/envelope"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _Null:
    def write(self, data: bytes) -> int:
        return len(data)


def worker(kind: str, folder: Path) -> dict[str, float]:
    """Runs in a child process: one measurement, reported as JSON on stdout."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from helpers import connect, envelope

    src, enc, dec = folder / "data.bin", folder / "data.bin.cipher", folder / "data.out"
    size = src.stat().st_size
    kms = connect(learner=BENCH_LEARNER)  # outside the clock: the one KMS round trip is timed, the client set-up is not
    start = time.perf_counter()
    if kind == "encrypt":
        envelope.encrypt_file(src, enc, KEY_ALIAS, overwrite=True, kms=kms)
    elif kind == "decrypt":
        envelope.decrypt_file(enc, dec, overwrite=True, kms=kms)
    elif kind == "encrypt-null":  # the format's own cost: read from the page cache, discard output
        with open(src, "rb", buffering=0) as fin:
            envelope.encrypt_stream(fin, _Null(), KEY_ALIAS, kms=kms)
    elif kind == "decrypt-null":
        with open(enc, "rb", buffering=0) as fin:
            envelope.decrypt_stream(fin, _Null(), kms=kms)
    elif kind == "copy":  # the file system alone: read, write, fsync, the same way, no crypto
        buf = memoryview(bytearray(CHUNK))
        with open(src, "rb", buffering=0) as fin, open(folder / "copy.bin", "wb") as fout:
            while n := fin.readinto(buf):
                fout.write(buf[:n])
            fout.flush()
            os.fsync(fout.fileno())
    else:  # limit-encrypt / limit-decrypt over bytes already in memory
        data = memoryview(src.read_bytes())
        aead, nonce, aad = AESGCM(os.urandom(32)), os.urandom(12), os.urandom(32)
        out = memoryview(bytearray(CHUNK + 16))
        # decrypt needs genuine ciphertext of every chunk, made before the clock starts
        sealed = [aead.encrypt(nonce, data[o : o + CHUNK], aad) for o in range(0, size, CHUNK)] \
            if kind == "limit-decrypt" else []  # fmt: skip
        plain = memoryview(bytearray(CHUNK))
        start = time.perf_counter()
        if kind == "limit-encrypt":
            for offset in range(0, size, CHUNK):
                piece = data[offset : offset + CHUNK]
                aead.encrypt_into(nonce, piece, aad, out[: len(piece) + 16])
        else:
            for piece in sealed:
                aead.decrypt_into(nonce, piece, aad, plain[: len(piece) - 16])
    seconds = time.perf_counter() - start
    return {"mib_s": size / (1 << 20) / seconds, "seconds": seconds, "peak_rss_mib": _peak_mib()}


def run_worker(kind: str, folder: Path, endpoint: str) -> dict[str, float]:
    env = {**os.environ, "KMS_WORKSHOP_ENDPOINT": endpoint, "KMS_WORKSHOP_BACKEND": "emulator"}
    out = subprocess.run([sys.executable, __file__, "--worker", kind, str(folder)], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def make_file(path: Path, size: int) -> None:
    block = os.urandom(CHUNK)
    with open(path, "wb") as out:
        for i in range(size // CHUNK):
            out.write(i.to_bytes(8, "big") + block[8:])


def encrypt_dir_rate(folder: Path, endpoint: str, workers: int, run: int) -> float:
    env = {**os.environ, "KMS_WORKSHOP_ENDPOINT": endpoint, "KMS_WORKSHOP_BACKEND": "emulator"}
    dst = folder / f"enc-{workers}-{run}"
    done = subprocess.run(
        [sys.executable, "-m", "helpers", "encrypt-dir", str(folder / "conf"), str(dst), "-k", KEY_ALIAS,
         "-j", str(workers), "--no-progress"], env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(re.search(r"\((\d+) files/s\)", done.stderr).group(1))  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], Path(args.worker[1]))))
        return

    import helpers
    from helpers.emulator import Emulator

    with Emulator(state_path=None) as emu, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kms = helpers.connect("emulator", endpoint=emu.endpoint, learner=BENCH_LEARNER)
        helpers.ensure_key(kms, KEY_ALIAS, "benchmark")
        size = args.size_mib << 20
        make_file(folder / "data.bin", size)
        results: dict[str, dict[str, float]] = {}
        # Disk-bound runs vary 2-5x with write-back on a VM: run each 3 times, interleaved; keep the best.
        order = ["limit-encrypt", "limit-decrypt"] + ["copy", "encrypt", "decrypt"] * 3
        order += ["encrypt-null", "decrypt-null"] * 2
        for kind in order:
            got = run_worker(kind, folder, emu.endpoint)
            if kind not in results or got["mib_s"] > results[kind]["mib_s"]:
                results[kind] = got
        assert (folder / "data.out").stat().st_size == size
        conf = folder / "conf"
        for i in range(args.files):
            sub = conf / f"svc{i % 20:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"app{i}.conf").write_text(f"# service {i}\nlisten = 0.0.0.0:{8000 + i}\n" * 20)
        rates: dict[int, float] = {1: 0.0, args.workers: 0.0}
        for run in range(2):  # best of 2, interleaved, for the same reason as above
            for n in rates:
                rates[n] = max(rates[n], encrypt_dir_rate(folder, emu.endpoint, n, run))
        one, many = rates[1], rates[args.workers]

    r = results
    print(f"\nEnvelope encryption, {args.size_mib} MiB file, {CHUNK >> 10} KiB chunks, {os.cpu_count()} cores")
    print(f"| {'measurement':<50} | {'MiB/s':>6} | {'vs limit':>8} | {'vs copy':>7} | {'peak RSS':>8} |")
    print(f"|{'-' * 52}|{'-' * 7}:|{'-' * 9}:|{'-' * 8}:|{'-' * 9}:|")
    rows = [("limit: raw AESGCM encrypt, bytes in memory", "limit-encrypt", "limit-encrypt"),
            ("limit: raw AESGCM decrypt, bytes in memory", "limit-decrypt", "limit-decrypt"),
            ("file system alone: copy + fsync, no crypto", "copy", "limit-encrypt"),
            ("envelope encrypt_file, disk to disk (+fsync)", "encrypt", "limit-encrypt"),
            ("envelope decrypt_file, disk to disk (+fsync)", "decrypt", "limit-decrypt"),
            ("envelope encrypt_stream, file to null sink", "encrypt-null", "limit-encrypt"),
            ("envelope decrypt_stream, file to null sink", "decrypt-null", "limit-decrypt")]  # fmt: skip
    for label, kind, base in rows:
        ratio = r[kind]["mib_s"] / r[base]["mib_s"]
        vs_copy = "-" if kind.startswith(("limit", "copy")) or "null" in kind else f"{r[kind]['mib_s'] / r['copy']['mib_s']:.2f}x"
        rss = f"{r[kind]['peak_rss_mib']:.0f} MiB" if kind != "limit-encrypt" and kind != "limit-decrypt" else "-"
        print(f"| {label:<50} | {r[kind]['mib_s']:>6.0f} | {ratio:>7.2f}x | {vs_copy:>7} | {rss:>8} |")
    print("(peak RSS is the whole child process; the copy row, which imports the same modules, is the baseline)")
    print(f"\nencrypt-dir, {args.files} small text files (direct Encrypt, one KMS call each), emulator")
    print(f"| workers | files/s |\n|--------:|--------:|\n| 1 | {one:.0f} |\n| {args.workers} | {many:.0f} |")
    print(f"speed-up with {args.workers} workers: {many / one:.2f}x")


if __name__ == "__main__":
    main()
