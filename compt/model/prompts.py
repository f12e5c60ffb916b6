"""Source and private prompts, their MLP encoders, the router and the compositions (SPEC §1).

All prompts of one kind are stacked in one tensor and encoded with batched matrix products,
so a training step costs a handful of kernels whatever the number of tasks or sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import RelaxedBernoulli

METHODS_WITH_SOURCES = ("ssum", "msum", "mcat")


class StackedMLP(nn.Module):
    """K independent ``Linear(d, h) -> GELU -> Linear(h, d)`` encoders, one per prompt."""

    def __init__(self, count: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(count, dim, hidden))
        self.b1 = nn.Parameter(torch.zeros(count, 1, hidden))
        self.w2 = nn.Parameter(torch.empty(count, hidden, dim))
        self.b2 = nn.Parameter(torch.zeros(count, 1, dim))
        # the same scale nn.Linear uses, per encoder
        nn.init.uniform_(self.w1, -dim**-0.5, dim**-0.5)
        nn.init.uniform_(self.w2, -hidden**-0.5, hidden**-0.5)

    def forward(self, prompts: torch.Tensor) -> torch.Tensor:
        """``prompts``: (K, L, d) -> (K, L, d), each prompt through its own MLP."""
        hidden = nn.functional.gelu(torch.baddbmm(self.b1, prompts, self.w1))
        return torch.baddbmm(self.b2, hidden, self.w2)


class PromptBank(nn.Module):
    """K raw prompts of length L and (optionally) their encoders; ``forward`` encodes all."""

    def __init__(self, init: torch.Tensor, encoder: str, hidden: int | None) -> None:
        super().__init__()
        self.raw = nn.Parameter(init.clone())
        count, _, dim = init.shape
        self.encoder = StackedMLP(count, dim, hidden or dim) if encoder == "mlp" else None

    def forward(self) -> torch.Tensor:
        return self.raw if self.encoder is None else self.encoder(self.raw)


@dataclass(frozen=True)
class PromptMask:
    """Which prompts take part, for the per-prompt analysis (SPEC §6).

    ``sources``: indices of kept sources (None = all). ``private``: keep the private prompt.
    """

    sources: tuple[int, ...] | None = None
    private: bool = True


FULL = PromptMask()


class Router(nn.Module):
    """Per-task logits over sources; relaxed-Bernoulli samples in training, softmax otherwise."""

    def __init__(self, n_tasks: int, n_sources: int, learned: bool) -> None:
        super().__init__()
        self.learned = learned
        self.logits = nn.Parameter(torch.zeros(n_tasks, n_sources), requires_grad=learned)

    def weights(
        self, task_ids: torch.Tensor, temperature: float | None, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, M) mixing weights. ``temperature`` None means inference (no sampling).

        ``keep`` (a bool mask over sources) drops sources and renormalises over the rest.
        """
        logits = self.logits[task_ids]
        if not self.learned:
            logits = torch.zeros_like(logits)
        elif temperature is not None:
            t = torch.tensor(temperature, dtype=logits.dtype, device=logits.device)
            logits = RelaxedBernoulli(t, logits=logits).rsample()
        if keep is not None:
            logits = logits.masked_fill(~keep, float("-inf"))
        return torch.softmax(logits, dim=-1)


class ComposedPrompt(nn.Module):
    """The target prompt of every task: private prompts composed with shared sources."""

    def __init__(
        self,
        method: str,
        n_tasks: int,
        n_sources: int,
        private_init: torch.Tensor,
        source_init: torch.Tensor | None,
        encoder: str = "mlp",
        encoder_hidden: int | None = None,
        router: str = "learned",
        private_encoder: bool = True,
    ) -> None:
        super().__init__()
        self.method = method
        self.n_sources = n_sources if method in METHODS_WITH_SOURCES else 0
        self.private = PromptBank(private_init, encoder if private_encoder else "none",
                                  encoder_hidden)
        # msum/mcat multiply two prompts; ``match_product_norm`` may rescale the product.
        # Not saved: it is recomputed from the (seeded) initial prompts on every load.
        self.register_buffer("product_scale", torch.ones(()), persistent=False)
        if self.n_sources:
            assert source_init is not None
            self.sources = PromptBank(source_init, encoder, encoder_hidden)
            self.router = Router(n_tasks, self.n_sources, learned=router == "learned")

    @property
    def length(self) -> int:
        return self.private.raw.shape[1]

    def forward(
        self, task_ids: torch.Tensor, temperature: float | None = None, mask: PromptMask = FULL
    ) -> torch.Tensor:
        """(B, P, d) target prompts for the batch's tasks (SPEC Eq. 5)."""
        private = self.private()[task_ids]
        if not self.n_sources:
            return private
        sources = self.sources()  # (M, L, d)
        keep = None
        if mask.sources is not None:
            keep = torch.zeros(self.n_sources, dtype=torch.bool, device=sources.device)
            keep[list(mask.sources)] = True
        if self.method == "mcat":
            return self._mcat(private, sources, task_ids, temperature, keep)
        weights = self.router.weights(task_ids, temperature, keep)
        if keep is not None and not keep.any():
            mixed = torch.zeros_like(private)
        else:
            mixed = torch.einsum("bm,mld->bld", weights, sources)
        if self.method == "ssum":
            return mixed + private if mask.private else mixed
        # msum: the private prompt is a factor, never dropped
        return self.product_scale * private * mixed

    def _mcat(self, private, sources, task_ids, temperature, keep) -> torch.Tensor:
        """``P_u * concat_s(w_s P_s)``; a masked source's slots are removed, no renormalising."""
        weights = self.router.weights(task_ids, temperature)  # (B, M)
        length = sources.shape[1]
        scaled = weights[:, :, None, None] * sources[None]  # (B, M, L, d)
        target = self.product_scale * private * scaled.flatten(1, 2)  # (B, M*L, d)
        if keep is None:
            return target
        slots = keep.repeat_interleave(length)
        return target[:, slots]

    @torch.no_grad()
    def match_product_norm(self) -> float:
        """``product_norm=matched``: scale msum/mcat's product so that, at initialisation,
        its mean row norm equals the private prompt's (docs/method.md, deviations)."""
        if self.method not in ("msum", "mcat") or not self.n_sources:
            return 1.0
        tasks = torch.arange(self.private.raw.shape[0], device=self.product_scale.device)
        self.product_scale.fill_(1.0)
        target = self.forward(tasks).norm(dim=-1).mean()
        private = self.private().norm(dim=-1).mean()
        self.product_scale.fill_(float(private / target.clamp(min=1e-12)))
        return float(self.product_scale)

    def router_table(self) -> dict[str, list[list[float]]] | None:
        """Learned logits and inference weights, for results.json and the heatmaps."""
        if not self.n_sources:
            return None
        with torch.no_grad():
            logits = self.router.logits.detach().float()
            if not self.router.learned:
                logits = torch.zeros_like(logits)
            weights = torch.softmax(logits, dim=-1)
        return {"logits": logits.tolist(), "weights": weights.tolist()}
