"""The Slurm executor: each run is a Slurm job submitted through submitit.

A single run is one job; a sweep is one job array whose ``%N`` throttle is the sweep's
``--jobs``. Every job executes :class:`TrainJob`: ``python -m compt run --run-id ...`` with
the interpreter and environment of the process that submitted it, its output appended to
the run's ``train.log``. Nothing local stays alive while the jobs run: later compt
commands find each job from the run's ``launch.json`` and ask ``sacct`` (through
slurmdbd) for its state, so Slurm accounting must be enabled.

submitit's own files (pickled job, its log) live in ``<run>/slurm/``; a task of a job
array has them in ``<runs_dir>/.slurm/<group>/<array>_<index>/``, linked from
``<run>/slurm/<array>_<index>``, because all tasks of an array share one folder pattern
that only Slurm's job ids tell apart.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from compt.errors import ComptError, pip_install
from compt.executors.base import Executor, JobState, register
from compt.executors.local import HOST, owner, process_alive
from compt.runfolder import Status

ARRAY_DIR = ".slurm"
# Slurm job states in which the job may still start or run (sacct's first word)
ALIVE_STATES = frozenset({
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD",
    "REQUEUE_FED", "RESIZING", "SUSPENDED", "SIGNALING", "STAGE_OUT", "STOPPED",
    "SPECIAL_EXIT",
})
# Slurm ended the job before the run could finish: the run is resumable (interrupted)
ENDED_BY_SLURM = frozenset({"TIMEOUT", "PREEMPTED", "NODE_FAIL", "DEADLINE", "OUT_OF_MEMORY"})
# the job waits to start (again): a run it left stopped was requeued, not cancelled
WAITING = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED"})
LISTS = ("extra", "setup")  # options that --slurm key=value adds to, one entry each time
WARNING_S = 120  # the default warning before the time limit (a checkpoint's time, and more)
SACCT_CACHE_S = 1.0
_sacct_cache: dict[str, tuple[float, dict[str, tuple[str, str, str]]]] = {}
MEM_PATTERN = re.compile(r"^\d+(\.\d+)?[KMGT]?B?$", re.IGNORECASE)
TIME_PATTERN = re.compile(
    r"^(?:(?P<days>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+))?)?"
    r"|(?P<a>\d+)(?::(?P<b>\d+)(?::(?P<c>\d+))?)?)$")


def parse_time(text: str | int) -> int:
    """A Slurm time limit in whole minutes (rounded up): ``90``, ``1:30:00``, ``2-12``...

    Checked here so that a typo is one clear message before anything is submitted.
    """
    match = TIME_PATTERN.match(str(text).strip())
    if not match or str(text).strip() in ("", "0"):
        raise ComptError(
            f"Slurm time limit '{text}' is not a valid time: use minutes, MM:SS, HH:MM:SS, "
            f"D-HH, D-HH:MM or D-HH:MM:SS (for example 90 or 1:30:00).")
    g = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    if "days" in g:
        seconds = ((g["days"] * 24 + g["dh"]) * 60 + g.get("dm", 0)) * 60 + g.get("ds", 0)
    elif "c" in g:
        seconds = (g["a"] * 60 + g["b"]) * 60 + g["c"]
    elif "b" in g:
        seconds = g["a"] * 60 + g["b"]
    else:
        seconds = g["a"] * 60
    return max(1, -(-seconds // 60))


def _extra_flag(text: str) -> tuple[str, Any]:
    """``--constraint=a100`` -> ``("constraint", "a100")``; ``--exclusive`` -> True."""
    if not text.startswith("--") or len(text) < 3:
        raise ComptError(f"Extra sbatch flag '{text}' must look like --name=value or --name.")
    name, _, value = text[2:].partition("=")
    return name, value if value else True


@dataclass
class SlurmOptions:
    """What a job asks Slurm for; a ``[slurm]`` table in the config file, ``--slurm k=v``."""

    partition: str | None = None
    time: str | None = None  # the time limit, Slurm's formats (checked by parse_time)
    cpus: int | None = None  # CPUs per task; also torch's thread count
    mem: str | None = None  # e.g. 16G
    gpus: int | None = None  # GPUs per node
    gres: str | None = None  # e.g. gpu:a100:1
    account: str | None = None
    qos: str | None = None
    # seconds before the time limit at which the training is told to checkpoint and stop
    # (--signal=USR2@N); 0: no warning
    warning: int | None = None
    # new jobs submitted by themselves after a time limit or preemption (resuming the
    # run from its checkpoint) before the run is left interrupted
    resubmit: int | None = None
    extra: list[str] = field(default_factory=list)  # more sbatch flags: --constraint=a100
    # shell lines run in the job before the training: module load cuda, source venv/...
    setup: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "the [slurm] options"
                     ) -> SlurmOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ComptError(f"Unknown Slurm option(s) {', '.join(unknown)} in {where}; "
                             f"known: {', '.join(sorted(known))}.")
        opts = cls(**values)
        opts.check()
        return opts

    def updated(self, texts: list[str]) -> SlurmOptions:
        """These options with ``key=value`` overrides (``--slurm time=1:00:00``)."""
        values = {k: v for k, v in asdict(self).items() if v not in (None, [])}
        for text in texts:
            key, sep, value = text.partition("=")
            if not sep:
                raise ComptError(f"Slurm option '{text}' must look like key=value "
                                 f"(for example partition=gpu).")
            key = key.strip().replace("-", "_")
            values[key] = [*values.get(key, []), value] if key in LISTS else value
        return self.from_mapping(values, "--slurm")

    def check(self) -> None:
        for name, least in (("cpus", 1), ("gpus", 1), ("warning", 0), ("resubmit", 0)):
            value = getattr(self, name)
            if value is not None:
                try:
                    setattr(self, name, int(value))
                except (TypeError, ValueError):
                    raise ComptError(f"Slurm option {name} must be a whole number, got "
                                     f"'{value}'.") from None
                if getattr(self, name) < least:
                    raise ComptError(f"Slurm option {name} must be at least {least}.")
        if self.time is not None:
            self.time = str(self.time)
            parse_time(self.time)
        if self.mem is not None and not MEM_PATTERN.match(str(self.mem)):
            raise ComptError(f"Slurm option mem '{self.mem}' must be a size like 16G or 4000M.")
        if isinstance(self.extra, str):
            self.extra = shlex.split(self.extra)
        for text in self.extra:
            _extra_flag(text)
        if isinstance(self.setup, str):
            self.setup = [self.setup]
        if not all(isinstance(line, str) and "\n" not in line for line in self.setup):
            raise ComptError("Slurm option setup must be shell lines, one per entry "
                             "(for example setup = [\"module load cuda\"]).")

    def parameters(self) -> dict[str, Any]:
        """submitit's SlurmExecutor parameters for these options."""
        params: dict[str, Any] = {
            "partition": self.partition, "cpus_per_task": self.cpus, "mem": self.mem,
            "gpus_per_node": self.gpus, "gres": self.gres, "account": self.account,
            "qos": self.qos,
        }
        if self.time is not None:
            params["time"] = parse_time(self.time)
        params = {k: v for k, v in params.items() if v is not None}
        if self.extra:
            params["additional_parameters"] = dict(_extra_flag(t) for t in self.extra)
        return params


# -- job states ------------------------------------------------------------------------


def _sacct(array_id: str) -> dict[str, tuple[str, str, str]]:
    """``{job id: (state, node list, reason)}`` of one job or job array (cached briefly:
    ``compt ls`` asks once per array, not once per run)."""
    hit = _sacct_cache.get(array_id)
    if hit and time.monotonic() - hit[0] < SACCT_CACHE_S:
        return hit[1]
    from submitit.slurm.slurm import read_job_id

    try:
        out = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-o", "JobID,State,NodeList,Reason", "-j", array_id],
            capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}  # no Slurm here, or slurmdbd is down: unknown, not dead
    jobs: dict[str, tuple[str, str, str]] = {}
    pending: dict[str, tuple[str, str, str]] = {}
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) < 4:
            continue
        job_id, state, nodes, reason = parts[:4]
        info = (state.split()[0] if state else "UNKNOWN", nodes, reason)
        try:
            for entry in read_job_id(job_id):
                if len(entry) == 3:  # a range of pending array tasks: 17_[2-5%2]
                    for index in range(int(entry[1]), int(entry[2]) + 1):
                        pending[f"{entry[0]}_{index}"] = info
                else:
                    jobs["_".join(entry[:2])] = info
        except ValueError:
            continue
    # a task's own row wins: slurmdbd keeps the range row of the still-pending tasks
    # (17_[2-5%2]) unchanged for a while after task 2 got its own RUNNING row
    jobs = {**pending, **jobs}
    _sacct_cache[array_id] = (time.monotonic(), jobs)
    return jobs


def slurm_state(job_id: str) -> tuple[str, str, str] | None:
    """(state, node list, reason) of one job, or None while sacct does not know it."""
    return _sacct(job_id.split("_")[0]).get(job_id)


def ctld_state(job_id: str) -> str | None:
    """The job's state as slurmctld has it now (sacct may lag behind a requeued job's
    cancel for minutes); None when slurmctld does not know the job (any more)."""
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\bJobState=(\S+)", out)
    return match.group(1) if match else None


def _label(state: str, nodes: str, reason: str) -> str:
    if state == "PENDING" and reason and reason != "None":
        return f"PENDING ({reason})"
    if state == "RUNNING" and nodes:
        return f"RUNNING on {nodes}"
    return state


# -- the job ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainJob:
    """What a Slurm job executes: train one run folder, resuming from its checkpoint.

    A finished run is left alone, and so is a stopped one (stopped while pending) unless
    Slurm requeued this job; so is a run whose launch.json names another job (this one
    was superseded): one run, one live job. On the time-limit warning
    (``--signal=USR2@warning``) the training is asked to stop; it checkpoints, and the run
    is resubmitted (the ``resubmit`` option) or ends ``interrupted``. Whatever ends the job
    without that warning (a time limit, a requeue, ``scancel``) kills this process with it
    (srun ends its task at once), so what the run's end means is read afterwards from
    sacct by :meth:`SlurmExecutor.state`, not written here.
    """

    runs_dir: str
    run_id: str

    def __call__(self) -> int:
        from submitit import JobEnvironment

        from compt.executors.local import child_env, run_argv
        from compt.runfolder import RunFolder

        runs_dir = Path(self.runs_dir)
        folder = RunFolder.open(runs_dir, self.run_id)
        state = folder.read_status().get("status")
        requeued = int(os.environ.get("SLURM_RESTART_COUNT") or 0) > 0  # e.g. preempted
        recorded = folder.read_launch().get("job_id")
        if state == Status.DONE or (state == Status.STOPPED and not requeued) or (
                recorded and recorded != JobEnvironment().job_id):
            return 0
        threads = int(os.environ.get("SLURM_CPUS_PER_TASK", "0")) or None
        argv = run_argv(runs_dir, self.run_id, folder.checkpoint_path.is_file())
        usr_sig = getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2"))
        cut_short: list[int] = []  # the time-limit warning came
        terminated: list[int] = []  # a SIGTERM alone (compt stop) came to the whole step
        child: list[subprocess.Popen] = []

        def out_of_time(signum: int, frame: Any) -> None:
            # once: Slurm may deliver the warning more than once, and a second SIGTERM
            # would abort the training before it has checkpointed (compt.runner.StopSignal)
            if not cut_short:
                for proc in child:
                    proc.send_signal(signal.SIGTERM)
            cut_short.append(signum)

        previous = {usr_sig: signal.signal(usr_sig, out_of_time),
                    signal.SIGTERM: signal.signal(signal.SIGTERM,
                                                  lambda n, f: terminated.append(n))}
        try:
            code = 128 + signal.SIGTERM
            if not terminated:  # else stopped while starting: never start the training
                with open(folder.log_path, "ab") as log:
                    child.append(subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                        argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        env=child_env(threads),
                        # Slurm signals every process of the step: the training must not
                        # die of USR2 (its default action) but stop cleanly on our SIGTERM
                        preexec_fn=lambda: signal.signal(usr_sig, signal.SIG_IGN)))
                if cut_short:  # the signal came while it was starting
                    child[0].send_signal(signal.SIGTERM)
                code = child[0].wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self._after(folder, warned=bool(cut_short))
        # 128 + SIGTERM: a SIGTERM (ours or Slurm's) stopped the training cleanly and saved
        # the run (compt.runner); that is no failure of the job
        if code not in (0, 128 + signal.SIGTERM):
            raise RuntimeError(f"compt exited with status {code}; see {folder.log_path}")
        return code

    def _after(self, folder: Any, warned: bool) -> None:
        """A run the training left unfinished: resubmitted or interrupted after the
        time-limit warning, stopped when it was never started."""
        from compt.runfolder import now_iso
        from compt.runner import sync_index

        if folder.read_status().get("status") not in (
                Status.QUEUED, Status.RUNNING, Status.STOPPED):
            return
        if warned and self._resubmit(folder):
            pass
        elif warned:
            folder.update_status(status=Status.INTERRUPTED, finished=now_iso(),
                                 error="the Slurm job reached its time limit or was preempted")
        elif folder.read_status().get("status") == Status.QUEUED:
            folder.update_status(status=Status.STOPPED, finished=now_iso())
        else:
            return
        sync_index(Path(self.runs_dir), self.run_id)

    def _resubmit(self, folder: Any) -> bool:
        """Submit the run again (it resumes from its checkpoint) while the ``resubmit``
        option allows; False when it does not, or Slurm refuses."""
        launch = dict(folder.read_launch())
        done = int(launch.get("resubmits") or 0)
        executor = SlurmExecutor(SlurmExecutor.from_launch(launch).options, resubmits=done + 1)
        if done >= (executor.options.resubmit or 0):
            return False
        folder.update_status(status=Status.QUEUED, pid=None, finished=None, error=None)
        try:
            executor.submit(Path(self.runs_dir), [self.run_id], 1)
        except ComptError:
            return False  # left to _after: interrupted
        return True


# -- the executor ----------------------------------------------------------------------


@register
class SlurmExecutor(Executor):
    """Runs as Slurm jobs (one job per run; a job array for a sweep)."""

    name = "slurm"
    # the array's %N when no --jobs is given: Slurm's own limits and fair share decide
    # (submitit's default too); a cap of 1 would run a sweep one cell at a time
    default_jobs = 256

    def __init__(self, options: SlurmOptions | None = None, resubmits: int = 0) -> None:
        self.options = options or SlurmOptions()
        self.resubmits = resubmits  # recorded in launch.json: the count of resubmit's

    @classmethod
    def from_launch(cls, launch: dict[str, Any]) -> SlurmExecutor:
        return cls(SlurmOptions.from_mapping(launch.get("options") or {}, "launch.json"))

    @classmethod
    def configure(cls, table: dict[str, Any], overrides: list[str]) -> SlurmExecutor:
        if not isinstance(table, dict):
            raise ComptError("The [slurm] table of the config file must hold key = value pairs.")
        return cls(SlurmOptions.from_mapping(table, "the [slurm] table").updated(overrides))

    def submit(self, runs_dir: Path, run_ids: list[str], jobs: int,
               name: str | None = None) -> None:
        from compt.runfolder import RunFolder

        if not run_ids:
            return
        runs_dir = Path(runs_dir).absolute()
        single = len(run_ids) == 1
        folder = (runs_dir / run_ids[0] / "slurm" if single
                  else runs_dir / ARRAY_DIR / (name or run_ids[0]) / "%j")
        handles = self._submit(folder, [TrainJob(str(runs_dir), r) for r in run_ids], jobs,
                               name or run_ids[0])
        for run_id, job_id in zip(run_ids, handles, strict=True):
            if not single:  # <run>/slurm/<array>_<index> -> the task's folder
                link = runs_dir / run_id / "slurm" / job_id
                link.parent.mkdir(exist_ok=True)
                link.symlink_to(Path("..", "..", ARRAY_DIR, name or run_ids[0], job_id))
            RunFolder(runs_dir / run_id).write_launch_record({
                "executor": self.name, "job_id": job_id, "time": time.time(),
                "by": f"sweep {name}" if name else "launcher", "submitted_from": HOST,
                "options": {k: v for k, v in asdict(self.options).items()
                            if v not in (None, [])},
                **({"resubmits": self.resubmits} if self.resubmits else {}),
            })

    def _submit(self, folder: Path, calls: list[TrainJob], jobs: int, name: str) -> list[str]:
        """Submit ``calls`` (an array when several); returns their Slurm job ids."""
        try:
            import submitit
            from submitit.core.utils import FailedJobError
        except ImportError:
            raise ComptError(
                f"The Slurm executor needs submitit: {pip_install('submitit')}.") from None
        from compt.executors.local import PACKAGE_ROOT

        try:
            executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=0)
        except RuntimeError:
            raise ComptError("Slurm is not available on this machine (no srun on PATH); "
                             "submit from a cluster login node.") from None
        path = shlex.quote(str(PACKAGE_ROOT))
        executor.update_parameters(
            job_name=f"compt-{name}", array_parallelism=max(1, jobs),
            signal_delay_s=WARNING_S if self.options.warning is None else self.options.warning,
            setup=[f"export PYTHONPATH={path}${{PYTHONPATH:+:$PYTHONPATH}}",
                   *self.options.setup],
            **{"time": None, **self.options.parameters()})  # None: the partition's limit
        quiet = io.StringIO()  # submitit prints sbatch's stderr too; we say it once, below
        try:
            with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
                with executor.batch():
                    submitted = [executor.submit(call) for call in calls]
        except (FailedJobError, OSError) as exc:
            lines = [re.sub(r"^(sbatch: )?error: ", "", line.strip())
                     for line in str(exc).splitlines() if line.strip()]
            reason = "; ".join(dict.fromkeys(lines)) or type(exc).__name__
            raise ComptError(f"Slurm refused the submission ({reason}). Check the "
                             f"[slurm] options; no run was created.") from None
        return [job.job_id for job in submitted]

    def state(self, launch: dict[str, Any], status: dict[str, Any]) -> JobState:
        found = slurm_state(str(launch.get("job_id") or ""))
        if found is not None and found[0] not in ALIVE_STATES:  # over: TIMEOUT, FAILED...
            return JobState(False, _label(*found),
                            Status.INTERRUPTED if found[0] in ENDED_BY_SLURM else None)
        # a job that waits to start again after its run's training began was requeued
        # (a node failure, a preemption, scontrol requeue): it resumes the run by itself
        requeued = found is not None and found[0] in WAITING and status.get("status") not in (
            None, Status.QUEUED)
        if requeued:  # unless slurmctld knows it was cancelled since
            now = ctld_state(str(launch.get("job_id")))
            if now is not None and now not in WAITING and now != "COMPLETING":
                return JobState(now in ALIVE_STATES, now)
        pid, host, since = owner({}, status)
        if pid and host == HOST and not process_alive(pid, since) and not requeued:
            return JobState(False, "training process gone")
        if found is None:
            return JobState(None, "SUBMITTED")
        return JobState(True, _label(*found), Status.QUEUED if requeued else None)

    def cancel(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        job_id = str(launch.get("job_id") or "")
        if not job_id:
            return False
        found = slurm_state(job_id)
        # a running job gets SIGTERM alone, no SIGKILL after the cluster's KillWait: the
        # training checkpoints in its own time and the job ends by itself
        grace = ["--signal=TERM"] if found is not None and found[0] == "RUNNING" else []
        try:
            subprocess.run(["scancel", *grace, job_id], capture_output=True, timeout=30,
                           check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ComptError(f"Could not cancel Slurm job {job_id}: {exc}") from None
        _sacct_cache.clear()
        return (status.get("status") == Status.RUNNING
                or (found is not None and found[0] == "RUNNING"))

    def describe(self, launch: dict[str, Any]) -> str:
        return f"slurm job {launch.get('job_id')}"
