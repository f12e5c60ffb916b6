"""The causal (decoder-only) backbone on tiny random models built in memory: scores and
losses against naive full-sequence computations, generation, and whole runs."""

from __future__ import annotations

import pytest
import torch
from transformers import ByT5Tokenizer, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from compt.config import RunConfig
from compt.model.backbones import BackboneOptions, CausalBackbone
from compt.model.splice import splice_prompt


def compt(*args: str, capsys) -> tuple[int, str]:
    """The ``compt`` command in this process (no interpreter start-up): exit code, stderr."""
    from compt.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    return code, capsys.readouterr().err

LABELS = [["yes", "no"], ["a", "bb", "ccc"], ["x", "y"]]  # multi-token, ragged, one-token


def llama() -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=384, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256))


def gpt2() -> GPT2LMHeadModel:
    """GPT-2-like: learned absolute positions and a tokenizer-side model without pad id."""
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=384, n_embd=32, n_layer=2, n_head=4,
                                      n_positions=256, pad_token_id=None))


class NoPadByT5(ByT5Tokenizer):
    """A tokenizer without a pad token, as GPT-2's."""

    @property
    def pad_token_id(self):
        return None


def backbone(make, tokenizer=None, **options) -> CausalBackbone:
    b = CausalBackbone(make(), tokenizer or ByT5Tokenizer(), "tiny", BackboneOptions(**options))
    b.set_labels(LABELS)
    return b


def prompted(b: CausalBackbone, placement: str, texts=("hello there", "hi", "a longer input")):
    """Right-padded, spliced inputs for ``texts`` with a random prompt of 3 vectors."""
    ids = b.tokenize(list(texts), 64)
    inp = torch.full((len(ids), max(map(len, ids))), b.pad_id)
    for i, row in enumerate(ids):
        inp[i, : len(row)] = torch.tensor(row)
    lengths = torch.tensor([len(r) for r in ids])
    prompt = torch.randn(len(ids), 3, b.hidden_size, generator=torch.Generator().manual_seed(1))
    embeds, mask = splice_prompt(b.embed(inp), lengths, prompt, placement)
    return embeds, mask


def naive_logprob(b: CausalBackbone, row: torch.Tensor, tokens: list[int]) -> list[float]:
    """Log-probs of ``tokens`` after one unpadded (n, d) row: a full forward, every logit."""
    seq = torch.cat([row, b.embed(torch.tensor(tokens))])[None]
    logp = torch.log_softmax(b.model(inputs_embeds=seq).logits[0].float(), -1)
    return [logp[len(row) - 1 + j, t].item() for j, t in enumerate(tokens)]


def words(b, task, c) -> list[int]:
    return [t for t in b.label_bank[task, c].tolist() if t >= 0]


@pytest.mark.parametrize("make,tokenizer", [(llama, None), (gpt2, NoPadByT5())])
@pytest.mark.parametrize("placement", ["after", "before"])
@pytest.mark.parametrize("length_norm", [False, True])
def test_rank_scores_equal_naive_log_prob_sums(make, tokenizer, placement, length_norm):
    b = backbone(make, tokenizer, length_norm=length_norm)
    embeds, mask = prompted(b, placement)
    for task in range(len(LABELS)):
        label_tasks = torch.full((3,), task)
        with torch.no_grad():
            scores = b.scores(embeds, mask, label_tasks)
        for i in range(3):
            row = embeds[i, : int(mask[i].sum())]
            for c in range(scores.shape[1]):
                if c >= len(LABELS[task]):
                    assert scores[i, c] == float("-inf")
                    continue
                logps = naive_logprob(b, row, words(b, task, c))
                # one-token labels rank by the next token alone, so both forms agree
                expected = sum(logps) / (len(logps) if length_norm else 1)
                assert scores[i, c].item() == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("make", [llama, gpt2])
def test_loss_is_cross_entropy_on_the_label_tokens_only(make):
    b = backbone(make)
    embeds, mask = prompted(b, "after")
    label_tasks, labels = torch.tensor([1, 1, 0]), torch.tensor([2, 0, 1])
    loss = b.loss(embeds, mask, label_tasks, labels)
    picked = [naive_logprob(b, embeds[i, : int(mask[i].sum())], words(b, t, c))
              for i, (t, c) in enumerate(zip(label_tasks.tolist(), labels.tolist()))]
    flat = [lp for row in picked for lp in row]
    assert loss.item() == pytest.approx(-sum(flat) / len(flat), abs=1e-5)


def test_verbalizer_loss_is_a_softmax_over_the_candidates_first_tokens():
    b = backbone(llama, label_loss="verbalizer")
    embeds, mask = prompted(b, "after")
    label_tasks, labels = torch.tensor([1, 0, 2]), torch.tensor([2, 1, 0])
    loss = b.loss(embeds, mask, label_tasks, labels)
    expected = 0.0
    for i, (t, c) in enumerate(zip(label_tasks.tolist(), labels.tolist())):
        row = embeds[i, : int(mask[i].sum())][None]
        logits = b.model(inputs_embeds=row).logits[0, -1]
        first = [words(b, t, k)[0] for k in range(len(LABELS[t]))]
        expected -= torch.log_softmax(logits[first], -1)[c].item()
    assert loss.item() == pytest.approx(expected / 3, abs=1e-5)


@pytest.mark.parametrize("make,tokenizer", [(llama, None), (gpt2, NoPadByT5())])
def test_greedy_generation_matches_a_naive_loop_per_row(make, tokenizer):
    b = backbone(make, tokenizer)
    embeds, mask = prompted(b, "after")
    with torch.no_grad():
        texts = b.generate(embeds, mask, max_new_tokens=4)
        for i in range(3):
            seq = embeds[i, : int(mask[i].sum())][None]
            out = []
            for _ in range(4):
                nxt = b.model(inputs_embeds=seq).logits[0, -1].argmax().item()
                out.append(nxt)
                seq = torch.cat([seq, b.embed(torch.tensor([[nxt]]))], dim=1)
            assert texts[i] == b.tokenizer.decode(out, skip_special_tokens=True)


def test_inputs_do_not_end_with_the_end_of_sequence_token():
    b = backbone(llama)
    assert all(row[-1] != b.tokenizer.eos_token_id for row in b.tokenize(["abc", "d"], 16))


@pytest.fixture(scope="module")
def tiny_causal(tmp_path_factory):
    """A tiny random Llama saved as a model folder (config, weights, tokenizer)."""
    folder = tmp_path_factory.mktemp("models") / "tiny-llama"
    llama().save_pretrained(folder)
    ByT5Tokenizer().save_pretrained(folder)
    return folder


def test_only_prompts_train_and_the_causal_backbone_stays_bit_identical(train_frozen,
                                                                         tiny_causal):
    cfg = RunConfig(model=str(tiny_causal), tasks=["sent_movies", "entail"], k=8, max_steps=4,
                    batch_size=8, eval_size=8, analysis=False, method="ssum", device="cpu")
    exp, results = train_frozen(cfg)
    assert exp.model.backbone.kind == "causal"
    assert set(results["scores"]) == {"sent_movies", "entail"}


def test_compt_run_trains_a_causal_model_folder_end_to_end(runs_dir, tiny_causal, capsys):
    code, err = compt("run", "--set", f"model={tiny_causal}", "--tasks", "sent_movies", "-k",
                      "4", "--set", "eval_size=8", "--set", "max_steps=2", "--set",
                      "analysis=false", "--set", "decoding=greedy", "--set", "device=cpu",
                      capsys=capsys)
    assert code == 0, err
    (folder,) = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    import json

    record = json.loads((folder / "config.json").read_text())
    assert record["resolved"]["backbone"] == "causal"
    results = json.loads((folder / "results.json").read_text())
    assert sum(map(sum, results["predictions"]["sent_movies"]["combined"])) == 8


def test_one_token_labels_score_and_train_from_the_inputs_last_position():
    """Gemma's " positive" is one token: no label token is fed in, one forward suffices."""
    b = backbone(llama)
    b.label_bank = torch.tensor([[[120], [121], [-100]]])
    b.label_valid = torch.tensor([[True, True, False]])
    embeds, mask = prompted(b, "before")
    label_tasks, labels = torch.zeros(3, dtype=torch.long), torch.tensor([0, 1, 1])
    with torch.no_grad():
        scores = b.scores(embeds, mask, label_tasks)
        loss = b.loss(embeds, mask, label_tasks, labels)
    naive = [[naive_logprob(b, embeds[i, : int(mask[i].sum())], [t])[0] for t in (120, 121)]
             for i in range(3)]
    assert torch.allclose(scores[:, :2], torch.tensor(naive), atol=1e-4)
    assert (scores[:, 2] == float("-inf")).all()
    gold = [naive[i][c] for i, c in enumerate(labels.tolist())]
    assert loss.item() == pytest.approx(-sum(gold) / 3, abs=1e-5)
