"""Short bounded load: concurrent SDK clients against the emulator in its own process.

Loopback only, stops by itself (wall clock and a round-trip cap). Promise: no lost or corrupted
round trip, no 5xx, no error at all; it prints requests/s, p50/p99 and errors. The long version
is ``make soak`` (benchmarks/soak.py, same code).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import soak  # noqa: E402

CLIENTS, SECONDS, MAX_ROUND_TRIPS = 4, 3.0, 5000


def test_load_concurrent_clients_lose_and_corrupt_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with soak.emulator_process(tmp_path / "state.sqlite") as emu:
        result = soak.run_load(emu.endpoint, clients=CLIENTS, seconds=SECONDS, max_round_trips=MAX_ROUND_TRIPS)
        assert emu.proc.poll() is None, "the emulator died under load"
    with capsys.disabled():
        print(f"\n[load] {result.line()}")
    assert result.errors == {} and result.lost == 0 and result.corrupted == 0 and result.server_errors == 0, result
    assert result.hung_workers == 0
    # It really was load: every client made many calls, and every kind of round trip happened.
    assert result.round_trips >= 20 * CLIENTS, result.line()
    assert {"Encrypt", "Decrypt", "GenerateDataKey", "CreateAlias", "DescribeKey", "DeleteAlias"} <= set(result.by_action)
    assert soak.integrity_check(tmp_path / "state.sqlite") == "ok"


def test_load_counts_corruption_and_server_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness can fail: a decrypt that returns other text, and injected 503s, are both counted."""
    from helpers.kms import Kms
    from helpers.results import DecryptResult

    real_decrypt = Kms.decrypt

    def lying_decrypt(self: Kms, blob: str, context: object = None, *, binary: bool = False) -> DecryptResult:
        got = real_decrypt(self, blob, context, binary=binary)  # type: ignore[arg-type]
        return DecryptResult(got.key_id, got.key_version_id, got.plaintext[:-1], got.request_id)

    monkeypatch.setattr(Kms, "decrypt", lying_decrypt)
    with soak.emulator_process(None, "--unavailable-every", "5") as emu:
        result = soak.run_load(emu.endpoint, clients=2, seconds=0.5, max_round_trips=40)
    assert result.corrupted > 0 and result.server_errors > 0 and not result.clean
    assert result.errors.get("ServiceUnavailableTemporary", 0) == result.server_errors
