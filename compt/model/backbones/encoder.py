"""Sentence-encoder backbone (MiniLM, BERT-style): scaled cosine to the label embeddings."""

from __future__ import annotations

import torch
from torch import nn

from compt.model.backbones.base import Backbone, register


@register
class EncoderBackbone(Backbone):
    """Mean-pooled prompted input vs. each label word's pooled embedding (no generation)."""

    kind = "encoder"
    auto_class = "AutoModel"

    @property
    def logit_scale(self) -> float:
        return self.options.logit_scale

    def pool(self, embeds: torch.Tensor, mask: torch.Tensor,
             pool_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, d) inputs -> (B, d) mean of the last hidden states over real positions,
        or over ``pool_mask``'s rows only (``pool_prompt=false``: the input tokens)."""
        hidden = self.model(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        weights = (mask if pool_mask is None else pool_mask)[..., None].to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)

    @torch.no_grad()
    def set_labels(self, label_words: list[list[str]]) -> None:
        """Embed every verbalizer once with the frozen model (no prompt)."""
        n_cand = max(len(words) for words in label_words)
        dim = self.hidden_size
        bank = torch.zeros(len(label_words), n_cand, dim)
        valid = torch.zeros(len(label_words), n_cand, dtype=torch.bool)
        device = self.embedding_matrix.device
        for t, words in enumerate(label_words):
            enc = self.tokenizer(list(words), padding=True, return_tensors="pt").to(device)
            pooled = self.pool(self.embed(enc["input_ids"]), enc["attention_mask"])
            bank[t, : len(words)] = nn.functional.normalize(pooled.float(), dim=-1).cpu()
            valid[t, : len(words)] = True
        self.register_buffer("label_bank", bank.to(device), persistent=False)
        self.register_buffer("label_valid", valid.to(device), persistent=False)

    def scores(self, embeds, mask, label_tasks, pool_mask=None) -> torch.Tensor:
        pooled = nn.functional.normalize(self.pool(embeds, mask, pool_mask).float(), dim=-1)
        sims = torch.einsum("bd,bcd->bc", pooled, self.label_bank[label_tasks])
        return (self.logit_scale * sims).masked_fill(~self.label_valid[label_tasks], float("-inf"))

    def loss(self, embeds, mask, label_tasks, labels, pool_mask=None) -> torch.Tensor:
        return nn.functional.cross_entropy(self.scores(embeds, mask, label_tasks, pool_mask),
                                           labels)
