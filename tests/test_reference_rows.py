"""Reference rows in the views: the table (every export format), seeds and compare; golden
files pin them on the fixed sample runs (tests/golden/samples.py), and a store of tiny-T5
runs pins the numbers compt computes itself."""

from __future__ import annotations

import csv
import io
import json

import pytest
from golden import assert_golden
from golden.samples import reference_sets, summaries

from compt.export import FORMATS, render
from compt.heatmap import comparison_references, seeds_matrix, seeds_with_references
from compt.report import REFERENCE_MARK, add_references, build_table, paired_comparison

SUFFIX = {"terminal": "txt", "markdown": "md", "csv": "csv", "latex": "tex", "json": "json"}


@pytest.fixture
def table():
    return add_references(build_table(summaries(), title="Few-shot results"), reference_sets())


def marked(table) -> dict[tuple[str, ...], list[str]]:
    return {row.labels: [c for c, cell in row.cells.items() if cell.below_reference]
            for row in table.rows if not row.reference}


@pytest.mark.parametrize("fmt", FORMATS)
def test_table_with_references_golden(table, fmt):
    assert_golden(f"table_refs.{SUFFIX[fmt]}", render(table, fmt))


def test_reference_rows_follow_the_trained_rows_per_setting(table):
    refs = [row for row in table.rows if row.reference]
    assert [row.labels for row in refs] == [
        ("majority", "8", ""), ("zero-shot", "8", ""), ("centroid", "8", ""),
        ("majority", "16", ""), ("zero-shot", "16", ""), ("centroid", "16", "")]
    centroid = refs[2].cells
    assert (centroid["sent_movies"].mean, centroid["sent_movies"].std) == (64.0, 1.0)
    assert centroid["avg"].values == [56.5, 58.0, 58.0]
    assert all(not table.short(row) for row in refs)
    # ranks stay among the trained rows: msum's 75.0 is still the best sent_movies
    assert [r.cells["sent_movies"].rank for r in table.rows if not r.reference] == [
        None, None, 2, 1]


def test_cells_not_above_the_best_reference_of_their_setting_are_marked(table):
    assert marked(table) == {
        ("pt", "8", ""): ["sent_movies", "nli", "avg"],
        ("ssum", "8", "router=constant"): [],
        ("ssum", "8", "router=learned"): [],
        ("msum", "16", ""): ["nli"],
    }
    text = render(table, "terminal")
    pt = next(line for line in text.splitlines() if line.strip().startswith("pt"))
    assert pt.count(REFERENCE_MARK) == 3
    assert f"{REFERENCE_MARK} not above the best ref row" in text


@pytest.mark.parametrize(("reference", "pt_marked"), [(61.96, True), (61.94, False)])
def test_a_tie_as_displayed_does_not_beat_the_reference(reference, pt_marked):
    from compt.references import ReferenceSet

    pt = {s["run_id"]: s["data_seed"] for s in summaries() if s["method"] == "pt"}
    refs = ReferenceSet(pt, {"majority": {s: {"sent_movies": reference, "nli": 0.0}
                                          for s in range(3)}})
    table = add_references(build_table(summaries()), [refs])  # pt: 62.0 as displayed
    assert ("sent_movies" in marked(table)[("pt", "8", "")]) is pt_marked


def test_exports_say_which_rows_are_references(table):
    rows = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    assert [r["reference"] for r in rows] == ["false"] * 4 + ["true"] * 6
    assert rows[0]["below_reference"] == "sent_movies;nli;avg"
    data = json.loads(render(table, "json"))
    assert [r["reference"] for r in data["rows"]].count(True) == 6
    assert data["rows"][3]["cells"]["nli"]["below_reference"] is True
    assert "$^\\circ$" in render(table, "latex")
    assert "| pt | 8 |  | _" not in render(table, "markdown")  # plain cell text, marked
    assert "62.0 ± 2.0°" in render(table, "markdown")


def test_a_table_without_references_is_unchanged():
    plain = build_table(summaries(), title="Few-shot results")
    before = {fmt: render(plain, fmt) for fmt in ("terminal", "csv", "markdown")}
    add_references(plain, [])
    assert {fmt: render(plain, fmt) for fmt in before} == before


@pytest.mark.parametrize("fmt", ["terminal", "markdown"])
def test_seeds_with_references_golden(fmt):
    pt = [s for s in summaries() if s["method"] == "pt"]
    view = seeds_with_references(seeds_matrix(pt, title="pt k=8"), reference_sets())
    assert view.rows[-3:] == ["ref majority", "ref zero-shot", "ref centroid"]
    assert view.values[-1] == pytest.approx([64.0, 51.0, 57.5])
    assert_golden(f"seeds_refs.{SUFFIX[fmt]}", render(view, fmt))


def test_seeds_references_use_the_data_seeds_of_these_runs_only():
    ssum = [s for s in summaries() if s["config_key"] == "ssum-8-learned"]  # seeds 0, 1
    view = seeds_with_references(seeds_matrix(ssum), reference_sets())
    assert view.values[-1] == pytest.approx([64.0, 50.5, 57.25])


@pytest.mark.parametrize("fmt", ["terminal", "json"])
def test_comparison_references_golden(fmt):
    runs = summaries()
    group = [s for s in runs if s["config_key"] == "ssum-8-constant"]
    comparison = paired_comparison(group, [s for s in runs if s["method"] == "pt"],
                                   name="ssum", baseline_name="pt")
    view = comparison_references(comparison, reference_sets(), [s["run_id"] for s in group])
    assert view.columns == ["ssum", "pt", "ref majority", "ref zero-shot", "ref centroid"]
    assert view.values[-1] == pytest.approx([63.0, 56.5, 51.0, 51.5, 57.5])
    assert view.extra["below_reference"] == []
    assert_golden(f"compare_refs.{SUFFIX[fmt]}", render(view, fmt))


def test_settings_whose_rows_would_read_the_same_are_named():
    from compt.references import ReferenceSet

    pt = {s["run_id"]: s["data_seed"] for s in summaries() if s["method"] == "pt"}
    first, second = dict(list(pt.items())[:2]), dict(list(pt.items())[2:])
    sets = [ReferenceSet(first, {"majority": {0: {"nli": 50.0}}}, "eval_size=100"),
            ReferenceSet(second, {"majority": {2: {"nli": 52.0}}}, "eval_size=200")]
    table = add_references(build_table([s for s in summaries() if s["method"] == "pt"]), sets)
    assert [r.labels for r in table.rows if r.reference] == [
        ("majority (eval_size=100)", "8"), ("majority (eval_size=200)", "8")]
