"""Metrics against values worked out by hand (see the comments for the arithmetic)."""

from __future__ import annotations

import math
import warnings

import pytest

from compt.errors import ComptError
from compt.metrics import compute_metrics, primary_score


def test_accuracy():
    # 3 of 4 right
    assert compute_metrics("accuracy", [0, 1, 1, 0], [0, 1, 0, 0]) == {"accuracy": 75.0}


def test_matthews_by_hand():
    # TP=2, FP=1, TN=2, FN=0: (2*2 - 1*0) / sqrt(3*2*3*2) = 4/6
    scores = compute_metrics("matthews", [1, 1, 0, 0, 1], [1, 0, 0, 0, 1])
    assert scores["matthews"] == pytest.approx(100 * 4 / 6)
    assert scores["accuracy"] == pytest.approx(80.0)


def test_matthews_three_classes_perfect_and_inverted():
    assert compute_metrics("matthews", [0, 1, 2], [0, 1, 2])["matthews"] == pytest.approx(100.0)
    assert compute_metrics("matthews", [1, 0], [0, 1])["matthews"] == pytest.approx(-100.0)


def test_f1_positive_class_is_first_label_by_default():
    golds, preds = [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]
    # class 0: TP=2 (items 0, 4), FP=1 (item 3), FN=1 (item 1) -> F1 = 4/6; accuracy 3/5
    scores = compute_metrics("f1_accuracy", preds, golds)
    assert scores["f1"] == pytest.approx(100 * 4 / 6)
    assert scores["accuracy"] == pytest.approx(60.0)
    assert scores["f1_accuracy"] == pytest.approx((100 * 4 / 6 + 60.0) / 2)
    # class 1: TP=1, FP=1, FN=1 -> F1 = 2/4
    assert compute_metrics("f1_accuracy", preds, golds, positive=1)["f1"] == pytest.approx(50.0)


def test_pearson_spearman_by_hand():
    # monotone -> Spearman 1; Pearson = 6.5 / sqrt(5 * 8.75)
    scores = compute_metrics("pearson_spearman", [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    pearson = 100 * 6.5 / math.sqrt(5 * 8.75)
    assert scores["spearman"] == pytest.approx(100.0)
    assert scores["pearson"] == pytest.approx(pearson)
    assert scores["pearson_spearman"] == pytest.approx((pearson + 100.0) / 2)


def test_degenerate_inputs_score_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        constant = compute_metrics("matthews", [0, 0, 0, 0], [0, 1, 0, 1])
        flat = compute_metrics("pearson_spearman", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
        no_positive = compute_metrics("f1_accuracy", [1, 1], [1, 1])
        single = compute_metrics("pearson_spearman", [1.0], [3.0])
    assert constant == {"matthews": 0.0, "accuracy": 50.0}
    assert flat == {"pearson": 0.0, "spearman": 0.0, "pearson_spearman": 0.0}
    assert no_positive["f1"] == 0.0 and no_positive["accuracy"] == 100.0
    assert single["pearson_spearman"] == 0.0


def test_primary_score_is_the_metric_named_entry():
    scores = compute_metrics("f1_accuracy", [0, 1], [0, 0])
    assert primary_score("f1_accuracy", scores) == scores["f1_accuracy"]
    assert primary_score("accuracy", scores) == 50.0
    with pytest.raises(KeyError):
        primary_score("matthews", scores)


def test_bad_calls():
    with pytest.raises(ComptError, match="Unknown metric 'f2'.*accuracy"):
        compute_metrics("f2", [0], [0])
    with pytest.raises(ValueError):
        compute_metrics("accuracy", [0, 1], [0])
    with pytest.raises(ValueError):
        compute_metrics("accuracy", [], [])
