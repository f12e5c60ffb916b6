"""The prompt model: splicing, compositions (paper Eq. 5), masks, router, schedules."""

from __future__ import annotations

import pytest
import torch

from compt.model.prompts import FULL, ComposedPrompt, PromptMask, Router
from compt.model.splice import splice_prompt
from compt.schedule import lr_factor, temperature_at

D, L, M, N = 4, 3, 2, 2


def composed(method: str, router: str = "learned") -> ComposedPrompt:
    torch.manual_seed(0)
    plen = L * M if method == "mcat" else L
    model = ComposedPrompt(method, N, M, torch.randn(N, plen, D), torch.randn(M, L, D),
                           encoder="none", router=router)
    with torch.no_grad():
        if model.n_sources:
            model.router.logits.copy_(torch.tensor([[0.5, -1.0], [2.0, 0.0]]))
    return model


def parts(model: ComposedPrompt):
    weights = torch.softmax(model.router.logits.detach(), dim=-1)
    return model.private.raw.detach(), model.sources.raw.detach(), weights


def test_splice_after_puts_prompt_right_after_each_input():
    embeds = torch.arange(2 * 4).float().reshape(2, 4, 1)  # lengths 4 and 2 (2 pads)
    lengths = torch.tensor([4, 2])
    prompt = torch.full((2, 3, 1), -1.0)
    out, mask = splice_prompt(embeds, lengths, prompt, "after")
    assert out[0, :, 0].tolist() == [0, 1, 2, 3, -1, -1, -1]
    assert out[1, :5, 0].tolist() == [4, 5, -1, -1, -1]  # the rest is masked padding
    assert mask.tolist() == [[1] * 7, [1, 1, 1, 1, 1, 0, 0]]


def test_splice_before_prepends_like_peft():
    embeds = torch.ones(1, 2, 1)
    out, mask = splice_prompt(embeds, torch.tensor([1]), torch.zeros(1, 3, 1), "before")
    assert out[0, :, 0].tolist() == [0, 0, 0, 1, 1]
    assert mask.tolist() == [[1, 1, 1, 1, 0]]


def test_pt_is_the_private_prompt_only():
    model = ComposedPrompt("pt", N, M, torch.randn(N, L, D), None, encoder="none")
    out = model(torch.tensor([1, 0]))
    assert torch.equal(out[0], model.private.raw[1])
    assert model.n_sources == 0


@pytest.mark.parametrize("method", ["ssum", "msum"])
def test_sum_compositions_follow_eq5(method):
    model = composed(method)
    private, sources, w = parts(model)
    out = model(torch.tensor([0, 1]))
    for b in range(2):
        mixed = w[b, 0] * sources[0] + w[b, 1] * sources[1]
        expected = private[b] + mixed if method == "ssum" else private[b] * mixed
        assert torch.allclose(out[b], expected, atol=1e-6)


def test_mcat_concatenates_weighted_sources_times_private():
    model = composed("mcat")
    private, sources, w = parts(model)
    out = model(torch.tensor([1]))
    expected = private[1] * torch.cat([w[1, 0] * sources[0], w[1, 1] * sources[1]])
    assert out.shape == (1, M * L, D)
    assert torch.allclose(out[0], expected, atol=1e-6)


def test_ssum_masks_for_per_prompt_analysis():
    model = composed("ssum")
    private, sources, w = parts(model)
    ids = torch.tensor([0])
    src2 = model(ids, mask=PromptMask(sources=(1,), private=False))
    assert torch.allclose(src2[0], sources[1])  # renormalised: weight 1 on the kept source
    all_src = model(ids, mask=PromptMask(sources=None, private=False))
    assert torch.allclose(all_src[0], w[0, 0] * sources[0] + w[0, 1] * sources[1], atol=1e-6)
    only_private = model(ids, mask=PromptMask(sources=(), private=True))
    assert torch.allclose(only_private[0], private[0])


def test_mcat_mask_removes_slots_without_renormalising():
    model = composed("mcat")
    private, sources, w = parts(model)
    out = model(torch.tensor([0]), mask=PromptMask(sources=(1,), private=True))
    assert out.shape == (1, L, D)
    assert torch.allclose(out[0], private[0, L:] * (w[0, 1] * sources[1]), atol=1e-6)


def test_router_samples_in_training_and_is_deterministic_at_inference():
    router = Router(N, 3, learned=True)
    ids = torch.tensor([0, 0, 1])
    torch.manual_seed(0)
    sampled = router.weights(ids, temperature=5.0)
    assert torch.allclose(sampled.sum(-1), torch.ones(3))
    assert not torch.allclose(sampled[0], sampled[1])  # relaxed-Bernoulli noise per example
    inference = router.weights(ids, temperature=None)
    assert torch.allclose(inference, torch.full((3, 3), 1 / 3))


def test_constant_router_gives_uniform_weights_and_does_not_train():
    model = composed("ssum", router="constant")
    assert not model.router.logits.requires_grad
    weights = model.router.weights(torch.tensor([0, 1]), temperature=5.0)
    assert torch.allclose(weights, torch.full((2, M), 1 / M))


def test_full_mask_is_the_default():
    model = composed("ssum")
    ids = torch.tensor([0, 1])
    assert torch.equal(model(ids), model(ids, mask=FULL))


def test_temperature_anneals_linearly_to_the_minimum():
    assert temperature_at(0, 11, 5.0, 1e-3) == 5.0
    assert temperature_at(10, 11, 5.0, 1e-3) == pytest.approx(1e-3)
    assert temperature_at(5, 11, 5.0, 1e-3) == pytest.approx((5.0 + 1e-3) / 2)


def test_learning_rate_warms_up_then_decays():
    factors = [lr_factor(s, 10, 0.2) for s in range(10)]
    assert factors[:2] == [0.5, 1.0]
    assert factors[2] == 1.0 and factors[-1] == pytest.approx(1 / 8)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:]))
