"""Decoder-only backbone (GPT-2, Llama, Gemma, ...): the label follows the prompted input.

A row is ``[input, prompt, label tokens]`` (or ``[prompt, input, label]`` with placement
"before"), right-padded. Logits are computed only where label tokens are predicted: the
hidden states there are gathered first, then projected by the LM head, so a 262k-entry
vocabulary costs a few rows of projection instead of one per position.

Given a ``Prefix`` (compt.model.prefix), the input's keys and values come from the cache and
``embeds`` / ``mask`` hold only what follows the input (the prompt): the same numbers for
the price of the prompt and label positions.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import DynamicCache

from compt.model.backbones.base import IGNORE, Backbone, register
from compt.model.backbones.seq2seq import label_bank
from compt.model.prefix import Prefix


def append_tokens(embeds: torch.Tensor, mask: torch.Tensor, tokens: torch.Tensor,
                  token_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Write (B, T, d) ``tokens`` right after each row's last real position.

    ``embeds`` (B, L, d) and ``mask`` (B, L) are right-padded; ``token_mask`` (B, T) marks
    the real tokens. Returns the (B, L + T, d) inputs and their (B, L + T) mask.
    """
    batch, _, dim = embeds.shape
    width = tokens.shape[1]
    padded = torch.cat([embeds, embeds.new_zeros(batch, width, dim)], dim=1)
    slots = mask.sum(1)[:, None] + torch.arange(width, device=embeds.device)
    out = padded.scatter(1, slots[..., None].expand(-1, -1, dim), tokens.to(embeds.dtype))
    grown = torch.cat([mask, mask.new_zeros(batch, width)], dim=1)
    return out, grown.scatter(1, slots, token_mask.to(mask.dtype))


def left_align(embeds: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded rows -> left-padded rows (what generation expects)."""
    length = embeds.shape[1]
    shift = length - mask.sum(1)
    index = (torch.arange(length, device=embeds.device)[None] - shift[:, None]) % length
    moved = embeds.gather(1, index[..., None].expand(-1, -1, embeds.shape[2]))
    return moved, (torch.arange(length, device=mask.device)[None] >= shift[:, None]).long()


@register
class CausalBackbone(Backbone):
    """``AutoModelForCausalLM``: teacher-forced label tokens after the prompted input."""

    kind = "causal"
    auto_class = "AutoModelForCausalLM"
    can_generate = True
    label_losses = ("tokens", "verbalizer")

    def tokenize(self, texts: list[str], max_length: int) -> list[list[int]]:
        """As the base, without a trailing end-of-sequence token: the prompt and the label
        come after the input, and a model does not continue text after its end."""
        eos = self.tokenizer.eos_token_id
        return [ids[:-1] if ids and ids[-1] == eos else ids
                for ids in super().tokenize(texts, max_length)]

    @property
    def pad_id(self) -> int:
        tok = self.tokenizer
        for candidate in (tok.pad_token_id, tok.eos_token_id):
            if candidate is not None:
                return candidate
        return 0

    def set_labels(self, label_words: list[list[str]]) -> None:
        """Label words as they follow text: a leading space, no special tokens."""
        bank, valid = label_bank(self.tokenizer, label_words, prefix=" ",
                                 add_special_tokens=False)
        self.register_buffer("label_bank", bank, persistent=False)
        self.register_buffer("label_valid", valid, persistent=False)

    # -- the forward pass, restricted to the positions that are scored --------------------

    def _hidden(self, embeds: torch.Tensor, mask: torch.Tensor,
                prefix: Prefix | None = None) -> torch.Tensor:
        """(B, L, d) last hidden states of the backbone body (no LM head); with a prefix,
        of the L positions that follow each row's cached input."""
        if prefix is None:
            return self.model.base_model(inputs_embeds=embeds,
                                         attention_mask=mask).last_hidden_state
        positions = prefix.lengths[:, None] + torch.arange(embeds.shape[1], device=mask.device)
        return self.model.base_model(
            inputs_embeds=embeds, attention_mask=torch.cat([prefix.mask(), mask], 1),
            position_ids=positions, cache=DynamicCache(prefix.layers()), use_cache=True,
        ).last_hidden_state

    @torch.no_grad()
    def prefix_states(self, embeds: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """Per row of a right-padded input batch, its (layers, 2, heads, length, head_dim)
        keys and values: what ``PrefixStore`` keeps. A cache without the config keeps every
        position of sliding-window layers too."""
        cache = DynamicCache()
        self.model.base_model(inputs_embeds=embeds, attention_mask=mask, cache=cache,
                              use_cache=True)
        states = torch.stack([torch.stack([layer.keys, layer.values]) for layer in cache.layers])
        return [row[..., :n, :].clone(memory_format=torch.contiguous_format)
                for row, n in zip(states.transpose(0, 2).transpose(1, 2), mask.sum(1).tolist())]

    def _logits(self, hidden: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """LM-head logits of (..., d) hidden states, over the vocabulary or only ``rows``."""
        head = self.model.get_output_embeddings()
        if rows is None:
            logits = head(hidden)
        else:  # hidden (B, d), rows (B, C): a C-way softmax's logits
            logits = torch.einsum("bd,bcd->bc", hidden, head.weight[rows])
            if head.bias is not None:
                logits = logits + head.bias[rows]
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        return torch.tanh(logits / cap) * cap if cap else logits

    def _label_logprobs(self, embeds, mask, targets: torch.Tensor,
                        prefix: Prefix | None = None) -> torch.Tensor:
        """(B, T) log-probability of each target token (0 where IGNORE) after the input."""
        keep = targets != IGNORE
        # the last label token is only predicted, never read: the input stops before it
        given = targets[:, :-1]
        seq, seq_mask = append_tokens(embeds, mask, self.embed(given.clamp(min=0)), keep[:, :-1])
        hidden = self._hidden(seq, seq_mask, prefix)
        # label token j is predicted at position (input length + j - 1)
        where = mask.sum(1)[:, None] - 1 + torch.arange(targets.shape[1], device=mask.device)
        picked = hidden.gather(1, where[..., None].expand(-1, -1, hidden.shape[2]))
        logp = torch.log_softmax(self._logits(picked).float(), dim=-1)
        return logp.gather(-1, targets.clamp(min=0)[..., None]).squeeze(-1) * keep

    def _last_hidden(self, embeds, mask, prefix: Prefix | None = None) -> torch.Tensor:
        """(B, d) hidden state at each row's last real position."""
        hidden = self._hidden(embeds, mask, prefix)
        last = (mask.sum(1) - 1)[:, None, None].expand(-1, 1, hidden.shape[2])
        return hidden.gather(1, last).squeeze(1)

    def loss(self, embeds, mask, label_tasks, labels, prefix: Prefix | None = None
             ) -> torch.Tensor:
        if self.options.label_loss == "verbalizer":  # LM-BFF / PET: softmax over candidates
            first = self.label_bank[label_tasks, :, 0].clamp(min=0)
            logits = self._logits(self._last_hidden(embeds, mask, prefix), first).float()
            logits = logits.masked_fill(~self.label_valid[label_tasks], float("-inf"))
            return nn.functional.cross_entropy(logits, labels)
        targets = self.label_bank[label_tasks, labels]
        logp = self._label_logprobs(embeds, mask, targets, prefix)
        return -logp.sum() / (targets != IGNORE).sum().clamp(min=1)

    def scores(self, embeds, mask, label_tasks, prefix: Prefix | None = None) -> torch.Tensor:
        """Summed (or, with length_norm, mean) log-probability of each candidate's tokens."""
        bank = self.label_bank[label_tasks]  # (B, C, T)
        batch, n_cand, width = bank.shape
        if width == 1:  # one token per label: one forward, the next-token distribution
            last = self._last_hidden(embeds, mask, prefix)
            logp = torch.log_softmax(self._logits(last).float(), -1)
            total = logp.gather(1, bank[..., 0].clamp(min=0))
        else:  # every candidate continues its own copy of the row, all in one batch
            copies = prefix.repeat_interleave(n_cand) if prefix is not None else None
            flat = self._label_logprobs(embeds.repeat_interleave(n_cand, 0),
                                        mask.repeat_interleave(n_cand, 0),
                                        bank.reshape(batch * n_cand, width), copies)
            total = flat.sum(-1).view(batch, n_cand)
            if self.options.length_norm:
                total = total / (bank != IGNORE).sum(-1).clamp(min=1)
        return total.masked_fill(~self.label_valid[label_tasks], float("-inf"))

    def generate(self, embeds, mask, max_new_tokens: int = 50,
                 repetition_penalty: float = 1.0, prefix: Prefix | None = None) -> list[str]:
        """Greedy continuation from ``inputs_embeds`` (rows left-aligned for generation)."""
        if prefix is not None:
            return self._greedy(embeds, mask, prefix, max_new_tokens, repetition_penalty)
        left, left_mask = left_align(embeds, mask)
        out = self.model.generate(
            inputs_embeds=left, attention_mask=left_mask, max_new_tokens=max_new_tokens,
            repetition_penalty=repetition_penalty, do_sample=False, num_beams=1,
            pad_token_id=self.pad_id,
        )
        return self.tokenizer.batch_decode(out, skip_special_tokens=True)

    def _greedy(self, embeds, mask, prefix: Prefix, max_new_tokens: int,
                repetition_penalty: float) -> list[str]:
        """``generate``'s greedy decoding after a cached input. The rows that follow the
        input (the prompt) are all real, so each row's next token comes from its last
        column; the penalty divides (or, if negative, multiplies) the logits of the tokens
        generated so far, finished rows continue with padding, as in ``model.generate``."""
        cache = DynamicCache(prefix.layers())
        attn = torch.cat([prefix.mask(), mask], 1)
        positions = prefix.lengths[:, None] + torch.arange(embeds.shape[1], device=mask.device)
        eos = torch.tensor(_ids(self.model.generation_config.eos_token_id), device=mask.device)
        done = torch.zeros(len(embeds), dtype=torch.bool, device=mask.device)
        tokens: list[torch.Tensor] = []
        step = embeds
        for _ in range(max_new_tokens):
            hidden = self.model.base_model(inputs_embeds=step, attention_mask=attn,
                                           position_ids=positions, cache=cache,
                                           use_cache=True).last_hidden_state
            logits = self._logits(hidden[:, -1]).float()
            if tokens and repetition_penalty != 1.0:
                seen = torch.stack(tokens, 1)
                old = logits.gather(1, seen)
                penalised = torch.where(old < 0, old * repetition_penalty,
                                        old / repetition_penalty)
                logits = logits.scatter(1, seen, penalised)
            token = logits.argmax(-1).masked_fill(done, self.pad_id)
            tokens.append(token)
            done = done | torch.isin(token, eos)
            if bool(done.all()):
                break
            step = self.embed(token[:, None])
            attn = torch.cat([attn, attn.new_ones(len(attn), 1)], 1)
            positions = positions[:, -1:] + 1
        return self.tokenizer.batch_decode(torch.stack(tokens, 1), skip_special_tokens=True)


def _ids(value: int | list[int] | None) -> list[int]:
    """A generation config's end-of-sequence id(s) as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)
