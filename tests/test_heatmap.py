"""Matrices (per-prompt, router, predictions, transfer, seeds, comparison) and their exports."""

from __future__ import annotations

import json

import pytest
from golden import assert_golden
from golden.samples import PREDICTIONS, TRANSFER, per_prompt, results, router, summaries

from compt.errors import ComptError
from compt.export import FORMATS, HIGH, LOW, matrix_cell_style, render
from compt.heatmap import (
    comparison_matrix,
    per_prompt_matrix,
    prediction_matrices,
    router_matrices,
    seeds_matrix,
    stats_matrix,
    transfer_matrix,
)
from compt.report import paired_comparison

SUFFIX = {"terminal": "txt", "markdown": "md", "csv": "csv", "latex": "tex", "json": "json"}


def three_seeds():
    return [{"per_prompt": per_prompt(float(shift))} for shift in (0, 1, 2)]


def test_per_prompt_matrix_averages_seeds_by_hand():
    m = per_prompt_matrix(three_seeds(), "ssum k=8")
    assert m.rows == ["sent_movies", "nli", "mean"]
    assert m.columns == ["src_1", "src_2", "all_src", "private", "total"]
    # seeds add 0, 1, 2 to the base: the mean adds 1, the sample std is 1
    assert m.values[0] == pytest.approx([61.0, 53.0, 65.0, 59.0, 67.0])
    assert m.values[1] == pytest.approx([51.0, 57.0, 58.0, 50.0, 61.0])
    assert m.std[0] == pytest.approx([1.0] * 5)
    assert m.values[2] == pytest.approx([56.0, 55.0, 61.5, 54.5, 64.0])  # the mean row
    assert m.footer == 1 and m.runs == 3


def test_per_prompt_skips_runs_without_it_and_explains_absence():
    m = per_prompt_matrix([{"per_prompt": None}, {"per_prompt": per_prompt(4.0)}])
    assert m.runs == 1 and m.values[0][0] == 64.0 and m.std[0][0] is None
    with pytest.raises(ComptError, match="no per-prompt scores"):
        per_prompt_matrix([{"per_prompt": None}], "pt k=8")


def test_router_matrices_average_weights_and_logits():
    weights, logits = router_matrices([{"router": router(0.0)}, {"router": router(1.0)}])
    assert weights.rows == ["sent_movies", "nli"] and weights.columns == ["src_1", "src_2"]
    assert weights.values[0] == pytest.approx([0.85, 0.15])
    assert logits.values[0] == pytest.approx([1.5, -1.0])
    assert logits.values[1] == pytest.approx([0.0, 1.0])
    assert weights.digits == 3 and "softmax" in weights.title


def test_prediction_matrices_per_task_and_variant():
    tables = prediction_matrices({"predictions": PREDICTIONS}, title="r00")
    assert [t.title for t in tables] == ["sent_movies (combined)", "sent_movies (source)",
                                         "nli (combined)"]
    assert tables[0].values == [[40.0, 10.0], [5.0, 45.0]]
    assert tables[0].notes == ["85 of 100 correct (85.0%)."]
    only = prediction_matrices({"predictions": PREDICTIONS}, ["nli"], ["combined"])
    assert len(only) == 1 and only[0].extra["accuracy"] == 70.0
    greedy = {"nli": {"labels": ["yes", "no"], "combined": [[3, 1, 1], [0, 4, 2]]}}
    invalid = prediction_matrices({"predictions": greedy})[0]
    assert invalid.columns == ["yes", "no", "invalid"] and invalid.notes == [
        "7 of 11 correct (63.6%)."]
    assert "invalid" in render(invalid, "terminal")
    with pytest.raises(ComptError, match="sent_movies, nli"):
        prediction_matrices({"predictions": PREDICTIONS}, ["qqp"])
    with pytest.raises(ComptError, match="no prediction tables"):
        prediction_matrices({"predictions": None})


def test_transfer_matrix_averages_runs():
    other = {"tasks": TRANSFER["tasks"], "scores": [[70.0, 49.0], [55.0, 64.0]]}
    m = transfer_matrix([TRANSFER, other])
    assert m.values[0] == pytest.approx([68.0, 50.0])
    assert m.values[1] == pytest.approx([55.0, 62.0])
    with pytest.raises(ComptError, match="transfer"):
        transfer_matrix([None])


def test_seeds_matrix_side_by_side_with_spread():
    pt = [s for s in summaries() if s["method"] == "pt"]
    m = seeds_matrix(pt, title="pt k=8")
    assert m.rows == ["seed 0", "seed 1", "seed 2", "mean", "std", "range"]
    assert [row[0] for row in m.values] == pytest.approx([60.0, 62.0, 64.0, 62.0, 2.0, 4.0])
    assert m.values[1][2] == 56.0  # seed 1's own average


def test_shading_puts_the_largest_number_darkest():
    m = per_prompt_matrix(three_seeds())
    top, bottom = matrix_cell_style(m, 67.0), matrix_cell_style(m, 50.0)
    assert top.bgcolor.triplet == HIGH and str(top.color.name) == "white"
    assert bottom.bgcolor.triplet == LOW and str(bottom.color.name) == "black"
    assert matrix_cell_style(m, None).bgcolor is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_per_prompt_golden(fmt):
    assert_golden(f"heatmap.{SUFFIX[fmt]}", render(per_prompt_matrix(three_seeds(), "ssum k=8"),
                                                   fmt))


@pytest.mark.parametrize("fmt", FORMATS)
def test_router_golden(fmt):
    view = router_matrices([{"router": router(0.0)}, {"router": router(1.0)}], "ssum k=8")
    assert_golden(f"router.{SUFFIX[fmt]}", render(view, fmt))


@pytest.mark.parametrize("fmt", ["terminal", "csv"])
def test_predictions_golden(fmt):
    view = prediction_matrices(results(summaries()[3]), title="r03")
    assert_golden(f"predictions.{SUFFIX[fmt]}", render(view, fmt))


@pytest.mark.parametrize("fmt", ["terminal", "markdown"])
def test_transfer_and_seeds_golden(fmt):
    pt = [s for s in summaries() if s["method"] == "pt"]
    assert_golden(f"transfer.{SUFFIX[fmt]}", render(transfer_matrix([TRANSFER]), fmt))
    assert_golden(f"seeds.{SUFFIX[fmt]}", render(seeds_matrix(pt, title="pt k=8"), fmt))


@pytest.mark.parametrize("fmt", ["terminal", "json"])
def test_comparison_golden(fmt):
    runs = summaries()
    comparison = paired_comparison([s for s in runs if s["config_key"] == "ssum-8-constant"],
                                   [s for s in runs if s["method"] == "pt"], name="ssum",
                                   baseline_name="pt")
    text = render([comparison_matrix(comparison), stats_matrix([comparison])], fmt)
    assert_golden(f"compare.{SUFFIX[fmt]}", text)
    if fmt == "json":
        compared, tests = json.loads(text)
        assert compared["values"][-1] == pytest.approx([63.0, 56.5, 6.5, 6.0])
        assert compared["rows"][2:] == ["seed 0 k=8", "seed 1 k=8", "seed 2 k=8", "all pairs"]
        per_seed = tests["extra"]["stats"][0]["per_seed"]
        assert (per_seed["n"], per_seed["t_stat"]) == (3, pytest.approx(13.0))
        assert tests["extra"]["stats"][0]["seed_task"]["n"] == 6
