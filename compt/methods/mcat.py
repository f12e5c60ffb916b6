"""mcat: private prompt times the concatenation of the weighted sources (docs/method.md §Model).

Its prompt is M times longer, so the paper halves L and raises the learning rates.
"""

from __future__ import annotations

from compt.methods import register
from compt.methods.composition import Composition


class ConcatComposition(Composition):
    name = "mcat"
    order = 70
    summary = "ComPT: private prompt x concatenation of weighted source prompts"
    prompt_len = 10
    learning_rates = (0.15, 0.05, 0.08)
    additive = False

    def epochs(self, base: int) -> int:
        return base * 4 // 5

    def private_len(self, length: int, n_sources: int) -> int:
        return length * max(n_sources, 1)

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        """``P_u * concat_s(w_s P_s)``; a masked source's slots are removed, no renormalising."""
        private = prompt.private()[task_ids]
        sources = prompt.sources()  # (M, L, d)
        weights = prompt.router.weights(task_ids, temperature)  # (B, M)
        scaled = weights[:, :, None, None] * sources[None]  # (B, M, L, d)
        target = private * scaled.flatten(1, 2)  # (B, M*L, d)
        keep = prompt.keep_mask(mask)
        if keep is None:
            return target
        return target[:, keep.repeat_interleave(sources.shape[1])]


register(ConcatComposition())
