"""The diagnosis options of docs/method.md: source init, product norm, pooling, private encoder."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from compt.config import RunConfig, build_config
from compt.errors import ComptError
from compt.model.backbones.encoder import EncoderBackbone
from compt.model.prompted import Batch, PromptedModel
from compt.model.splice import input_rows, splice_prompt


class _Tokenizer:
    all_special_ids = [0]
    pad_token_id = 0

    def __call__(self, text, add_special_tokens=True, **_):
        return {"input_ids": [1 + (ord(c) % 40) for c in text][:3]}


def encoder_backbone() -> EncoderBackbone:
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=48, hidden_size=16, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=32))
    return EncoderBackbone(model, _Tokenizer(), "tiny-bert")


def prompted(**keys) -> PromptedModel:
    cfg = RunConfig(model="tiny-bert", prompt_len=4, n_sources=2, **keys)
    return PromptedModel(encoder_backbone(), cfg, n_tasks=3)


def row_norms(prompts: torch.Tensor) -> torch.Tensor:
    return prompts.detach().norm(dim=-1)


def test_source_init_uniform_is_the_papers_draw_and_embedding_matches_token_norms():
    uniform = prompted(method="ssum").prompt.sources.raw
    assert uniform.abs().max() <= 0.5
    model = prompted(method="ssum", source_init="embedding")
    token_norm = model.backbone.embedding_matrix.norm(dim=-1).mean()
    assert torch.allclose(row_norms(model.prompt.sources.raw), token_norm.expand(2, 4), rtol=1e-4)
    # same direction as the uniform draw, only the scale differs
    cos = torch.nn.functional.cosine_similarity(model.prompt.sources.raw, uniform, dim=-1)
    assert torch.allclose(cos, torch.ones_like(cos), atol=1e-5)
    assert not prompted(method="ssum", source_init="zero").prompt.sources.raw.any()


@pytest.mark.parametrize("method", ["msum", "mcat"])
def test_matched_product_norm_starts_at_the_private_prompts_norm(method):
    raw = prompted(method=method).prompt
    matched = prompted(method=method, product_norm="matched").prompt
    tasks = torch.arange(3)
    private = row_norms(matched.private()).mean()
    assert row_norms(raw(tasks)).mean() < 0.5 * private  # the product starts tiny
    assert torch.isclose(row_norms(matched(tasks)).mean(), private, rtol=1e-4)
    assert torch.allclose(matched(tasks), matched.product_scale * raw(tasks), rtol=1e-4)


def test_private_encoder_off_keeps_the_source_encoders():
    prompt = prompted(method="ssum", private_encoder=False).prompt
    assert prompt.private.encoder is None and prompt.sources.encoder is not None
    assert torch.equal(prompt.private(), prompt.private.raw)


@pytest.mark.parametrize("placement", ["after", "before"])
def test_input_rows_mark_only_the_real_tokens(placement):
    embeds = torch.zeros(2, 3, 1)
    lengths = torch.tensor([3, 1])
    spliced, attn = splice_prompt(embeds, lengths, torch.ones(2, 2, 1), placement)
    rows = input_rows(lengths, 2, attn.shape[1], placement)
    assert (spliced[..., 0][rows.bool()] == 0).all()  # never a prompt row
    assert rows.sum(1).tolist() == [3, 1] and (rows <= attn).all()


def test_pooling_without_prompt_rows_averages_the_input_tokens_only():
    backbone = encoder_backbone()
    backbone.register_buffer("label_bank", torch.nn.functional.normalize(
        torch.randn(1, 2, 16), dim=-1))
    backbone.register_buffer("label_valid", torch.ones(1, 2, dtype=torch.bool))
    batch = Batch(torch.tensor([[5, 6, 7], [8, 9, 0]]), torch.tensor([3, 2]),
                  torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([0, 0]))
    model = prompted(method="pt", pool_prompt=False)
    model.backbone = backbone
    embeds, attn = model.prompted_inputs(batch)
    rows = input_rows(batch.lengths, 4, attn.shape[1], "after")
    hidden = backbone.model(inputs_embeds=embeds, attention_mask=attn).last_hidden_state
    expected = (hidden * rows[..., None]).sum(1) / rows.sum(1, keepdim=True)
    assert torch.allclose(backbone.pool(embeds, attn, rows), expected, atol=1e-5)
    with_prompt = prompted(method="pt")
    with_prompt.backbone = backbone
    assert not torch.allclose(model.scores(batch), with_prompt.scores(batch))


def test_the_options_are_validated_and_pooling_needs_an_encoder(tiny_cfg):
    with pytest.raises(ComptError, match="source_init"):
        build_config(None, {"source_init": "big"})
    with pytest.raises(ComptError, match="product_norm"):
        build_config(None, {"product_norm": "yes"})
    from compt.model.loading import load_backbone

    tiny_cfg.pool_prompt = False
    with pytest.raises(ComptError, match="pool_prompt"):
        PromptedModel(load_backbone(tiny_cfg.model), tiny_cfg, n_tasks=1)
