"""Real-text benchmark: ComPT vs plain prompt tuning on the real suite, plus the ablations.

Runs every phase as a ``compt sweep`` (two runs at a time, one thread each) into its own
run store and waits for it; finished cells are skipped, so stopping and re-running
continues. ``--report`` then writes docs/results_real.md from compt's own reports
(``compt table``, ``compare``, ``heatmap``, ``router``). Needs the suite:
``compt data build real``.

    python benchmarks/bench_real.py                     # every phase, in priority order
    python benchmarks/bench_real.py --phases core8      # one phase
    python benchmarks/bench_real.py --report            # only rewrite the page
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

RUNS = ROOT / "benchmarks" / "runs-real"
PAGE = ROOT / "docs" / "results_real.md"
# The measurement protocol (docs/results_real.md): CPU-sized, identical for every run.
BASE = ["tasks=[real_core]", "k=8", "epochs_preset=short", "max_length=64", "eval_size=200",
        "analysis=false"]
SEEDS5, SEEDS3 = "0,1,2,3,4", "0,1,2"
# name -> (grid options, extra settings); the order is the priority order. The seeds are
# what fitted into the time of the measurement on docs/results_real.md; raise them freely.
PHASES: dict[str, tuple[list[str], list[str]]] = {
    "core8": (["seed=" + SEEDS5, "method=pt,ssum"], []),
    "abl-pool-inputs": (["seed=" + SEEDS5, "method=pt,ssum"], ["pool_prompt=false"]),
    "core8-product": (["seed=" + SEEDS3, "method=msum,mcat"], []),
    "analysis": (["method=ssum"], ["seed=0", "analysis=true"]),
    "abl-lr-tenth": (["seed=" + SEEDS5, "method=pt,ssum"],
                     ["lr_router=0.01", "lr_source=0.005", "lr_private=0.002"]),
    "abl-product-matched": (["seed=" + SEEDS5, "method=msum,mcat"], ["product_norm=matched"]),
    "abl-src-embedding": (["seed=" + SEEDS5], ["method=ssum", "source_init=embedding"]),
    "abl-router-constant": (["seed=" + SEEDS5], ["method=ssum", "router=constant"]),
    "abl-src-zero": (["seed=" + SEEDS5], ["method=ssum", "source_init=zero"]),
    "abl-sources": (["seed=" + SEEDS5, "n_sources=1"], ["method=ssum"]),
    "abl-private-encoder": (["seed=" + SEEDS5], ["method=ssum", "private_encoder=false"]),
    "core8-product-more": (["seed=3,4", "method=msum,mcat"], []),
    "core16": (["seed=" + SEEDS5, "method=pt,ssum"], ["k=16"]),
}


def compt(*args: str, check: bool = True) -> str:
    cmd = [sys.executable, "-m", "compt", *args, "--runs-dir", str(RUNS)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return done.stdout


def group_active(group: str) -> bool:
    runs = json.loads(compt("ls", "--group", group, "--format", "json"))
    return any(r.get("status") in ("queued", "running") for r in runs)


def run_phase(name: str) -> None:
    grid, extra = PHASES[name]
    args = ["sweep", "--group", f"real-{name}", "--jobs", "2"]
    for setting in [*BASE, *extra]:
        args += ["--set", setting]
    for option in grid:
        args += ["--grid", option]
    began = time.time()
    print(compt(*args).strip().splitlines()[-1], flush=True)
    while group_active(f"real-{name}"):
        time.sleep(20)
    print(f"phase {name}: {(time.time() - began) / 60:.1f} min", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--report", action="store_true", help="only write the page")
    args = parser.parse_args()
    if not args.report:
        for name in args.phases.split(","):
            run_phase(name)
    write_page()


def write_page() -> None:
    from report_real import render  # benchmarks/report_real.py

    load = os.getloadavg()
    header = (f"Machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()}; load "
              f"average at writing {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared). "
              f"Settings for every run: `{' '.join(BASE)}` unless a row says otherwise.")
    PAGE.write_text(render(compt, header))
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
