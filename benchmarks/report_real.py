"""docs/results_real.md from the real benchmark's run store, with compt's own reports only.

Every table on the page is the markdown output of a ``compt`` command printed above it,
so each number can be re-derived from benchmarks/runs-real. Hand-written analysis below
MARKER survives a rewrite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

MARKER = "<!-- analysis: kept when the benchmark rewrites this page -->"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "results_real.md"

# (title, selectors of the compared runs, selectors of the baseline)
COMPARISONS = [
    ("ssum vs pt", "real-core8,method=ssum", "real-core8,method=pt"),
    ("msum vs pt", "real-core8-product,method=msum", "real-core8,method=pt"),
    ("mcat vs pt", "real-core8-product,method=mcat", "real-core8,method=pt"),
    ("ssum, source_init=embedding vs pt", "real-abl-src-embedding", "real-core8,method=pt"),
    ("ssum, source_init=embedding vs ssum", "real-abl-src-embedding",
     "real-core8,method=ssum"),
    ("ssum, pool_prompt=false vs pt", "real-abl-pool-inputs", "real-core8,method=pt"),
    ("ssum, pool_prompt=false vs ssum", "real-abl-pool-inputs", "real-core8,method=ssum"),
    ("msum, product_norm=matched vs pt", "real-abl-product-matched,method=msum",
     "real-core8,method=pt"),
    ("mcat, product_norm=matched vs pt", "real-abl-product-matched,method=mcat",
     "real-core8,method=pt"),
    ("ssum, source_init=zero vs pt", "real-abl-src-zero", "real-core8,method=pt"),
    ("ssum, router=constant vs pt", "real-abl-router-constant", "real-core8,method=pt"),
    ("ssum, n_sources=1 vs pt", "real-abl-sources,n_sources=1", "real-core8,method=pt"),
    ("ssum, n_sources=2 vs pt", "real-abl-sources,n_sources=2", "real-core8,method=pt"),
    ("ssum, private_encoder=false vs pt", "real-abl-private-encoder", "real-core8,method=pt"),
    ("ssum, lr_source=0.2 vs pt", "real-abl-lr-source", "real-core8,method=pt"),
]


def render(compt: Callable[..., str], header: str) -> str:
    """The page: generated tables (each under the command that made it), then the notes."""
    parts = ["# Real text: composed prompts vs plain prompt tuning, and why\n",
             "Reproduce: `compt data build real` once, then "
             "`python benchmarks/bench_real.py` (runs every phase that is not done yet, "
             "then rewrites this page; `--report` only rewrites it).\n", header + "\n"]

    def section(title: str, *args: str) -> None:
        out = compt(*args, "--format", "markdown", check=False).strip()
        if out and "error" not in out.lower()[:20]:
            parts.append(f"### {title}\n\n`compt {' '.join(args)}`\n\n{out}\n")

    section("All runs at k = 8 (rows: method, variant = what differs)",
            "table", "-k", "8", "--rows", "method,k")
    section("k = 16", "table", "-k", "16")
    for title, runs, baseline in COMPARISONS:
        section(f"Paired: {title}", "compare", runs, "--baseline", baseline)
    for method in ("ssum", "msum", "mcat"):
        section(f"Per-prompt scores, {method} (seed 0, analysis on)", "heatmap",
                f"real-analysis,method={method}")
        section(f"Router weights, {method} (seed 0)", "router",
                f"real-analysis,method={method}")
    notes = ""
    if PAGE.is_file() and MARKER in PAGE.read_text():
        notes = MARKER + PAGE.read_text().split(MARKER, 1)[1]
    return "\n".join(parts) + "\n" + (notes or MARKER + "\n")
