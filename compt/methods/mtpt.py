"""mtpt: multi-task prompt tuning, one prompt shared by every task (docs/baselines.md).

The simplest form of sharing: tasks differ only by the task name that every input starts
with. It separates "sharing a prompt" from "composing prompts".
"""

from __future__ import annotations

from compt.methods import Method, register


class MultiTaskPromptTuning(Method):
    name = "mtpt"
    order = 10
    summary = "multi-task prompt tuning: one prompt shared by all tasks"

    def private_count(self, n_tasks: int) -> int:
        return 1

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        return prompt.private().expand(len(task_ids), -1, -1)


register(MultiTaskPromptTuning())
