"""Real-text benchmark: ComPT vs plain prompt tuning on the real suite, plus the ablations.

Runs every phase's cells (``--jobs`` at a time, one thread each; benchmarks/pool.py) into
its own run store; finished cells are skipped, so stopping and re-running continues.
``--report`` then writes docs/results_real.md from compt's own reports (``compt table``,
``compare``, ``heatmap``, ``router``). Needs the suite: ``compt data build real``.

    python benchmarks/bench_real.py                     # every phase, in priority order
    python benchmarks/bench_real.py --phases core       # one phase
    python benchmarks/bench_real.py --report            # only rewrite the page
    python benchmarks/bench_real.py --jobs 14 --set device=cuda --group-suffix=-gpu
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)
from pool import Phase, campaign_parser, run_phases  # noqa: E402  (benchmarks/pool.py)

RUNS = ROOT / "benchmarks" / "runs-real"
PAGE = ROOT / "docs" / "results_real.md"
# The measurement protocol (docs/results_real.md): CPU-sized, identical for every run.
BASE = ["tasks=[real_core]", "k=8", "epochs_preset=short", "max_length=64", "eval_size=200",
        "analysis=false"]
SEEDS10, SEEDS5 = "0,1,2,3,4,5,6,7,8,9", "0,1,2,3,4"
# name -> (seeds, grid options, extra settings); the order is the priority order.
PHASES: dict[str, tuple[str, list[str], list[str]]] = {
    "core": (SEEDS10, ["method=pt,ssum,msum,mcat", "k=8,16"], []),
    "analysis": ("0", ["method=ssum"], ["analysis=true"]),
    "abl-sources": (SEEDS5, ["n_sources=1,2"], ["method=ssum"]),
    "abl-private-encoder": (SEEDS5, [], ["method=ssum", "private_encoder=false"]),
    "abl-pool-inputs": (SEEDS5, ["method=pt,ssum"], ["pool_prompt=false"]),
    "abl-lr-tenth": (SEEDS5, ["method=pt,ssum"],
                     ["lr_router=0.01", "lr_source=0.005", "lr_private=0.002"]),
    "abl-lr-hundredth": (SEEDS5, ["method=pt,ssum"],
                         ["lr_router=0.001", "lr_source=0.0005", "lr_private=0.0002"]),
    "abl-product-matched": (SEEDS5, ["method=msum,mcat"], ["product_norm=matched"]),
    "abl-src-embedding": (SEEDS5, [], ["method=ssum", "source_init=embedding"]),
    "abl-router-constant": (SEEDS5, [], ["method=ssum", "router=constant"]),
    "abl-src-zero": (SEEDS5, [], ["method=ssum", "source_init=zero"]),
    "sentiment": (SEEDS5, ["method=pt,ssum"], ["tasks=[real_sentiment]"]),
    "paper-schedule": (SEEDS5, ["method=pt,ssum"], ["epochs_preset=paper"]),
    "sentiment-mtpt": (SEEDS5, [], ["tasks=[real_sentiment]", "method=mtpt"]),
    "sentiment-1src": (SEEDS5, [], ["tasks=[real_sentiment]", "method=ssum", "n_sources=1"]),
    "sentiment-lr-tenth": (SEEDS5, ["method=pt,ssum"],
                           ["tasks=[real_sentiment]", "lr_router=0.01", "lr_source=0.005",
                            "lr_private=0.002"]),
}


def compt(*args: str, check: bool = True) -> str:
    store = [] if "--runs-dir" in args else ["--runs-dir", str(RUNS)]
    cmd = [sys.executable, "-m", "compt", *args, *store]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return done.stdout


def phase(name: str, suffix: str = "", sets: tuple[str, ...] = (),
          grid_over: tuple[str, ...] = ()) -> Phase:
    """A phase as the pool runs it: group ``real-<name><suffix>``, in benchmarks/runs-real.
    ``grid_over`` (``key=v1,v2``) replaces the phase's own values of that grid key."""
    seeds, grid, extra = PHASES[name]
    options = {o.split("=", 1)[0]: o for o in [f"seed={seeds}", *grid]}
    options.update((o.split("=", 1)[0], o) for o in grid_over)
    return Phase(RUNS, f"real-{name}{suffix}", [*BASE, *extra, *sets], list(options.values()))


def main() -> None:
    parser = campaign_parser(__doc__.splitlines()[0], PHASES)
    parser.add_argument("--grid", action="append", default=[],
                        help="key=v1,v2: replaces a phase's own grid values (e.g. seed=0,1)")
    parser.add_argument("--group-suffix", default="", help="appended to every group name")
    args = parser.parse_args()
    if not args.report:
        phases = [phase(n, args.group_suffix, tuple(args.sets), tuple(args.grid))
                  for n in args.phases.split(",")]
        run_phases(phases, args.jobs, args.until)
    if not args.no_report:
        write_page()


READ_WITH_REFERENCES = (
    "**Read with the reference rows.** This page predates compt's reference rows. Against "
    "them (docs/results_glue.md, last section) pt beats the best training-free row on "
    "three of `real_core`'s six tasks and ssum on two, and the `real_sentiment` "
    "gain of ssum over pt (+2.8) does not lift ssum above the zero-shot and centroid rows: "
    "that conclusion does not survive as a claim about composition."
)


def write_page() -> None:
    from report_real import render  # benchmarks/report_real.py

    load = os.getloadavg()
    header = (
        "Reproduce: `compt data build real` once, then, on a GPU host, `python "
        "benchmarks/bench_real.py --jobs 13 --set device=cuda --group-suffix=-gpu` (groups "
        "`real-*-gpu`; the device-time limit cut the last three phases, `abl-router-constant`, "
        "`abl-src-embedding`, `abl-src-zero`, which the first, CPU-only measurement has); on "
        "the CPU: mcat `python benchmarks/bench_real.py --phases core --grid method=mcat "
        "--group-suffix=-cpu` and `--phases sentiment-lr-tenth --group-suffix=-cpu`; Gemma: "
        "`python benchmarks/bench_gemma_real.py "
        "--jobs 6 --set device=cuda --group-suffix=-gpu`. `--report` only rewrites this page; "
        "finished cells are skipped, so every command continues where it stopped.\n\n"
        "Where the runs trained: the GPU campaign on one NVIDIA H200 (cuda-bf16, 13 MiniLM and "
        "6 Gemma trainings at a time, 16 host cores); the CPU runs on the project's shared "
        f"2-core machine ({cpu_name()}, {platform.system()}, fp32, one thread per run, two at "
        f"a time). Load average when this page was written: {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f}. MiniLM settings for every run: `{' '.join(BASE)}` unless a row says "
        "otherwise.\n\n"
        + READ_WITH_REFERENCES
    )
    PAGE.write_text(render(compt, header))
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
