"""ATTEMPT against the official code (AkariAsai/ATTEMPT, ``T5Stack.forward`` with
``attn_method = "sub"``): the same attention, the deviations that remain written down."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from compt.model.prompts import ComposedPrompt

DOCS = Path(__file__).resolve().parents[1] / "docs"


def official_prompt(model: ComposedPrompt, task: int, embeds: torch.Tensor) -> torch.Tensor:
    """The official computation for one unpadded input, written with the official modules:
    ``nn.Linear(d, 100, bias=False)``, SiLU, ``nn.Linear(100, d, bias=False)``,
    ``nn.LayerNorm(d)``, scores / temperature, softmax, then the new prompt added."""
    parts = model.parts["attention"]
    dim, rank = parts["down"].shape[1:]
    down, up, norm = nn.Linear(dim, rank, bias=False), nn.Linear(rank, dim, bias=False), \
        nn.LayerNorm(dim)
    with torch.no_grad():
        down.weight.copy_(parts["down"][task].T)
        up.weight.copy_(parts["up"][task].T)
        norm.weight.copy_(parts["norm_weight"][task])
        norm.bias.copy_(parts["norm_bias"][task])
        target = model.private.raw[task]
        prompts = torch.cat([model.sources.raw, target[None]])  # (M + 1, L, d)
        x = norm(up(F.silu(down(embeds.max(0).values))))
        scores = prompts.max(1).values @ x / (dim * math.e)
        return torch.einsum("p,pld->ld", torch.softmax(scores, -1), prompts) + target


def test_the_attention_is_the_official_one_without_projection_biases():
    torch.manual_seed(3)
    model = ComposedPrompt("attempt", 2, 3, torch.randn(2, 4, 8), torch.randn(3, 4, 8),
                           encoder="none")
    model.method.enter_stage(model, 1, fresh=True)
    assert set(model.parts["attention"]) == {"down", "up", "norm_weight", "norm_bias"}
    with torch.no_grad():  # a LayerNorm that is not the identity, to check it too
        model.parts["attention"]["norm_weight"].uniform_(0.5, 1.5)
        model.parts["attention"]["norm_bias"].uniform_(-0.5, 0.5)
    embeds = torch.randn(2, 6, 8)
    ours = model(torch.tensor([0, 1]), inputs=(embeds, torch.tensor([6, 6])))
    for task in (0, 1):
        assert torch.allclose(ours[task], official_prompt(model, task, embeds[task]),
                              atol=1e-5)


def test_new_prompts_do_not_start_as_copies_of_the_source_prompts(tiny_cfg):
    """Officially the target prompt is a fresh vocabulary draw, not the source's start."""
    from compt.model.prompted import private_init
    from compt.train import build_experiment

    cfg = replace(tiny_cfg, method="attempt", tasks=["sent_movies", "sent_products"],
                  prompt_encoder="none")
    prompt = build_experiment(cfg).model.prompt
    for task in range(2):
        assert not torch.equal(prompt.private.raw[task], prompt.sources.raw[task])
    pt = replace(cfg, method="pt")  # methods without vocabulary sources keep their draw
    exp = build_experiment(pt)
    assert torch.equal(exp.model.prompt.private.raw,
                       private_init(exp.model.backbone, pt, 2, pt.effective_prompt_len))


def test_baselines_doc_lists_each_remaining_deviation_with_its_reason():
    text = (DOCS / "baselines.md").read_text()
    section = text.split("## attempt, attempt-m")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # no header
    assert len(rows) >= 3 and all(len(row.split("|")) >= 5 for row in rows)
    joined = " ".join(rows)
    for topic in ("padding", "pre-train", "learning rate"):
        assert topic in joined, topic
    assert re.search(r"no bias", section)  # what matches is said too
