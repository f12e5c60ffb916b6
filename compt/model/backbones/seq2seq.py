"""T5-style encoder-decoder backbone: teacher-forced loss on the label text, rank by likelihood."""

from __future__ import annotations

import torch

from compt.model.backbones.base import IGNORE, Backbone, register


def label_bank(tokenizer, label_words: list[list[str]], prefix: str = "",
               add_special_tokens: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Every task's label words as token ids: a (tasks, C, T) bank padded with IGNORE and
    a (tasks, C) mask of the candidates that exist."""
    special = set(tokenizer.all_special_ids) if not add_special_tokens else set()
    ids = [[[t for t in tokenizer(prefix + w, add_special_tokens=add_special_tokens)["input_ids"]
             if t not in special] for w in words] for words in label_words]
    n_cand = max(len(words) for words in ids)
    n_tok = max(len(t) for words in ids for t in words)
    bank = torch.full((len(ids), n_cand, n_tok), IGNORE, dtype=torch.long)
    valid = torch.zeros(len(ids), n_cand, dtype=torch.bool)
    for t, words in enumerate(ids):
        for c, toks in enumerate(words):
            bank[t, c, : len(toks)] = torch.tensor(toks)
            valid[t, c] = True
    return bank, valid


@register
class Seq2SeqBackbone(Backbone):
    """Encoder-decoder (T5 family): the decoder reads the label after the prompted input."""

    kind = "seq2seq"
    auto_class = "AutoModelForSeq2SeqLM"
    can_generate = True

    def set_labels(self, label_words: list[list[str]]) -> None:
        bank, valid = label_bank(self.tokenizer, label_words)
        self.register_buffer("label_bank", bank, persistent=False)
        self.register_buffer("label_valid", valid, persistent=False)

    def loss(self, embeds, mask, label_tasks, labels) -> torch.Tensor:
        targets = self.label_bank[label_tasks, labels].contiguous()
        out = self.model(inputs_embeds=embeds, attention_mask=mask, labels=targets)
        return out.loss

    def scores(self, embeds, mask, label_tasks) -> torch.Tensor:
        """Sum (or mean) of log-probabilities of each candidate's tokens."""
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
            if self.options.length_norm:
                total = total / keep.sum(-1).clamp(min=1)
            result[:, c] = torch.where(self.label_valid[label_tasks, c], total, result[:, c])
        return result

    def generate(self, embeds, mask, max_new_tokens: int = 50,
                 repetition_penalty: float = 1.0) -> list[str]:
        out = self.model.generate(
            inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
            repetition_penalty=repetition_penalty, do_sample=False, num_beams=1,
        )
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)
