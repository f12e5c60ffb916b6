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

        private = prompt.private().index_select(0, task_ids)
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
        """src_i, all_src, private, total (docs/method.md#analyses).

        For a factor private prompt (msum/mcat) ``src_i`` keeps it and ``all_src`` /
        ``private`` are undefined (so one source leaves nothing to mask apart). With one
        additive source ``all_src`` would repeat ``src_1``: the columns are src_1 / private /
        total (paper Fig. 3, SSUM(1))."""
        from compt.methods.base import FULL, PromptMask

        if n_sources == 0 or (n_sources == 1 and not self.additive):
            return {}
        masks = {f"src_{i + 1}": PromptMask(sources=(i,), private=not self.additive)
                 for i in range(n_sources)}
        if self.additive:
            if n_sources > 1:
                masks["all_src"] = PromptMask(sources=None, private=False)
            masks["private"] = PromptMask(sources=(), private=True)
        masks["total"] = FULL
        return masks
