"""attempt and attempt-m: ATTEMPT (Asai et al., 2022), docs/baselines.md.

Stage 1 ("source") trains one source prompt per task on that task (prompt tuning). Stage 2
("target") freezes them and trains a new prompt per task plus an attention module: the
max-pooled input embeddings go through W_down -> SiLU -> W_up -> LayerNorm, are compared with
the max-pooled source prompts and the task's own prompt, and a softmax with temperature
d·e mixes them: ``P = P_new + Σ_j a_j P_j`` (j over the sources and P_new), per instance.
``attempt`` gives each task its own attention module (the single-task setting), ``attempt-m``
shares one across tasks (the multi-task one).
"""

from __future__ import annotations

import math

from compt.methods import Method, register

BOTTLENECK = 100  # ATTEMPT's prefix_dim


def attention_module(count: int, dim: int):
    """``count`` stacked W_down (d, r), W_up (r, d) and LayerNorm (d) with nn.Linear's init.

    The projections have no bias, as in the official code (``bias=False``); the LayerNorm
    keeps its weight and bias (``nn.LayerNorm``'s defaults there too).
    """
    import torch
    from torch import nn

    rank = min(BOTTLENECK, dim)

    def uniform(*shape, fan_in):
        return nn.Parameter(torch.empty(*shape).uniform_(-fan_in**-0.5, fan_in**-0.5))

    return nn.ParameterDict({
        "down": uniform(count, dim, rank, fan_in=dim),
        "up": uniform(count, rank, dim, fan_in=rank),
        "norm_weight": nn.Parameter(torch.ones(count, dim)),
        "norm_bias": nn.Parameter(torch.zeros(count, dim)),
    })


class AttentionalMixture(Method):
    name = "attempt"
    order = 30
    summary = "ATTEMPT: per-instance attention over frozen per-task source prompts"
    has_sources = True
    source_init = "vocab"
    stages = ("source", "target")
    input_dependent = True
    shared_attention = False

    def n_sources(self, configured: int, n_tasks: int) -> int:
        return n_tasks  # one source prompt per task, trained on it in stage 1

    def build_parts(self, prompt, n_tasks, dim):
        return {"attention": attention_module(1 if self.shared_attention else n_tasks, dim)}

    def param_groups(self, prompt):
        return [*super().param_groups(prompt), ("router", list(prompt.parts.parameters()))]

    def attention(self, prompt, task_ids, inputs, sources, target):
        """(B, M + 1) softmax weights over the sources and the task's new prompt, and the
        scores before the softmax."""
        import torch
        from torch.nn import functional as F

        embeds, lengths = inputs
        # padding is left out of the pool (a deviation, docs/baselines.md): an input's
        # prompt must not depend on how long the other inputs of its batch are
        valid = torch.arange(embeds.shape[1], device=embeds.device)[None] < lengths[:, None]
        pooled = embeds.float().masked_fill(~valid[..., None], float("-inf")).amax(1)  # (B, d)
        parts = prompt.parts["attention"]
        which = torch.zeros_like(task_ids) if self.shared_attention else task_ids
        # index_select, not [which]: see docs/method.md, "Determinism"
        rows = {name: value.index_select(0, which) for name, value in parts.items()}
        hidden = F.silu(torch.bmm(pooled[:, None], rows["down"]))
        query = torch.bmm(hidden, rows["up"])[:, 0]
        query = F.layer_norm(query, query.shape[-1:]) * rows["norm_weight"] \
            + rows["norm_bias"]
        keys = torch.cat([sources.amax(1)[None].expand(len(task_ids), -1, -1),
                          target.amax(1)[:, None]], dim=1)  # (B, M + 1, d)
        scores = torch.einsum("bmd,bd->bm", keys, query) / (query.shape[-1] * math.e)
        return torch.softmax(scores, dim=-1), scores

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        import torch

        from compt.methods.base import FULL

        if prompt.stage == 0:
            return prompt.sources().index_select(0, task_ids)
        sources = prompt.sources().detach()  # frozen in stage 2
        target = prompt.private().index_select(0, task_ids)
        weights, scores = self.attention(prompt, task_ids, inputs, sources, target)
        n = sources.shape[0]
        if mask != FULL:
            return self._masked(prompt, mask, scores[:, :n], sources, target)
        if not prompt.training:
            prompt.observe(task_ids, weights=weights, scores=scores)
        mixed = torch.einsum("bm,mld->bld", weights[:, :n], sources) + weights[:, n:, None] * target
        return target + mixed

    def _masked(self, prompt, mask, scores, sources, target):
        """The separable parts: the attention mixture of the kept sources (renormalised
        over them), plus ``P_new`` alone when the mask keeps the private prompt."""
        import torch

        keep = prompt.keep_mask(mask)
        out = target if mask.private else torch.zeros_like(target)
        if keep is not None and not keep.any():
            return out
        if keep is not None:
            scores = scores.masked_fill(~keep, float("-inf"))
        return out + torch.einsum("bm,mld->bld", torch.softmax(scores, dim=-1), sources)

    def masks(self, n_sources: int) -> dict:
        """src_i (source prompt i alone), all_src (the sources' attention mixture),
        private (``P_new`` alone), total."""
        from compt.methods.base import FULL, PromptMask

        masks = {f"src_{i + 1}": PromptMask(sources=(i,), private=False)
                 for i in range(n_sources)}
        masks["all_src"] = PromptMask(sources=None, private=False)
        masks["private"] = PromptMask(sources=(), private=True)
        masks["total"] = FULL
        return masks

    def router_table(self, prompt):
        """Per-instance weights, as each task's mean over the evaluated inputs and their
        spread (standard deviation); ``logits`` are the mean scores before the softmax."""
        seen = prompt.observed()
        if not seen:
            return None
        names = [f"src_{i + 1}" for i in range(prompt.n_sources)] + ["target"]
        none = ([float("nan")] * len(names),) * 2
        weights = [seen["weights"].get(t, none) for t in range(prompt.n_tasks)]
        scores = [seen["scores"].get(t, none) for t in range(prompt.n_tasks)]
        return {"sources": names, "weights": [w[0] for w in weights],
                "spread": [w[1] for w in weights], "logits": [s[0] for s in scores]}


class SharedAttentionalMixture(AttentionalMixture):
    name = "attempt-m"
    order = 35
    summary = "ATTEMPT-m: ATTEMPT with one attention module shared by all tasks"
    shared_attention = True


register(AttentionalMixture())
register(SharedAttentionalMixture())
