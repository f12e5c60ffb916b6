"""The dashboard's pictures: curves across runs, a sweep's score against one key, and
heatmaps shaded strong-high with a legend (tui/curves.py, tui/sweep_axis.py,
tui/shading.py, tui/widgets/plots.py), as units and through Pilot at 80x24."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.color import Color
from test_tui import (  # noqa: F401 (anyio_backend, sleeper: fixtures)
    SIZE,
    add_run,
    add_running,
    anyio_backend,
    fixture_results,
    loaded,
    sleeper,
    wait_for,
)

from compt.store import RunStore
from tui import sweep_axis as sweep_module
from tui.app import ComptApp
from tui.curves import MARKERS, RunCurves, smooth, thin, whole_ticks
from tui.grid import matrix_grid
from tui.screens.compare import CompareScreen
from tui.shading import GLYPHS, glyph, style
from tui.sweep_axis import ReferenceLine, score_names, sweep_axis, swept_keys
from tui.widgets.grid_view import GridTable
from tui.widgets.plots import CurvesChart, SweepChart

pytestmark = pytest.mark.anyio


def sweep_runs(runs_dir: Path, ks=(4, 8, 16), seeds=(0, 1)) -> list[str]:
    """pt and ssum x ``ks`` x ``seeds``, finished, each with its own loss and eval curve;
    the average grows with k (ssum by 8 more) and with the seed."""
    run_ids, minute = [], 0
    for method in ("pt", "ssum"):
        for k in ks:
            for seed in seeds:
                run_id = f"{method}-k{k}-s{seed}"
                folder = add_run(runs_dir, run_id, minute, method=method, k=k, seed=seed,
                                 group="sweep")
                scale = 1.0 + 0.5 * minute
                for step in range(1, 31):
                    folder.append_metrics({"step": step, "loss": scale / step})
                    if step % 10 == 0:
                        folder.append_metrics({"step": step, "eval": {},
                                               "average": 50.0 + step + minute})
                results = fixture_results(method, seed)
                results["scores"] = {t: v + k for t, v in results["scores"].items()}
                results["average"] += k
                folder.write_results(results)
                run_ids.append(run_id)
                minute += 1
    RunStore(runs_dir).reindex()
    return run_ids


async def open_compare(pilot, tab: str) -> CompareScreen:
    await loaded(pilot)
    await pilot.press("A", "c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen)
                   and pilot.app.screen.views)
    await pilot.press(tab)
    await pilot.pause()
    return pilot.app.screen


def drawn(chart) -> str:
    return chart.plt.uncolorize(chart.plt.build())


# -- units ----------------------------------------------------------------------------


def test_run_curves_split_loss_and_eval_and_skip_bad_rows():
    curves = RunCurves("a")
    curves.add([{"step": 1, "loss": 2.0}, {"step": 2, "loss": float("nan")},
                {"step": "3", "loss": 1.0}, {"step": 4, "eval": {}, "average": 61.5},
                {"step": 5, "loss": True}, {"step": 6, "loss": 0.5}])
    assert curves.series("loss") == ([1, 6], [2.0, 0.5])
    assert curves.series("eval") == ([4], [61.5])


def test_smoothing_is_a_debiased_moving_average():
    assert smooth([3.0, 3.0, 3.0], 0.9) == pytest.approx([3.0, 3.0, 3.0])  # no pull to zero
    assert smooth([0.0, 10.0], 0.5) == pytest.approx([0.0, 10 * 0.5 / 0.75])
    assert smooth([1.0, 5.0], 0.0) == [1.0, 5.0]


def test_thinning_keeps_the_last_point():
    steps, values = thin(list(range(1, 1002)), [float(i) for i in range(1001)], limit=100)
    assert len(steps) <= 102 and steps[0] == 1 and steps[-1] == 1001
    assert thin([1, 2], [1.0, 2.0], limit=100) == ([1, 2], [1.0, 2.0])


@pytest.mark.parametrize("low,high", [(1, 20), (0, 1000), (5, 5), (0, 7), (1, 137)])
def test_step_ticks_are_whole_numbers_inside_the_range(low, high):
    ticks = whole_ticks(low, high)
    assert ticks and all(isinstance(t, int) for t in ticks)
    assert low <= ticks[0] and ticks[-1] <= high and len(ticks) <= 6
    assert len({b - a for a, b in zip(ticks, ticks[1:])}) <= 1  # evenly spaced


def summary(run_id, method, average, **scores):
    return {"run_id": run_id, "method": method, "average": average, "scores": scores}


def test_sweep_axis_averages_seeds_per_method_and_value():
    summaries = [summary("a", "pt", 60.0, cola=50.0), summary("b", "pt", 64.0, cola=54.0),
                 summary("c", "pt", 70.0, cola=58.0), summary("d", "ssum", 75.0),
                 summary("e", "ssum", None)]
    configs = {"a": {"k": 8, "seed": 0, "lr": 0.3}, "b": {"k": 8, "seed": 1, "lr": 0.3},
               "c": {"k": 16, "seed": 0, "lr": 0.3}, "d": {"k": 16, "seed": 0, "lr": 0.3},
               "e": {"k": 4, "seed": 0, "lr": 0.3}}
    assert swept_keys(list(configs.values())) == ["k"]  # seed is averaged, lr does not vary
    axis = sweep_axis(summaries, configs, "k")
    pt, ssum = axis.lines
    assert (pt.label, pt.xs, pt.means, pt.counts) == ("pt", [8, 16], [62.0, 70.0], [2, 1])
    assert pt.stds == pytest.approx([2 ** 0.5 * 2, 0.0])
    assert (ssum.xs, ssum.means) == ([16], [75.0])  # the run without an average is left out
    assert score_names(summaries) == ["average", "cola"]
    assert sweep_axis(summaries, configs, "k", "cola").lines[0].means == [52.0, 58.0]


def test_reference_sources_are_optional_and_a_failing_one_adds_nothing(monkeypatch):
    from compt.errors import ComptError
    monkeypatch.setattr(sweep_module, "_REFERENCE_SOURCES", [])
    summaries, configs = [summary("a", "pt", 60.0)], {"a": {"k": 8}}
    assert sweep_axis(summaries, configs, "k").references == []

    def broken(runs, configs, task):
        raise ComptError("no reference data")

    sweep_module.register_reference_source(broken)
    sweep_module.register_reference_source(
        lambda runs, configs, task: [ReferenceLine("majority", 50.0 if task is None else 40.0)])
    assert sweep_axis(summaries, configs, "k").references == [ReferenceLine("majority", 50.0)]


def luminance(st) -> float:
    red, green, blue = st.bgcolor.get_truecolor()
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_shading_is_strong_for_high_and_faint_for_low():
    assert luminance(style(1.0)) > 2 * luminance(style(0.0))
    assert glyph(0.0) == GLYPHS[0] and glyph(1.0) == GLYPHS[-1] and glyph(None) == " "
    levels = [GLYPHS.index(glyph(i / 10)) for i in range(11)]
    assert levels == sorted(levels) and set(levels) == set(range(len(GLYPHS)))
    assert style(None).bgcolor is None


# -- on screen ------------------------------------------------------------------------


async def test_curves_overlay_the_marked_runs_with_a_marker_each(runs_dir):
    run_ids = sweep_runs(runs_dir, ks=(8,))
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "5")
        chart = screen.query_one(CurvesChart)
        await wait_for(pilot, lambda: len(chart.curves) == 4
                       and all(len(c.loss[0]) == 30 for c in chart.curves.values()))
        assert set(chart.curves) == set(run_ids)
        text = drawn(chart)
        for i, curve in enumerate(chart.curves.values()):
            assert f"{MARKERS[i] * 2} {curve.label}" in text  # the legend: marker and name
        axis = text.rstrip().splitlines()[-2]  # the tick labels under the frame
        assert [int(t) for t in re.findall(r"\S+", axis)] == whole_ticks(1, 30)
        assert "smoothing 0 " in text + " "
        await pilot.press("o")
        assert chart.smoothing == 0.6 and "smoothing 0.6" in drawn(chart)
        await pilot.press("m")
        assert chart.metric == "eval" and "eval average" in drawn(chart)
        assert all(c.eval[0] == [10, 20, 30] for c in chart.curves.values())


async def test_a_live_run_extends_its_curve(runs_dir, sleeper):  # noqa: F811 (the fixture)
    sweep_runs(runs_dir, ks=(8,), seeds=(0,))
    live = add_running(runs_dir, "live-run", sleeper().pid)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "5")
        chart = screen.query_one(CurvesChart)
        await wait_for(pilot, lambda: "live-run" in chart.curves
                       and chart.curves["live-run"].loss[0] == [1])
        for step in (2, 3):
            live.append_metrics({"step": step, "loss": 1.0 / step})
        await wait_for(pilot, lambda: chart.curves["live-run"].loss[0] == [1, 2, 3])
        assert len(chart.curves["pt-k8-s0"].loss[0]) == 30  # finished runs are not re-read


async def test_sweep_plot_of_a_group_by_k_with_spread_and_references(runs_dir, monkeypatch):
    monkeypatch.setattr(sweep_module, "_REFERENCE_SOURCES", [])
    sweep_module.register_reference_source(
        lambda runs, configs, task: [ReferenceLine("zero-shot", 61.0)])
    sweep_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "6")
        chart = screen.query_one(SweepChart)
        await wait_for(pilot, lambda: chart.axis is not None)
        axis = chart.axis
        assert (axis.key, axis.score) == ("k", "average")
        pt, ssum = axis.lines
        assert pt.xs == ssum.xs == [4, 8, 16]
        assert pt.means == [62.0 + k for k in (4, 8, 16)]  # base 60 + 1, seeds +0 and +2
        assert ssum.means == [70.0 + k for k in (4, 8, 16)]
        assert pt.stds == pytest.approx([2 ** 0.5] * 3)
        text = drawn(chart)
        assert "●● pt" in text and "xx ssum" in text and "zero-shot 61.0" in text
        assert "average against k" in text
        await pilot.press("t")
        assert chart.axis.score == "sent_movies"


async def test_sweep_tab_says_why_when_no_key_varies(runs_dir):
    sweep_runs(runs_dir, ks=(8,))
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "6")
        message = screen.query_one("#sweep-message")
        await wait_for(pilot, lambda: "No numeric config key" in str(message.render()))
        assert not screen.query_one(SweepChart).display


async def test_heatmap_shades_high_strong_with_a_legend(runs_dir):
    sweep_runs(runs_dir, ks=(8,))
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compare(pilot, "4")
        await wait_for(pilot, lambda: screen.query(GridTable))
        legend = str(screen.query_one(".grid-legend").render())
        assert legend.startswith("shade: low ") and legend.endswith(" high")
        assert all(char in legend for char in GLYPHS)
        grid = matrix_grid(screen.views["heatmap"][0])
        cells = [cell for row in grid.rows for cell in row[1:]]
        numbers = [float(cell.plain.split()[0]) for cell in cells]
        top, bottom = cells[numbers.index(max(numbers))], cells[numbers.index(min(numbers))]
        assert top.plain.endswith(f"{GLYPHS[-1]} ") and bottom.plain.endswith(f"{GLYPHS[0]} ")
        assert luminance(top.style) > luminance(bottom.style)
        assert isinstance(top.style.bgcolor, Color)
