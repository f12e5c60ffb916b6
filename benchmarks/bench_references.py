"""Reference rows: what they score and what they cost, written to docs/results_references.md.

For one backbone and each suite asked for (with its data seeds), computes the three
reference rows (majority, zero-shot, the kind's training-free k-shot baseline) in a fresh
cache (cold: the model loads, every score is computed), then again from that cache (warm),
in this one process; the page gives both times and their ratio, and the scores.

    python benchmarks/bench_references.py                         # MiniLM, built-in suite
    python benchmarks/bench_references.py --suite real_core=0,1,2,3,4,5,6,7,8,9
    python benchmarks/bench_references.py --model tiny-t5 --eval-size 50 --page -

The real suite needs ``compt data build real`` (docs/real_suite.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from compt.config import RunConfig  # noqa: E402
from compt.references import Computer, Setting  # noqa: E402
from compt.tasks import resolve_tasks  # noqa: E402


def compute(setting: Setting, tasks: list[str], seeds: list[int], root: Path
            ) -> tuple[float, dict]:
    """Seconds to get every reference of every (task, seed), and the scores."""
    began = time.perf_counter()
    computer = Computer(root=root)
    scores = {(task, seed): computer.scores(setting, task, seed)
              for task in tasks for seed in seeds}
    return time.perf_counter() - began, scores


def section(suite: str, seeds: list[int], args: argparse.Namespace) -> list[str]:
    """One suite's cost and scores, measured now."""
    tasks = [t.name for t in resolve_tasks([suite])]
    cfg = RunConfig(model=args.model, tasks=tasks, k=args.k, eval_size=args.eval_size,
                    max_length=args.max_length)
    setting = Setting.of(cfg)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        cold, scores = compute(setting, tasks, seeds, Path(tmp))
        warm, again = compute(setting, tasks, seeds, Path(tmp))
    assert again == scores, "the cache returned other scores than were computed"
    load_after = os.getloadavg()
    names = list(next(iter(scores.values())))
    lines = [
        f"## {suite}: data seeds {','.join(map(str, seeds))}",
        "",
        f"Load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        "",
        "| | seconds | scores |",
        "|---|--:|--:|",
        f"| cold cache (model load + every score) | {cold:.1f} | {len(scores) * len(names)} |",
        f"| warm cache | {warm:.3f} | {len(scores) * len(names)} |",
        "",
        f"Cold / warm: {cold / warm:,.0f} times. Scores, mean over the data seeds:",
        "",
        "| reference | " + " | ".join(tasks) + " | avg |",
        "|---|" + "--:|" * (len(tasks) + 1),
    ]
    for name in names:
        per_task = [sum(scores[(t, s)][name] for s in seeds) / len(seeds) for t in tasks]
        cells = [f"{v:.1f}" for v in per_task] + [f"{sum(per_task) / len(per_task):.1f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--suite", action="append", default=[],
                        help="SUITE=SEEDS, e.g. real_core=0,1,2 (repeatable; "
                        "default builtin=0,1,2)")
    parser.add_argument("--eval-size", type=int, default=200)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--page", default=str(ROOT / "docs" / "results_references.md"),
                        help="where to write the page ('-': print it)")
    args = parser.parse_args()
    suites = [(name, [int(s) for s in seeds.split(",")])
              for name, seeds in (text.split("=", 1) for text in args.suite or ["builtin=0,1,2"])]
    command = " ".join(["python benchmarks/bench_references.py", f"--model {args.model}",
                        f"--k {args.k}", *(f"--suite {n}={','.join(map(str, s))}"
                                            for n, s in suites),
                        f"--eval-size {args.eval_size}", f"--max-length {args.max_length}"])
    lines = [
        "# Reference rows: scores and cost",
        "",
        f"Written by `{command}`; what the rows are: [reports.md](reports.md#reference-rows), "
        "[method.md](method.md#reference-rows).",
        "",
        f"Machine: {cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        "shared with other jobs (load averages below). One process, CPU, torch threads: "
        f"{os.environ.get('OMP_NUM_THREADS', 'default')}.",
        "",
        f"Settings: model {args.model}, k = {args.k}, {args.eval_size} test examples per task, "
        f"max_length {args.max_length} (all of it for the input: no prompt), the runs' "
        "default sampling (random).",
        "",
    ]
    for suite, seeds in suites:
        lines += section(suite, seeds, args)
    page = "\n".join(lines)
    if args.page != "-":
        Path(args.page).write_text(page)
    print(page)


if __name__ == "__main__":
    main()
