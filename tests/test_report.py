"""Aggregation over seeds and the paired comparison, against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest
from golden.samples import summaries
from scipy import stats

from compt.errors import ComptError
from compt.report import (
    build_table,
    compare_each,
    labelled_groups,
    make_cell,
    paired_comparison,
    run_scores,
    task_order,
)
from compt.stats import detectable_effect, seeds_needed


def _row(table, *labels):
    return next(r for r in table.rows if r.labels[: len(labels)] == labels)


def test_cell_mean_and_sample_std_by_hand():
    cell = make_cell([50.0, 50.0, 53.0])
    assert cell.mean == pytest.approx(51.0)
    # deviations -1, -1, 2: (1 + 1 + 4) / (3 - 1) = 3
    assert cell.std == pytest.approx(math.sqrt(3.0))
    assert cell.n == 3
    assert make_cell([7.0]).std is None  # n = 1: std undefined, never 0
    assert make_cell([]).mean is None


def test_table_groups_seeds_and_aggregates_by_hand():
    table = build_table(summaries())
    assert table.columns == ["sent_movies", "nli", "avg"]
    assert table.label_names == ("method", "k", "variant")
    assert [r.labels for r in table.rows] == [
        ("pt", "8", ""),  # alone under its label: nothing to tell apart
        ("ssum", "8", "router=constant"),
        ("ssum", "8", "router=learned"),
        ("msum", "16", ""),
    ]
    pt = _row(table, "pt", "8")
    assert pt.n_runs == 3
    assert pt.cells["sent_movies"].mean == pytest.approx(62.0)
    assert pt.cells["sent_movies"].std == pytest.approx(2.0)
    assert pt.cells["nli"].std == pytest.approx(math.sqrt(3.0))
    # run averages 55, 56, 58.5: mean 56.5, deviations -1.5, -0.5, 2 -> 6.5 / 2
    assert pt.cells["avg"].mean == pytest.approx(56.5)
    assert pt.cells["avg"].std == pytest.approx(math.sqrt(3.25))
    learned = _row(table, "ssum", "8", "router=learned")
    assert learned.n_runs == 2 and table.short(learned)
    assert learned.cells["sent_movies"].std == pytest.approx(math.sqrt(8.0))  # 70, 74
    msum = _row(table, "msum", "16")
    assert msum.n_runs == 1 and msum.cells["nli"].std is None
    assert table.expected == 3
    assert any("n=2/3" in note for note in table.notes)


def test_rows_never_merge_different_configs():
    table = build_table(summaries(), rows=["method"])
    ssum_rows = [r for r in table.rows if r.labels[0] == "ssum"]
    assert len(ssum_rows) == 2  # learned and constant router: two rows, labelled apart
    assert {r.labels[1] for r in ssum_rows} == {"router=constant", "router=learned"}
    # pt, msum and the ssum pair: msum k=16 differs from the others only by label key k
    assert len(table.rows) == 4


def test_pool_makes_one_row_per_label_with_every_run_as_a_seed():
    """--pool: the learned- and constant-router ssum runs become one row of 5 runs."""
    table = build_table(summaries(), pool=True)
    assert [r.labels for r in table.rows] == [("pt", "8"), ("ssum", "8"), ("msum", "16")]
    ssum = _row(table, "ssum", "8")
    assert ssum.n_runs == 5
    separate = [r for r in build_table(summaries()).rows if r.labels[0] == "ssum"]
    values = [v for r in separate for v in r.cells["sent_movies"].values]
    assert sorted(ssum.cells["sent_movies"].values) == sorted(values)
    assert ssum.cells["sent_movies"].mean == pytest.approx(sum(values) / len(values))


def test_variant_falls_back_to_full_config_then_key():
    runs = [s for s in summaries() if s["method"] == "ssum"]
    for s in runs:
        s["hparams"]["router"] = "same"  # the summaries no longer tell them apart
    configs = {"ssum-8-learned": {"init_sources_from": "runA"},
               "ssum-8-constant": {"init_sources_from": None}}
    table = build_table(runs, config_of=lambda s: configs[s["config_key"]])
    assert sorted(r.labels[2] for r in table.rows) == ["init_sources_from=runA",
                                                       "init_sources_from=–"]
    table = build_table(runs)
    assert sorted(r.labels[2] for r in table.rows) == ["config=ssum-8-c", "config=ssum-8-l"]


def test_best_and_second_per_column():
    table = build_table(summaries())
    ranks = {r.labels: {c: r.cells[c].rank for c in table.columns} for r in table.rows}
    # sent_movies means 62, 66, 72, 75; nli 51, 60, 56, 59; avg 56.5, 63, 64, 67
    assert ranks[("msum", "16", "")] == {"sent_movies": 1, "nli": 2, "avg": 1}
    assert ranks[("ssum", "8", "router=learned")] == {"sent_movies": 2, "nli": None, "avg": 2}
    assert ranks[("ssum", "8", "router=constant")]["nli"] == 1
    assert ranks[("pt", "8", "")] == {"sent_movies": None, "nli": None, "avg": None}


def test_ties_share_a_rank_and_a_lone_row_is_not_marked():
    runs = summaries()[:3]
    assert all(c.rank is None for c in build_table(runs).rows[0].cells.values())
    twin = [{**s, "config_key": "twin", "hparams": {**s["hparams"], "prompt_len": 8}}
            for s in runs]
    table = build_table(runs + twin)
    assert [r.cells["nli"].rank for r in table.rows] == [1, 1]


def test_expected_seeds_option_and_missing_tasks():
    runs = summaries()[:3]
    del runs[2]["scores"]["nli"]
    table = build_table(runs, seeds=5)
    row = table.rows[0]
    assert table.expected == 5 and table.short(row)
    assert row.cells["nli"].n == 2 and row.cells["sent_movies"].n == 3
    assert any("n=3/5" in note for note in table.notes)


def test_value_best_uses_best_scores_and_falls_back():
    runs = summaries()[:2]
    runs[0]["best_scores"] = {"sent_movies": 90.0, "nli": 80.0}
    assert run_scores(runs[0], "best") == ({"sent_movies": 90.0, "nli": 80.0}, 85.0, False)
    assert run_scores(runs[1], "best")[2] is True
    table = build_table(runs, value="best")
    assert table.rows[0].cells["sent_movies"].mean == pytest.approx((90.0 + 62.0) / 2)
    assert any("1 run(s) have no best-checkpoint" in note for note in table.notes)
    with pytest.raises(ComptError, match="last, best"):
        build_table(runs, value="top")


def test_user_mistakes_are_compt_errors():
    with pytest.raises(ComptError, match="Unknown row key.*lr"):
        build_table(summaries(), rows=["lr"])
    with pytest.raises(ComptError, match="empty"):
        build_table([])


def test_task_order_is_first_seen_and_groups_sort_pt_first():
    runs = summaries()
    runs[0]["tasks"] = ["nli", "sent_movies"]
    assert task_order(runs) == ["nli", "sent_movies"]
    titles = [c.title() for c in labelled_groups(summaries())]
    assert titles == ["pt k=8", "ssum k=8 router=constant", "ssum k=8 router=learned",
                      "msum k=16 (r08-msum-k16-learned-s0)"]


def test_paired_comparison_matches_scipy_on_hand_example():
    runs = summaries()
    ssum = [s for s in runs if s["config_key"] == "ssum-8-constant"]
    pt = [s for s in runs if s["method"] == "pt"]
    result = paired_comparison(ssum, pt, name="ssum", baseline_name="pt")
    # pairs (seed, task): sent 66-60, 66-62, 66-64; nli 58-50, 60-50, 62-53
    diffs = [6.0, 4.0, 2.0, 8.0, 10.0, 9.0]
    assert sorted(p.diff for p in result.pairs) == sorted(diffs)
    assert result.mean_diff == pytest.approx(39.0 / 6)
    ours = [66.0, 66.0, 66.0, 58.0, 60.0, 62.0]
    theirs = [60.0, 62.0, 64.0, 50.0, 50.0, 53.0]
    t = stats.ttest_rel(ours, theirs)
    w = stats.wilcoxon(ours, theirs)
    assert result.per_pair.t_stat == pytest.approx(t.statistic)
    assert result.per_pair.t_p == pytest.approx(t.pvalue)
    assert result.per_pair.w_stat == pytest.approx(w.statistic)
    assert result.per_pair.w_p == pytest.approx(w.pvalue)
    assert result.unmatched == 0


def test_paired_comparison_tests_per_seed_first():
    """One pair per seed: the run averages (62, 63, 64) vs (55, 56, 58.5), t = 13."""
    runs = summaries()
    ssum = [s for s in runs if s["config_key"] == "ssum-8-constant"]
    pt = [s for s in runs if s["method"] == "pt"]
    result = paired_comparison(ssum, pt, name="ssum", baseline_name="pt", effect=2.0)
    assert [(s.value, s.baseline, s.tasks) for s in result.seeds] == [
        (62.0, 55.0, 2), (63.0, 56.0, 2), (64.0, 58.5, 2)]
    t = stats.ttest_rel([62.0, 63.0, 64.0], [55.0, 56.0, 58.5])
    assert result.per_seed.n == 3 and result.per_seed.t_stat == pytest.approx(13.0)
    assert result.per_seed.t_p == pytest.approx(t.pvalue)
    assert result.per_seed.sd == pytest.approx(math.sqrt(0.75))
    assert result.detectable == pytest.approx(detectable_effect(3, math.sqrt(0.75)))
    assert result.seeds_needed == seeds_needed(2.0, math.sqrt(0.75))
    assert result.p_holm == result.per_seed.t_p and result.family == 1


def test_compare_each_holm_corrects_the_configurations_together():
    runs = summaries()
    pt = [s for s in runs if s["method"] == "pt"]
    configs = labelled_groups([s for s in runs if s["method"] != "msum"])
    comparisons, skipped = compare_each(configs, pt, "pt")
    assert skipped == [] and [c.name for c in comparisons] == [
        "ssum k=8 router=constant", "ssum k=8 router=learned"]  # pt itself is left out
    constant, learned = (c.per_seed.t_p for c in comparisons)
    assert [c.p_holm for c in comparisons] == pytest.approx(
        [2 * constant, max(learned, 2 * constant)])
    assert all(c.family == 2 for c in comparisons)
    comparisons, skipped = compare_each(labelled_groups(runs), pt, "pt", match=("k", "router"))
    assert skipped == ["ssum k=8 router=constant", "msum k=16 (r08-msum-k16-learned-s0)"]
    with pytest.raises(ComptError, match="Nothing to compare"):
        compare_each(labelled_groups(pt), pt, "pt")


def test_paired_comparison_counts_unmatched_and_rejects_ambiguity():
    runs = summaries()
    learned = [s for s in runs if s["config_key"] == "ssum-8-learned"]  # seeds 0, 1
    pt = [s for s in runs if s["method"] == "pt"]  # seeds 0, 1, 2
    result = paired_comparison(learned, pt)
    assert len(result.pairs) == 4 and result.unmatched == 1
    with pytest.raises(ComptError, match="same seed"):
        paired_comparison([s for s in runs if s["method"] == "ssum"], pt)
    with pytest.raises(ComptError, match="share no"):
        paired_comparison(learned, pt, match=("method",))


def test_paired_comparison_of_identical_scores_has_no_test():
    pt = [s for s in summaries() if s["method"] == "pt"]
    result = paired_comparison(pt, pt)
    assert result.mean_diff == 0.0
    assert result.per_pair.t_p is None and result.per_pair.w_p is None
    assert result.per_seed.t_p is None and result.p_holm is None
    assert result.detectable is None and result.seeds_needed is None
