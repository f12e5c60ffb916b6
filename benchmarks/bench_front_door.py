"""The front door's time: the default ``compt run``, as a new user types it.

Usage: python benchmarks/bench_front_door.py [--out docs/results_front_door.md]
       python benchmarks/bench_front_door.py --quick [--out docs/results_quick.md]
       python benchmarks/bench_front_door.py --compare OTHER_CHECKOUT [--steps 25]

Runs ``python -m compt run`` (all-MiniLM-L6-v2, built-in suite, ssum, k=16, 250 steps)
into a temporary store and writes the wall time, the CPU time of the run (user + system,
so a loaded machine can be told apart from a slow program), the run's own train and total
times, and the load average before and after, to a results page. ``--quick`` measures
``compt run --quick`` instead and adds each task's score beside its chance level (always
the most frequent test label), so the page shows that the quick run learned something.

``--compare`` instead runs a short default run (``--steps``, 40 test examples per task, no
analysis, one thread) alternately from this checkout and another one, twice each, and
prints the ratio of their CPU times: on a shared machine a ratio measured in one go says
whether a change made the front door slower when the wall time cannot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import cpu_name  # noqa: E402


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def short_run_cpu_s(checkout: Path, steps: int) -> float:
    """CPU seconds of a short default run with the code of ``checkout``, one thread."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(checkout)}
    with tempfile.TemporaryDirectory() as store:
        cpu0 = children_cpu_s()
        subprocess.run([sys.executable, "-m", "compt", "run", "--runs-dir", store,
                        "--max-steps", str(steps), "--set", "eval_size=40",
                        "--set", "analysis=false"], cwd=checkout, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        return children_cpu_s() - cpu0


def compare(other: Path, steps: int) -> None:
    here = Path(__file__).resolve().parent.parent
    times: dict[str, list[float]] = {"this": [], "other": []}
    load = os.getloadavg()
    for _ in range(2):
        times["this"].append(short_run_cpu_s(here, steps))
        times["other"].append(short_run_cpu_s(other, steps))
    this, base = min(times["this"]), min(times["other"])
    print(f"{steps} steps, CPU s (min of 2): this {this:.1f}, {other} {base:.1f}; "
          f"ratio {this / base:.3f}; load before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="default: docs/results_front_door.md "
                                          "(--quick: docs/results_quick.md)")
    parser.add_argument("--quick", action="store_true", help="measure compt run --quick")
    parser.add_argument("--compare", type=Path, help="another checkout to compare with")
    parser.add_argument("--steps", type=int, default=25)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare.resolve(), args.steps)
        return
    command = ["run", "--quick"] if args.quick else ["run"]
    out = Path(args.out or f"docs/results_{'quick' if args.quick else 'front_door'}.md")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as store:
        load_before = os.getloadavg()
        cpu0, wall0 = children_cpu_s(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "compt", *command, "--runs-dir", store],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - wall0, children_cpu_s() - cpu0
        load_after = os.getloadavg()
        run = next(p for p in Path(store).iterdir() if (p / "results.json").is_file())
        results = json.loads((run / "results.json").read_text())
        resolved = json.loads((run / "config.json").read_text())["resolved"]
    loads = " / ".join(f"{x:.2f}" for x in load_before), " / ".join(f"{x:.2f}" for x in load_after)
    rows = [
        ("command", f"`compt {' '.join(command)}`" + ("" if args.quick else " (defaults)")),
        ("steps", f"{results['steps']} (batch {resolved['batch_size']})"),
        ("wall time", f"{wall:.0f} s"),
        ("CPU time (user + system)", f"{cpu:.0f} s"),
        ("run's own duration / training", f"{results['duration_s']:.0f} s / "
                                           f"{results['train_time_s']:.0f} s"),
        ("average score", f"{results['average']:.1f}"),
        ("load average before (1 / 5 / 15 min)", loads[0]),
        ("load average after", loads[1]),
        ("machine", f"{cpu_name()}, {os.cpu_count()} cores, {resolved.get('threads')} torch "
                    f"threads, Python {platform.python_version()}"),
    ]
    table = "\n".join(["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
    if args.quick:
        table += "\n\n" + score_table(results)
    print(table)
    flag = " --quick" if args.quick else ""
    out.write_text(
        f"# The front door's time{': --quick' if args.quick else ''}\n\n"
        f"`compt {' '.join(command)}`, measured by "
        f"`python benchmarks/bench_front_door.py{flag}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n" + table + "\n")


def score_table(results: dict) -> str:
    """Each task's score beside what always answering its most frequent label scores."""
    from compt.metrics import chance_score

    lines = ["| task | metric | score | chance | n |", "|---|---|---|---|---|"]
    for task, score in results["scores"].items():
        metric = results["primary_metric"][task]
        chance = chance_score(metric, results["predictions"][task]["combined"])
        lines.append(f"| {task} | {metric} | {score:.1f} | {chance:.1f} | "
                     f"{results['eval_size'][task]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
