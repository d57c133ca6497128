"""Links in the kit's prose: README.md, docs/*.md and the notebooks' markdown cells.

`python -m tools.links` (make test-links) checks every internal link: a relative file link must name
a file or folder that exists, and a `#anchor` must name a heading of its target. Anchors follow
the page that will show them: GitHub's heading slugs for .md files (`## Key versions and rotation`
-> `#key-versions-and-rotation`), and for notebooks the ids JupyterLab and nbconvert give headings
(the heading's text with spaces as dashes: `#Key-versions-and-rotation`). It fails listing each
broken link with its file and line.

`python -m tools.links --external` (make linkcheck-external) asks each external http(s) link once,
8 at a time, and reports each status. It never fails: with no network it says the links were not
checked; a link that answers 4xx/5xx is listed as BROKEN for a maintainer to fix.

tools/site.py uses the same heading ids, so the offline site's anchors are the ones checked here.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
#: [text](target "title") and ![alt](target); the target may be wrapped in <...>
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_HREF = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
_HTML_ID = re.compile(r"""<[a-z]+\s[^>]*?(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")


@dataclass(frozen=True)
class Link:
    """One link as written: `where` is how a person finds it (`docs/hub.md:12`,
    `notebooks/00_setup.ipynb:cell 4:line 3`)."""

    source: Path
    where: str
    target: str


def sources(root: Path = ROOT) -> list[Path]:
    """The files whose links are checked: what a learner reads."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted((root / "notebooks").glob("*.ipynb"))]


def markdown_parts(path: Path) -> list[tuple[str, str]]:
    """(location prefix, markdown text) for a .md file, or for each markdown cell of a notebook."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [(f"cell {i}:", "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    return [("", path.read_text(encoding="utf-8"))]


def prose_lines(text: str, blank_code: bool = True) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, with inline code spans blanked unless
    `blank_code` is false: a link shown as code is an example, not a link."""
    fence = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if not fence:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = ""
            continue
        if not fence:
            yield number, _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line) if blank_code else line


def links_in(path: Path, root: Path = ROOT) -> list[Link]:
    """Every link target written in `path`'s prose, in order."""
    rel = path.relative_to(root).as_posix()
    found = []
    for prefix, text in markdown_parts(path):
        for number, line in prose_lines(text):
            where = f"{rel}:{prefix}line {number}" if prefix else f"{rel}:{number}"
            targets = [*_INLINE_LINK.findall(line), *_HTML_HREF.findall(line), *_AUTOLINK.findall(line)]
            ref = _REF_DEF.match(line)
            if ref:
                targets.append(ref.group(1))
            found += [Link(path, where, t) for t in targets]
    return found


def heading_text(markdown: str) -> str:
    """A heading's text as a reader sees it: code spans keep their content, links their text,
    emphasis markers and HTML tags go."""
    text = _CODE_SPAN.sub(lambda m: m.group(2), markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"(\*\*|__|\*|(?<!\w)_|_(?!\w))", "", text).strip()


def github_slug(text: str) -> str:
    """GitHub's anchor for a heading's text: lower case, punctuation dropped (word characters,
    dashes and spaces kept), spaces as dashes. Repeats get -1, -2 ... (see `anchors`)."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def notebook_id(text: str) -> str:
    """The id JupyterLab and nbconvert give a notebook heading: its text with spaces as dashes
    (nbconvert also percent-encodes characters a URL fragment cannot hold; compare unquoted)."""
    return text.replace(" ", "-")


def headings(path: Path) -> list[str]:
    """The text of every heading in `path`'s prose."""
    return [heading_text(m.group(2)) for _, text in markdown_parts(path) for _, line in prose_lines(text, blank_code=False)
            if (m := _HEADING.match(line))]


def anchors(path: Path) -> set[str]:
    """Every `#fragment` that lands somewhere in `path` when it is shown (GitHub for .md, JupyterLab
    and the site for .ipynb), plus explicit `id=`/`name=` anchors in its HTML."""
    names: set[str] = set()
    if path.suffix == ".ipynb":
        names = {notebook_id(h) for h in headings(path)}
    else:
        seen: dict[str, int] = {}
        for heading in headings(path):
            slug = github_slug(heading)
            names.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
            seen[slug] = seen.get(slug, 0) + 1
    for _, text in markdown_parts(path):
        names.update(_HTML_ID.findall(text))
    return names


def is_external(target: str) -> bool:
    return urlsplit(target).scheme in ("http", "https", "mailto", "ftp")


def broken(link: Link, root: Path = ROOT) -> str | None:
    """Why an internal link goes nowhere, or None when it lands."""
    parts = urlsplit(link.target)
    if parts.scheme or parts.netloc:
        return None if is_external(link.target) else f"{link.target}: a link scheme the site cannot serve"
    path = unquote(parts.path)
    target = link.source if not path else (root / path.lstrip("/") if path.startswith("/") else link.source.parent / path)
    target = target.resolve()
    if not target.exists():
        return f"{link.target}: no such file ({_rel(target, root)})"
    if not target.is_relative_to(root.resolve()):
        return f"{link.target}: outside the repository"
    fragment = unquote(parts.fragment)
    if not fragment:
        return None
    if target.is_dir() or target.suffix not in (".md", ".ipynb"):
        return f"{link.target}: an anchor into {_rel(target, root)}, which has no headings to land on"
    if fragment not in {unquote(a) for a in anchors(target)}:
        return f"{link.target}: no heading with the anchor #{fragment} in {_rel(target, root)}"
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def check_internal(root: Path = ROOT) -> list[str]:
    """`where: why` for every broken internal link under `root`."""
    problems = []
    for source in sources(root):
        for link in links_in(source, root):
            if not is_external(link.target):
                why = broken(link, root)
                if why:
                    problems.append(f"{link.where}: {why}")
    return problems


# ---- external links -------------------------------------------------------------------------------



def external_links(root: Path = ROOT) -> dict[str, list[str]]:
    """Each external http(s) URL, with every place it is written."""
    found: dict[str, list[str]] = {}
    for source in sources(root):
        for link in links_in(source, root):
            if urlsplit(link.target).scheme in ("http", "https"):
                found.setdefault(link.target, []).append(link.where)
    return found


def status_of(url: str, timeout: float = 15.0) -> int | str:
    """The HTTP status of `url` (HEAD, then GET where a server refuses HEAD), or a string naming
    why nothing answered."""
    headers = {"User-Agent": "kms-workshop-linkcheck/1 (+https://www.alibabacloud.com)"}
    for method in ("HEAD", "GET"):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers),
                                        timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            if method == "HEAD" and err.code in (403, 405, 501):
                continue  # some sites answer HEAD differently from GET; ask as a browser would
            return int(err.code)
        except urllib.error.URLError as err:
            return f"no answer: {err.reason}"
        except OSError as err:  # no route, refused, timed out, reset: this machine could not ask
            return f"no answer: {err!r}"
    return "no answer"


def check_external(urls: Iterable[str], jobs: int = 8, timeout: float = 15.0) -> dict[str, int | str]:
    urls = list(urls)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(urls, pool.map(lambda u: status_of(u, timeout), urls)))


def report_external(found: dict[str, list[str]], statuses: dict[str, int | str]) -> list[str]:
    """The report's lines: every status, then a verdict that never hides what was not checked."""
    lines = []
    unanswered = [u for u, s in statuses.items() if isinstance(s, str)]
    bad = [u for u, s in statuses.items() if isinstance(s, int) and s >= 400]
    for url, status in sorted(statuses.items()):
        mark = "BROKEN " if url in bad else ("NOT CHECKED " if url in unanswered else "")
        lines.append(f"{mark}{status}  {url}  ({', '.join(found[url][:3])})")
    if unanswered and len(unanswered) < len(statuses):
        lines.append(f"PARTLY CHECKED: {len(unanswered)} links did not answer (no route to their hosts); a "
                     "network that reaches only some hosts may also answer 404 for pages that exist.")
    if statuses and len(unanswered) == len(statuses):
        lines.append(f"NOT CHECKED: no network: none of the {len(statuses)} external links answered; "
                     "run 'make linkcheck-external' on a machine with internet access.")
    else:
        lines.append(f"{len(statuses)} external links: {len(statuses) - len(bad) - len(unanswered)} ok, "
                     f"{len(bad)} BROKEN, {len(unanswered)} not answered")
        if bad:
            lines.append("BROKEN links (4xx/5xx) are listed above: fix or replace them.")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.links", description=__doc__.split("\n\n")[0])
    parser.add_argument("--external", action="store_true", help="check external links (needs network; never fails)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the kit's top folder (default: this checkout)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per external request")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.external:
        found = external_links(root)
        print("\n".join(report_external(found, check_external(found, timeout=args.timeout))))
        return 0
    problems = check_internal(root)
    checked = sum(1 for s in sources(root) for link in links_in(s, root) if not is_external(link.target))
    if problems:
        print(f"{len(problems)} broken internal links (of {checked}):", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print(f"internal links: all {checked} land (README.md, docs/*.md, notebooks/*.ipynb)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
