"""A learner's run: `make lab`, then every notebook opened and run in headless Chromium.

JupyterLab serves a copy of notebooks/ (so the committed notebooks are never touched) on the
emulator with a fresh state. Each notebook gets Run All, is saved, and the saved file must show
every code cell executed and no error outside cells tagged `raises-exception`. Screenshots of
notebook 04 and of the playground panel go to KMS_WORKSHOP_SCREENSHOTS (`make screenshots`).

For screenshots the kernels use one standalone emulator seeded like a recording (the same ids,
ciphertexts and dates on every run) as learner `ada`, the file browser is folded away, and only the
notebook area is captured, so a screenshot changes only when the page does (docs/replay.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
TOKEN = "browser-test-token"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_status(url: str, proc: subprocess.Popen, seconds: float = 90) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"make lab exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"JupyterLab did not answer {url} within {seconds} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints"))
    settings = work / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell, so the test can read every prompt (JupyterLab 4 virtualises long notebooks).
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    port = free_port()
    shots = bool(os.environ.get("KMS_WORKSHOP_SCREENSHOTS"))
    seeded = None
    if shots:
        from helpers.emulator import Emulator

        seeded = Emulator(seed=20260105).start()
    env = {
        **os.environ, "JUPYTER_TOKEN": TOKEN, "KMS_WORKSHOP_BACKEND": "emulator",
        "KMS_WORKSHOP_STATE": str(work / "state.sqlite"), "JUPYTER_CONFIG_DIR": str(work / "config"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTERLAB_WORKSPACES_DIR": str(work / "ws"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        **({"KMS_WORKSHOP_ENDPOINT": seeded.endpoint, "KMS_WORKSHOP_LEARNER": "ada"} if seeded else {}),
    }
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={port}", f"LAB_DIR={work / 'notebooks'}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for_status(f"{base}/api/status?token={TOKEN}", proc) == 200
        yield base, work / "notebooks"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        if seeded is not None:
            seeded.stop()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def run_all(page, base: str, name: str) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={TOKEN}&reset")
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    page.locator("#jp-main-statusbar").get_by_text("Idle").first.wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        if prompts and not any("*" in p or p.strip() in ("[ ]:", "") for p in prompts):
            return
        time.sleep(0.3)
    page.screenshot(path="/tmp/browser_fail.png")
    raise TimeoutError(f"{name}: cells still running after 120 s: {prompts}")


def save(page, folder: Path, name: str) -> dict:
    before = (folder / name).stat().st_mtime_ns
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while (folder / name).stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    return json.loads((folder / name).read_text())


def screenshot(page, name: str, top=None, bottom=None) -> None:
    """The notebook area only (no file browser with its "modified" times, no status bar), from
    the `top` element's top to the `bottom` element's bottom when given."""
    target = os.environ.get("KMS_WORKSHOP_SCREENSHOTS")
    if not target:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    if page.locator("#jp-left-stack").is_visible():
        page.keyboard.press("Control+b")  # fold the left sidebar away
    page.mouse.move(0, 0)  # no hover highlight
    page.wait_for_timeout(500)  # let the layout settle after folding
    area = page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer, .jp-NotebookPanel:visible .jp-Notebook").first
    box = area.bounding_box()
    if top is not None and bottom is not None:
        top.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
        first, last = top.bounding_box(), bottom.bounding_box()
        box = {"x": box["x"], "width": box["width"], "y": first["y"] - 8,
               "height": last["y"] + last["height"] - first["y"] + 16}
    page.screenshot(path=str(Path(target) / name), clip=box, animations="disabled", caret="hide")


def test_make_lab_answers_api_status(lab):
    base, _ = lab
    with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5) as response:
        assert response.status == 200 and "started" in json.loads(response.read())


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_browser_run_all_cells_without_unexpected_errors(lab, page, name):
    base, folder = lab
    run_all(page, base, name)
    saved = save(page, folder, name)
    for index, cell in enumerate(c for c in saved["cells"] if c["cell_type"] == "code"):
        assert cell["execution_count"] is not None, f"{name}: code cell {index} did not run"
        expected = "raises-exception" in cell["metadata"].get("tags", [])
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert bool(errors) == expected, f"{name}: code cell {index}: {errors[:1] or 'no error where one was expected'}"
    if name.startswith("04_"):
        page.locator(".jp-OutputArea-output", has_text="Hello over TLS").first.scroll_into_view_if_needed()
        screenshot(page, "04_decrypt_private_key.png")
    if name.startswith("07_"):
        page.locator(".widget-textarea textarea").first.fill("my first secret")
        page.locator(".widget-button", has_text="Encrypt").first.click()
        page.locator(".widget-html", has_text="Encrypted 15 chars").first.wait_for(timeout=30_000)
        page.locator(".widget-button", has_text="Encrypt").first.scroll_into_view_if_needed()
        # up to the status line: the wire panel below shows the request's Timestamp, new every run
        screenshot(page, "07_playground.png", top=page.locator(".widget-dropdown").first,
                   bottom=page.locator(".widget-html", has_text="Encrypted 15 chars").first)
