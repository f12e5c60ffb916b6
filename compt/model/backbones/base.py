"""The backbone interface: what the prompt model needs from a frozen language model.

A backbone embeds token ids and, given spliced ``inputs_embeds``, computes a training loss,
one score per candidate label and (if it can) generated text. Each kind is one class in
``BACKBONES``; ``compt.model.loading`` picks the kind from the model's own config.
The backbone's weights never receive gradients.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from compt.errors import ComptError
from compt.model.kinds import KINDS

IGNORE = -100


@dataclass(frozen=True)
class BackboneOptions:
    """How labels are scored and learned; each kind uses the options that apply to it."""

    logit_scale: float = 20.0  # encoder: scale of the cosine similarities
    length_norm: bool = False  # rank by mean instead of summed label-token log-probs
    label_loss: str = "tokens"  # "tokens": full-vocabulary CE; "verbalizer": over candidates

    @classmethod
    def from_config(cls, cfg) -> BackboneOptions:
        return cls(cfg.logit_scale, cfg.length_norm, cfg.label_loss)


class Backbone(nn.Module, ABC):
    """A frozen model, its tokenizer and the per-task candidate labels.

    Shapes: B batch, L spliced length, d hidden size, C candidates per task. ``mask`` is the
    (B, L) attention mask of right-padded rows (real positions first), ``label_tasks`` (B,)
    picks each row's candidate set, ``labels`` (B,) the gold candidate.
    """

    kind: ClassVar[str]
    auto_class: ClassVar[str]  # the transformers Auto class that loads this kind
    can_generate: ClassVar[bool] = False
    label_losses: ClassVar[tuple[str, ...]] = ("tokens",)

    def __init__(self, model: nn.Module, tokenizer, name: str,
                 options: BackboneOptions | None = None) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.options = options or BackboneOptions()
        self.model.requires_grad_(False)
        self.model.eval()

    def train(self, mode: bool = True) -> Backbone:
        # Frozen means frozen: no dropout either, so CPU training is deterministic.
        super().train(False)
        return self

    @property
    def hidden_size(self) -> int:
        return self.embedding_matrix.shape[1]

    @property
    def embedding_matrix(self) -> torch.Tensor:
        return self.model.get_input_embeddings().weight

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, S) token ids -> (B, S, d) input embeddings."""
        return self.model.get_input_embeddings()(input_ids)

    def tokenize(self, texts: list[str], max_length: int) -> list[list[int]]:
        """Token ids per text, truncated to ``max_length`` (special tokens included)."""
        encoded = self.tokenizer(texts, truncation=True, max_length=max_length)
        return encoded["input_ids"]

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id or 0

    @abstractmethod
    def set_labels(self, label_words: list[list[str]]) -> None:
        """Prepare every task's candidate label words (task t, candidate c)."""

    @abstractmethod
    def loss(self, embeds: torch.Tensor, mask: torch.Tensor, label_tasks: torch.Tensor,
             labels: torch.Tensor) -> torch.Tensor:
        """Scalar training loss of (B, L, d) prompted inputs against the gold labels."""

    @abstractmethod
    def scores(self, embeds: torch.Tensor, mask: torch.Tensor,
               label_tasks: torch.Tensor) -> torch.Tensor:
        """(B, C) score per candidate (higher is likelier); -inf where a task has fewer."""

    def generate(self, embeds: torch.Tensor, mask: torch.Tensor, max_new_tokens: int = 50,
                 repetition_penalty: float = 1.0) -> list[str]:
        """Greedy continuation text per row (only kinds with ``can_generate``). Plain greedy
        by default; runs pass their options (the authors': docs/method.md#evaluation)."""
        raise NotImplementedError(f"a {self.kind} backbone does not generate")


BACKBONES: dict[str, type[Backbone]] = {}


def register(cls: type[Backbone]) -> type[Backbone]:
    """Class decorator: make ``cls`` the backbone of its kind."""
    assert cls.kind in KINDS, f"add {cls.kind!r} to compt.model.kinds.BackboneKind"
    BACKBONES[cls.kind] = cls
    return cls


def check_supported(kind: str, decoding: str, label_loss: str) -> None:
    """The one place that says which decoding and loss each kind of model can do."""
    cls = BACKBONES[kind]
    if decoding == "greedy" and not cls.can_generate:
        makers = ", ".join(k for k, c in BACKBONES.items() if c.can_generate)
        raise ComptError(
            f"decoding=greedy needs a model that generates text ({makers}); this model's kind "
            f"is {kind}, which can only rank the labels: use decoding=rank."
        )
    if label_loss not in cls.label_losses:
        raise ComptError(
            f"label_loss={label_loss} is not available for a {kind} model (it has: "
            f"{', '.join(cls.label_losses)})."
        )
