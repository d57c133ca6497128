"""tools/links.py: internal links are checked (files and #anchors, with file and line), external
ones are reported and never fail the build; and the kit's own prose has no broken internal link."""

from __future__ import annotations

import functools
import json
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools import links

REPO = Path(__file__).resolve().parents[1]


def notebook(*markdown: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": m} for m in markdown]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small kit: every link in it lands, until a test breaks one."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "notebooks" / "solutions").mkdir(parents=True)
    (tmp_path / "notebooks" / "solutions" / "01_x.py").write_text("print(1)\n")
    (tmp_path / "README.md").write_text(
        "# Kit\n\nSee [the guide](docs/guide.md#cloud-before-you-start) and [setup](docs/guide.md#one-vm-make-hub).\n"
        "```sh\nmake [not a link](nowhere.md)\n```\n`[code, not a link](nowhere.md)`\n")
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\n## Cloud: before you start\n\n## One VM: `make hub`\n\n## Notes\n\n## Notes\n\n"
        "Back to [the top](#guide), [the second notes](#notes-1), [the kit](../README.md).\n")
    (tmp_path / "notebooks" / "00_setup.ipynb").write_text(notebook(
        "# Set up\n\nNext: [01](01_key.ipynb#What's-next?), [a solution](solutions/01_x.py), "
        "[the guide](../docs/guide.md#notes)"))
    (tmp_path / "notebooks" / "01_key.ipynb").write_text(notebook("# Key\n", "### What's next?\n\n[back](00_setup.ipynb)"))
    return tmp_path


def test_a_tree_whose_links_all_land_is_clean(tree):
    assert links.check_internal(tree) == []
    assert links.main(["--root", str(tree)]) == 0


def test_a_broken_file_link_is_reported_with_file_and_line(tree, capsys):
    guide = tree / "docs" / "guide.md"
    guide.write_text(guide.read_text() + "\nSee [the server recipe](server.md).\n")
    problems = links.check_internal(tree)
    assert problems == ["docs/guide.md:13: server.md: no such file (docs/server.md)"]
    assert links.main(["--root", str(tree)]) == 1
    assert "docs/guide.md:13: server.md: no such file" in capsys.readouterr().err


def test_a_broken_anchor_is_reported_in_md_and_in_notebooks(tree):
    (tree / "README.md").write_text("# Kit\n\n[gone](docs/guide.md#cloud)\n[case](docs/guide.md#Notes)\n")
    (tree / "notebooks" / "01_key.ipynb").write_text(notebook("# Key\n", "### What's next?\n\n[setup](00_setup.ipynb#set-up)"))
    assert links.check_internal(tree) == [
        "README.md:3: docs/guide.md#cloud: no heading with the anchor #cloud in docs/guide.md",
        "README.md:4: docs/guide.md#Notes: no heading with the anchor #Notes in docs/guide.md",
        # a notebook heading's id keeps its case (JupyterLab, nbconvert): #Set-up, not #set-up
        "notebooks/01_key.ipynb:cell 1:line 3: 00_setup.ipynb#set-up: no heading with the anchor #set-up "
        "in notebooks/00_setup.ipynb",
    ]


def test_anchor_rules_match_github_and_jupyterlab():
    assert links.github_slug(links.heading_text("Cloud: before you start")) == "cloud-before-you-start"
    assert links.github_slug(links.heading_text("One VM: `make hub`")) == "one-vm-make-hub"
    assert links.github_slug(links.heading_text("Past one machine: Zero to JupyterHub")) == "past-one-machine-zero-to-jupyterhub"
    assert links.github_slug(links.heading_text("Guarantees, and their limits")) == "guarantees-and-their-limits"
    assert links.notebook_id(links.heading_text("What's next?")) == "What's-next?"


def test_the_kits_prose_has_no_broken_internal_link():
    problems = links.check_internal(REPO)
    assert problems == [], "broken internal links:\n" + "\n".join(problems)


def test_external_links_are_reported_and_never_fail(tmp_path, capsys):
    """A 404 from a server that answers is BROKEN; a host nothing answers for is NOT CHECKED; both exit 0."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "here.html").write_text("ok")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site")))
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as closed:  # a port nothing listens on: the same error as no network
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    up = f"http://127.0.0.1:{server.server_address[1]}"
    (tmp_path / "README.md").write_text(f"# Kit\n\n[ok]({up}/here.html) [gone]({up}/gone.html) [dead](http://127.0.0.1:{dead}/)\n")
    try:
        assert links.main(["--external", "--root", str(tmp_path), "--timeout", "5"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    out = capsys.readouterr().out
    assert f"200  {up}/here.html  (README.md:3)" in out
    assert f"BROKEN 404  {up}/gone.html" in out
    assert "NOT CHECKED no answer" in out and "3 external links: 1 ok, 1 BROKEN, 1 not answered" in out


def test_with_no_network_at_all_it_says_nothing_was_checked(tmp_path, capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    (tmp_path / "README.md").write_text(f"# Kit\n\n<http://127.0.0.1:{dead}/a> and [b](http://127.0.0.1:{dead}/b)\n")
    assert links.main(["--external", "--root", str(tmp_path), "--timeout", "5"]) == 0
    out = capsys.readouterr().out
    assert "NOT CHECKED: no network: none of the 2 external links answered" in out
