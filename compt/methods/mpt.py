"""mpt: multitask prompt tuning (Wang et al., 2023), docs/baselines.md.

Each task's prompt is a shared prompt P* times a per-task rank-r matrix u_k v_k^T
(element-wise), the decomposition PEFT implements as ``MultitaskPromptTuning``. The shared
prompt is compt's single private prompt (vocabulary init, its encoder, pt's learning rate).
"""

from __future__ import annotations

from compt.methods import Method, register

RANK = 1  # the paper's rank-1 update


def task_factors(n_tasks: int, length: int, dim: int, rank: int = RANK):
    """u (tasks, L, r) and v (tasks, r, d). Ones, so every task starts at P* (PEFT draws
    N(0, 0.02), which starts every prompt near zero; docs/baselines.md says why not here)."""
    import torch
    from torch import nn

    factors = nn.ParameterDict({
        "cols": nn.Parameter(torch.ones(n_tasks, length, rank) / rank**0.5),
        "rows": nn.Parameter(torch.ones(n_tasks, rank, dim) / rank**0.5),
    })
    return factors


class MultitaskPromptDecomposition(Method):
    name = "mpt"
    order = 40
    summary = "MPT: a shared prompt times a rank-1 update per task"

    def private_count(self, n_tasks: int) -> int:
        return 1

    def build_parts(self, prompt, n_tasks, dim):
        return {"factors": task_factors(n_tasks, prompt.private.raw.shape[1], dim)}

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        factors = prompt.parts["factors"]
        update = factors["cols"][task_ids] @ factors["rows"][task_ids]  # (B, L, d)
        return prompt.private() * update

    def param_groups(self, prompt):
        return [("private", [*prompt.private.parameters(), *prompt.parts.parameters()])]


register(MultitaskPromptDecomposition())
