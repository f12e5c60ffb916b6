"""The training loop (docs/method.md#training), readable top to bottom.

``build_experiment`` turns a config into tasks, data, backbone and model; ``Trainer.run``
trains, checkpoints, keeps status.json current, evaluates, runs the analyses and writes
results.json. Every random draw is seeded, so CPU runs are reproducible and a resumed run
ends exactly where an uninterrupted one would.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

import torch

from compt import analysis
from compt.checkpoint import load_params, restore_checkpoint, save_checkpoint
from compt.config import RunConfig
from compt.data import (
    Encoded,
    data_record,
    encode,
    eval_subset,
    sample_dev,
    sample_few_shot,
    train_batches,
)
from compt.errors import ComptError
from compt.evaluate import score_task
from compt.experiment import Experiment
from compt.model import BackboneOptions, PromptedModel, load_backbone
from compt.model.backbones import check_supported
from compt.runfolder import Phase, RunFolder, Status, now_iso
from compt.schedule import lr_factor, temperature_at
from compt.tasks import resolve_tasks
from compt.tasks.base import Example, Task

STATUS_INTERVAL_S = 2.0


class RunFailed(ComptError):
    """Training itself went wrong (e.g. a non-finite loss); the run is marked failed."""

    exit_code = 1


class Reporter(Protocol):
    """Where progress goes: a rich progress bar in a terminal, or nothing when detached."""

    def start(self, total: int, done: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def phase(self, text: str) -> None: ...
    def count(self, done: int, total: int) -> None: ...  # how far the phase got
    def finish(self) -> None: ...


class SilentReporter:
    def start(self, total: int, done: int) -> None: ...
    def step(self, step: int, loss: float) -> None: ...
    def phase(self, text: str) -> None: ...
    def count(self, done: int, total: int) -> None: ...
    def finish(self) -> None: ...


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise ComptError("--device cuda was asked for, but torch sees no CUDA GPU here.")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def build_experiment(cfg: RunConfig, tasks: list[Task] | None = None,
                     runs_dir: Path | None = None, own_checkpoint: bool = False) -> Experiment:
    """Tasks (resolved here unless given), few-shot data, the backbone and the model.

    ``runs_dir``: the run's own store, where ``init_sources_from`` looks up a run id.
    ``own_checkpoint``: the caller loads the run's own checkpoint next (a resume, or
    ``compt analyze``), so ``init_sources_from`` is not read: that run may be gone.
    """
    torch.manual_seed(cfg.seed)
    tasks = tasks if tasks is not None else resolve_tasks(cfg.tasks)
    device = pick_device(cfg.device)
    balanced = cfg.sampling == "balanced"
    few_shot = [sample_few_shot(t, cfg.k, cfg.effective_data_seed, balanced) for t in tasks]
    eval_examples = [eval_subset(t, cfg.eval_size) for t in tasks]
    dev_examples = [sample_dev(t, cfg.k, cfg.dev_size, cfg.effective_data_seed, balanced)
                    for t in tasks] if cfg.dev_size else None
    backbone = load_backbone(cfg.model, cfg.backbone, BackboneOptions.from_config(cfg))
    check_supported(backbone.kind, cfg.decoding, cfg.label_loss)
    backbone.to(device)
    backbone.set_labels([list(t.label_words) for t in tasks])
    torch.manual_seed(cfg.seed)
    model = PromptedModel(backbone, cfg, len(tasks)).to(device)
    if cfg.init_sources_from and not own_checkpoint:
        analysis.init_sources_from(model, cfg.init_sources_from, runs_dir)
    room = cfg.max_length - model.prompt.length
    train_data = encode(tasks, few_shot, backbone.tokenize, room)
    eval_data = encode(tasks, eval_examples, backbone.tokenize, room)
    batch_size = cfg.batch_size or min(20, len(train_data))
    steps_per_epoch = math.ceil(len(train_data) / batch_size)
    n_stages = len(model.prompt.method.stages)
    stage_steps = steps_per_epoch * cfg.effective_epochs
    if cfg.max_steps is not None:
        stage_steps = min(stage_steps, max(1, cfg.max_steps // n_stages))
    dev_data = encode(tasks, dev_examples, backbone.tokenize, room) if dev_examples else None
    data = {t.name: data_record(t, shots, cfg.effective_data_seed)
            for t, shots in zip(tasks, few_shot)}
    return Experiment(cfg, tasks, model, train_data, eval_examples, eval_data, device,
                      batch_size, steps_per_epoch, stage_steps * n_stages, stage_steps,
                      dev_examples, dev_data, data)


def make_optimizer(model: PromptedModel, cfg: RunConfig) -> torch.optim.AdamW:
    """AdamW over the three parameter groups (docs/method.md#training); fused where possible."""
    groups = model.param_groups(cfg.learning_rates, cfg.weight_decay)
    return torch.optim.AdamW(groups, fused=True)


class Trainer:
    """Runs one experiment inside its run folder."""

    def __init__(self, exp: Experiment, folder: RunFolder, log: logging.Logger,
                 reporter: Reporter | None = None) -> None:
        self.exp = exp
        self.folder = folder
        self.log = log
        self.reporter = reporter or SilentReporter()
        self.stop_requested = False
        self.best_dev: float = float("-inf")  # dev-selected checkpoint
        self.best_step: int | None = None
        self._phase_written = 0.0  # when phase progress last went to status.json
        cfg = exp.cfg
        self.optimizer = make_optimizer(exp.model, cfg)
        self.params = [p for g in self.optimizer.param_groups for p in g["params"]]

    # -- the loop ------------------------------------------------------------------------

    def run(self, resume: bool = False) -> dict:
        exp, cfg = self.exp, self.exp.cfg
        step = self._resume() if resume else 0
        prompt = exp.model.prompt
        prompt.method.enter_stage(prompt, self.stage_of(max(step - 1, 0)), fresh=False)
        staged = len(prompt.method.stages) > 1
        if exp.dev_data is not None and step:
            self._recall_best(step)
        total = exp.total_steps
        self.log.info("training %s on %d tasks: %d examples, batch %d, %d steps (%s)",
                      cfg.method, len(exp.tasks), len(exp.train_data), exp.batch_size,
                      total, exp.device)
        for task, record in exp.data.items():
            if record.get("missing_classes"):
                self.log.warning("the few-shot sample of %s lacks the class(es) %s",
                                 task, ", ".join(record["missing_classes"]))
        self.folder.update_status(status=Status.RUNNING, phase=Phase.TRAINING, total=total,
                                  step=step, error=None, phase_done=None, phase_total=None)
        self.reporter.start(total, step)
        started, last_status = time.time(), 0.0
        recent: deque[float] = deque(maxlen=20)
        loss_value = float("nan")
        while step < total:
            epoch, offset = divmod(step, exp.steps_per_epoch)
            batches = train_batches(exp.train_data, exp.batch_size, cfg.seed, epoch,
                                    exp.model.backbone.pad_id)
            for batch in batches[offset:]:
                if step >= total or self.stop_requested:
                    break
                if self.stage_of(step) != prompt.stage:
                    self._next_stage(step)
                tick = time.time()
                loss_value, temperature, lr = self._step(batch, step, total)
                if not math.isfinite(loss_value):
                    raise RunFailed(f"Training stopped: the loss became {loss_value} at step "
                                    f"{step + 1}. Try lower learning rates or another seed.")
                step += 1
                recent.append(time.time() - tick)
                row = {"step": step, "epoch": epoch, "loss": loss_value, "lr": lr,
                       "temperature": temperature, "time": round(time.time() - started, 3)}
                if staged:
                    row["stage"] = prompt.stage + 1
                self.folder.append_metrics(row)
                self.reporter.step(step, loss_value)
                if time.time() - last_status > STATUS_INTERVAL_S or step == total:
                    last_status = time.time()
                    self._write_status(step, total, epoch, loss_value, recent, len(batch))
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < total:
                    self._checkpoint(step)
                if cfg.eval_every and step % cfg.eval_every == 0 and step < total:
                    self._eval_row(step)
                if exp.dev_data is not None and (
                        step % exp.selection_every == 0 or step == total):
                    self._select(step)
            if self.stop_requested:
                self._checkpoint(step)
                self.folder.update_status(status=Status.STOPPED, step=step, finished=now_iso())
                self.log.info("stopped at step %d; checkpoint saved, `compt retry` resumes",
                              step)
                self.reporter.finish()
                return {}
        train_time = time.time() - started
        self._checkpoint(step)
        self.phase(Phase.EVALUATING)
        results = self.evaluate()
        if exp.dev_data is not None:
            results.update(self._best_results(step, results))
        results.update(steps=step, train_time_s=round(train_time, 2))
        save_checkpoint(self.folder.checkpoint_path, self.exp.model.trainable_state(), step)
        self.reporter.finish()
        return results

    def _step(self, batch, step: int, total: int) -> tuple[float, float, float]:
        exp, cfg = self.exp, self.exp.cfg
        start = self.stage_of(step) * exp.stage_steps  # each stage warms up and decays anew
        factor = lr_factor(step - start, exp.stage_steps, cfg.warmup)
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor
        temperature = temperature_at(step, total, cfg.initial_temperature, cfg.temperature_min)
        batch = batch.to(exp.device)
        with torch.autocast(exp.device.type, dtype=torch.bfloat16, enabled=exp.autocast):
            loss = exp.model.loss(batch, temperature)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip)
        self.optimizer.step()
        return loss.item(), temperature, self.optimizer.param_groups[0]["lr"]

    # -- stages (methods that train sources first, then targets) -------------------------

    def stage_of(self, step: int) -> int:
        return min(step // self.exp.stage_steps, len(self.exp.model.prompt.method.stages) - 1)

    def stage_path(self, stage: int) -> Path:
        """``stage1.safetensors``: the trainable state when stage 1 ended."""
        return self.folder.path / f"stage{stage + 1}.safetensors"

    def _next_stage(self, step: int) -> None:
        prompt = self.exp.model.prompt
        save_checkpoint(self.stage_path(prompt.stage), self.exp.model.trainable_state(), step)
        stage = self.stage_of(step)
        prompt.method.enter_stage(prompt, stage, fresh=True)
        names = prompt.method.stages
        self.log.info("step %d: stage %d/%d (%s)", step, stage + 1, len(names), names[stage])
        self.folder.update_status(phase=f"training stage {stage + 1}/{len(names)}: "
                                        f"{names[stage]}")

    # -- bookkeeping ---------------------------------------------------------------------

    def phase(self, text: str) -> None:
        """Tell the terminal and status.json (so ls / the TUI can show it) what runs now."""
        self.reporter.phase(text)
        self._phase_written = 0.0  # its first progress is written at once
        self.folder.update_status(phase=text, phase_done=None, phase_total=None)

    def phase_step(self, done: int, total: int) -> None:
        """How far the phase got (examples, masks): to the terminal at once, into status.json
        every few seconds."""
        self.reporter.count(done, total)
        if done >= total or time.time() - self._phase_written > STATUS_INTERVAL_S:
            self._phase_written = time.time()
            self.folder.update_status(phase_done=done, phase_total=total)

    def _write_status(self, step, total, epoch, loss, recent, batch_len) -> None:
        per_step = sum(recent) / max(1, len(recent))
        self.folder.update_status(
            step=step, total=total, epoch=epoch, loss=round(loss, 5),
            throughput=round(batch_len / per_step, 2) if per_step else None,
            eta_s=round(per_step * (total - step), 1),
        )

    def _checkpoint(self, step: int) -> None:
        save_checkpoint(self.folder.checkpoint_path, self.exp.model.trainable_state(), step,
                        self.optimizer)

    def _resume(self) -> int:
        path = self.folder.checkpoint_path
        if not path.is_file():
            self.log.info("no checkpoint to resume from; starting at step 0")
            self.folder.truncate_metrics(0)
            return 0
        try:
            params, step = restore_checkpoint(path, self.optimizer)
            self.exp.model.load_trainable_state(params)
        except ComptError as exc:  # `compt retry` would only fail the same way
            raise ComptError(f"{exc} To train this run from step 0 instead, delete {path} and "
                             f"run `compt retry {self.folder.run_id}`.") from None
        self.folder.truncate_metrics(step)  # the steps after the checkpoint are redone
        self.log.info("resumed from checkpoint at step %d", step)
        return step

    def _eval_row(self, step: int) -> None:
        scores = self.evaluate_scores()
        average = sum(scores.values()) / len(scores)
        self.folder.append_metrics({"step": step, "eval": scores, "average": average})
        self.log.info("step %d: eval average %.2f", step, average)

    # -- evaluation and analysis ---------------------------------------------------------

    def predict_by_task(self, data: Encoded, **kwargs) -> list[list[int]]:
        return analysis.predictions_by_task(self.exp, data, **kwargs)

    def evaluate_scores(self, examples: list[list[Example]] | None = None,
                        data: Encoded | None = None) -> dict[str, float]:
        """Primary score per task on the test subset (or on ``examples`` / ``data``)."""
        exp = self.exp
        if data is None:
            examples, data = exp.eval_examples, exp.eval_data
        assert examples is not None, "examples go with data"
        per_task = self.predict_by_task(data)
        return {t.name: round(score_task(t, exs, p).primary, 4)
                for t, exs, p in zip(exp.tasks, examples, per_task)}

    # -- best-checkpoint selection on the dev set (dev_size; docs/method.md#training) ----

    def _select(self, step: int) -> None:
        """Score the dev set; keep the state if it beats every earlier one (ties: earlier)."""
        scores = self.evaluate_scores(self.exp.dev_examples, self.exp.dev_data)
        average = sum(scores.values()) / len(scores)
        self.folder.append_metrics({"step": step, "dev": scores, "dev_average": average})
        if average > self.best_dev:
            self.best_dev, self.best_step = average, step
            save_checkpoint(self.folder.best_checkpoint_path, self.exp.model.trainable_state(),
                            step)

    def _recall_best(self, step: int) -> None:
        """On resume: the best dev score so far, from the metrics rows up to ``step``."""
        for row in self.folder.read_metrics():
            if "dev_average" in row and row["step"] <= step and row["dev_average"] > self.best_dev:
                self.best_dev, self.best_step = row["dev_average"], row["step"]

    def _best_results(self, step: int, last: dict) -> dict:
        """Test scores of the dev-selected state (the last state's when that is the best)."""
        if self.best_step in (None, step):
            scores, average = last["scores"], last["average"]
        else:
            model = self.exp.model
            final = {k: v.clone() for k, v in model.trainable_state().items()}  # not views
            model.load_trainable_state(load_params(self.folder.best_checkpoint_path))
            scores = self.evaluate_scores()
            model.load_trainable_state(final)
            average = round(sum(scores.values()) / len(scores), 4)
        return {"best_scores": scores, "best_average": average, "best_step": self.best_step,
                "best_dev_average": round(self.best_dev, 4)}

    def evaluate(self) -> dict:
        """Final scores, metrics, prediction tables and the analyses (docs/method.md#analyses)."""
        exp = self.exp
        exp.model.eval()
        exp.model.prompt.reset_observed()  # per-instance weights of this evaluation only
        per_task = self.predict_by_task(exp.eval_data, on_progress=self.phase_step)
        scored = [score_task(t, exs, p)
                  for t, exs, p in zip(exp.tasks, exp.eval_examples, per_task)]
        names = [t.name for t in exp.tasks]
        results: dict[str, Any] = {
            "scores": {n: round(s.primary, 4) for n, s in zip(names, scored)},
            "average": round(sum(s.primary for s in scored) / len(scored), 4),
            "metrics": {n: {k: round(v, 4) for k, v in s.metrics.items()}
                        for n, s in zip(names, scored)},
            "primary_metric": {t.name: t.metric for t in exp.tasks},
            "eval_size": {n: len(exs) for n, exs in zip(names, exp.eval_examples)},
            "data": exp.data,
            "predictions": {
                t.name: {"labels": list(t.label_words), "combined": s.confusion,
                         "source": None, "private": None}
                for t, s in zip(exp.tasks, scored)
            },
            "per_prompt": None,
            "router": None,
        }
        router = exp.model.prompt.router_table()
        if router:
            results["router"] = {"tasks": names, **router}
        if exp.cfg.analysis and analysis.prompt_masks(exp.cfg.method, exp.model.prompt.n_sources):
            self.phase(Phase.ANALYSIS)
            found = analysis.per_prompt(exp, per_task, on_mask=self.phase_step)
            results["per_prompt"] = found.table
            for task, tables in found.predictions.items():
                results["predictions"][task].update(tables)
        return results
