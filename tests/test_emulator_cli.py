"""The standalone command and the generated docs list."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.emulator import ACTIONS
from helpers.emulator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_cli_list_actions_matches_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-actions"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == list(ACTIONS)
    doc = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    block = doc.split("<!-- actions:start -->")[1].split("<!-- actions:end -->")[0]
    assert re.findall(r"^- (\w+)$", block, re.M) == list(ACTIONS)


def test_cli_bad_qps_limit_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--qps-limit", "fast"]) == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_endpoint_first_and_exits_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    state = tmp_path / "state" / "kms.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "helpers.emulator", "--state", str(state), "--qps-limit", "real"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", proc.stdout.readline().strip())
        second = re.fullmatch(r"AccessKeyId=(\S+) AccessKeySecret=(\S+)", proc.stdout.readline().strip())
        assert second is not None  # scripts parse this line
        kept = json.loads(Path(f"{state}-accesskey").read_text())  # the state file's own pair, not the public one
        assert second.groups() == (kept["AccessKeyId"], kept["AccessKeySecret"]) and kept["AccessKeyId"] != "testid"
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and state.exists()


def test_cli_prints_the_fault_control_token_that_works(tmp_path: Path) -> None:
    import http.client

    proc = subprocess.Popen([sys.executable, "-m", "helpers.emulator", "--test-account"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        endpoint = proc.stdout.readline().strip()
        proc.stdout.readline()
        control = re.fullmatch(r"fault control: POST (\S+)/-/faults with header x-kms-emulator-control: (\S+)",
                               proc.stdout.readline().strip())  # fmt: skip
        assert control is not None and control.group(1) == endpoint
        host, port = endpoint.split("//")[1].rsplit(":", 1)
        answers = []
        for token in ("", "wrong", control.group(2)):
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                conn.request("POST", "/-/faults", body=b"qps_limit=3",
                             headers={"Content-Type": "application/x-www-form-urlencoded", "x-kms-emulator-control": token})  # fmt: skip
                response = conn.getresponse()
                answers.append((response.status, json.loads(response.read())))
            finally:
                conn.close()
        assert [s for s, _ in answers] == [403, 403, 200] and answers[2][1]["qps_limit"] == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
