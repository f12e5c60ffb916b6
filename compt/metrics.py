"""Task metrics on a 0-100 scale, following the GLUE conventions (docs/method.md#tasks-and-metrics).

Every metric returns a dict whose key equal to the metric's name is the task's primary
score, so tables can always pick one number per task. Degenerate inputs (a model that
predicts one class, a constant regression output) score 0 instead of NaN or a warning:
a collapsed few-shot run is common and must not break a sweep's table.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from compt.errors import ComptError
from compt.tasks.base import METRICS


def compute_metrics(
    metric: str,
    preds: Sequence[float],
    golds: Sequence[float],
    positive: int = 0,
) -> dict[str, float]:
    """All scores of ``metric`` for predictions vs gold labels, each 0-100.

    Labels are label-word indices; for ``pearson_spearman`` they are the numeric values.
    ``positive`` is the index of F1's positive class: by compt's convention the first
    label word (``equivalent`` for MRPC, ``duplicate`` for QQP).
    """
    if metric not in METRICS:
        raise ComptError(f"Unknown metric '{metric}'; compt knows: {', '.join(METRICS)}.")
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold labels")
    if len(golds) == 0:
        raise ValueError("cannot score an empty evaluation set")
    if metric == "pearson_spearman":
        pred_values = np.asarray(preds, dtype=float)
        gold_values = np.asarray(golds, dtype=float)
        pearson = _correlation(pearsonr, pred_values, gold_values)
        spearman = _correlation(spearmanr, pred_values, gold_values)
        mean = (pearson + spearman) / 2
        return {"pearson": pearson, "spearman": spearman, "pearson_spearman": mean}

    pred_labels = np.asarray(preds, dtype=int)
    gold_labels = np.asarray(golds, dtype=int)
    accuracy = 100.0 * float(accuracy_score(gold_labels, pred_labels))
    if metric == "accuracy":
        return {"accuracy": accuracy}
    if metric == "matthews":
        # sklearn already returns 0 when a row or column of the confusion matrix is empty
        return {"matthews": 100.0 * float(matthews_corrcoef(gold_labels, pred_labels)),
                "accuracy": accuracy}
    # f1_accuracy: F1 of the positive class against everything else
    f1 = 100.0 * float(
        f1_score(gold_labels == positive, pred_labels == positive, zero_division=0.0)
    )
    return {"f1": f1, "accuracy": accuracy, "f1_accuracy": (f1 + accuracy) / 2}


MEANINGS = {
    "accuracy": "accuracy: % of test examples answered right",
    "f1_accuracy": "f1_accuracy: the mean of accuracy and the F1 of the positive class "
                   "(the first label word), as GLUE reports MRPC and QQP",
    "matthews": "matthews: Matthews correlation x 100 (0 = chance), as GLUE reports CoLA",
    "pearson_spearman": "pearson_spearman: the mean of the Pearson and Spearman correlations "
                        "x 100, as GLUE reports STS-B",
}


def majority_label(golds: Sequence[int]) -> int:
    """The most frequent gold label (the lowest on a tie; 0 for none): what always answering
    the majority answers, for the run's chance column and the majority reference row."""
    counts = Counter(golds)
    return max(sorted(counts), key=counts.__getitem__) if counts else 0


def chance_score(metric: str, confusion: Sequence[Sequence[int]]) -> float:
    """What always answering the most frequent test label scores (rows of ``confusion`` are
    gold labels): the level a few-shot score must beat to show anything was learned."""
    golds = [label for label, row in enumerate(confusion) for _ in range(sum(row))]
    return compute_metrics(metric, [majority_label(golds)] * len(golds), golds)[metric]


def primary_score(metric: str, metrics: dict[str, float]) -> float:
    """The one number a table shows for a task: the entry named after its metric."""
    if metric not in metrics:
        raise KeyError(f"metrics {sorted(metrics)} lack the primary score '{metric}'")
    return metrics[metric]


def _correlation(fn, preds: np.ndarray, golds: np.ndarray) -> float:
    """A scipy correlation as 0-100; undefined (constant input, one example) counts as 0."""
    if len(preds) < 2:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(fn(preds, golds)[0])
    return 0.0 if math.isnan(value) else 100.0 * value
