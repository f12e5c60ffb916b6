"""Source and private prompts, their MLP encoders and the router (docs/method.md#model).

How they combine into a task's target prompt is the method's business (compt/methods/).

All prompts of one kind are stacked in one tensor and encoded with batched matrix products,
so a training step costs a handful of kernels whatever the number of tasks or sources.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import RelaxedBernoulli

from compt.methods import Method, get_method
from compt.methods.base import FULL, PromptMask


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
        # index_select, not [task_ids]: see docs/method.md, "Determinism"
        logits = self.logits.index_select(0, task_ids)
        if not self.learned:
            logits = torch.zeros_like(logits)
        elif temperature is not None:
            t = torch.tensor(temperature, dtype=logits.dtype, device=logits.device)
            logits = RelaxedBernoulli(t, logits=logits).rsample()
        if keep is not None:
            logits = logits.masked_fill(~keep, float("-inf"))
        return torch.softmax(logits, dim=-1)


class ComposedPrompt(nn.Module):
    """The target prompt of every task: the trainable tensors, combined by the method.

    ``private`` (one prompt per task, or one shared), ``sources`` and ``router`` when the
    method has them, and ``parts`` for anything else it trains (compt/methods/).
    """

    def __init__(
        self,
        method: str | Method,
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
        self.method = get_method(method) if isinstance(method, str) else method
        self.n_sources = n_sources if self.method.has_sources else 0
        self.stage = 0
        self.n_tasks = n_tasks
        self._observed: dict[str, dict[int, torch.Tensor]] = {}
        self.private = PromptBank(private_init, encoder if private_encoder else "none",
                                  encoder_hidden)
        self.sources: PromptBank | None = None
        self.router: Router | None = None
        # msum/mcat multiply two prompts; ``match_product_norm`` may rescale the product.
        # Not saved: it is recomputed from the (seeded) initial prompts on every load.
        self.register_buffer("product_scale", torch.ones(()), persistent=False)
        if self.n_sources:
            assert source_init is not None
            self.sources = PromptBank(source_init, encoder, encoder_hidden)
            if self.method.has_router:
                self.router = Router(n_tasks, self.n_sources, learned=router == "learned")
        self.parts = nn.ModuleDict(self.method.build_parts(self, n_tasks, private_init.shape[2]))

    @property
    def length(self) -> int:
        """Tokens the composed prompt puts into the input (what ``max_length`` must leave
        room for): the method's target length for the base length L, which the source
        prompts have when there are any (mcat's private prompt is already M x L long)."""
        base = self.sources.raw.shape[1] if self.sources is not None else self.private.raw.shape[1]
        return self.method.target_len(base, self.n_sources)

    def forward(
        self, task_ids: torch.Tensor, temperature: float | None = None, mask: PromptMask = FULL,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """(B, P, d) target prompts for the batch's tasks; ``inputs`` = (embeds, lengths)."""
        target = self.method.compose(self, task_ids, temperature, mask, inputs)
        return target * self.product_scale  # 1 unless product_norm=matched (msum/mcat)

    @torch.no_grad()
    def match_product_norm(self) -> float:
        """``product_norm=matched``: scale msum/mcat's product so that, at initialisation,
        its mean row norm equals the private prompt's (docs/method.md, diagnosis options)."""
        if self.method.name not in ("msum", "mcat") or not self.n_sources:
            return 1.0
        tasks = torch.arange(self.private.raw.shape[0], device=self.product_scale.device)
        self.product_scale.fill_(1.0)
        target = self.forward(tasks).norm(dim=-1).mean()
        private = self.private().norm(dim=-1).mean()
        self.product_scale.fill_(float(private / target.clamp(min=1e-12)))
        return float(self.product_scale)

    def keep_mask(self, mask: PromptMask) -> torch.Tensor | None:
        """``mask.sources`` as a bool tensor over the sources (None: keep all)."""
        if mask.sources is None:
            return None
        keep = torch.zeros(self.n_sources, dtype=torch.bool, device=self.private.raw.device)
        keep[list(mask.sources)] = True
        return keep

    def observe(self, task_ids: torch.Tensor, **values: torch.Tensor) -> None:
        """Accumulate per-instance values (B, n) by task: count, sum and sum of squares."""
        for name, value in values.items():
            sums = self._observed.setdefault(name, {})
            value = value.detach().double().cpu()
            for task in task_ids.unique().tolist():
                rows = value[(task_ids == task).cpu()]
                stats = torch.stack([torch.full_like(rows[0], len(rows)), rows.sum(0),
                                     (rows**2).sum(0)])
                sums[task] = sums[task] + stats if task in sums else stats

    def observed(self) -> dict[str, dict[int, tuple[list[float], list[float]]]]:
        """name -> task -> (mean, standard deviation) of what ``observe`` saw."""
        out: dict[str, dict[int, tuple[list[float], list[float]]]] = {}
        for name, by_task in self._observed.items():
            out[name] = {}
            for task, (count, total, squares) in by_task.items():
                mean = total / count
                std = (squares / count - mean**2).clamp(min=0).sqrt()
                out[name][task] = ([round(x, 6) for x in mean.tolist()],
                                   [round(x, 6) for x in std.tolist()])
        return out

    def reset_observed(self) -> None:
        self._observed.clear()

    def router_table(self) -> dict | None:
        """Mixing weights for results.json and the heatmaps (None if the method has none)."""
        return self.method.router_table(self)
