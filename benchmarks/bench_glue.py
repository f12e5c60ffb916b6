"""The GLUE campaign: ComPT vs prompt tuning and multi-task PT on the LM-BFF few-shot splits.

Trains every phase's cells (``--jobs`` at a time, one thread each; benchmarks/pool.py) into
benchmarks/runs-glue; finished cells are skipped, so stopping and re-running continues.
``--report`` writes docs/results_glue.md from compt's own reports (``compt table`` and
``compare`` with the reference rows). Needs the splits built once:
``compt data build lm-bff --from ../shared/data/lm-bff``.

    python benchmarks/bench_glue.py                      # every phase, in priority order
    python benchmarks/bench_glue.py --phases minilm-k8   # one phase
    python benchmarks/bench_glue.py --report             # only rewrite the page
    python benchmarks/bench_glue.py --jobs 12 --set device=cuda --phases gemma-k8,gemma-k16
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pool import Phase, campaign_parser, run_phases  # noqa: E402  (benchmarks/pool.py)

RUNS = ROOT / "benchmarks" / "runs-glue"
PAGE = ROOT / "docs" / "results_glue.md"
SEEDS = "0,1,2,3,4"  # compt's data seeds 0-4 are LM-BFF's splits 13, 21, 42, 87, 100
# Every run: the eight GLUE tasks, whole test sets capped at 1,000 examples per task (QNLI
# has 5,463, STS-B 1,499, CoLA 1,043; the rest are under the cap), inputs up to 128 tokens
# (the longest RTE pairs are cut, the rest fit), the short schedule.
BASE = ["tasks=[glue]", "epochs_preset=short", "max_length=128", "eval_size=1000",
        "analysis=false"]
GEMMA = ["model=gemma-3-270m", "max_length=160"]
# name -> (grid options, extra settings); the order is the priority order.
PHASES: dict[str, tuple[list[str], list[str]]] = {
    "minilm-k8": (["method=pt,ssum,mtpt"], ["k=8"]),
    "minilm-k8-products": (["method=msum,mcat"], ["k=8"]),
    "minilm-k16": (["method=pt,ssum,mtpt,msum,mcat"], ["k=16"]),
    "gemma-k8": (["method=pt,ssum,mtpt,msum,mcat"], ["k=8", *GEMMA]),
    "gemma-k16": (["method=pt,ssum,mtpt,msum,mcat"], ["k=16", *GEMMA]),
}


def phase(name: str, sets: tuple[str, ...] = ()) -> Phase:
    """A phase as the pool runs it: group ``glue-<name>``, in benchmarks/runs-glue."""
    grid, extra = PHASES[name]
    return Phase(RUNS, f"glue-{name}", [*BASE, *extra, *sets], [f"seed={SEEDS}", *grid])


def main() -> None:
    parser = campaign_parser(__doc__.splitlines()[0], PHASES)
    args = parser.parse_args()
    if not args.report:
        run_phases([phase(n, tuple(args.sets)) for n in args.phases.split(",")], args.jobs,
                   args.until)
    if not args.no_report:
        from report_glue import write_page  # benchmarks/report_glue.py

        write_page(RUNS, PAGE, BASE)


if __name__ == "__main__":
    main()
