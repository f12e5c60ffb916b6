"""One run from start to finish inside its folder: status transitions, log, index, signals.

``execute_run`` is what ``compt run`` (and a detached launch) calls; the CLI only parses
arguments and draws progress. Whatever happens, the run ends with a truthful status.json
and an index entry: done, failed (with the reason), or stopped (resumable).
"""

from __future__ import annotations

import logging
import signal
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from compt.config import RunConfig
from compt.errors import ComptError
from compt.runfolder import Phase, Results, RunFolder, Status, create_run_folder, now_iso


def sync_index(runs_dir: Path, run_id: str) -> None:
    """Refresh the run's index entry; the folder stays the truth if the index cannot be."""
    try:
        from compt.store import RunStore

        RunStore(runs_dir).sync(run_id)
    except Exception as exc:  # noqa: BLE001 - the index is a cache; never fail a run for it
        logging.getLogger("compt").warning(
            "index update failed for %s: %s. The run is safe in its folder; listings add it "
            "back once the index can be written (`compt reindex` does it at once).",
            run_id, exc)


def run_logger(folder: RunFolder) -> logging.Logger:
    log = logging.getLogger(f"compt.run.{folder.run_id}")
    log.setLevel(logging.INFO)
    log.propagate = False
    if not log.handlers:
        handler = logging.FileHandler(folder.log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    return log


class RunInterrupted(ComptError):
    """A signal ended the run; its folder is saved (``interrupted`` after SIGINT, ``stopped``
    after SIGTERM) and ``compt retry`` continues it. Exits 128 + the signal, as shells do."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


class _Abort(BaseException):
    """Raised from the signal handler to leave evaluation or analysis at once."""


STATE_AFTER: dict[int, Status] = {signal.SIGINT: Status.INTERRUPTED, signal.SIGTERM: Status.STOPPED}


class StopSignal:
    """What SIGINT / SIGTERM do while a run executes.

    Once the trainer exists and until the next phase begins (training), the first signal
    asks the trainer to checkpoint and stop after this step; in any other phase (loading,
    evaluating, analysis), or on a second signal, it aborts at once, since those phases have
    no step boundary to wait for and can take minutes.
    """

    # Slurm delivers its SIGTERM twice within milliseconds (to the job and to its step, at
    # a time limit or a scancel): a repeat this soon is the same request, not a second one
    REPEAT_S = 1.0

    def __init__(self) -> None:
        self.signum: int | None = None
        self.trainer = None
        self.training = False
        self.first_at = 0.0

    def __call__(self, signum, frame) -> None:
        first = self.signum is None
        if not first and time.monotonic() - self.first_at < self.REPEAT_S \
                and self.trainer is not None and self.trainer.stop_requested:
            return
        self.signum = self.signum or signum
        self.first_at = self.first_at or time.monotonic()
        if first and self.training and self.trainer is not None:
            self.trainer.stop_requested = True
            return
        raise _Abort(signum)

    def attach(self, trainer) -> None:
        self.trainer = trainer
        self.training = True


class _PhaseWatch:
    """Passes progress on to the real reporter and tells ``StopSignal`` when training ends."""

    def __init__(self, inner, stop: StopSignal) -> None:
        from compt.train import SilentReporter

        self.inner = inner or SilentReporter()
        self.stop = stop

    def start(self, total: int, done: int) -> None:
        self.inner.start(total, done)

    def step(self, step: int, loss: float) -> None:
        self.inner.step(step, loss)

    def phase(self, text: str) -> None:
        self.stop.training = False
        self.inner.phase(text)

    def count(self, done: int, total: int) -> None:
        self.inner.count(done, total)

    def finish(self) -> None:
        self.stop.training = False
        self.inner.finish()


@contextmanager
def stop_on_signals():
    """While a run executes, SIGTERM / SIGINT stop it cleanly (see ``StopSignal``)."""
    stop = StopSignal()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def existing_run(runs_dir: Path, run_id: str | None) -> RunFolder | None:
    """The folder of ``run_id`` if that run exists already."""
    if run_id is None:
        return None
    folder = RunFolder(Path(runs_dir) / run_id)
    return folder if folder.exists() else None


def prepare_folder(cfg: RunConfig | None, runs_dir: Path, run_id: str | None,
                   force: bool = False) -> tuple[RunFolder, RunConfig]:
    """A new folder for ``cfg``, or the existing (queued / resumable) folder ``run_id``.

    A finished run is never trained again in place: that is refused, or with ``force`` its
    folder goes to the trash first and ``cfg`` starts afresh under the same id.
    """
    folder = existing_run(runs_dir, run_id)
    if folder is not None and folder.read_status().get("status") == Status.DONE:
        if not force:
            raise ComptError(
                f"Run '{run_id}' has finished already. Pick another --run-id, or add --force "
                "to move its results to the trash (runs/.trash) and train it again.")
        if cfg is None:
            raise ComptError(f"--force on '{run_id}' needs the options to train it with.")
        from compt.store import RunStore

        with folder.trainer_lock():  # refuses while another process trains it
            pass
        RunStore(runs_dir).archive(folder.run_id)
        folder = None
    if folder is not None:
        return folder, RunConfig.from_dict(folder.read_config().get("config", {}),
                                           f"{folder.config_path}")
    assert cfg is not None
    return create_run_folder(runs_dir, cfg, run_id=run_id, status=Status.QUEUED), cfg


def preflight(cfg: RunConfig, runs_dir: Path | None = None) -> list:
    """Catch user mistakes before a run folder exists: a device torch cannot see, unknown or
    unreachable tasks, k too large for a task, a model that cannot be found, a missing
    ``init_sources_from`` run (in ``runs_dir``, the store the run goes to). Returns the
    loaded tasks. Tasks and k come first: they need no torch (seconds of CPU to import)."""
    from compt.data import sample_dev, sample_few_shot
    from compt.tasks import resolve_tasks

    tasks = resolve_tasks(cfg.tasks)
    for task in tasks:
        sample_few_shot(task, cfg.k, cfg.effective_data_seed, cfg.sampling == "balanced")
        if cfg.dev_size:
            sample_dev(task, cfg.k, cfg.dev_size, cfg.effective_data_seed,
                       cfg.sampling == "balanced")
        task.test()

    from compt.analysis import checkpoint_of
    from compt.model.backbones import check_supported
    from compt.model.loading import resolve_kind
    from compt.train import pick_device

    pick_device(cfg.device)
    if cfg.init_sources_from:
        checkpoint_of(cfg.init_sources_from, runs_dir)
    check_supported(resolve_kind(cfg.model, cfg.backbone), cfg.decoding, cfg.label_loss)
    return tasks


def execute_run(
    folder: RunFolder, cfg: RunConfig, resume: bool = False, reporter=None,
    on_trainer=None, tasks: list | None = None,
) -> dict:
    """Train ``cfg`` in ``folder``; returns results ({} if stopped by ``stop_requested``).
    Raises on failure, and ``RunInterrupted`` once the run is saved after SIGINT / SIGTERM.

    ``on_trainer(trainer)`` is called once the trainer exists (a hook for tests and tools).
    """
    with folder.trainer_lock():  # one trainer per run, for this process's whole life
        return _execute_locked(folder, cfg, resume, reporter, on_trainer, tasks)


def _execute_locked(folder: RunFolder, cfg: RunConfig, resume: bool, reporter,
                    on_trainer, tasks: list | None) -> dict:
    runs_dir = folder.path.parent
    log = run_logger(folder)
    if not resume:  # a restart into an existing folder begins a fresh record
        folder.metrics_path.unlink(missing_ok=True)
        folder.results_path.unlink(missing_ok=True)
    folder.start_status(total=None, status=Status.RUNNING)
    sync_index(runs_dir, folder.run_id)
    began = time.time()
    try:
        with stop_on_signals() as stop:
            results = _train(folder, cfg, resume, _PhaseWatch(reporter, stop), tasks, log,
                             stop, on_trainer)
            if not results:
                if stop.signum is not None:
                    raise _Abort(stop.signum)
                return {}
            results["duration_s"] = round(time.time() - began, 2)
            folder.write_results(cast(Results, results))
            folder.update_status(status=Status.DONE, phase=None, finished=now_iso(), eta_s=0)
        log.info("done: average %.2f (%s)", results["average"],
                 ", ".join(f"{k} {v:.1f}" for k, v in results["scores"].items()))
        return results
    except _Abort as exc:
        raise _interrupted(folder, log, exc.args[0]) from None
    except BaseException as exc:
        message = str(exc) if isinstance(exc, ComptError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, KeyboardInterrupt):
            message = "interrupted by the user"
        folder.update_status(status=Status.FAILED, error=message, finished=now_iso())
        log.error("failed: %s", message)
        if not isinstance(exc, ComptError):
            log.error("%s", traceback.format_exc())
        raise
    finally:
        sync_index(runs_dir, folder.run_id)


def _interrupted(folder: RunFolder, log: logging.Logger, signum: int) -> RunInterrupted:
    """Mark the run interrupted / stopped (resumable: retry continues from the checkpoint)."""
    state = STATE_AFTER.get(signum, Status.STOPPED)
    status = folder.read_status()
    phase = status.get("phase") or "starting"
    folder.update_status(status=state, phase=None, error=None, eta_s=None, finished=now_iso())
    name = signal.Signals(signum).name
    log.warning("%s by %s while %s", state, name, phase)
    where = (f"at step {status.get('step')}/{status.get('total')}"
             if phase == "training" else f"while {phase}")
    return RunInterrupted(f"Run {folder.run_id} {state} by {name} {where}; continue it with "
                          f"`compt retry {folder.run_id}`.", signum)


def _train(folder, cfg, resume, reporter, tasks, log, stop, on_trainer) -> dict:
    import torch

    from compt.train import Trainer, build_experiment

    folder.update_status(phase=Phase.LOADING, phase_done=None, phase_total=None)
    # the log is not blank while the model loads
    log.info("%s: %s on %s", Phase.LOADING.value, cfg.model, ", ".join(cfg.tasks))
    if reporter is not None:
        reporter.phase(Phase.LOADING)
    exp = build_experiment(cfg, tasks, runs_dir=folder.path.parent,
                           own_checkpoint=resume and folder.checkpoint_path.is_file())
    record = folder.read_config()
    record["resolved"] = {**record.get("resolved", {}), **{
        "tasks": [t.name for t in exp.tasks], "batch_size": exp.batch_size,
        "total_steps": exp.total_steps, "backbone": exp.model.backbone.kind,
        "device": str(exp.device),
        # scores are bit-identical only at the same thread count (docs/method.md#determinism)
        "threads": torch.get_num_threads(),
    }}
    folder.write_config(record)
    trainer = Trainer(exp, folder, log, reporter)
    stop.attach(trainer)
    if on_trainer is not None:
        on_trainer(trainer)
    return trainer.run(resume=resume)
