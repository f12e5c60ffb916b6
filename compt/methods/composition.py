"""What ComPT's compositions (ssum, msum, mcat) share: sources, a router, per-prompt masks.

Not a method itself (it registers nothing); the three composition modules build on it.
"""

from __future__ import annotations

from compt.methods.base import Method


class Composition(Method):
    family = "composition"
    has_sources = True
    has_router = True
    additive = True  # the private prompt is a summand (ssum), not a factor

    def combine(self, private, mixed, mask):
        raise NotImplementedError

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        import torch

        private = prompt.private()[task_ids]
        if not prompt.n_sources:
            return private
        sources = prompt.sources()  # (M, L, d)
        keep = prompt.keep_mask(mask)
        weights = prompt.router.weights(task_ids, temperature, keep)
        if keep is not None and not keep.any():
            mixed = torch.zeros_like(private)
        else:
            mixed = torch.einsum("bm,mld->bld", weights, sources)
        return self.combine(private, mixed, mask)

    def masks(self, n_sources: int) -> dict:
        """src_i, all_src, private, total (docs/method.md §Evaluation and analyses).

        For a factor private prompt (msum/mcat) ``src_i`` keeps it and ``all_src`` /
        ``private`` are undefined."""
        from compt.model.prompts import FULL, PromptMask

        if n_sources < 2:
            return {}
        masks = {f"src_{i + 1}": PromptMask(sources=(i,), private=not self.additive)
                 for i in range(n_sources)}
        if self.additive:
            masks["all_src"] = PromptMask(sources=None, private=False)
            masks["private"] = PromptMask(sources=(), private=True)
        masks["total"] = FULL
        return masks
