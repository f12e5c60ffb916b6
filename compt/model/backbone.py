"""Frozen backbones: seq2seq LMs (the T5 family) and sentence encoders (MiniLM, BERT-style).

Both expose the same small surface to the prompt model: embed token ids, then given spliced
``inputs_embeds`` compute a training loss or one score per candidate label. The backbone's
own weights never receive gradients.
"""

from __future__ import annotations

import torch
from torch import nn

IGNORE = -100


class Backbone(nn.Module):
    """Common parts: a frozen model, its tokenizer, and per-task candidate labels."""

    kind = "base"

    def __init__(self, model: nn.Module, tokenizer, name: str) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
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
        return self.model.get_input_embeddings()(input_ids)

    def tokenize(self, texts: list[str], max_length: int) -> list[list[int]]:
        """Token ids per text, truncated to ``max_length`` (special tokens included)."""
        encoded = self.tokenizer(texts, truncation=True, max_length=max_length)
        return encoded["input_ids"]

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id or 0

    def set_labels(self, label_words: list[list[str]]) -> None:
        raise NotImplementedError

    def loss(self, embeds, mask, label_tasks, labels) -> torch.Tensor:
        raise NotImplementedError

    def scores(self, embeds, mask, label_tasks) -> torch.Tensor:
        raise NotImplementedError


class Seq2SeqBackbone(Backbone):
    """T5-style encoder-decoder: teacher-forced loss on the label text; rank by likelihood."""

    kind = "seq2seq"

    def set_labels(self, label_words: list[list[str]]) -> None:
        """Tokenise every task's verbalizers into a (tasks, max labels, max tokens) bank."""
        ids = [[self.tokenizer(w)["input_ids"] for w in words] for words in label_words]
        n_cand = max(len(words) for words in ids)
        n_tok = max(len(t) for words in ids for t in words)
        bank = torch.full((len(ids), n_cand, n_tok), IGNORE, dtype=torch.long)
        valid = torch.zeros(len(ids), n_cand, dtype=torch.bool)
        for t, words in enumerate(ids):
            for c, toks in enumerate(words):
                bank[t, c, : len(toks)] = torch.tensor(toks)
                valid[t, c] = True
        self.register_buffer("label_bank", bank, persistent=False)
        self.register_buffer("label_valid", valid, persistent=False)

    def loss(self, embeds, mask, label_tasks, labels) -> torch.Tensor:
        targets = self.label_bank[label_tasks, labels].contiguous()
        out = self.model(inputs_embeds=embeds, attention_mask=mask, labels=targets)
        return out.loss

    def scores(self, embeds, mask, label_tasks) -> torch.Tensor:
        """Sum of log-probabilities of each candidate's tokens; -inf where no candidate."""
        encoder_out = self.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask)
        bank = self.label_bank[label_tasks]  # (B, C, T)
        result = torch.full(bank.shape[:2], float("-inf"), device=embeds.device)
        for c in range(bank.shape[1]):
            targets = bank[:, c].contiguous()
            decoder_ids = self.model.prepare_decoder_input_ids_from_labels(labels=targets)
            out = self.model(
                encoder_outputs=encoder_out, attention_mask=mask, decoder_input_ids=decoder_ids
            )
            logp = torch.log_softmax(out.logits.float(), dim=-1)
            keep = targets != IGNORE
            picked = logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1)
            total = (picked * keep).sum(-1)
            result[:, c] = torch.where(self.label_valid[label_tasks, c], total, result[:, c])
        return result

    def generate(self, embeds, mask, max_new_tokens: int = 8) -> list[str]:
        out = self.model.generate(
            inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
            do_sample=False, num_beams=1,
        )
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)


class EncoderBackbone(Backbone):
    """Sentence encoder: scaled cosine between the pooled prompted input and label embeddings."""

    kind = "encoder"

    def __init__(self, model, tokenizer, name: str, logit_scale: float = 20.0) -> None:
        super().__init__(model, tokenizer, name)
        self.logit_scale = logit_scale

    def pool(self, embeds: torch.Tensor, mask: torch.Tensor,
             pool_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mean over the attended rows, or over ``pool_mask``'s rows (``pool_prompt=false``)."""
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
