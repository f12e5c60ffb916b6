"""Run store commands: ``compt ls / show / diff / stop / retry / tag / note / rm / reindex /
sweep``.

They read summaries through ``compt.store`` and start processes through
``compt.launcher``; nothing here imports torch, so ``compt ls`` answers at once. Run ids
from the command line go through ``check_run_id`` (via the store) before any path is built.
"""

from __future__ import annotations

import csv
import json
import stat
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from compt import methods
from compt.cli.app import EXECUTOR_HELP, RUNS_DIR_HELP, SlurmOptions, app
from compt.config import RunConfig, differing_keys
from compt.errors import ComptError
from compt.phases import phase_text
from compt.report import data_caveats, tasks_short
from compt.runfolder import STATUS_STYLE, default_runs_dir
from compt.store import RunStore, job_line

RunsDir = Annotated[Path | None, typer.Option("--runs-dir", help=RUNS_DIR_HELP)]
FORMATS = ("table", "json", "csv")
TABLE_LIMIT = 50


def _write_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def _console() -> Console:
    return Console(highlight=False)


def _store(runs_dir: Path | None) -> RunStore:
    return RunStore(runs_dir or default_runs_dir())


def _one_run(store: RunStore, text: str) -> str:
    """A single run named by id or unique prefix (a group name is an error here)."""
    ids = store.resolve(text)
    if len(ids) > 1:
        raise ComptError(f"'{text}' is a group of {len(ids)} runs; name a single run.")
    return ids[0]


def _fmt(value: Any, digits: int = 1) -> str:
    """A value as table text: fixed point for everyday sizes, scientific for huge or tiny
    ones (1e+30, not 31 digits); user strings are escaped, never read as markup."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value and not 1e-3 <= abs(value) < 1e6:
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}"
    return escape(str(value))


def _score(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def _progress(summary: Mapping[str, Any], counts: bool = True) -> str:
    if summary["status"] == "done":
        return "100%"
    if summary["status"] == "running" and summary.get("phase"):
        # loading / training 45% / eval 120/400 (eval 30% where columns are scarce)
        return phase_text(summary, short=True, counts=counts)
    step, total = summary.get("step"), summary.get("total")
    if step and total:
        return f"{100 * step / total:.0f}%"
    return "-"


def _tasks_short(tasks: list[str]) -> str:
    return escape(tasks_short(tasks))


PROBLEM_MARK = "!"


def _status_text(status: str, problem: str | None = None) -> str:
    """The status, coloured, with a mark when the run's files are damaged."""
    style = STATUS_STYLE.get(status)
    text = f"[{style}]{escape(status)}[/]" if style else escape(status)
    return text + PROBLEM_MARK if problem else text


# -- ls ---------------------------------------------------------------------------------


LS_COLUMNS = ("status", "id", "method", "tasks", "k", "seed", "prog", "avg", "job")
MIN_TASKS = 8  # the tasks column is cut, with an ellipsis, to no less than this


def _ls_cells(s: Mapping[str, Any], counts: bool) -> dict[str, str]:
    """One run's cells of the ``compt ls`` table (Rich markup, user text escaped)."""
    return {"status": _status_text(s["status"], s.get("problem")), "id": s["run_id"],
            "method": _fmt(s.get("method")), "tasks": _tasks_short(s.get("tasks") or []),
            "k": _fmt(s.get("k")), "seed": _fmt(s.get("seed")), "prog": _progress(s, counts),
            "avg": _score(s.get("average")), "job": escape(s.get("job_state") or "")}


def _natural_widths(rows: Sequence[Mapping[str, str]]) -> dict[str, int]:
    """Each column's widest cell or header (measured once: ``--limit 0`` may list 10,000)."""
    return {c: max([len(c), *(Text.from_markup(r[c]).cell_len for r in rows)])
            for c in LS_COLUMNS}


def _ls_layout(summaries: Sequence[Mapping[str, Any]], width: int
               ) -> tuple[list[str], list[dict[str, str]], dict[str, int]]:
    """Columns, cells and column caps that fit ``width``.

    The status, the run id and the average are never cut (they are what a user scans for
    and copies). To make room, one step at a time until the table fits: the method goes
    (the run id spells it), the tasks are cut, a phase's counts become a percentage, the
    job state is cut, then seed, k, tasks and progress go. Room left over widens the tasks.
    """
    columns = [c for c in LS_COLUMNS if c != "job" or any(s.get("job_state") for s in summaries)]
    rows = [_ls_cells(s, counts=True) for s in summaries]
    natural = _natural_widths(rows)
    caps = {"job": 28}

    def excess() -> int:
        return sum(min(natural[c], caps.get(c, natural[c])) + 1 for c in columns) - 1 - width

    def percentages() -> None:
        rows[:] = [_ls_cells(s, counts=False) for s in summaries]
        natural.update(_natural_widths(rows))

    steps: list[Callable[[], object]] = [
        partial(columns.remove, "method"), partial(caps.update, tasks=MIN_TASKS),
        percentages, partial(caps.update, job=len("job")),
        *(partial(columns.remove, c) for c in ("seed", "k", "tasks", "prog"))]
    for step in steps:
        if excess() <= 0:
            break
        step()
    if "tasks" in caps and excess() < 0:
        caps["tasks"] -= excess()
    return columns, rows, caps


def runs_table(summaries: Sequence[Mapping[str, Any]], width: int = 80) -> Table:
    """The ``compt ls`` table within ``width`` columns; values never by colour alone."""
    columns, rows, caps = _ls_layout(summaries, width)
    table = Table(box=None, pad_edge=False, header_style="bold", collapse_padding=True)
    for name in columns:
        table.add_column(name, no_wrap=True, overflow="ellipsis",
                         justify="right" if name in ("k", "seed", "prog", "avg") else "left",
                         max_width=caps.get(name))
    for row in rows:
        table.add_row(*(row[c] for c in columns))
    return table


CSV_FIELDS = ("run_id", "created", "status", "method", "tasks", "k", "seed", "data_seed",
              "n_sources", "model", "average", "duration_s", "step", "total", "group", "tags",
              "note", "fingerprint", "config_key", "problem")


def write_csv(summaries: Sequence[Mapping[str, Any]], out: Any) -> None:
    """One row per run: the summary fields, ``hparams.*`` and one ``score.<task>`` per task."""
    hparams = sorted({k for s in summaries for k in (s.get("hparams") or {})})
    tasks = sorted({t for s in summaries for t in (s.get("scores") or {})})
    writer = csv.writer(out)
    writer.writerow([*CSV_FIELDS, *(f"hparams.{h}" for h in hparams),
                     *(f"score.{t}" for t in tasks)])
    for s in summaries:
        row = [";".join(v) if isinstance(v := s.get(f), list) else v for f in CSV_FIELDS]
        row += [(s.get("hparams") or {}).get(h) for h in hparams]
        row += [(s.get("scores") or {}).get(t) for t in tasks]
        writer.writerow(["" if v is None else v for v in row])


@app.command("ls")
def ls(
    status: Annotated[str | None, typer.Option(
        help="queued, running, done, failed, interrupted, stopped or all (the default).")
    ] = None,
    method: Annotated[str | None, typer.Option(help=f"One of {methods.help_text()}.")] = None,
    task: Annotated[str | None, typer.Option(help="Runs that trained this task.")] = None,
    k: Annotated[int | None, typer.Option("-k", "--k", help="Examples per task.")] = None,
    seed: Annotated[int | None, typer.Option(help="Training seed.")] = None,
    group: Annotated[str | None, typer.Option(help="Sweep / group name.")] = None,
    tag: Annotated[str | None, typer.Option(help="Runs with this tag.")] = None,
    format_: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    limit: Annotated[int | None, typer.Option(
        help=f"Newest N runs only; 0 for all (table default {TABLE_LIMIT}, else all).")] = None,
    runs_dir: RunsDir = None,
) -> None:
    """List runs, newest first."""
    if format_ not in FORMATS:
        raise ComptError(f"--format must be one of {', '.join(FORMATS)}, got '{format_}'.")
    if status is not None and status not in (*STATUS_STYLE, "all"):
        raise ComptError(f"--status must be one of {', '.join(STATUS_STYLE)} or all, "
                         f"got '{status}'.")
    status = None if status == "all" else status
    store = _store(runs_dir)
    runs = store.list(status=status, method=method, task=task, k=k, seed=seed, group=group,
                      tag=tag)
    if limit is None:
        limit = TABLE_LIMIT if format_ == "table" else 0
    shown = runs[:limit] if limit > 0 else runs
    if format_ == "json":
        _write_json(shown)
        return
    if format_ == "csv":
        write_csv(shown, sys.stdout)
        return
    console = _console()
    if not runs:
        console.print(f"No runs in {store.runs_dir} match." if store.runs_dir.is_dir()
                      else f"No runs yet ({store.runs_dir} does not exist).", markup=False)
        return
    console.print(runs_table(shown, console.width))
    if any(s.get("problem") for s in shown):
        console.print(f"[dim]{PROBLEM_MARK}: a file of the run is missing or damaged; "
                      "compt show RUN says which.[/]")
    if len(shown) < len(runs):
        console.print(f"[dim]{len(shown)} of {len(runs)} runs; --limit 0 shows all.[/]")


# -- show / diff ------------------------------------------------------------------------


TAIL_BYTES = 64 * 1024


def tail_lines(path: Path, n: int) -> list[str]:
    """The last ``n`` lines of a (possibly huge) log, reading only its end.

    Only a regular file is read, and never more than its last 64 KiB: a log replaced by a
    link to ``/dev/zero`` or a FIFO would otherwise be read (or waited on) forever.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return []
        with path.open("rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - TAIL_BYTES))
            data = fh.read(TAIL_BYTES).decode(errors="replace")
    except OSError:
        return []
    return data.splitlines()[-n:] if n > 0 else []


def _config_rows(config: dict[str, Any], everything: bool) -> list[tuple[str, Any]]:
    """Config keys worth showing: those set away from the default (or all of them)."""
    defaults = RunConfig().to_dict()
    always = ("model", "tasks", "method", "k", "seed")
    return [(key, value) for key, value in config.items()
            if everything or key in always or defaults.get(key, object()) != value]


@app.command()
def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    lines: Annotated[int, typer.Option(help="Last log lines to show.")] = 12,
    all_config: Annotated[bool, typer.Option(
        "--all", help="Every config key, not only those changed from the defaults.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """One run: config, status, scores and the end of its log."""
    store = _store(runs_dir)
    run_id = _one_run(store, run)
    folder = store.folder(run_id)
    summary, record = store.get(run_id), folder.read_config()
    status, results = folder.read_status(), folder.read_results() or {}
    job = job_line(folder.read_status(), folder.read_launch())
    if json_:
        _write_json({
            "summary": summary, "config": record.get("config", {}),
            "resolved": record.get("resolved", {}), "status": status,
            "results": {k: results.get(k) for k in ("scores", "average", "metrics",
                                                    "primary_metric", "duration_s")},
        })
        return
    console = _console()
    console.print(f"[bold]{run_id}[/]  {_status_text(summary['status'], summary['problem'])}")
    total = status.get("total")
    facts = [("folder", str(folder.path)), ("created", summary.get("created")),
             ("group", summary.get("group")), ("tags", ", ".join(summary.get("tags") or [])),
             ("note", summary.get("note")),
             ("phase", phase_text(status) if summary["status"] == "running" else None),
             ("progress", f"step {status.get('step') or 0} / {total}" if total else None),
             ("loss", _fmt(status.get("loss"), 4) if status.get("loss") is not None else None),
             ("throughput", f"{status['throughput']:.1f} examples/s"
              if status.get("throughput") else None),
             ("eta", f"{status['eta_s']:.0f} s"
              if status.get("eta_s") and summary["status"] == "running" else None),
             ("pid", f"{summary.get('pid')} on {summary.get('host')}" if summary.get("pid")
              else None),
             ("job", job),
             ("started", status.get("started")), ("finished", status.get("finished")),
             ("duration", f"{summary['duration_s']:.0f} s" if summary.get("duration_s")
              else None),
             ("error", status.get("error")), ("problem", summary.get("problem"))]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in facts:
        if value:
            grid.add_row(f"[bold]{name}[/]", escape(str(value)))
    console.print(grid)
    config = Table("config key", "value", box=None, pad_edge=False, header_style="bold")
    for key, value in _config_rows(record.get("config", {}), all_config):
        config.add_row(key, escape(json.dumps(value)) if isinstance(value, list)
                       else _fmt(value, 4))
    console.print(config)
    if results.get("scores"):
        scores = Table("task", "metric", "score", "n", box=None, pad_edge=False,
                       header_style="bold")  # n: the test examples a score rests on
        sizes = results.get("eval_size") or {}
        for task, score in results["scores"].items():
            metric = (results.get("primary_metric") or {}).get(task, "")
            scores.add_row(escape(task), escape(str(metric)), _score(score),
                           str(sizes.get(task, "")))
        scores.add_row("[bold]average[/]", "", f"[bold]{_score(results.get('average'))}[/]")
        console.print(scores)
        for line in data_caveats(results):
            console.print(f"[yellow]{escape(line)}[/]")
    log = tail_lines(folder.log_path, lines)
    if log:
        console.print(f"[bold]{folder.log_path.name}[/] (last {len(log)} lines)")
        for line in log:
            console.print(line, markup=False)


@app.command()
def diff(
    run_a: Annotated[str, typer.Argument(help="First run.")],
    run_b: Annotated[str, typer.Argument(help="Second run.")],
    runs_dir: RunsDir = None,
) -> None:
    """The config keys that differ between two runs, and their score deltas (B - A)."""
    store = _store(runs_dir)
    a, b = _one_run(store, run_a), _one_run(store, run_b)
    config_a = store.folder(a).read_config().get("config", {})
    config_b = store.folder(b).read_config().get("config", {})
    console = _console()
    changed = differing_keys([config_a, config_b])
    if changed:
        table = Table("config key", f"A {a}", f"B {b}", box=None, pad_edge=False,
                      header_style="bold")
        for key in changed:
            table.add_row(key, _fmt(config_a.get(key), 4), _fmt(config_b.get(key), 4))
        console.print(table)
    else:
        console.print("The configs are identical.")
    scores_a = store.get(a).get("scores") or {}
    scores_b = store.get(b).get("scores") or {}
    if scores_a or scores_b:
        table = Table("task", "A", "B", "B - A", box=None, pad_edge=False, header_style="bold")
        rows = [(t, scores_a.get(t), scores_b.get(t)) for t in dict.fromkeys([*scores_a,
                                                                               *scores_b])]
        rows.append(("average", store.get(a).get("average"), store.get(b).get("average")))
        for task, x, y in rows:
            delta = f"{y - x:+.1f}" if x is not None and y is not None else "-"
            table.add_row(escape(task), _score(x), _score(y), delta)
        console.print(table)


# -- stop / retry -----------------------------------------------------------------------


@app.command("stop")
def stop_cmd(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix, or group name.")],
    runs_dir: RunsDir = None,
) -> None:
    """Stop a run or a whole group (running ones checkpoint first; status 'stopped')."""
    from compt.launcher import stop

    stopped = stop(run, runs_dir or default_runs_dir())
    console = _console()
    if not stopped:
        console.print(f"Nothing queued or running in '{run}'.")
    for run_id in stopped:
        console.print(f"stopped {run_id}")


@app.command("retry")
def retry_cmd(
    run: Annotated[str | None, typer.Argument(help="Run id or unique prefix.")] = None,
    failed: Annotated[bool, typer.Option(
        "--failed", help="Retry every failed or interrupted run.")] = False,
    jobs: Annotated[int | None, typer.Option(
        help="With --failed: runs at a time (default: 1 locally, 256 on Slurm).")] = None,
    runs_dir: RunsDir = None,
) -> None:
    """Start a failed, interrupted or stopped run again (from its checkpoint if any)."""
    from compt.launcher import retry, retry_failed

    if (run is None) == (not failed):
        raise ComptError("Give either a run id or --failed (not both).")
    runs_dir = runs_dir or default_runs_dir()
    console = _console()
    if failed:
        ids = retry_failed(runs_dir, jobs=jobs)
        at_a_time = f"{jobs} at a time" if jobs else "each executor's default number at a time"
        console.print(f"retrying {len(ids)} run(s), {at_a_time}" if ids
                      else "No failed or interrupted runs.")
        return
    assert run is not None
    store = _store(runs_dir)
    run_id = retry(_one_run(store, run), runs_dir)
    how = "resuming" if store.folder(run_id).checkpoint_path.is_file() else "restarting"
    console.print(f"{how} {run_id} (log: {store.folder(run_id).log_path})")


# -- tag / note / rm / reindex ----------------------------------------------------------


@app.command()
def tag(
    run: Annotated[str, typer.Argument(help="Run id or unique prefix.")],
    tags: Annotated[list[str], typer.Argument(help="Tags to add (or remove).")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags.")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Add tags to a run (or remove them)."""
    store = _store(runs_dir)
    run_id = _one_run(store, run)
    now = store.set_tags(run_id, remove=tags) if remove else store.set_tags(run_id, add=tags)
    _console().print(f"{run_id}: tags {escape(', '.join(now)) or '(none)'}")


@app.command()
def note(
    run: Annotated[str, typer.Argument(help="Run id or unique prefix.")],
    text: Annotated[str, typer.Argument(help="The note (\"\" clears it).")],
    runs_dir: RunsDir = None,
) -> None:
    """Attach a free-text note to a run."""
    store = _store(runs_dir)
    store.set_note(_one_run(store, run), text)


@app.command()
def rm(
    runs: Annotated[list[str], typer.Argument(help="Run ids, unique prefixes or group names.")],
    purge: Annotated[bool, typer.Option(
        "--purge", help="Delete for good instead of moving to runs/.trash/.")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Remove runs: moved to runs/.trash/ (--purge deletes them)."""
    store = _store(runs_dir)
    ids = list(dict.fromkeys(run_id for text in runs for run_id in store.resolve(text)))
    console = _console()
    for run_id in ids:
        target = store.remove(run_id, purge=purge)
        if purge:
            console.print(f"deleted {run_id}")
        elif target is None:
            console.print(f"removed {run_id} from the index (its folder was already gone)")
        else:
            console.print(f"moved {run_id} to {escape(str(target))}")


@app.command()
def reindex(runs_dir: RunsDir = None) -> None:
    """Rebuild the run index (runs/index.json) from the run folders."""
    store = _store(runs_dir)
    began = time.perf_counter()
    count = store.reindex()
    _console().print(f"indexed {count} runs in {time.perf_counter() - began:.1f} s")


# -- sweep ------------------------------------------------------------------------------


def plan_table(cells: list[Any]) -> Table:
    keys = list(dict.fromkeys(k for cell in cells for k in cell.values))
    table = Table("#", *keys, "action", box=None, pad_edge=False, header_style="bold")
    labels = {"run": "run", "done": "skip: done", "active": "skip: in progress",
              "duplicate": "skip: repeated cell"}
    for i, cell in enumerate(cells, 1):
        action = labels[cell.action] + (f" ({cell.existing})" if cell.existing else "")
        values = [escape(json.dumps(cell.values[k])) if isinstance(cell.values.get(k), list)
                  else _fmt(cell.values.get(k), 4) for k in keys]
        table.add_row(str(i), *values, action if cell.runs else f"[dim]{action}[/]")
    return table


@app.command()
def sweep(
    config: Annotated[Path | None, typer.Argument(
        help="TOML or YAML config file; a \\[grid] table in it adds grid keys.")] = None,
    grid: Annotated[list[str] | None, typer.Option(
        "--grid", "-g", help="key=v1,v2 (repeatable), e.g. --grid method=pt,ssum --grid k=8,16."
    )] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", help="Base config key=value (repeatable).")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", help="Runs at a time (default: 1 locally, 256 on Slurm).")] = None,
    force: Annotated[bool, typer.Option(
        help="Run cells even if a finished run of the same config exists.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the plan, start nothing.")] = False,
    group: Annotated[str | None, typer.Option(help="Group name (default: sweep-<time>).")] = None,
    executor: Annotated[str, typer.Option(
        help=EXECUTOR_HELP + " With slurm the grid is one job array, --jobs its %N cap.")
    ] = "local",
    slurm: SlurmOptions = None,
    runs_dir: RunsDir = None,
) -> None:
    """Run a grid of configs as detached processes, skipping cells already done."""
    from compt.executors import build_executor
    from compt.launcher import new_group_id
    from compt.names import check_group
    from compt.sweep import check_cells, expand, launch_cells, load_sweep, plan

    if jobs is not None and jobs < 1:
        raise ComptError(f"--jobs must be at least 1, got {jobs}.")
    group = check_group(group) if group else new_group_id()
    store = _store(runs_dir)
    chosen = build_executor(executor, config, slurm)
    console = _console()
    try:
        base, grid_values = load_sweep(config, set_, grid)
        cells = plan(expand(base, grid_values), store, force=force)
        check_cells(cells)  # slow (it reads the tasks): before the planning lock
        cells, launched, _ = launch_cells(cells, store, force=force, jobs=jobs,
                                          group=group, executor=chosen, dry_run=dry_run)
    except KeyboardInterrupt:  # typer would exit 130 without a word
        Console(stderr=True).print(
            "interrupted: the sweep was not started (runs it had queued were removed).",
            highlight=False)
        raise typer.Exit(130) from None
    console.print(plan_table(cells))
    todo = sum(cell.runs for cell in cells)
    summary = f"{todo} to run, {len(cells) - todo} skipped"
    if launched is None:
        console.print(f"{summary}; nothing started" + (" (dry run)." if dry_run else "."))
        return
    at_a_time = (f"{jobs} at a time" if jobs else
                 f"{chosen.default_jobs} at a time ({chosen.name}'s default; --jobs sets it)")
    console.print(f"{summary}. Group [bold]{launched}[/], {at_a_time}, detached "
                  f"({chosen.name}): follow with compt ls --group {launched}")
