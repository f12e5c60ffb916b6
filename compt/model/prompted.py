"""The trainable ComPT model: a frozen backbone plus the composed prompts.

Only ``self.prompt`` (prompts, encoders, router) is trainable; checkpoints hold just that.
"""

from __future__ import annotations

import torch
from torch import nn

from compt.config import RunConfig
from compt.data import Batch
from compt.errors import ComptError
from compt.methods import get_method
from compt.model.backbones import Backbone
from compt.model.prefix import PrefixStore
from compt.model.prompts import FULL, ComposedPrompt, PromptMask
from compt.model.splice import input_rows, splice_prompt

# Everyday words whose embeddings seed the private prompts ("vocab" init): real token rows,
# a different draw for each task so private prompts do not start identical.
COMMON_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so what out up into do no time only can more other could new some these two may first "
    "then than like also any good after most where well over such our even because made "
    "many must way said how each word about just people those very through back still "
    "world great make both little long life year day work place right thing true part"
).split()


def vocab_token_ids(backbone: Backbone) -> list[int]:
    """The first real token of each common word, deduplicated, in a fixed order."""
    special = set(backbone.tokenizer.all_special_ids)
    ids: list[int] = []
    for word in COMMON_WORDS:
        toks = [t for t in backbone.tokenizer(word, add_special_tokens=False)["input_ids"]
                if t not in special]
        if toks and toks[0] not in ids:
            ids.append(toks[0])
    return ids


def private_init(backbone: Backbone, cfg: RunConfig, n_tasks: int, length: int,
                 stream: int = 0) -> torch.Tensor:
    """(tasks, length, d) initial private prompts, per ``cfg.private_init``.

    ``stream``: another seeded draw, for prompts that must not start where prompts drawn
    with the default stream start (ATTEMPT's new prompts vs its source prompts).
    docs/method.md#model.
    """
    vocab, dim = backbone.embedding_matrix.shape
    gen = torch.Generator().manual_seed(cfg.seed + 1000 * stream)

    def rows(ids: torch.Tensor) -> torch.Tensor:
        # through the embedding layer, not the raw matrix: some models scale it (Gemma)
        with torch.no_grad():
            return backbone.embed(ids.to(backbone.embedding_matrix.device)).float().cpu()

    if cfg.private_init == "uniform":
        return torch.rand(n_tasks, length, dim, generator=gen) - 0.5
    if cfg.private_init == "first_ids":  # the released code: ids 0..L-1 for every task
        return rows(torch.arange(length) % vocab).expand(n_tasks, -1, -1).clone()
    pool = torch.tensor(vocab_token_ids(backbone))
    picks = torch.stack([pool[torch.randint(len(pool), (length,), generator=gen)]
                         for _ in range(n_tasks)])
    return rows(picks)


def source_init(backbone: Backbone, cfg: RunConfig, n_sources: int, length: int) -> torch.Tensor:
    """(sources, length, d) initial source prompts, per ``cfg.source_init``.

    ``uniform``: U(-0.5, 0.5) (the paper's code); ``embedding``: the same draw with each
    row rescaled to the mean norm of the backbone's token embeddings; ``zero``: zeros.
    """
    dim = backbone.hidden_size
    if cfg.source_init == "zero":
        return torch.zeros(n_sources, length, dim)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    init = torch.rand(n_sources, length, dim, generator=gen) - 0.5
    if cfg.source_init == "embedding":
        target = backbone.embedding_matrix.detach().float().norm(dim=-1).mean().cpu()
        init = init / init.norm(dim=-1, keepdim=True) * target
    return init


class PromptedModel(nn.Module):
    """Backbone + ComposedPrompt: builds prompted inputs, losses and label scores."""

    def __init__(self, backbone: Backbone, cfg: RunConfig, n_tasks: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.placement = cfg.placement
        method = get_method(cfg.method)
        length = cfg.effective_prompt_len
        n_sources = method.n_sources(cfg.n_sources, n_tasks)
        private_len = method.private_len(length, n_sources)
        sources = source_init(backbone, cfg, n_sources, length) if n_sources else None
        vocab_sources = bool(n_sources) and method.source_init == "vocab"
        if vocab_sources:
            sources = private_init(backbone, cfg, n_sources, length)
        # vocabulary-drawn sources took the default draw: the private prompts take another,
        # so task i's private prompt does not start as a copy of source i (ATTEMPT)
        privates = private_init(backbone, cfg, n_tasks, private_len,
                                stream=int(vocab_sources))[:method.private_count(n_tasks)]
        self.prompt = ComposedPrompt(method, n_tasks, n_sources, privates, sources,
                                     cfg.prompt_encoder, cfg.encoder_hidden, cfg.router,
                                     private_encoder=cfg.private_encoder)
        if cfg.product_norm == "matched":
            self.prompt.match_product_norm()
        self.prefix_store = (PrefixStore(backbone.prefix_states, cfg.prefix_cache_mb)
                             if cfg.prefix_cache and cfg.placement == "after"
                             and hasattr(backbone, "prefix_states") else None)
        self.pool_prompt = cfg.pool_prompt
        if not self.pool_prompt and backbone.kind != "encoder":
            raise ComptError(
                f"pool_prompt=false leaves the prompt rows out of the mean pooling of a "
                f"sentence encoder; the {backbone.kind} backbone does not pool. Remove the key."
            )

    def _prompt(self, batch: Batch, temperature: float | None, mask: PromptMask
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The (B, S, d) input embeddings and the (B, P, d) composed prompt."""
        embeds = self.backbone.embed(batch.input_ids)
        prompt = self.prompt(batch.task_ids, temperature, mask, (embeds, batch.lengths))
        return embeds, prompt.to(embeds.dtype)

    def prompted_inputs(
        self, batch: Batch, temperature: float | None = None, mask: PromptMask = FULL
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The spliced (B, S + P, d) sequence and its attention mask."""
        embeds, prompt = self._prompt(batch, temperature, mask)
        return splice_prompt(embeds, batch.lengths, prompt, self.placement)

    def backbone_inputs(self, batch: Batch, temperature: float | None = None,
                        mask: PromptMask = FULL) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """What the backbone's loss / scores / generate take: ``(embeds, mask, options)``.

        With the prefix cache the inputs are the prompt alone and ``options`` carries the
        cached input (``prefix``); otherwise the spliced sequence, plus the pooling mask
        when the prompt is left out of the pooling.
        """
        embeds, prompt = self._prompt(batch, temperature, mask)
        if self.prefix_store is not None:
            prefix = self.prefix_store.batch(batch.input_ids, batch.lengths, embeds)
            ones = torch.ones(prompt.shape[:2], dtype=torch.long, device=prompt.device)
            return prompt, ones, {"prefix": prefix}
        spliced, attn = splice_prompt(embeds, batch.lengths, prompt, self.placement)
        return spliced, attn, self._pooling(batch, attn)

    def _pooling(self, batch: Batch, attn: torch.Tensor) -> dict[str, torch.Tensor]:
        """``pool_prompt=false``: pool the input tokens only (encoder backbones)."""
        if self.pool_prompt:
            return {}
        plen = attn.shape[1] - batch.input_ids.shape[1]
        return {"pool_mask": input_rows(batch.lengths, plen, attn.shape[1], self.placement)}

    def loss(self, batch: Batch, temperature: float | None) -> torch.Tensor:
        embeds, attn, options = self.backbone_inputs(batch, temperature)
        return self.backbone.loss(embeds, attn, batch.label_tasks, batch.labels, **options)

    @torch.no_grad()
    def scores(self, batch: Batch, mask: PromptMask = FULL) -> torch.Tensor:
        embeds, attn, options = self.backbone_inputs(batch, None, mask)
        return self.backbone.scores(embeds, attn, batch.label_tasks, **options)

    @torch.no_grad()
    def generate(self, batch: Batch, mask: PromptMask = FULL, **options) -> list[str]:
        """Greedy outputs; ``options`` (max_new_tokens, repetition_penalty) go to the backbone."""
        embeds, attn, extra = self.backbone_inputs(batch, None, mask)
        return self.backbone.generate(embeds, attn, **options, **extra)

    def param_groups(self, lrs: dict[str, float], weight_decay: float) -> list[dict]:
        """The method's groups (docs/method.md#training): router, sources, private (+ encoders)."""
        groups = self.prompt.method.param_groups(self.prompt)
        return [
            {"name": name, "params": list(params), "lr": lrs[name], "initial_lr": lrs[name],
             "weight_decay": weight_decay}
            for name, params in groups
        ]

    def trainable_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().contiguous() for k, v in self.prompt.state_dict().items()}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load saved prompts, encoders and router; ComptError if they are another shape
        (a checkpoint of a run with other tasks, sources, method or prompt length)."""
        try:
            self.prompt.load_state_dict(state)
        except RuntimeError as exc:  # torch lists every mismatch; the first one says enough
            details = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
            raise ComptError(
                "The checkpoint does not fit this run's model: it was written by a run with "
                "other tasks, sources, method or prompt length"
                + (f" ({details[0].rstrip('.')})" if details else "") + ".") from None
