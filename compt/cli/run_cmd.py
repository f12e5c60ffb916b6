"""``compt run`` (train one run, headless), ``compt tasks`` and ``compt analyze``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from compt import methods
from compt.cli.app import EXECUTOR_HELP, RUNS_DIR_HELP, SlurmOptions, app
from compt.config import QUICK, RunConfig, build_config
from compt.runfolder import default_runs_dir

console = Console()


class ProgressReporter:
    """Rich progress bars: training (step, loss, ETA), then one per later phase
    (evaluation, analysis) with its count and ETA, so no phase is a bare spinner."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=console, transient=False,
        )
        self.task: TaskID | None = None

    def phase(self, text: str) -> None:
        """Before training: a line; after it: a bar that ``count`` fills."""
        if self.task is None:
            console.print(f"[dim]{text}…[/]")
        else:
            self.task = self.progress.add_task(str(text), total=None, note="")

    def start(self, total: int, done: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("training", total=total, completed=done,
                                           note="loss -")

    def step(self, step: int, loss: float) -> None:
        self.progress.update(self.task, completed=step, note=f"loss {loss:.4f}")

    def count(self, done: int, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def finish(self) -> None:
        self.progress.stop()


def results_table(results: dict, title: str) -> Table:
    """The final scores, each beside its chance level, with what each metric means."""
    from compt.metrics import MEANINGS, chance_score

    table = Table(title=title, title_justify="left")
    table.add_column("task")
    table.add_column("metric")
    table.add_column("score", justify="right")
    table.add_column("chance", justify="right")  # the most frequent label, always
    table.add_column("n", justify="right")  # test examples the score rests on
    sizes = results.get("eval_size") or {}
    predictions = results.get("predictions") or {}
    for task, score in results["scores"].items():
        metric = results["primary_metric"][task]
        confusion = (predictions.get(task) or {}).get("combined")
        chance = f"{chance_score(metric, confusion):.1f}" if confusion else ""
        table.add_row(escape(task), metric, f"{score:.1f}", chance, str(sizes.get(task, "")))
    table.add_section()
    table.add_row("[bold]average", "", f"[bold]{results['average']:.1f}", "", "")
    used = dict.fromkeys(results["primary_metric"].values())
    table.caption = ("chance: the score of always answering the most frequent test label. "
                     + "; ".join(MEANINGS[m] for m in used if m in MEANINGS) + ".")
    table.caption_justify = "left"
    return table


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(
        help="TOML or YAML config file; command-line options override it.")] = None,
    method: Annotated[str | None, typer.Option(help=" | ".join(methods.names()))] = None,
    tasks: Annotated[str | None, typer.Option(
        help="Comma-separated tasks or suites (builtin, glue, set2, senteval, rte, "
             "path/to/task.toml); see compt tasks.")
    ] = None,
    k: Annotated[int | None, typer.Option("--k", "-k", help="Examples per task.")] = None,
    seed: Annotated[int | None, typer.Option(help="Training (and data) seed.")] = None,
    model: Annotated[str | None, typer.Option(
        help="all-MiniLM-L6-v2 (offline default), gemma-3-270m, tiny-t5, a local folder or "
             ".gguf file, or a hub id.")
    ] = None,
    n_sources: Annotated[int | None, typer.Option(help="Number of source prompts.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    device: Annotated[str | None, typer.Option(help="auto | cpu | cuda.")] = None,
    group: Annotated[str | None, typer.Option(help="Group name tying runs together.")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", help="Any config key: --set lr_router=0.1 (repeatable).")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help=RUNS_DIR_HELP)] = None,
    run_id: Annotated[str | None, typer.Option(
        help="Train into this run folder (an existing queued run, or a new id).")] = None,
    resume: Annotated[bool, typer.Option(
        help="With --run-id: continue from the run's checkpoint.")] = False,
    force: Annotated[bool, typer.Option(
        help="With the --run-id of a finished run: move it to the trash and train anew.")
    ] = False,
    detached: Annotated[bool, typer.Option(
        help="No terminal output (used by the launcher; the log is train.log).")] = False,
    executor: Annotated[str | None, typer.Option(
        help=EXECUTOR_HELP + " Default: train here, in the foreground.")] = None,
    slurm: SlurmOptions = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="A first run in well under a minute: " + ", ".join(
            f"{k}={str(v).lower()}" for k, v in QUICK.items()) + " (other options win).")
    ] = False,
) -> None:
    """Train one ComPT run and write it to the run store.

    With no arguments: all-MiniLM-L6-v2 on the built-in offline suite, method ssum, k=16,
    250 steps on the CPU (84 s measured on a nearly idle 2-core machine; longer on a busy one).
    --quick: a first look in well under a minute (60 steps, 100 test examples per task).
    Results land in runs/<run_id>/ and the index.
    Every config key (README, compt/config.py) can be given with --set key=value.
    """
    from compt.errors import ComptError
    from compt.runner import RunInterrupted, execute_run, existing_run, preflight, prepare_folder

    store = runs_dir or default_runs_dir()
    overrides = {"method": method, "tasks": tasks, "k": k, "seed": seed, "model": model,
                 "n_sources": n_sources, "max_steps": max_steps, "device": device,
                 "group": group}
    if quick:
        overrides = {**QUICK, **{key: v for key, v in overrides.items() if v is not None}}
    existing = existing_run(store, run_id) is not None
    options = (config is not None or bool(set_) or quick
               or any(v is not None for v in overrides.values()))
    if existing and options and not force:
        raise ComptError(
            f"Run '{run_id}' exists and trains with its stored config, so these options "
            "would be ignored. Pick a new --run-id (or --force to replace a finished run).")
    cfg = None if existing and not force else build_config(config, overrides, set_)
    if executor is not None or slurm:
        _submit(cfg, store, run_id, executor or "local", config, slurm)
        return
    try:  # no folder for a run that can't start
        loaded = preflight(cfg, store) if cfg is not None else None
    except KeyboardInterrupt:
        console.print("interrupted before the run started; nothing was saved")
        raise typer.Exit(130) from None
    folder, cfg = prepare_folder(cfg, store, run_id, force=force)
    if not detached:
        console.print(f"run [bold]{folder.run_id}[/] · {cfg.method} · k={cfg.k} · "
                      f"seed {cfg.seed} · {cfg.model} → {folder.path}")
    reporter = None if detached else ProgressReporter()
    try:
        results = execute_run(folder, cfg, resume=resume, reporter=reporter, tasks=loaded)
    except RunInterrupted as exc:
        if reporter is not None:
            reporter.finish()
            console.print(f"[yellow]{exc}[/]", highlight=False)
        raise typer.Exit(exc.exit_code) from None
    if detached:
        return
    if not results:
        console.print(f"stopped; resume with [bold]compt retry {folder.run_id}[/]")
        return
    console.print(results_table(results, f"{folder.run_id} ({results['duration_s']:.0f} s)"))
    from compt.report import data_caveats

    for line in data_caveats(results):
        console.print(f"[yellow]{line}[/]", highlight=False)
    if results.get("per_prompt"):
        console.print(f"[dim]per-prompt scores: compt heatmap {folder.run_id}[/]")


def _submit(cfg: RunConfig | None, store: Path, run_id: str | None, executor: str,
            config: Path | None, slurm: list[str] | None) -> None:
    """``compt run --executor NAME``: a detached run (a Slurm job, a local process)."""
    from compt.errors import ComptError
    from compt.executors import build_executor
    from compt.launcher import launch_run
    from compt.runfolder import RunFolder
    from compt.runner import preflight

    if cfg is None:
        raise ComptError(f"Run '{run_id}' exists already; restart it with compt retry {run_id}.")
    chosen = build_executor(executor, config, slurm)
    preflight(cfg)  # a run that cannot start is refused here, not in the job
    new_id = launch_run(cfg, store, run_id=run_id, executor=chosen)
    how = chosen.describe(dict(RunFolder(store / new_id).read_launch()))
    console.print(f"run [bold]{new_id}[/] submitted ({how}): follow with compt show {new_id}")


@app.command("tasks")
def list_tasks(
    output: Annotated[str, typer.Option(
        "--format", help="table (for people) or json (for scripts).")] = "table",
) -> None:
    """List the suites and tasks compt knows, with each task's source and terms."""
    import json

    from compt.errors import ComptError
    from compt.tasks import catalog

    if output not in ("table", "json"):
        raise ComptError(f"Unknown --format '{output}': choose table or json.")
    entries = catalog()
    if output == "json":
        typer.echo(json.dumps(entries, indent=1))
        return
    table = Table("name", "source", "description", "terms")
    for entry in entries:
        if entry["kind"] == "suite":
            table.add_row(f"[bold]{entry['name']}", "suite",
                          f"{entry['description']}: {', '.join(entry['tasks'])}", "")
            continue
        source = entry["source"] + ("" if entry["built"] else " [dim](not built)[/]")
        description = entry["description"] + (f" [yellow]{entry['note']}[/]"
                                               if entry.get("note") else "")
        table.add_row(entry["name"], source, description, entry["terms"])
    console.print(table)


@app.command()
def analyze(
    run_id: Annotated[str, typer.Argument(help="A finished run.")],
    transfer: Annotated[bool, typer.Option(
        help="Compute the cross-task transfer matrix (transfer.json).")] = True,
    runs_dir: Annotated[Path | None, typer.Option(help=RUNS_DIR_HELP)] = None,
) -> None:
    """Recompute analyses of a finished run from its checkpoint (cross-task transfer)."""
    from compt import analysis
    from compt.checkpoint import load_params
    from compt.config import RunConfig
    from compt.runfolder import RunFolder
    from compt.train import build_experiment

    folder = RunFolder.open(runs_dir or default_runs_dir(), run_id)
    cfg = RunConfig.from_dict(folder.read_config().get("config", {}), str(folder.config_path))
    exp = build_experiment(cfg, runs_dir=folder.path.parent, own_checkpoint=True)
    exp.model.load_trainable_state(load_params(analysis.checkpoint_of(str(folder.path))))
    exp.model.eval()
    if transfer:
        with console.status("cross-task transfer"):
            matrix = analysis.transfer_matrix(exp)
        folder.write_transfer(matrix)
        console.print(f"wrote {folder.transfer_path} (see: compt transfer {run_id})")
