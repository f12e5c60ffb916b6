"""The frozen-prefix cache: each input's keys and values, computed once and reused.

With the prompt after the input (``text prompt label``) on a causal model, attention lets
the input tokens see only earlier input tokens, so their keys and values never depend on
the prompt. ``PrefixStore`` keeps them per example (keyed by its token ids, so the train
pool, the dev set, the test set and the analysis subset all find theirs) and hands a batch
a ``Prefix``; only the prompt and label positions are then computed per step, epoch,
evaluation and analysis mask (docs/causal.md#the-frozen-prefix-cache).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

# (B, S, d) right-padded input embeddings and their (B, S) mask -> per example a tensor
# (layers, 2, heads, length, head_dim) of its keys and values
StateFn = Callable[[torch.Tensor, torch.Tensor], list[torch.Tensor]]


@dataclass
class Prefix:
    """A batch's cached inputs, left-padded to one width ``S``.

    ``states`` (B, layers, 2, heads, S, head_dim); ``lengths`` (B,) real input tokens.
    Left padding keeps the distance between a cached key and a later query equal to the
    distance of their positions, which sliding-window attention masks by.
    """

    states: torch.Tensor
    lengths: torch.Tensor

    @property
    def width(self) -> int:
        return self.states.shape[4]

    def mask(self) -> torch.Tensor:
        """(B, S) attention mask of the cached positions (padding first)."""
        columns = torch.arange(self.width, device=self.lengths.device)
        return (columns[None] >= (self.width - self.lengths)[:, None]).long()

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer the (B, heads, S, head_dim) keys and values."""
        return [(self.states[:, i, 0], self.states[:, i, 1]) for i in range(self.states.shape[1])]

    def repeat_interleave(self, n: int) -> Prefix:
        """Each row ``n`` times in a row (one copy per candidate label)."""
        return Prefix(self.states.repeat_interleave(n, 0), self.lengths.repeat_interleave(n, 0))


class PrefixStore:
    """Per-example frozen keys/values within a memory budget.

    Examples that do not fit the budget are computed with their batch and not kept: the
    result is the same, only the saving is lost (a log line says so once).
    """

    def __init__(self, compute: StateFn, budget_mb: float) -> None:
        self.compute = compute
        self.budget = int(budget_mb * 2**20)
        self.used = 0
        self.kept: dict[tuple[int, ...], torch.Tensor] = {}
        self.computed = 0  # examples whose states were computed (a cache miss each)
        self._warned = False

    def __len__(self) -> int:
        return len(self.kept)

    @torch.no_grad()
    def batch(self, input_ids: torch.Tensor, lengths: torch.Tensor,
              embeds: torch.Tensor) -> Prefix:
        """The ``Prefix`` of a right-padded batch (``embeds``: its input embeddings)."""
        keys = [tuple(row[:n]) for row, n in zip(input_ids.tolist(), lengths.tolist())]
        found: dict[int, torch.Tensor] = {i: self.kept[k] for i, k in enumerate(keys)
                                          if k in self.kept}
        missing = [i for i in range(len(keys)) if i not in found]
        if missing:
            rows = torch.tensor(missing, device=embeds.device)
            width = int(lengths[rows].max())
            sub_mask = (torch.arange(width, device=embeds.device)[None]
                        < lengths[rows][:, None]).long()
            for i, states in zip(missing, self.compute(embeds[rows, :width], sub_mask)):
                found[i] = states
                self._keep(keys[i], states)
        return _stack([found[i] for i in range(len(keys))], lengths)

    def _keep(self, key: tuple[int, ...], states: torch.Tensor) -> None:
        self.computed += 1
        size = states.numel() * states.element_size()
        if self.used + size <= self.budget:
            self.kept[key] = states
            self.used += size
        elif not self._warned:
            self._warned = True
            log.warning("the prefix cache is full (%d examples, prefix_cache_mb=%d): further "
                        "inputs are recomputed in each batch; raise prefix_cache_mb to keep "
                        "them", len(self.kept), self.budget // 2**20)


def _stack(states: list[torch.Tensor], lengths: torch.Tensor) -> Prefix:
    width = max(s.shape[3] for s in states)
    padded = [torch.nn.functional.pad(s, (0, 0, width - s.shape[3], 0)) for s in states]
    return Prefix(torch.stack(padded), lengths)
