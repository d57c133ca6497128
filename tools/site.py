"""The offline site (make site): every notebook as an HTML page with its saved outputs, the docs
as HTML, an index, and the slide deck (tools/slides.py), readable with no install and no network.

Notebooks are converted by nbconvert's lab template (site/templates/kms_lab), never executed: the
outputs are the recorded ones. Mermaid and reveal.js come from site/node_modules (npm ci --prefix
site) and are copied into `<out>/_static/`, so no page fetches anything from a CDN. Every relative
link is rewritten to where its target lives in the site: notebooks/X.ipynb -> X.html,
docs/X.md -> docs/X.html, README.md -> index.html; any other linked repository file (a solution, a
policy JSON, an image) is copied to the same place. Why this tool and not Jupyter Book: docs/site.md.

    python -m tools.site --out build/site            # the whole site, slides included
    python -m tools.site --out build/site --slides   # only slides.html (and _static/)
"""

from __future__ import annotations

import argparse
import html
import json
import posixpath
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tools.links import github_slug

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "site"  # package.json, package-lock.json, templates/, node_modules/
TEMPLATES = PACKAGES / "templates"
STATIC = "_static"
MERMAID = f"{STATIC}/mermaid.min.js"
REVEAL = f"{STATIC}/reveal.js"
#: marks a folder this tool wrote, so a rebuild may empty it and nothing else is ever removed
MARKER = ".kms-workshop-site"

_HREF = re.compile(r"""(\s(?:href|src)=)(["'])(.*?)\2""")


def is_page(repo_path: str) -> bool:
    """Whether the site builds a page from this repository file (else it copies the file)."""
    folder, _, name = repo_path.rpartition("/")
    return (repo_path == "README.md" or folder == "notebooks" and name.endswith(".ipynb")
            or folder == "docs" and name.endswith(".md"))


def site_path(repo_path: str) -> str:
    """Where a repository file is found in the site (both relative, POSIX): the notebooks' folder
    is the site's top, so the notebooks' own relative links (solutions/x.py) keep working."""
    if repo_path == "README.md":
        return "index.html"
    published = repo_path.removeprefix("notebooks/")
    return published.rsplit(".", 1)[0] + ".html" if is_page(repo_path) else published


@dataclass
class Site:
    """One build: where it goes, and the repository files its pages link to (copied at the end)."""

    out: Path
    root: Path = ROOT

    def __post_init__(self) -> None:
        self.linked_files: set[str] = set()

    def rewrite(self, page_html: str, source: str, page: str) -> str:
        """`page_html`, written from repository file `source` and published at site path `page`,
        with each relative href/src pointing where its target is in the site."""

        def one(match: re.Match[str]) -> str:
            attr, quote, value = match.groups()
            new = self.href(html.unescape(value), source, page)
            return f"{attr}{quote}{html.escape(new, quote=True)}{quote}" if new is not None else match.group(0)

        return _HREF.sub(one, page_html)

    def href(self, value: str, source: str, page: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not parts.path:
            return None  # external, data:, or an anchor on this page
        target = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(parts.path)))
        local = self.root / target
        if target.startswith("../") or not local.exists():
            return None  # outside the kit, or missing: make test-links reports it
        published = site_path(target)
        if local.is_file() and not is_page(target):
            self.linked_files.add(target)
        if local.is_dir():
            published += "/"
        relative = posixpath.relpath(published, posixpath.dirname(page) or ".")
        return relative + ("/" if published.endswith("/") and not relative.endswith("/") else "") + (
            f"#{parts.fragment}" if parts.fragment else "")

    def write(self, page: str, text: str) -> None:
        path = self.out / page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def copy_linked_files(self) -> None:
        for repo_path in sorted(self.linked_files):
            source = self.root / repo_path
            if source.is_file():
                (self.out / site_path(repo_path)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, self.out / site_path(repo_path))


def prepare(out: Path) -> None:
    """An empty output folder, refusing to empty one this tool did not write."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SystemExit(f"{out} exists and was not written by tools.site; name another --out or remove it")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out / MARKER).write_text("written by python -m tools.site; rebuilt (emptied) by make site\n")


def copy_static(out: Path, packages: Path = PACKAGES) -> None:
    """mermaid and reveal.js from the vendored npm packages, next to the pages."""
    modules = packages / "node_modules"
    mermaid = modules / "mermaid" / "dist" / "mermaid.min.js"
    reveal = modules / "reveal.js"
    if not mermaid.is_file() or not (reveal / "dist" / "reveal.js").is_file():
        raise SystemExit(f"{modules} lacks mermaid or reveal.js: run 'npm ci --prefix site' (make site does it)")
    (out / STATIC).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mermaid, out / MERMAID)
    shutil.rmtree(out / REVEAL, ignore_errors=True)
    unused = shutil.ignore_patterns("*.map", "*.esm.js")  # source maps and the ES module build: not loaded
    shutil.copytree(reveal / "dist", out / REVEAL / "dist", ignore=unused)
    shutil.copytree(reveal / "plugin" / "notes", out / REVEAL / "plugin" / "notes", ignore=unused)
    for name, folder in (("mermaid", modules / "mermaid"), ("reveal.js", reveal)):  # both MIT: ship the notice
        if (folder / "LICENSE").is_file():
            shutil.copyfile(folder / "LICENSE", out / STATIC / f"{name}.LICENSE")


# ---- notebooks ------------------------------------------------------------------------------------

def notebook_title(path: Path) -> str:
    """The notebook's one H1 (the skeleton test guarantees it), else its file name."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            first = "".join(cell["source"]).lstrip().splitlines()[:1]
            if first and first[0].startswith("# "):
                return first[0][2:].strip()
    return path.stem


def html_exporter(**config: Any) -> Any:
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="kms_lab", mermaid_js_url=MERMAID, **template_dirs(), **config)


def template_dirs() -> dict[str, list[str]]:
    """The kit's templates: basedirs so `kms_lab` is found as a template, paths so they can import
    site/templates/offline.html.j2."""
    return {"extra_template_basedirs": [str(TEMPLATES)], "extra_template_paths": [str(TEMPLATES)]}


def build_notebooks(site: Site) -> list[tuple[Path, str]]:
    """One page per notebook, saved outputs as they are; (notebook, title) in order."""
    import nbformat

    notebooks = sorted((site.root / "notebooks").glob("*.ipynb"))
    titles = [notebook_title(p) for p in notebooks]
    exporter = html_exporter()
    for i, path in enumerate(notebooks):
        source = f"notebooks/{path.name}"
        page = site_path(source)
        neighbours = {"prev": notebooks[i - 1] if i else None,
                      "next": notebooks[i + 1] if i + 1 < len(notebooks) else None}
        nav = {"index": "index.html", **{k: {"href": site_path(f"notebooks/{p.name}"), "title": p.stem} if p else None
                                         for k, p in neighbours.items()}}
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": titles[i]}, "site_nav": nav})
        site.write(page, site.rewrite(body, source, page))
    return list(zip(notebooks, titles))


# ---- docs and index -------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; line-height: 1.55; color: #1f2328;
       max-width: 980px; margin: 0 auto; padding: 0 24px 48px; }}
nav.kms-site-nav {{ font-size: 14px; padding: 10px 0; border-bottom: 1px solid #d0d7de; margin-bottom: 8px; }}
nav.kms-site-nav a {{ margin-right: 18px; }}
a {{ color: #0969da; }}
code, pre {{ font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 90%; }}
:not(pre) > code {{ background: #eff1f3; padding: .1em .35em; border-radius: 4px; }}
pre {{ background: #f6f8fa; padding: 12px 16px; overflow: auto; border-radius: 6px; }}
table {{ border-collapse: collapse; margin: 12px 0; }}
th, td {{ border: 1px solid #d0d7de; padding: 6px 12px; text-align: left; vertical-align: top; }}
th {{ background: #f6f8fa; }}
img {{ max-width: 100%; }}
h1, h2 {{ border-bottom: 1px solid #d8dee4; padding-bottom: .3em; }}
</style>
{head}</head>
<body>
<nav class="kms-site-nav"><a href="{index}">&#8962; Contents</a><a href="{slides}">Slides</a></nav>
<main>
{body}
</main>
</body></html>
"""


def mermaid_head(body: str, page: str) -> str:
    """The local mermaid loader, for a page that has a diagram."""
    if 'class="jp-Mermaid"' not in body:
        return ""
    from jinja2 import Environment, FileSystemLoader

    macro = Environment(loader=FileSystemLoader(str(TEMPLATES))).get_template("offline.html.j2").module
    return str(macro.mermaid_local(posixpath.relpath(MERMAID, posixpath.dirname(page) or ".")))  # type: ignore[attr-defined]


def markdown_to_html(text: str) -> str:
    """GitHub-flavoured enough for the kit's docs: tables, fenced code, autolinks; headings get
    GitHub's ids (so docs/x.md#anchor links land); ```mermaid blocks become diagrams."""
    import mistune

    class Renderer(mistune.HTMLRenderer):
        def __init__(self) -> None:
            super().__init__(escape=False)
            self.seen: dict[str, int] = {}

        def heading(self, text: str, level: int, **attrs: Any) -> str:
            slug = github_slug(html.unescape(re.sub(r"<[^>]+>", "", text)))
            anchor = f"{slug}-{self.seen[slug]}" if slug in self.seen else slug
            self.seen[slug] = self.seen.get(slug, 0) + 1
            return f'<h{level} id="{anchor}">{text}</h{level}>\n'

        def block_code(self, code: str, info: str | None = None) -> str:
            if info and info.split()[0] == "mermaid":
                return f'<div class="jp-Mermaid"><pre class="mermaid">\n{html.escape(code)}</pre></div>\n'
            return super().block_code(code, info)

    render = mistune.create_markdown(renderer=Renderer(), plugins=["table", "strikethrough", "url"])
    return str(render(text))


def docs_page(site: Site, source: str, body_markdown: str, title: str) -> None:
    page = site_path(source)
    depth = posixpath.relpath(".", posixpath.dirname(page) or ".")
    body = site.rewrite(markdown_to_html(body_markdown), source, page)
    site.write(page, _PAGE.format(title=html.escape(title), head=mermaid_head(body, page), body=body,
                                  index=posixpath.join(depth, "index.html"), slides=posixpath.join(depth, "slides.html")))


def build_docs(site: Site) -> list[tuple[str, str]]:
    """docs/*.md as pages; (site path, title) in order."""
    built = []
    for path in sorted((site.root / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.stem)
        source = f"docs/{path.name}"
        docs_page(site, source, text, title)
        built.append((site_path(source), title))
    return built


def readme_rows(readme: str) -> dict[str, tuple[str, str]]:
    """README's notebook table: stem -> (what you do, minutes)."""
    rows = re.findall(r"^\| `(\d\d_[a-z0-9_]+)` \| (.*?) \| .*? \| (\d+) \|$", readme, re.M)
    return {stem: (what, minutes) for stem, what, minutes in rows}


def build_index(site: Site, notebooks: list[tuple[Path, str]], docs: list[tuple[str, str]]) -> None:
    """index.html: README's introduction, the notebooks (README's table, or the notebook's own
    title for one the table does not list yet), the docs and the slides."""
    readme = (site.root / "README.md").read_text(encoding="utf-8")
    title = readme.splitlines()[0].removeprefix("# ").strip()
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1]
    rows = readme_rows(readme)
    table = ["| notebook | what you do | minutes |", "| --- | --- | --- |"]
    for path, nb_title in notebooks:
        what, minutes = rows.get(path.stem, (nb_title, ""))
        table.append(f"| [{path.stem}](notebooks/{path.name}) | {what} | {minutes} |")
    markdown = "\n".join([
        f"# {title}", intro.strip(), "",
        "This is the workshop to read: each notebook with the outputs of a recorded run on the "
        "local emulator. To run it yourself, install the kit and start `make lab` (README.md).", "",
        "## Notebooks", "", *table, "",
        "Also as [slides](slides.html): each notebook's overview and summary.", "",
        "## Guides", "", *[f"- [{t}]({p.removesuffix('.html')}.md)" for p, t in docs], "",
    ])
    body = site.rewrite(markdown_to_html(markdown), "README.md", "index.html")
    site.write("index.html", _PAGE.format(title=html.escape(title), head="", body=body,
                                          index="index.html", slides="slides.html"))


def build(out: Path, root: Path = ROOT, slides_only: bool = False) -> Site:
    from tools import slides

    site = Site(out=out.resolve(), root=root)
    if slides_only:
        out.mkdir(parents=True, exist_ok=True)
    else:
        prepare(site.out)
    copy_static(site.out)
    if not slides_only:
        notebooks = build_notebooks(site)
        build_index(site, notebooks, build_docs(site))
    slides.build(site)
    site.copy_linked_files()
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.site", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="output folder (default build/site)")
    parser.add_argument("--slides", action="store_true", help="build only slides.html (and _static/)")
    args = parser.parse_args(argv)
    site = build(args.out, slides_only=args.slides)
    pages = sorted(p.relative_to(site.out).as_posix() for p in site.out.rglob("*.html")
                   if not p.is_relative_to(site.out / STATIC))
    print(f"{'slides' if args.slides else 'site'}: {len(pages)} pages in {site.out} "
          f"(open {site.out / ('slides.html' if args.slides else 'index.html')}; no network needed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
