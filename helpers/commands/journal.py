"""What a directory run wrote, so that a re-run skips an output only when it provably matches.

One JSON line per output, in `DST/.kms-workshop-done`: the output's path in the tree, the size and
mtime_ns of its source when it was read, the size and mtime_ns of the output itself, and a digest
of the options that shape it (verb, key, context, method). The line is written and fsync'ed just
before the output is put in place (`atomic.BeforePublish`), so a kill leaves either both, or a
line for an output that never appeared, which matches nothing. An output is *ours* when its size
and mtime match one of its lines; it is *current* when that line's source and options match now.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from ..atomic import atomic_write

JOURNAL_NAME = ".kms-workshop-done"
Verdict = Literal["new", "done", "redo", "refuse"]


@dataclass(frozen=True)
class Record:
    out: str  # relative to the output tree, with "/" on every OS
    src_size: int
    src_mtime_ns: int
    out_size: int
    out_mtime_ns: int
    options: str


def options_digest(**options: object) -> str:
    """A short digest of what shapes an output besides its source (key, context, method)."""
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]


class Journal:
    def __init__(self, tree: Path, options: str) -> None:
        self.path, self.options, self.appended = tree / JOURNAL_NAME, options, False
        self._lock, self._records = threading.Lock(), dict[str, list[Record]]()
        for record in _load(self.path):
            self._records.setdefault(record.out, []).append(record)

    def judge(self, src: Path, out: Path, rel: str) -> tuple[Verdict, str]:
        """What to do with `out` (at `rel` in the tree) and, unless it is new, why."""
        try:
            now = out.stat()
        except FileNotFoundError:
            return "new", ""
        records = self._records.get(rel, [])
        ours = next((r for r in reversed(records) if (r.out_size, r.out_mtime_ns) == (now.st_size, now.st_mtime_ns)), None)
        if ours is None:
            why = "was changed after this tool wrote it" if records else "exists, and this tree has no record of writing it"
            return "refuse", f"{out} {why}; add --force to replace it"
        source = src.stat()
        if (ours.src_size, ours.src_mtime_ns) != (source.st_size, source.st_mtime_ns):
            return "redo", f"{src.name} changed since {out.name} was written (size or modification time differ)"
        if ours.options != self.options:
            return "redo", f"{out.name} was written with other options (key, context or method)"
        return "done", ""

    def record(self, rel: str, source: os.stat_result, out: os.stat_result) -> None:
        """Append and fsync one line: called just before the output is put in place."""
        line = Record(rel, source.st_size, source.st_mtime_ns, out.st_size, out.st_mtime_ns, self.options)
        data = (json.dumps(asdict(line), separators=(",", ":")) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            try:
                if os.fstat(fd).st_size and not _ends_with_newline(self.path):
                    data = b"\n" + data  # a kill cut the last line short: do not glue onto it
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._records.setdefault(rel, []).append(line)
            self.appended = True

    def compact(self, tree: Path) -> None:
        """Keep one line per output still there (the one it matches): the journal stops growing."""
        if not self.appended:
            return
        keep = []
        for rel, records in sorted(self._records.items()):
            try:
                now = (tree / rel).stat()
            except FileNotFoundError:
                continue
            match = [r for r in records if (r.out_size, r.out_mtime_ns) == (now.st_size, now.st_mtime_ns)]
            keep.append((match or records)[-1])
        text = "".join(json.dumps(asdict(r), separators=(",", ":")) + "\n" for r in keep)
        atomic_write(self.path, text.encode(), overwrite=True)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fin:
        fin.seek(-1, os.SEEK_END)
        return fin.read(1) == b"\n"


def _load(path: Path) -> list[Record]:
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            records.append(Record(**json.loads(line)))
        except (ValueError, TypeError):  # a line cut short by a kill: that output is simply not proven
            continue
    return records
