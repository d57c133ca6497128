"""docs/instructor-notes.md stays true to the notebooks: the timings are each notebook's
**Time to learn**, the agenda's blocks follow each other without gaps and last 2 h 15 min, and its
checkpoints are the ones `python -m helpers checkpoint` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import checkpoints

ROOT = Path(__file__).resolve().parents[1]
NOTES = (ROOT / "docs" / "instructor-notes.md").read_text(encoding="utf-8")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def section(title: str) -> str:
    return NOTES.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")]  # fmt: skip
    return [r for r in rows[1:] if not set(r[0]) <= set("-: ")]


def minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return 60 * int(hours) + int(mins)


def time_to_learn(path: Path) -> int:
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    found = re.search(r"\*\*Time to learn\*\*: (\d+) minutes", text)
    assert found, f"{path.name}: no **Time to learn**"
    return int(found.group(1))


def test_instructor_timings_are_the_notebooks_time_to_learn_with_an_exercise_named_for_each():
    rows = {r[0]: r for r in table_rows(section("Timings"))}
    assert sorted(rows) == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        assert int(rows[path.stem][1]) == time_to_learn(path), path.stem
        text = path.read_text()
        has_exercise = "### Exercise" in text or re.search(r"## \d+\. Tasks", text) is not None
        assert (rows[path.stem][2] != "—") == has_exercise, f"{path.stem}: the Exercises column and the notebook disagree"
    total = sum(time_to_learn(p) for p in NOTEBOOKS)
    assert f"about {total} minutes with exercises" in section("Timings")


def test_instructor_agenda_is_contiguous_two_hours_fifteen_with_breaks_and_a_setup_buffer():
    rows = table_rows(section("Agenda (2 h 15 min)"))
    spans = [tuple(minutes(t) for t in r[0].split("–")) for r in rows]
    assert spans[0] == (0, 15) and "Set-up buffer" in rows[0][1]
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "gaps or overlaps between blocks"
    assert spans[-1][1] == 135
    assert sum(1 for r in rows if r[1].startswith("Break")) == 2


def test_instructor_agenda_times_its_notebooks_as_the_notebooks_do():
    rows = table_rows(section("Agenda (2 h 15 min)"))
    learn = {p.stem: time_to_learn(p) for p in NOTEBOOKS}
    for r in rows:
        if r[1] in learn:
            start, end = (minutes(t) for t in r[0].split("–"))
            assert end - start == learn[r[1]], r[1]


def test_instructor_agenda_checkpoints_are_the_ones_the_command_prints_by_the_same_times():
    agenda = section("Agenda (2 h 15 min)")
    named = re.findall(r"`(ready|named key|encrypted|no plaintext)`(?: \(by (\d:\d\d)\))?", agenda)
    assert {n for n, _ in named} == set(checkpoints.AGENDA)
    for name, by in named:
        expected = checkpoints.AGENDA[name]
        if expected != "any":  # a checkpoint without "(by h:mm)" is due when its block ends
            assert (by or rows_end(agenda, name)) == expected, name


def rows_end(agenda: str, name: str) -> str:
    """The end of the block whose checkpoint is `name` (for a checkpoint given without a 'by')."""
    row = next(r for r in table_rows(agenda) if f"`{name}`" in r[2])
    return row[0].split("–")[1]
