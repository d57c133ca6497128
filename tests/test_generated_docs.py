"""Generated documents are as new as the code they describe: each carries a digest of its sources
(tools/generated.py), and this test fails, naming the make target, when the sources changed since."""

from __future__ import annotations

from tools import generated


def test_generated_documents_are_not_older_than_their_sources():
    assert generated.source_files("docs/reliability.md"), "the report's sources moved: update SOURCES"
    assert generated.stale() == [], "run `make reliability` and commit docs/reliability.md"


def test_a_changed_source_makes_the_document_stale(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    (tmp_path / "src.py").write_text("x = 1\n")
    monkeypatch.setattr(generated, "REPO", tmp_path)
    monkeypatch.setattr(generated, "SOURCES", {"docs/report.md": ("src.py",)})
    (tmp_path / "docs" / "report.md").write_text(f"# Report\n{generated.mark('docs/report.md')}\n")
    assert generated.stale() == []
    (tmp_path / "src.py").write_text("x = 2\n")
    assert generated.stale() == ["docs/report.md"]
    (tmp_path / "docs" / "report.md").write_text("# Report without a mark\n")
    assert generated.stale() == ["docs/report.md"]
