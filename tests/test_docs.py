"""The code cites docs/method.md sections that exist, and no file outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"docs/method\.md#([a-z0-9-]+)")
SOURCES = [p for d in ("compt", "tui", "tests", "benchmarks") for p in (ROOT / d).rglob("*.py")]
DOCS = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
DOC_LINK = re.compile(r"\]\((?:docs/)?method\.md#([a-z0-9-]+)\)")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    heads = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).strip().replace(" ", "-") for h in heads}


def test_every_cited_method_section_exists():
    known = anchors((ROOT / "docs" / "method.md").read_text())
    cited = {(p.name, a) for p in SOURCES for a in CITATION.findall(p.read_text())}
    assert len(cited) > 10
    assert not [c for c in cited if c[1] not in known], known


def test_nothing_cites_the_private_spec():
    files = [*SOURCES, *DOCS]
    assert not [p.name for p in files if re.search(r"\bSPEC(\.md| §| Eq)", p.read_text())]


def test_doc_links_into_the_method_land_on_a_section():
    known = anchors((ROOT / "docs" / "method.md").read_text())
    cited = {(p.name, a) for p in DOCS for a in DOC_LINK.findall(p.read_text())}
    assert ("tasks.md", "evaluation") in cited
    assert not [c for c in cited if c[1] not in known], known


def test_claims_say_what_is_true():
    """Times that hold in CPU time only say so; determinism is claimed per thread count."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    real = " ".join((ROOT / "docs" / "real_suite.md").read_text().split())
    assert "a minute or two of CPU time" in readme and "setup adds a minute" not in readme
    assert "builds in ~30 s of CPU time" in real
    assert "whatever the thread count" not in readme
    assert "Same config, seeds, machine and thread count give bit-identical scores" in readme
    assert "compt run --quick" in readme and "docs/results_quick.md" in readme
