"""Reference rows: majority, zero-shot and the training-free k-shot baselines, their cache,
and the very few-shot sample the runs train on."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertModel, ByT5Tokenizer, GPT2Config, GPT2LMHeadModel

from compt.config import RunConfig
from compt.data import encode
from compt.errors import ComptError
from compt.model.backbones import CausalBackbone, EncoderBackbone
from compt.references import (
    FEW_SHOT,
    Centroid,
    Computer,
    DemonstrationTask,
    InContext,
    NotCached,
    Setting,
    few_shot_sample,
    majority_predict,
    references_for,
    zero_shot_predict,
)
from compt.tasks import resolve_tasks
from compt.tasks.base import Example

ROOM = 60


def tiny_encoder() -> EncoderBackbone:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=384, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256,
                        initializer_range=1.0)
    return EncoderBackbone(BertModel(config), ByT5Tokenizer(), "tiny-bert")


def tiny_causal() -> CausalBackbone:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=384, n_embd=32, n_layer=2, n_head=2, n_positions=1024,
                        bos_token_id=1, eos_token_id=1)
    return CausalBackbone(GPT2LMHeadModel(config), ByT5Tokenizer(), "tiny-gpt2")


@pytest.fixture(scope="module")
def task():
    return resolve_tasks(["sent_movies"])[0]


def test_every_backbone_kind_has_a_few_shot_baseline():
    from compt.model.kinds import KINDS

    assert {kind: FEW_SHOT[kind].name for kind in KINDS} == {
        "encoder": "centroid", "seq2seq": "in-context", "causal": "in-context"}


def test_majority_answers_the_most_frequent_label_lowest_on_a_tie():
    def examples(*labels: int) -> list[Example]:
        return [Example((("text", "x"),), label) for label in labels]

    assert majority_predict(examples(1, 0, 1, 2)) == [1, 1, 1, 1]
    assert majority_predict(examples(2, 1, 1, 2)) == [1, 1, 1, 1]


def test_centroid_averages_the_class_centroid_with_the_label_vector(task):
    backbone = tiny_encoder()
    backbone.set_labels([list(task.label_words)])
    labels = backbone.label_bank.clone()
    train = list(task.train())
    shots = [ex for ex in train if ex.label == 0][:3] + [ex for ex in train if ex.label == 1][:2]
    tests = list(task.test())[:24]

    def pooled(examples):
        data = encode([task], [examples], backbone.tokenize, ROOM)
        rows = []
        for ids in data.ids:
            ids_t = torch.tensor([ids])
            with torch.no_grad():
                rows.append(backbone.pool(backbone.embed(ids_t), torch.ones_like(ids_t))[0])
        return nn.functional.normalize(torch.stack(rows).float(), dim=-1)

    shot_vecs, test_vecs = pooled(shots), pooled(tests)
    prototypes = []
    for c, members in enumerate((shot_vecs[:3], shot_vecs[3:])):
        centroid = nn.functional.normalize(members.mean(0), dim=-1)
        prototypes.append(nn.functional.normalize((centroid + labels[0, c]) / 2, dim=-1))
    expected = (test_vecs @ torch.stack(prototypes).T).argmax(-1).tolist()

    assert Centroid().predict(backbone, task, shots, tests, ROOM) == expected
    assert torch.equal(backbone.label_bank, labels)  # zero-shot still sees the label words
    zero = zero_shot_predict(backbone, task, tests, ROOM)
    assert zero == (test_vecs @ labels[0].T).argmax(-1).tolist()
    assert zero != expected  # the sample moved the prototypes


def test_a_class_missing_from_the_sample_keeps_its_label_vector(task):
    backbone = tiny_encoder()
    backbone.set_labels([list(task.label_words)])
    tests = list(task.test())[:24]
    only_negative = [ex for ex in task.train() if ex.label == 1][:4]
    zero = zero_shot_predict(backbone, task, tests, ROOM)
    with_shots = Centroid().predict(backbone, task, only_negative, tests, ROOM)
    # only the negative prototype moved, towards the negative examples: nothing that
    # zero-shot called negative becomes positive
    assert all(z == 0 for z, w in zip(zero, with_shots, strict=True) if w == 0)


def test_in_context_puts_solved_examples_before_the_whole_test_input(task):
    backbone = tiny_causal()
    backbone.set_labels([list(task.label_words)])
    shots = list(task.train())[:3]
    demo = DemonstrationTask(task, shots)
    words = task.label_words
    assert demo.demonstrations == " ".join(
        f"{task.format_input(ex)} {words[ex.label]}" for ex in shots)
    tests = list(task.test())[:6]
    long_test = Example(tuple((key, text + " and so on" * 40) for key, text in tests[0].fields),
                        tests[0].label)
    room = 40
    plain = encode([task], [[long_test]], backbone.tokenize, room).ids[0]
    extra = len(backbone.tokenize([demo.demonstrations], 10**6)[0])
    shown = encode([demo], [[long_test]], backbone.tokenize, room + extra).ids[0]
    assert len(plain) <= room and len(shown) <= room + extra
    assert shown[:extra - 1] == backbone.tokenize([demo.demonstrations], 10**6)[0][:extra - 1]

    # ranked by the backbone's own label scores on the demonstration inputs
    data = encode([demo], [tests], backbone.tokenize, ROOM + extra)
    expected = []
    for ids in data.ids:
        ids_t = torch.tensor([ids])
        with torch.no_grad():
            scores = backbone.scores(backbone.embed(ids_t), torch.ones_like(ids_t),
                                     torch.zeros(1, dtype=torch.long))
        expected.append(int(scores.argmax(-1)))
    assert InContext().predict(backbone, task, shots, tests, ROOM) == expected


def test_the_few_shot_sample_is_the_one_a_run_with_that_data_seed_trains_on(task):
    from compt.train import build_experiment

    cfg = RunConfig(model="tiny-t5", tasks=["sent_movies"], k=6, seed=5, data_seed=3,
                    eval_size=8, device="cpu")
    exp = build_experiment(cfg)
    sample = few_shot_sample(task, Setting.of(cfg), cfg.effective_data_seed)
    room = cfg.max_length - cfg.effective_prompt_len
    ours = encode([task], [sample], exp.model.backbone.tokenize, room)
    assert sorted(ours.ids) == sorted(exp.train_data.ids)
    assert sorted(ours.labels) == sorted(exp.train_data.labels)
    other = few_shot_sample(task, Setting.of(cfg), 4)
    assert sorted(encode([task], [other], exp.model.backbone.tokenize, room).ids) != sorted(
        exp.train_data.ids)


def test_scores_are_cached_by_what_each_reference_depends_on(tmp_path, monkeypatch):
    computer = Computer(root=tmp_path)
    computer.backbones[("tiny-bert", "auto")] = tiny_encoder()
    setting = Setting("tiny-bert", "auto", 4, "random", 16, ROOM, 20.0, False)
    first = computer.scores(setting, "sent_movies", 0)
    assert set(first) == {"majority", "zero-shot", "centroid"}
    assert len(list(tmp_path.glob("*.json"))) == 3

    def no_compute(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(Computer, "_compute", no_compute)
    assert Computer(root=tmp_path).scores(setting, "sent_movies", 0) == first
    with pytest.raises(AssertionError):  # another draw: only the k-shot score is missing
        Computer(root=tmp_path).scores(setting, "sent_movies", 1)
    assert Computer(root=tmp_path).score(setting, "sent_movies", 1, "majority") == (
        "majority", first["majority"])
    with pytest.raises(NotCached):
        Computer(root=tmp_path, cached_only=True).scores(setting, "sent_movies", 2)


def test_references_for_runs_group_by_setting_and_data_seed(tmp_path):
    computer = Computer(root=tmp_path)
    computer.backbones[("tiny-bert", "auto")] = tiny_encoder()
    configs = {f"r{seed}": RunConfig(model="tiny-bert", tasks=["sent_movies"], k=4, eval_size=16,
                                     seed=seed, max_length=ROOM + 20, prompt_len=20)
               for seed in (0, 1)}
    runs = [{"run_id": rid, "tasks": ["sent_movies"]} for rid in configs]
    (refs,) = references_for(runs, lambda r: configs[r["run_id"]], computer)
    assert refs.data_seeds == {"r0": 0, "r1": 1}
    assert set(refs.scores["centroid"]) == {0, 1}
    assert refs.over(["r1"])["centroid"] == {1: refs.scores["centroid"][1]}
    with pytest.raises(ComptError, match="Unknown task"):
        references_for([{"run_id": "r0", "tasks": ["no_such_task"]}],
                       lambda r: configs["r0"], computer)


def test_two_settings_in_one_view_say_what_differs(tmp_path):
    computer = Computer(root=tmp_path)
    computer.backbones[("tiny-bert", "auto")] = tiny_encoder()
    configs = {f"e{n}": RunConfig(model="tiny-bert", tasks=["sent_movies"], k=4, eval_size=n,
                                  max_length=ROOM + 20, prompt_len=20) for n in (8, 16)}
    runs = [{"run_id": rid, "tasks": ["sent_movies"]} for rid in configs]
    sets = references_for(runs, lambda r: configs[r["run_id"]], computer)
    assert [s.setting for s in sets] == ["eval_size=8", "eval_size=16"]
    alone = references_for(runs[:1], lambda r: configs[r["run_id"]], computer)
    assert alone[0].setting == ""


def test_a_cache_that_cannot_be_written_only_costs_a_recomputation(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    computer = Computer(root=blocked / "references")
    computer.backbones[("tiny-bert", "auto")] = tiny_encoder()
    setting = Setting("tiny-bert", "auto", 4, "random", 8, ROOM, 20.0, False)
    assert set(computer.scores(setting, "sent_movies", 0)) == {
        "majority", "zero-shot", "centroid"}


def test_every_method_of_a_table_shares_one_setting():
    """No prompt rows: pt, ssum and mcat (a longer prompt) read the same references."""
    settings = {Setting.of(RunConfig(method=m, k=8, max_length=64)) for m in ("pt", "ssum", "mcat")}
    assert len(settings) == 1 and next(iter(settings)).room == 64
