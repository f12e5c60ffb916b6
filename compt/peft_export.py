"""Export one task's prompt of a finished run as a PEFT prompt-tuning adapter.

Whatever the method, at inference a task's target prompt is one fixed (P, d) matrix (the
router's softmax weights, no sampling), which is exactly what PEFT's prompt tuning stores.
PEFT prepends its prompt, so the export is exact for runs trained with
``placement=before``; a run trained with the prompt after the input still exports, with a
note. Writes ``adapter_config.json`` and ``adapter_model.safetensors``; compt needs no PEFT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from compt.checkpoint import load_params
from compt.config import RunConfig
from compt.errors import ComptError
from compt.methods import get_method
from compt.model import BackboneOptions, PromptedModel, load_backbone
from compt.model.loading import loadable_name
from compt.runfolder import RunFolder

TASK_TYPES = {"seq2seq": "SEQ_2_SEQ_LM", "encoder": "FEATURE_EXTRACTION"}


@dataclass
class Exported:
    path: Path
    task: str
    tokens: int
    exact: bool  # False when the run put its prompt after the input


def task_prompt(folder: RunFolder, task: str) -> tuple[torch.Tensor, RunConfig, str, str]:
    """The (P, d) inference prompt of ``task``, the run's config, where its model loads
    from (``AutoPeftModel...from_pretrained`` reads it from the adapter) and its kind."""
    record = folder.read_config()
    cfg = RunConfig.from_dict(record.get("config", {}), str(folder.config_path))
    method = get_method(cfg.method)
    if method.input_dependent:
        raise ComptError(f"Method '{cfg.method}' builds a different prompt for every input; "
                         "a PEFT prompt-tuning adapter holds one fixed prompt per task.")
    tasks = (record.get("resolved") or {}).get("tasks")
    if not tasks:
        raise ComptError(f"Run '{folder.run_id}' has not resolved its tasks yet (never started).")
    if task not in tasks:
        raise ComptError(f"Run '{folder.run_id}' did not train task '{task}'; "
                         f"its tasks: {', '.join(tasks)}.")
    if not folder.checkpoint_path.is_file():
        raise ComptError(f"Run '{folder.run_id}' has no checkpoint to export.")
    backbone = load_backbone(cfg.model, cfg.backbone, BackboneOptions.from_config(cfg))
    model = PromptedModel(backbone, cfg, len(tasks))
    model.load_trainable_state(load_params(folder.checkpoint_path))
    model.prompt.method.enter_stage(model.prompt, len(method.stages) - 1, fresh=False)
    model.eval()
    with torch.no_grad():
        prompt = model.prompt(torch.tensor([tasks.index(task)]))[0].float().contiguous()
    return prompt, cfg, loadable_name(cfg.model), backbone.kind


def export_peft(folder: RunFolder, task: str, out: Path) -> Exported:
    """Write the adapter for ``task`` into ``out`` (created; existing files are replaced)."""
    prompt, cfg, model_path, kind = task_prompt(folder, task)
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "peft_type": "PROMPT_TUNING",
        "task_type": TASK_TYPES.get(kind),
        "num_virtual_tokens": prompt.shape[0],
        "token_dim": prompt.shape[1],
        "num_transformer_submodules": 1,  # the encoder's prompt only, as compt trained it
        "prompt_tuning_init": "RANDOM",
        "base_model_name_or_path": model_path,
        "inference_mode": True,
    }
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file({"prompt_embeddings": prompt}, str(out / "adapter_model.safetensors"))
    return Exported(out, task, prompt.shape[0], exact=cfg.placement == "before")
