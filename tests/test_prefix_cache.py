"""The frozen-prefix cache (docs/causal.md#the-frozen-prefix-cache): with and without it a
causal model computes the same losses, prompt gradients, rank scores and greedy outputs,
on tiny Llama-, GPT-2- and Gemma-3-shaped random models (padding, ragged multi-token and
one-token labels, mixed-task batches)."""

from __future__ import annotations

import logging

import pytest
import torch
from test_causal import LABELS, NoPadByT5, gpt2, llama
from transformers import ByT5Tokenizer, Gemma3ForCausalLM, Gemma3TextConfig

from compt import analysis
from compt.config import RunConfig
from compt.data import Encoded, collate, eval_batches
from compt.errors import ComptError
from compt.evaluate import predict, score_task, split_by_task
from compt.model import FULL, PromptedModel
from compt.model.backbones import BackboneOptions, CausalBackbone
from compt.model.prefix import PrefixStore
from compt.runfolder import create_run_folder
from compt.train import Trainer, build_experiment

TEXTS = ["hello there", "hi", "a much longer input than the others", "mid size", "x",
         "the sixth one"]
TASKS = [0, 1, 2, 0, 1, 2]
GOLD = [1, 2, 0, 0, 1, 1]


def gemma3() -> Gemma3ForCausalLM:
    """Gemma-3-like: scaled embeddings, soft-capped logits, one KV head, and a sliding
    window (6) shorter than the inputs, so the cache's padding must keep its distances."""
    torch.manual_seed(0)
    return Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=384, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=1, head_dim=8, sliding_window=6,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
        max_position_embeddings=256, query_pre_attn_scalar=8, final_logit_softcapping=30.0,
        pad_token_id=0, eos_token_id=1, bos_token_id=2))


MODELS = {"llama": (llama, None), "gpt2": (gpt2, NoPadByT5()), "gemma3": (gemma3, None)}


def model(name: str, **config) -> PromptedModel:
    make, tokenizer = MODELS[name]
    cfg = RunConfig(model="tiny", tasks=["a", "b", "c"], method="ssum", prompt_len=4,
                    **config)
    backbone = CausalBackbone(make(), tokenizer or ByT5Tokenizer(), "tiny",
                              BackboneOptions.from_config(cfg))
    backbone.set_labels(LABELS)
    torch.manual_seed(0)
    return PromptedModel(backbone, cfg, len(LABELS))


def batch(m: PromptedModel, rows=range(len(TEXTS))):
    """The examples ``rows`` of TEXTS, right-padded, each with its own task."""
    data = Encoded(m.backbone.tokenize(TEXTS, 64), TASKS, GOLD)
    return collate(data, list(rows), m.backbone.pad_id)


def with_and_without(m: PromptedModel, compute):
    """``compute()`` with the cache, then with the cache switched off."""
    assert m.prefix_store is not None
    cached = compute()
    store, m.prefix_store = m.prefix_store, None
    try:
        return cached, compute()
    finally:
        m.prefix_store = store


def loss_and_grads(m: PromptedModel, b):
    def compute():
        m.zero_grad(set_to_none=True)
        torch.manual_seed(3)  # the router's relaxed-Bernoulli draw
        loss = m.loss(b, temperature=1.0)
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in m.prompt.named_parameters()
                               if p.grad is not None}
    return compute


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("label_loss", ["tokens", "verbalizer"])
def test_loss_and_prompt_gradients_equal_the_uncached_forward(name, label_loss):
    m = model(name, label_loss=label_loss)
    (loss, grads), (plain_loss, plain_grads) = with_and_without(m, loss_and_grads(m, batch(m)))
    assert torch.allclose(loss, plain_loss, rtol=1e-5, atol=1e-6)
    assert grads.keys() == plain_grads.keys() and grads
    for key in grads:
        assert torch.allclose(grads[key], plain_grads[key], rtol=1e-4, atol=1e-6), key


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("length_norm", [False, True])
def test_rank_scores_equal_the_uncached_forward(name, length_norm):
    m = model(name, length_norm=length_norm)
    b = batch(m)
    cached, plain = with_and_without(m, lambda: m.scores(b))
    assert torch.isinf(plain).any()  # a task with fewer candidates: its -inf column
    assert torch.equal(torch.isinf(cached), torch.isinf(plain))
    finite = torch.isfinite(plain)
    assert torch.allclose(cached[finite], plain[finite], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("penalty", [1.0, 2.0])
def test_greedy_outputs_equal_model_generate_row_by_row(name, penalty):
    """Against ``model.generate`` one unpadded row at a time: batched, transformers lets the
    first n generated tokens of a row with n left pads escape the repetition penalty
    (its ``prompt_ignore_length``), so the cached decoding is compared with the unpadded
    reference, which it matches batched."""
    m = model(name)
    options = {"max_new_tokens": 12, "repetition_penalty": penalty}
    cached = m.generate(batch(m), **options)
    m.prefix_store = None
    plain = [m.generate(batch(m, [i]), **options)[0] for i in range(len(TEXTS))]
    assert cached == plain
    assert any(text.strip() for text in plain)


def test_each_input_is_computed_once_across_steps_masks_and_evaluations():
    m = model("llama")
    b = batch(m)
    m.loss(b, 1.0).backward()
    m.scores(b)
    m.scores(batch(m, [4, 2, 0]))  # the same inputs in another order and padding
    assert m.prefix_store.computed == len(TEXTS) == len(m.prefix_store)


def test_a_full_store_recomputes_without_changing_the_numbers(caplog):
    m = model("llama")
    b = batch(m)
    plain = m.scores(b)
    m.prefix_store = PrefixStore(m.backbone.prefix_states, budget_mb=0)
    with caplog.at_level("WARNING"):
        first, second = m.scores(b), m.scores(b)
    assert len(m.prefix_store) == 0 and m.prefix_store.computed == 2 * len(TEXTS)
    assert "prefix_cache_mb" in caplog.text
    assert torch.allclose(first, plain, atol=1e-5) and torch.equal(first, second)


@pytest.mark.parametrize("config", [{"prefix_cache": False}, {"placement": "before"}])
def test_the_cache_is_off_when_asked_or_when_the_prompt_comes_first(config):
    assert model("llama", **config).prefix_store is None


def test_the_cache_keys_do_not_change_a_runs_identity():
    assert RunConfig(prefix_cache=False).fingerprint() == RunConfig().fingerprint()


# -- evaluation that reuses the prompt-independent work (tokens, batches, prefixes) -----

@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A short ssum run on a tiny random Llama folder: its experiment and results."""
    folder = tmp_path_factory.mktemp("models") / "tiny-llama"
    llama().save_pretrained(folder)
    ByT5Tokenizer().save_pretrained(folder)
    cfg = RunConfig(model=str(folder), tasks=["sent_movies", "entail"], k=4, max_steps=3,
                    batch_size=4, eval_size=10, analysis_eval_size=6, n_sources=2,
                    checkpoint_every=0, device="cpu")
    exp = build_experiment(cfg)
    run = create_run_folder(tmp_path_factory.mktemp("runs"), cfg)
    return exp, Trainer(exp, run, logging.getLogger("test")).run()


def old_path(exp, examples, mask=FULL) -> list[list[int]]:
    """Predictions as before the reuse: tokenised again, fresh batches, no prefix cache."""
    store, exp.model.prefix_store = exp.model.prefix_store, None
    try:
        data = exp.encode(examples)
        preds = predict(exp.model, data, exp.tasks, mask, device="cpu")
    finally:
        exp.model.prefix_store = store
    return split_by_task(data, preds, len(exp.tasks))


def test_evaluation_and_every_analysis_mask_equal_the_old_path(finished):
    exp, results = finished
    final = old_path(exp, exp.eval_examples)
    assert results["scores"] == {
        t.name: round(score_task(t, exs, p).primary, 4)
        for t, exs, p in zip(exp.tasks, exp.eval_examples, final)}
    subset, _ = analysis.analysis_subset(exp)
    masks = analysis.prompt_masks(exp.cfg.method, exp.model.prompt.n_sources)
    assert set(results["per_prompt"]["columns"]) == set(masks) and len(masks) > 2
    for column, mask in masks.items():
        per_task = old_path(exp, subset, mask)
        for task, exs, preds in zip(exp.tasks, subset, per_task):
            expected = round(score_task(task, exs, preds).primary, 4)
            assert results["per_prompt"]["scores"][task.name][column] == expected, column


def test_each_test_input_is_tokenised_batched_and_cached_once(finished):
    exp, _ = finished
    subset, data = analysis.analysis_subset(exp)
    fresh = exp.encode(subset)
    assert (data.ids, data.task_ids, data.labels) == (fresh.ids, fresh.task_ids, fresh.labels)
    assert analysis.analysis_subset(exp)[1] is data
    assert eval_batches(data, 64, 0) is eval_batches(data, 64, 0)
    distinct = {tuple(ids) for ids in exp.train_data.ids + exp.eval_data.ids}
    # training, the final evaluation and every mask of the analysis: one computation each
    assert exp.model.prefix_store.computed == len(distinct) == len(exp.model.prefix_store)


def test_a_negative_cache_budget_is_refused_with_the_key_named():
    with pytest.raises(ComptError, match="prefix_cache_mb"):
        RunConfig.from_dict({"prefix_cache_mb": -1})
