"""Evaluation: rank classification by default, greedy generation for fidelity.

The protocol is docs/method.md#evaluation.

``predict`` returns label indices (-1 for a generated output that matches no label word);
``score_task`` turns them into the GLUE-standard metrics and one primary 0-100 score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from compt.data import Encoded, eval_batches
from compt.metrics import compute_metrics, primary_score
from compt.model import FULL, PromptedModel, PromptMask
from compt.tasks.base import Example, Task

INVALID = -1


def match_label(text: str, label_words: Sequence[str]) -> int:
    """Exact match of the first generated word against the label words (paper protocol)."""
    words = text.strip().split()
    first = words[0] if words else ""
    for index, word in enumerate(label_words):
        if first == word or text.strip() == word:
            return index
    return INVALID


@torch.no_grad()
def predict(
    model: PromptedModel,
    data: Encoded,
    tasks: Sequence[Task],
    mask: PromptMask = FULL,
    decoding: str = "rank",
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    label_task: int | None = None,
    autocast: bool = False,
    generation: dict[str, Any] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """One predicted label index per encoded example, in ``data`` order.

    ``generation``: greedy decoding's options (``RunConfig.generation``);
    ``on_progress(done, total)`` after each batch: examples predicted so far.
    """
    preds = [INVALID] * len(data)
    done = 0
    pad = model.backbone.pad_id
    device_type = torch.device(device).type
    for index, batch in eval_batches(data, batch_size, pad, label_task):
        batch = batch.to(device)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=autocast):
            if decoding == "greedy":
                texts = model.generate(batch, mask, **(generation or {}))
                label_ids = batch.label_tasks.tolist()
                out = [match_label(t, tasks[lt].label_words) for t, lt in zip(texts, label_ids)]
            else:
                out = model.scores(batch, mask).argmax(-1).tolist()
        for i, p in zip(index, out):
            preds[i] = p
        done += len(out)
        if on_progress is not None:
            on_progress(done, len(data))
    return preds


@dataclass
class TaskScore:
    """A task's metrics, its primary score, and the gold x predicted count table."""

    metrics: dict[str, float]
    primary: float
    confusion: list[list[int]]


def score_task(task: Task, examples: Sequence[Example], preds: Sequence[int]) -> TaskScore:
    golds = [ex.label for ex in examples]
    if task.regression:
        values = [task.label_value(p) if p != INVALID else 0.0 for p in preds]
        gold_values = [ex.score if ex.score is not None else task.label_value(ex.label)
                       for ex in examples]
        metrics = compute_metrics(task.metric, values, gold_values)
    else:
        metrics = compute_metrics(task.metric, list(preds), golds)
    n = len(task.label_words)
    confusion = [[0] * (n + 1) for _ in range(n)]  # last column: invalid generations
    for gold, pred in zip(golds, preds):
        confusion[gold][pred if pred != INVALID else n] += 1
    if not any(row[n] for row in confusion):
        confusion = [row[:n] for row in confusion]
    return TaskScore(metrics, primary_score(task.metric, metrics), confusion)


def split_by_task(data: Encoded, preds: Sequence[int], n_tasks: int) -> list[list[int]]:
    per_task: list[list[int]] = [[] for _ in range(n_tasks)]
    for task_id, pred in zip(data.task_ids, preds):
        per_task[task_id].append(pred)
    return per_task
