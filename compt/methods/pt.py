"""pt: vanilla prompt tuning, one private prompt per task, nothing shared (docs/method.md §Model).
"""

from __future__ import annotations

from compt.methods import Method, register


class PromptTuning(Method):
    name = "pt"
    order = 0
    summary = "prompt tuning: one prompt per task, nothing shared"

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        return prompt.private()[task_ids]


register(PromptTuning())
