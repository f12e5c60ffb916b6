"""spot: SPoT (Vu et al., 2022), generic transfer, docs/baselines.md.

Stage 1 ("source") trains one prompt on all tasks together (the multi-task source prompt);
stage 2 ("target") copies it, encoder included, into every task's own prompt and tunes each
on its task alone. ``stage1.safetensors`` in the run folder keeps the source prompt.
"""

from __future__ import annotations

from compt.methods import Method, register


class SoftPromptTransfer(Method):
    name = "spot"
    order = 20
    summary = "SPoT: a multi-task source prompt, then per-task prompts started from it"
    has_sources = True
    source_init = "vocab"
    stages = ("source", "target")

    def n_sources(self, configured: int, n_tasks: int) -> int:
        return 1

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        if prompt.stage == 0:
            return prompt.sources().expand(len(task_ids), -1, -1)
        return prompt.private()[task_ids]

    def enter_stage(self, prompt, stage, fresh):
        import torch

        prompt.stage = stage
        if stage == 1 and fresh:
            with torch.no_grad():
                source = prompt.sources.state_dict()
                for key, value in prompt.private.state_dict().items():
                    value.copy_(source[key].expand_as(value))


register(SoftPromptTransfer())
