"""Report commands: ``compt table / heatmap / router / predictions / transfer / seeds / compare``.

Each picks runs from the store (run ids, group names or ``key=value`` selectors, narrowed
by the same filters as ``compt ls``), builds a view with ``compt.report`` /
``compt.heatmap`` and prints or writes it with ``compt.export``. Nothing here imports
torch (nor scipy, until ``compare`` needs it), so a table over thousands of runs comes
back at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

import typer
from rich.console import Console

from compt import methods
from compt.cli.app import RUNS_DIR_HELP, app
from compt.errors import ComptError
from compt.export import FORMATS, matrix_rich, render, rich_view, table_rich
from compt.heatmap import (
    PREDICTION_VARIANTS,
    comparison_matrix,
    comparison_references,
    per_prompt_matrix,
    per_seed_matrices,
    prediction_matrices,
    router_matrices,
    seeds_matrix,
    seeds_with_references,
    source_alignment,
    stats_matrix,
    transfer_matrix,
)
from compt.narrow import fit
from compt.report import (
    Comparison,
    Table,
    add_references,
    build_table,
    compare_each,
    has_key,
    known_keys,
    label_text,
    labelled_groups,
    lookup,
    seed_label,
)
from compt.runfolder import RunFolder, default_runs_dir
from compt.stats import DEFAULT_EFFECT
from compt.store import RunStore, Summary

SELECTOR_HELP = "Run ids, group names, or key=value filters (e.g. method=ssum,k=8)."

def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ComptError(f"Unknown --format '{fmt}'; choose one of {', '.join(FORMATS)}.")
    return fmt


Format = Annotated[str, typer.Option("--format", "-f", callback=_check_format,
                                     help="terminal, markdown, csv, latex or json.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")]
RunsDir = Annotated[Path | None, typer.Option("--runs-dir", help=RUNS_DIR_HELP)]
Status = Annotated[str, typer.Option(help="Run status to include; 'all' for any.")]
Method = Annotated[str | None, typer.Option(
    help=f"Only this method ({methods.help_text()}).")]
Task = Annotated[str | None, typer.Option(help="Only runs that trained this task.")]
Shots = Annotated[int | None, typer.Option("-k", "--k", help="Only this k-shot.")]
Group = Annotated[str | None, typer.Option(help="Only runs of this group (sweep name).")]
Tag = Annotated[str | None, typer.Option(help="Only runs with this tag.")]
Value = Annotated[str, typer.Option(
    help="Which score per run: last (final) or best (dev-selected; runs with dev_size).")]
Wide = Annotated[bool, typer.Option(
    "--wide", help="In a terminal too, the full width: no abbreviated or split columns.")]
NoReferences = Annotated[bool, typer.Option(
    "--no-references", envvar="COMPT_NO_REFERENCES",
    help="Leave out the reference rows (majority, zero-shot, training-free k-shot): faster on "
    "a cold cache, and needs neither the model nor the tasks.")]


def _check_effect(value: float) -> float:
    if not value > 0:
        raise ComptError(f"--effect must be a positive difference in points, got {value:g}.")
    return value


Effect = Annotated[float, typer.Option(
    callback=_check_effect,
    help="The difference (points) whose needed number of seeds is reported, at 80 % power.")]


class Filters(TypedDict):
    """The ``RunStore.list`` filters a report selects by (None: any)."""

    status: str | None
    method: str | None
    task: str | None
    k: int | None
    group: str | None
    tag: str | None


class Selection:
    """The filters every report command shares, applied to one run store."""

    def __init__(self, runs_dir: Path | None, status: str, method: str | None, task: str | None,
                 k: int | None, group: str | None, tag: str | None) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir else default_runs_dir()
        if not self.runs_dir.is_dir():
            raise ComptError(f"Runs folder {self.runs_dir} does not exist; pass --runs-dir or "
                             "set COMPT_RUNS_DIR.")
        self.store = RunStore(self.runs_dir)
        self.filters = Filters(status=None if status == "all" else status, method=method,
                               task=task, k=k, group=group, tag=tag)

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.filters.items() if v is not None)

    def runs(self, selectors: list[str] | None = None) -> list[Summary]:
        """Runs matching the filters, every key=value selector, and any named run/group."""
        runs = self.store.list(**self.filters)
        parts = [p for s in selectors or [] for p in _split(s)]
        names = [p for p in parts if "=" not in p]
        conditions = [p.split("=", 1) for p in parts if "=" in p]
        if names:
            wanted = {run_id for name in names for run_id in self.store.resolve(name)}
            runs = [r for r in runs if r["run_id"] in wanted]
        for key, text in conditions:
            key, text = key.strip(), text.strip()
            if runs and not any(has_key(r, key) for r in runs):
                raise ComptError(f"Unknown key '{key}' in a key=value selector. Keys runs have: "
                                 f"{', '.join(known_keys(runs))}.")
            runs = [r for r in runs if _matches(lookup(r, key), text)]
        if not runs:
            what = " ".join(selectors or []) or "the store"
            raise ComptError(
                f"No runs in {self.runs_dir} match {what} ({self.describe() or 'no filters'}). "
                "Reports count finished runs only: add --status all to include the others."
            )
        return runs

    def config_of(self, summary: Mapping[str, Any]) -> dict[str, Any]:
        """A run's full config (config.json), to name what tells configurations apart."""
        return dict(self._folder(summary).read_config().get("config") or {})

    def results(self, summary: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._folder(summary).read_results() or {})

    def _folder(self, summary: Mapping[str, Any]) -> RunFolder:
        return RunFolder(self.store.runs_dir / summary["run_id"])


def _matches(value: Any, text: str) -> bool:
    if isinstance(value, list | tuple):
        return text in [label_text(v) for v in value] or label_text(value) == text
    return label_text(value) == text


def emit(view: Any, fmt: str, output: Path | None, wide: bool = False) -> None:
    """Print ``view`` (coloured on a terminal) or write it to ``output``.

    In a terminal a view wider than the window is narrowed (abbreviated columns with a
    legend, then split columns; compt.narrow) unless ``wide``; numbers never fold. Pipes
    and files get the full width.
    """
    if output is not None:
        try:
            output.write_text(render(view, fmt))
        except OSError as exc:
            raise ComptError(f"Cannot write {output}: {exc.strerror}.") from None
        Console(stderr=True).print(f"wrote {output}", highlight=False)
    elif fmt == "terminal":
        console = Console()
        pieces = list(view) if isinstance(view, list | tuple) else [view]

        def needed(views: Sequence[Any]) -> int:
            body = table_rich(views[0]) if isinstance(views[0], Table) else matrix_rich(views[0])
            return console.measure(body, options=console.options.update_width(10_000)).maximum

        if console.is_terminal and not wide:
            pieces = [part for piece in pieces for part in fit(piece, console.width, needed)]
        for i, piece in enumerate(pieces):
            width = needed([piece])
            out = console if width <= console.width else Console(width=width)
            if i:
                out.print()
            out.print(rich_view(piece))
    else:
        sys.stdout.write(render(view, fmt))


def reference_sets(sel: Selection, runs: Sequence[Summary], skip: bool
                   ) -> tuple[list[Any], list[str]]:
    """The reference rows beside ``runs`` (compt.references, cached, computed on a miss)
    and the one note to show when there are none: skipped, or why they could not be."""
    if skip:
        return [], ["Reference rows left out (--no-references or COMPT_NO_REFERENCES)."]
    from compt.references import config_reader, references_for

    try:
        return references_for(runs, config_reader(sel.config_of)), []
    except ComptError as exc:
        reason = str(exc).split(". ")[0].rstrip(".")  # one line: the first sentence
        return [], [f"Reference rows left out: {reason}. (--no-references skips them.)"]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@app.command("table")
def table_cmd(
    selectors: Annotated[list[str] | None, typer.Argument(help=SELECTOR_HELP)] = None,
    rows: Annotated[str, typer.Option(help="Grouping keys for the rows, comma separated.")] = (
        "method,k"),
    value: Value = "last",
    seeds: Annotated[int | None, typer.Option(help="Seeds a complete row has (default: the "
                                              "most any row has).")] = None,
    digits: Annotated[int, typer.Option(help="Decimals shown.")] = 1,
    pool: Annotated[bool, typer.Option(
        "--pool", help="One row per --rows label: runs of configurations that differ in "
        "anything else (e.g. seeds trained on a GPU and on a CPU) are pooled as its "
        "seeds.")] = False,
    baseline: Annotated[str | None, typer.Option(
        help="A row to test the others against (run ids, a group or key=value filters, "
             "comma separated): paired per seed, Holm-corrected over the rows.")] = None,
    match: Annotated[str, typer.Option(
        help="With --baseline: keys that must agree for a row's run to pair with a baseline "
             "run, besides the seed (e.g. k: each row against the baseline at its k).")] = "",
    effect: Effect = DEFAULT_EFFECT,
    no_references: NoReferences = False,
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "done", method: Method = None, task: Task = None, k: Shots = None,
    group: Group = None, tag: Tag = None,
) -> None:
    """Paper table: rows are configurations, columns tasks + avg, cells mean ± std over seeds,
    then the reference rows (majority, zero-shot, training-free k-shot)."""
    sel = Selection(runs_dir, status, method, task, k, group, tag)
    runs = sel.runs(selectors)
    table = build_table(runs, _split(rows), value, seeds, sel.config_of, digits, pool=pool)
    sets, notes = reference_sets(sel, runs, no_references)
    add_references(table, sets).notes.extend(notes)
    if baseline is None:
        emit(table, fmt, output, wide)
        return
    configs = labelled_groups(runs, _split(rows), sel.config_of, pool)
    comparisons, skipped = compare_each(configs, sel.runs([baseline]), baseline, value,
                                        _split(match), effect)
    emit([table, _tests_view(comparisons, skipped, baseline, digits)], fmt, output, wide)


def _tests_view(comparisons: list[Comparison], skipped: list[str], baseline: str,
                digits: int) -> Any:
    """The paired tests of configurations against ``baseline``, with any left out named."""
    view = stats_matrix(comparisons, digits)
    if skipped:
        view.notes.append(f"Not compared (no seed and task shared with {baseline}): "
                          f"{'; '.join(skipped)}.")
    return view


def _per_config(sel: Selection, selectors: list[str] | None, build: Callable) -> list[Any]:
    """One view per configuration among the selected runs (seeds are averaged).

    A configuration without the analysis (pt has no router) is skipped with a word on
    stderr; only when none has it is that an error.
    """
    views, skipped = [], []
    for config in labelled_groups(sel.runs(selectors), config_of=sel.config_of):
        try:
            made = build(config)
        except ComptError as exc:
            skipped.append(exc)
            continue
        views += made if isinstance(made, list) else [made]
    if not views:
        raise skipped[0]
    for error in skipped:
        Console(stderr=True).print(f"skipped: {error}", highlight=False, soft_wrap=True)
    return views


SOURCES = ("aligned", "per-seed")


def _check_sources(value: str) -> str:
    if value not in SOURCES:
        raise ComptError(f"Unknown --sources '{value}'; choose aligned or per-seed.")
    return value


Sources = Annotated[str, typer.Option(
    "--sources", callback=_check_sources,
    help="Over several seeds: aligned (each seed's sources matched to the first seed's by "
         "router weights, then averaged) or per-seed (a matrix per seed). Where the router "
         "cannot tell sources apart, per-seed is used.")]


def _source_views(sel: Selection, config: Any, sources: str, view: str) -> list[Any]:
    """Seeds averaged with aligned sources, or one matrix per seed (see compt.heatmap)."""
    results = [sel.results(r) for r in config.runs]
    usable = [r for r in results if r.get("per_prompt" if view == "heatmap" else "router")]
    if len(usable) > 1 and (sources == "per-seed" or source_alignment(
            [r.get("router") for r in usable]) is None):
        labels = [seed_label(r) for r in config.runs]
        made = per_seed_matrices(results, labels, config.title(), view)
        if made:
            return made
    if view == "heatmap":
        return [per_prompt_matrix(results, config.title())]
    return router_matrices(results, config.title())


@app.command("heatmap")
def heatmap_cmd(
    selectors: Annotated[list[str], typer.Argument(help=SELECTOR_HELP)],
    sources: Sources = "aligned",
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "done", method: Method = None, task: Task = None, k: Shots = None,
    group: Group = None, tag: Tag = None,
) -> None:
    """Per-prompt scores (tasks x src_i/all_src/private/total, mean row) over seeds."""
    sel = Selection(runs_dir, status, method, task, k, group, tag)
    views = _per_config(sel, selectors, lambda c: _source_views(sel, c, sources, "heatmap"))
    emit(views, fmt, output, wide)


@app.command("router")
def router_cmd(
    selectors: Annotated[list[str], typer.Argument(help=SELECTOR_HELP)],
    sources: Sources = "aligned",
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "done", method: Method = None, task: Task = None, k: Shots = None,
    group: Group = None, tag: Tag = None,
) -> None:
    """Router softmax weights and logits (tasks x sources) over seeds."""
    sel = Selection(runs_dir, status, method, task, k, group, tag)
    views = _per_config(sel, selectors, lambda c: _source_views(sel, c, sources, "router"))
    emit(views, fmt, output, wide)


@app.command("transfer")
def transfer_cmd(
    selectors: Annotated[list[str], typer.Argument(help=SELECTOR_HELP)],
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "done", method: Method = None, task: Task = None, k: Shots = None,
    group: Group = None, tag: Tag = None,
) -> None:
    """Cross-task transfer (row: whose prompt, column: which test set), seeds averaged."""
    sel = Selection(runs_dir, status, method, task, k, group, tag)

    def build(config: Any) -> Any:
        found = [RunFolder(sel.runs_dir / r["run_id"]).read_transfer() for r in config.runs]
        return transfer_matrix([t for t in found if t], config.title())

    emit(_per_config(sel, selectors, build), fmt, output, wide)


@app.command("predictions")
def predictions_cmd(
    run: Annotated[str, typer.Argument(help="A run id (or a unique prefix).")],
    only: Annotated[list[str] | None, typer.Option(
        "--task", help="Only this task's tables (repeatable).")] = None,
    variant: Annotated[list[str] | None, typer.Option(
        help="combined, source or private (repeatable; default: all recorded).")] = None,
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "all",
) -> None:
    """Gold x predicted label counts per task (paper Tables 5, 6, A1)."""
    bad = [v for v in variant or [] if v not in PREDICTION_VARIANTS]
    if bad:
        raise ComptError(f"Unknown --variant {', '.join(bad)}; choose from "
                         f"{', '.join(PREDICTION_VARIANTS)}.")
    sel = Selection(runs_dir, status, None, None, None, None, None)
    runs = sel.runs([run])
    if len(runs) > 1:
        raise ComptError(f"'{run}' names {len(runs)} runs; prediction tables are per run: "
                         f"name one, e.g. compt predictions {runs[0]['run_id']}.")
    views = prediction_matrices(sel.results(runs[0]), only, variant or PREDICTION_VARIANTS,
                                runs[0]["run_id"])
    emit(views, fmt, output, wide)


@app.command("seeds")
def seeds_cmd(
    selectors: Annotated[list[str] | None, typer.Argument(help=SELECTOR_HELP)] = None,
    value: Value = "last",
    no_references: NoReferences = False,
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "done", method: Method = None, task: Task = None, k: Shots = None,
    group: Group = None, tag: Tag = None,
) -> None:
    """Per-seed scores side by side for each configuration, with mean, std and range, and the
    reference rows on the same data seeds."""
    sel = Selection(runs_dir, status, method, task, k, group, tag)
    sets, notes = reference_sets(sel, sel.runs(selectors), no_references)

    def build(config: Any) -> Any:
        matrix = seeds_with_references(seeds_matrix(config.runs, value, config.title()), sets)
        matrix.notes.extend(notes)
        return matrix

    emit(_per_config(sel, selectors, build), fmt, output, wide)


@app.command("compare")
def compare_cmd(
    selectors: Annotated[list[str], typer.Argument(help=SELECTOR_HELP)],
    baseline: Annotated[str, typer.Option(
        help="The baseline: run ids, a group or key=value filters (comma separated).")],
    match: Annotated[str, typer.Option(
        help="Keys that must agree for two runs to pair, besides the seed.")] = "k",
    value: Value = "last",
    effect: Effect = DEFAULT_EFFECT,
    pool: Annotated[bool, typer.Option(
        "--pool", help="One comparison: every selected run counts as a seed of one group "
        "(e.g. seeds trained partly on a GPU, partly on a CPU), instead of one comparison "
        "per configuration.")] = False,
    digits: Annotated[int, typer.Option(help="Decimals shown.")] = 1,
    no_references: NoReferences = False,
    fmt: Format = "terminal", output: Output = None, wide: Wide = False,
    runs_dir: RunsDir = None,
    status: Status = "done", method: Method = None, task: Task = None, k: Shots = None,
    group: Group = None, tag: Tag = None,
) -> None:
    """Paired comparison with a baseline, per seed then per (seed, task): mean difference,
    t-test, Wilcoxon, Holm over several configurations, the effect the seeds can detect."""
    sel = Selection(runs_dir, status, method, task, k, group, tag)
    runs = sel.runs(selectors)
    configs = (labelled_groups(runs, (), sel.config_of, pool=True) if pool
               else labelled_groups(runs, config_of=sel.config_of))
    comparisons, skipped = compare_each(configs, sel.runs([baseline]), baseline, value,
                                        _split(match), effect)
    if len(comparisons) == 1 and not skipped:  # one configuration: named as selected
        comparisons[0].name = " ".join(selectors)
    views = [*(comparison_matrix(c, digits) for c in comparisons),
             _tests_view(comparisons, skipped, baseline, digits)]
    emit(with_references(views, sel, comparisons, runs, no_references, digits), fmt,
         output, wide)


def with_references(views: list[Any], sel: Selection, comparisons: Sequence[Comparison],
                    runs: Sequence[Summary], skip: bool, digits: int) -> list[Any]:
    """``compt compare``'s views followed by each compared configuration beside the
    reference rows of its setting (kept apart from the statistics), or a note saying why
    there are none."""
    sets, notes = reference_sets(sel, runs, skip)
    if not sets:
        views[-1].notes.extend(notes)
        return views
    group = [str(r["run_id"]) for r in runs]
    return [*views, *(comparison_references(c, sets, group, digits) for c in comparisons)]
