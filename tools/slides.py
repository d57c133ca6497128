"""The workshop deck (make slides): a title slide, then for each notebook its title, lead and
`## Overview`, and its `## Summary` (the skeleton every notebook follows, tests/test_notebook_skeleton.py).

The deck is a generated notebook converted with `jupyter nbconvert --to slides`' exporter and the
kit's reveal template (site/templates/kms_reveal), with reveal.js from the site's `_static/`
(`reveal_url_prefix`), so slides.html opens offline next to the site's pages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.site import Site

_HEADING = re.compile(r"^#{1,6} ", re.M)


def section(text: str, heading: str) -> str | None:
    """The body under `heading` (e.g. "## Summary") up to the next heading, or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == heading:
            body = []
            for rest in lines[i + 1:]:
                if _HEADING.match(rest):
                    break
                body.append(rest)
            return "\n".join(body).strip()
    return None


def lead(text: str) -> str:
    """The H1 cell's text after its title: one sentence on what the notebook does."""
    return text.split("\n", 1)[1].strip() if "\n" in text else ""


def notebook_slides(path: Path) -> list[str]:
    """One or two slides' markdown: title, lead and overview; then the summary."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "markdown"]
    title_cell = next((c for c in cells if c.startswith("# ")), f"# {path.stem}")
    title = title_cell.splitlines()[0][2:].strip()
    overview = next((s for c in cells if (s := section(c, "## Overview")) is not None), None)
    summary = next((s for c in cells if (s := section(c, "## Summary")) is not None), None)
    first = [f"## {title}", f"<small>[{path.stem}]({path.name})</small>", "", lead(title_cell)]
    if overview:
        first += ["", overview]
    slides = ["\n".join(first)]
    if summary:
        slides.append(f"### {title}: in short\n\n{summary}")
    return slides


def deck(notebooks_dir: Path, readme: str) -> Any:
    """The deck as a notebook: one markdown cell per slide."""
    import nbformat

    title = readme.splitlines()[0].removeprefix("# ").strip()
    intro = readme.split("\n\n", 2)[1] if "\n\n" in readme else ""
    cells = [f"# {title}\n\n{intro}\n\n<small>Read the notebooks: [the site](index.html)</small>"]
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        cells += notebook_slides(path)
    nb = nbformat.v4.new_notebook()
    nb.metadata["title"] = title
    nb.cells = [nbformat.v4.new_markdown_cell(c, metadata={"slideshow": {"slide_type": "slide"}}) for c in cells]
    return nb


def build(site: Site) -> None:
    """slides.html in the site's top folder; its links rewritten like a notebook's (the deck's
    cells come from notebooks/, so their relative links are written from there)."""
    from nbconvert import SlidesExporter

    from tools.site import MERMAID, REVEAL, template_dirs

    nb = deck(site.root / "notebooks", (site.root / "README.md").read_text(encoding="utf-8"))
    exporter = SlidesExporter(template_name="kms_reveal", **template_dirs(), reveal_url_prefix=REVEAL,
                              mermaid_js_url=MERMAID, reveal_number="c/t",
                              # white ships its font in dist/theme/fonts; nbconvert's default
                              # (simple) and most others @import theirs from Google Fonts
                              reveal_theme="white")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": nb.metadata["title"]}})
    site.write("slides.html", site.rewrite(body, "notebooks/slides.ipynb", "slides.html"))
