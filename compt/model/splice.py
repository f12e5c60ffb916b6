"""Splice a prompt into a batch of input embeddings, before or right after each input.

"after" keeps every sequence contiguous (tokens, then prompt, then padding), so absolute and
relative position schemes both see the prompt exactly after the last real token.
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
    both = torch.cat([embeds, prompt], dim=1)  # tokens at [0, S), prompt at [S, S + P)
    ends = lengths[:, None]
    in_prompt = (positions >= ends) & (positions < ends + plen)
    after_prompt = positions >= ends + plen
    source = torch.where(in_prompt, seq + positions - ends, positions)
    source = torch.where(after_prompt, positions - plen, source)
    index = source[:, :, None].expand(-1, -1, embeds.shape[2])
    return torch.gather(both, 1, index), mask
