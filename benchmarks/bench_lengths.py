"""Token lengths of the formatted inputs of the offline suites, to choose ``max_length``.

Usage: python benchmarks/bench_lengths.py [--out docs/results_lengths.md]

For each task (the built-in suite and the local example tasks), every train and test
example is formatted (``"{task}: {field}: {text} ..."``) and tokenised whole, special
tokens included, with the default encoder's WordPiece tokenizer (all-MiniLM-L6-v2) and a
byte-level T5 tokenizer (ByT5, the tokenizer of ``tiny-t5``: one token per byte, so an
upper bound for T5's SentencePiece). Writes the median, 99th percentile and maximum.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.machine import cpu_name  # noqa: E402
from compt.model import load_backbone  # noqa: E402
from compt.tasks import resolve_tasks  # noqa: E402
from compt.truncation import NO_LIMIT  # noqa: E402

TASKS = ["builtin", "examples/support_tickets/support.toml"]
TOKENIZERS = {"all-MiniLM-L6-v2 (WordPiece)": "all-MiniLM-L6-v2",
              "ByT5 (bytes; tiny-t5)": "tiny-t5"}


def lengths(tokenize, task) -> list[int]:
    examples = [*task.train(), *task.test()]
    return [len(ids) for ids in tokenize([task.format_input(ex) for ex in examples], NO_LIMIT)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/results_lengths.md")
    args = parser.parse_args()
    tasks = resolve_tasks(TASKS)
    lines = ["| task | tokenizer | examples | median | p99 | max |", "|---|---|---|---|---|---|"]
    for label, model in TOKENIZERS.items():
        tokenize = load_backbone(model).tokenize
        for task in tasks:
            n = np.array(lengths(tokenize, task))
            lines.append(f"| {task.name} | {label} | {len(n)} | {int(np.median(n))} | "
                         f"{int(np.percentile(n, 99))} | {int(n.max())} |")
    table = "\n".join(lines)
    print(table)
    header = (
        "# Input lengths of the offline suites\n\n"
        "Tokens per formatted input (`\"{task}: {field}: {text} ...\"`, special tokens "
        "included), train and test splits, measured by "
        "`python benchmarks/bench_lengths.py` "
        f"on {cpu_name()}, {platform.python_version()}.\n\n"
    )
    Path(args.out).write_text(header + table + "\n")


if __name__ == "__main__":
    main()
