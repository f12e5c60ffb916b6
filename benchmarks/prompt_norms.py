"""Row norms of the target prompt at initialisation and after training, per finished run.

Answers "does training undo a tiny (msum/mcat) or large (ssum) initial prompt?": for
each run given, rebuilds its model from config.json (same seed, so the same initial
prompts), measures the mean row norm of every task's target prompt, loads the final
checkpoint and measures again. The backbone's mean token-embedding norm is the yardstick.

    python benchmarks/prompt_norms.py benchmarks/runs-real RUN_ID...   # markdown table
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compt.checkpoint import load_params  # noqa: E402
from compt.config import RunConfig  # noqa: E402
from compt.model.backbones import BackboneOptions  # noqa: E402
from compt.model.loading import load_backbone  # noqa: E402
from compt.model.prompted import PromptedModel  # noqa: E402
from compt.runfolder import RunFolder  # noqa: E402


def target_norm(model: PromptedModel, n_tasks: int) -> float:
    with torch.no_grad():
        return float(model.prompt(torch.arange(n_tasks)).norm(dim=-1).mean())


def main() -> None:
    runs_dir, run_ids = Path(sys.argv[1]), sys.argv[2:]
    backbone = None
    print("| run | method | variant | token embedding | target prompt at init | after "
          "training |\n|---|---|---|---|---|---|")
    for run_id in run_ids:
        folder = RunFolder.open(runs_dir, run_id)
        stored = folder.read_config()
        cfg = RunConfig.from_dict(stored["config"])
        n_tasks = len(stored["resolved"]["tasks"])
        backbone = backbone or load_backbone(cfg.model, cfg.backbone,
                                             BackboneOptions.from_config(cfg))
        torch.manual_seed(cfg.seed)  # as compt/train.py: the encoders' init draws from it
        model = PromptedModel(backbone, cfg, n_tasks)
        before = target_norm(model, n_tasks)
        model.load_trainable_state(load_params(folder.checkpoint_path))
        after = target_norm(model, n_tasks)
        token = float(backbone.embedding_matrix.norm(dim=-1).mean())
        variant = ", ".join(f"{k}={getattr(cfg, k)}" for k in
                            ("source_init", "product_norm", "pool_prompt", "router",
                             "lr_router", "lr_source", "lr_private")
                            if getattr(cfg, k) != getattr(RunConfig(), k)) or "default"
        print(f"| {run_id} | {cfg.method} | {variant} | {token:.3f} | {before:.3f} | "
              f"{after:.3f} |")


if __name__ == "__main__":
    main()
