"""Splice a prompt into a batch of input embeddings, before or right after each input.

"after" keeps every sequence contiguous (tokens, then prompt, then padding), so absolute and
relative position schemes both see the prompt exactly after the last real token. It is one
scatter into a zero-padded copy: cheaper in the backward pass than gathering every row.
"""

from __future__ import annotations

import torch


def splice_prompt(
    embeds: torch.Tensor, lengths: torch.Tensor, prompt: torch.Tensor, placement: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(inputs_embeds, attention_mask)`` of shape (B, S + P, d) and (B, S + P).

    ``embeds``: (B, S, d) right-padded token embeddings; ``lengths``: (B,) real lengths;
    ``prompt``: (B, P, d).
    """
    batch, seq, _ = embeds.shape
    plen = prompt.shape[1]
    total = seq + plen
    positions = torch.arange(total, device=embeds.device).expand(batch, total)
    mask = (positions < (lengths + plen)[:, None]).long()
    if placement == "before":
        return torch.cat([prompt, embeds], dim=1), mask
    # tokens stay where they are; the prompt is written at [length, length + P) per row
    padded = torch.cat([embeds, embeds.new_zeros(batch, plen, embeds.shape[2])], dim=1)
    slots = (lengths[:, None] + torch.arange(plen, device=embeds.device))[:, :, None]
    return padded.scatter(1, slots.expand(-1, -1, embeds.shape[2]), prompt), mask


def input_rows(lengths: torch.Tensor, plen: int, total: int, placement: str) -> torch.Tensor:
    """(B, total) mask of the real input tokens only, prompt rows and padding excluded."""
    positions = torch.arange(total, device=lengths.device).expand(len(lengths), total)
    start = plen if placement == "before" else 0
    return ((positions >= start) & (positions < (lengths + start)[:, None])).long()
