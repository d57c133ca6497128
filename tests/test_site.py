"""The offline site (tools/site.py) in a real browser: `make site` into a temporary folder, served from 127.0.0.1
(and opened from disk), with every request that would leave the machine blocked and recorded.

Pages must draw their mermaid diagrams, show the notebooks' saved outputs, and the deck must be
reveal.js slides, all without one request past loopback. With KMS_WORKSHOP_SCREENSHOTS set
(`make screenshots`) the index and notebook 04 are saved as site_index.png and site_04.png.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_browser import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: the tests that build the site (npm packages) or open it in Chromium; the link rewriting below
#: runs in the unit tier
in_browser = pytest.mark.browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    built = subprocess.run(["make", "--no-print-directory", "site", f"SITE_OUT={out}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def base(site) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A page that can reach only loopback and local files; `page.blocked` lists what it tried."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.blocked = []
    page.errors = []

    def guard(route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("file", "data", "blob") or url.hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", guard)
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    target = os.environ.get("KMS_WORKSHOP_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.mouse.move(0, 0)
        page.screenshot(path=str(Path(target) / name), animations="disabled", caret="hide")


def wait_for_diagrams(page) -> None:
    page.wait_for_function("document.body.getAttribute('data-mermaid')", timeout=30_000)
    assert page.evaluate("document.body.getAttribute('data-mermaid')") == "rendered"


@in_browser
def test_site_has_a_page_per_notebook_and_vendored_libraries(site):
    assert {p.stem for p in NOTEBOOKS} <= {p.stem for p in site.glob("*.html")}
    assert (site / "_static" / "mermaid.min.js").stat().st_size > 1_000_000
    assert (site / "_static" / "reveal.js" / "dist" / "reveal.js").is_file()
    loaded = {src for page in site.rglob("*.html") if "_static" not in page.parts
              for src in re.findall(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["']([^"']+)""", page.read_text(encoding="utf-8"))}
    assert "_static/mermaid.min.js" not in loaded  # added by script only where a diagram is
    assert loaded and not [src for src in loaded if urlsplit(src).scheme in ("http", "https") or src.startswith("//")]


@in_browser
def test_index_links_every_notebook_and_they_open(page, base):
    page.goto(f"{base}/index.html")
    hrefs = page.locator("main table a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == [f"{p.stem}.html" for p in NOTEBOOKS]
    assert page.locator("a[href='slides.html']").count() >= 1
    screenshot(page, "site_index.png")
    page.locator("main table a", has_text="04_decrypt_private_key").click()
    page.wait_for_url("**/04_decrypt_private_key.html")
    assert page.locator("h1").first.inner_text().startswith("Decrypt the private key")
    assert page.blocked == [] and page.errors == []


@in_browser
def test_notebook_04_shows_its_saved_outputs(page, base):
    page.goto(f"{base}/04_decrypt_private_key.html")
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.count() > 5
    hello = page.locator(".jp-OutputArea-output", has_text="Hello over TLS").first
    hello.wait_for(timeout=10_000)
    # an expected failure is saved as an error output and shown as one
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() >= 1
    hello.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -250)")
    screenshot(page, "site_04.png")
    assert page.blocked == [] and page.errors == []


@in_browser
def test_setup_draws_its_mermaid_diagram_and_links_to_pages(page, base):
    page.goto(f"{base}/00_setup.html")
    wait_for_diagrams(page)
    svg = page.locator(".jp-Mermaid svg").first
    assert svg.is_visible() and svg.bounding_box()["height"] > 100
    assert "CreateKey" in svg.text_content()
    page.locator(".jp-RenderedHTMLCommon a", has_text="01_create_key").first.click()
    page.wait_for_url("**/01_create_key.html")
    assert page.blocked == [] and page.errors == []


@in_browser
def test_pages_work_opened_from_disk(page, site):
    """A learner double-clicking the file: no server at all."""
    page.goto((site / "00_setup.html").as_uri())
    wait_for_diagrams(page)
    assert page.locator(".jp-Mermaid svg").count() >= 1
    page.goto((site / "docs" / "envelope.html").as_uri())
    assert page.locator("h2#guarantees-and-their-limits").count() == 1
    assert page.blocked == [] and page.errors == []


@in_browser
def test_slides_are_reveal_js_slides(page, base):
    page.goto(f"{base}/slides.html")
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
    total = page.evaluate("Reveal.getTotalSlides()")
    assert len(NOTEBOOKS) + 1 <= total <= 2 * len(NOTEBOOKS) + 1
    assert page.locator(".reveal .slides section.present h1").text_content().startswith("KMS Workshop")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("Reveal.getIndices().h === 1")
    assert "Set up the KMS workshop" in page.locator(".reveal .slides section.present:not(.stack)").text_content()
    assert page.blocked == [] and page.errors == []


@in_browser
def test_make_slides_alone_writes_the_deck(tmp_path):
    out = tmp_path / "slides-only"
    built = subprocess.run(["make", "--no-print-directory", "slides", f"SITE_OUT={out}"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    assert sorted(p.name for p in out.glob("*.html")) == ["slides.html"]
    deck = (out / "slides.html").read_text(encoding="utf-8")
    assert 'src="_static/reveal.js/dist/reveal.js"' in deck and (out / "_static" / "reveal.js" / "dist" / "reveal.js").is_file()
    assert all(f'href="{p.stem}.html"' in deck for p in NOTEBOOKS)  # each notebook's slide links its page


def test_links_are_rewritten_to_the_published_pages(tmp_path):
    from tools.site import Site, site_path

    for path in ("notebooks/01_key.ipynb", "notebooks/solutions/01_x.py", "docs/guide.md", "docs/ram/p.json", "README.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    site = Site(out=tmp_path / "out", root=tmp_path)
    page = ('<a href="01_key.ipynb#What\'s-next?">n</a> <a href="solutions/01_x.py">s</a> '
            '<a href="../docs/guide.md#cloud">g</a> <a href="../README.md">r</a> <a href="#here">h</a> '
            '<a href="https://example.com/a.md">e</a> <a href="missing.ipynb">m</a>')
    assert site.rewrite(page, "notebooks/00_setup.ipynb", site_path("notebooks/00_setup.ipynb")) == (
        '<a href="01_key.html#What&#x27;s-next?">n</a> <a href="solutions/01_x.py">s</a> '
        '<a href="docs/guide.html#cloud">g</a> <a href="index.html">r</a> <a href="#here">h</a> '
        '<a href="https://example.com/a.md">e</a> <a href="missing.ipynb">m</a>')
    docs = site.rewrite('<a href="ram/p.json">p</a> <a href="../notebooks/01_key.ipynb">k</a>', "docs/guide.md", "docs/guide.html")
    assert docs == '<a href="ram/p.json">p</a> <a href="../01_key.html">k</a>'
    assert site.linked_files == {"notebooks/solutions/01_x.py", "docs/ram/p.json"}  # copied, not pages
    site.copy_linked_files()
    assert (site.out / "solutions" / "01_x.py").is_file() and (site.out / "docs" / "ram" / "p.json").is_file()
