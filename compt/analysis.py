"""The paper's analyses (docs/method.md#analyses), computed from a trained model.

- per-prompt scores: re-evaluate with prompts masked (src_i, all_src, private, total);
- prediction tables for source only / private only / combined;
- cross-task transfer: task B's test set through task A's target prompt;
- modularity: start a run's source prompts from a finished run's checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compt.checkpoint import load_params
from compt.data import Encoded
from compt.errors import ComptError
from compt.evaluate import predict, score_task, split_by_task
from compt.methods import get_method
from compt.model import PromptedModel, PromptMask
from compt.runfolder import RunFolder, check_run_id, default_runs_dir

if TYPE_CHECKING:
    from compt.experiment import Experiment


def prompt_masks(method: str, n_sources: int) -> dict[str, PromptMask]:
    """The masks of the per-prompt matrix's columns: the method defines them (may be none)."""
    return get_method(method).masks(n_sources)


def prediction_variants(masks: dict[str, PromptMask]) -> dict[str, str]:
    """Which column gives the "source only" and "private only" prediction tables."""
    if "private" not in masks:
        return {}
    return {("all_src" if "all_src" in masks else "src_1"): "source", "private": "private"}


def analysis_subset(exp: Experiment) -> tuple[list[list], Encoded]:
    """Each task's first ``analysis_eval_size`` test examples, picked from the encoded test
    set once per experiment: every mask (and the transfer matrix) shares their tokens,
    batches and, on causal models, their cached prefixes."""
    return exp.analysis_set


def predictions_by_task(exp: Experiment, data: Encoded, **kwargs: Any) -> list[list[int]]:
    """The model's predictions on ``data``, one list per task (``kwargs``: a prompt mask)."""
    preds = predict(exp.model, data, exp.tasks, decoding=exp.cfg.decoding, device=exp.device,
                    autocast=exp.autocast, generation=exp.cfg.generation, **kwargs)
    return split_by_task(data, preds, len(exp.tasks))


@dataclass
class PerPrompt:
    """The per-prompt analysis: results.json's ``per_prompt`` and, per task, the prediction
    tables of the source-only and private-only prompts (``{"source": ..., "private": ...}``)."""

    table: dict[str, Any]
    predictions: dict[str, dict[str, list[list[int]]]]


def per_prompt(exp: Experiment, total: list[list[int]] | None = None,
               on_mask: Callable[[int, int], None] | None = None) -> PerPrompt:
    """Score each task with prompts masked (docs/method.md#analyses), one column per mask
    (the method's masks; none gives an empty table).

    ``total``: the full model's predictions on the evaluation set, when already computed
    (the analysis subset is a prefix of it, so they are reused rather than recomputed).
    ``on_mask(done, n)``: masks analysed so far (status.json shows "mask i / n").
    """
    subset, data = analysis_subset(exp)
    masks = prompt_masks(exp.cfg.method, exp.model.prompt.n_sources)
    variants = prediction_variants(masks)
    table: dict[str, dict[str, float]] = {t.name: {} for t in exp.tasks}
    predictions: dict[str, dict[str, list[list[int]]]] = {t.name: {} for t in exp.tasks}
    for done, (column, mask) in enumerate(masks.items()):
        if on_mask is not None:
            on_mask(done, len(masks))
        if column == "total" and total is not None:
            per_task = [p[: len(exs)] for p, exs in zip(total, subset)]
        else:
            per_task = predictions_by_task(exp, data, mask=mask)
        for task, exs, preds in zip(exp.tasks, subset, per_task):
            scored = score_task(task, exs, preds)
            table[task.name][column] = round(scored.primary, 4)
            kind = variants.get(column)
            if kind:
                predictions[task.name][kind] = scored.confusion
    if on_mask is not None:
        on_mask(len(masks), len(masks))
    return PerPrompt(
        {"columns": list(masks), "scores": table,
         "eval_size": {t.name: len(exs) for t, exs in zip(exp.tasks, subset)}},
        predictions,
    )


def transfer_matrix(exp: Experiment) -> dict:
    """Rows: the prompt of task A; columns: task B's test subset, scored with B's labels."""
    subset, data = analysis_subset(exp)
    names = [t.name for t in exp.tasks]
    scores: list[list[float]] = []
    for a in range(len(exp.tasks)):
        row = []
        for b, (task, exs) in enumerate(zip(exp.tasks, subset)):
            own = [i for i, t in enumerate(data.task_ids) if t == b]
            through_a = Encoded([data.ids[i] for i in own], [a] * len(own),
                                [data.labels[i] for i in own])
            preds = predict(exp.model, through_a, exp.tasks, decoding=exp.cfg.decoding,
                            device=exp.device, label_task=b, autocast=exp.autocast,
                            generation=exp.cfg.generation)
            row.append(round(score_task(task, exs, preds).primary, 4))
        scores.append(row)
    return {"tasks": names, "scores": scores, "eval_size": len(subset[0]) if subset else 0}


def checkpoint_of(ref: str, runs_dir: Path | None = None) -> Path:
    """A run id (in ``runs_dir``, the store of the run asking; else the default store), a
    run folder, or a checkpoint file."""
    path = Path(ref)
    if path.is_dir():
        path = RunFolder(path).checkpoint_path
    elif not path.exists():
        store = runs_dir if runs_dir is not None else default_runs_dir()
        path = RunFolder(store / check_run_id(ref)).checkpoint_path
    if not path.is_file():
        raise ComptError(f"No checkpoint found for '{ref}' (looked for {path}).")
    return path


def init_sources_from(model: PromptedModel, ref: str, runs_dir: Path | None = None) -> None:
    """Modularity: copy source prompts and their encoders from a finished run.

    docs/method.md#analyses.
    """
    bank = model.prompt.sources
    if not model.prompt.n_sources or bank is None:
        raise ComptError(f"init_sources_from needs a method with source prompts; "
                         f"'{model.prompt.method.name}' has none.")
    params = load_params(checkpoint_of(ref, runs_dir))
    sources = {k[len("sources."):]: v for k, v in params.items() if k.startswith("sources.")}
    target = bank.state_dict()
    if not sources:
        raise ComptError(f"The checkpoint of '{ref}' holds no source prompts.")
    mismatched = [k for k in target if k not in sources or sources[k].shape != target[k].shape]
    if mismatched:
        raise ComptError(
            f"The source prompts of '{ref}' do not fit this run (different number of sources, "
            f"prompt length, encoder or backbone): {', '.join(mismatched)}."
        )
    bank.load_state_dict(sources)
