"""Sort, group-by and filter on the runs screen, this tree against another checkout, in
alternating runs on one store (the machine is shared: only ratios measured side by side
mean much).

    python benchmarks/bench_tui_ab.py --base /tmp/base --store /tmp/store10k [--rounds 2]

``--base`` is a source tree of the other commit (e.g. ``git archive <commit> | tar -x -C
/tmp/base``); ``--store`` a store built by bench_tui.py (``--store DIR`` builds one). Each
round runs bench_tui.measure_actions (UI-thread CPU from the action to the end of its first
frame) in a fresh process per tree, base first, and prints the medians with the load
average before each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, sys
root, store, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path[:0] = [root, root + "/benchmarks"]
import bench_tui
print(json.dumps(bench_tui.measure_actions(__import__("pathlib").Path(store), repeat)))
"""


def measure(root: Path, store: Path, repeat: int) -> dict[str, list[list[float]]]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), str(store), str(repeat)],
                         env=env, capture_output=True, text=True, check=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="actions per process")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; store {args.store}")
    for round_ in range(args.rounds):
        for name, root in (("base", args.base), ("this", ROOT)):
            load = os.getloadavg()[0]
            result = measure(root, args.store, args.repeat)
            medians = {action: statistics.median(1000 * cpu for cpu, _ in spent)
                       for action, spent in result.items()}
            walls = {action: statistics.median(1000 * wall for _, wall in spent)
                     for action, spent in result.items()}
            print(f"round {round_ + 1} {name:4} (load {load:.1f}): " + "; ".join(
                f"{action} CPU {medians[action]:.0f} ms (wall {walls[action]:.0f} ms)"
                for action in medians), flush=True)


if __name__ == "__main__":
    main()
