"""compt's MPT against PEFT's ``MultitaskPromptTuning``, step for step on a tiny T5.

With ``placement=before`` and no prompt encoder, compt's ``mpt`` prompt of task k is
P* ∘ (u_k v_k^T), prepended to the input, which is what PEFT computes. From the same
parameters, the same two-task batch and the same AdamW, both must give the same losses and
the same trained shared prompt and per-task factors.
"""

from __future__ import annotations

import copy

import pytest
import torch

from compt.config import RunConfig
from compt.data import collate, encode, sample_few_shot
from compt.model import PromptedModel, load_backbone
from compt.tasks import resolve_tasks

peft = pytest.importorskip("peft")
from test_peft_reference import peft_inputs, train  # noqa: E402

PROMPT_LEN, STEPS, RTOL = 6, 5, 1e-5
TASKS = ["sent_movies", "topic"]


def build_pair():
    cfg = RunConfig(model="tiny-t5", tasks=TASKS, method="mpt", placement="before",
                    prompt_encoder="none", prompt_len=PROMPT_LEN, k=4, seed=5)
    tasks = resolve_tasks(cfg.tasks)
    backbone = load_backbone(cfg.model)
    backbone.set_labels([list(t.label_words) for t in tasks])
    torch.manual_seed(cfg.seed)
    model = PromptedModel(backbone, cfg, n_tasks=len(tasks))
    factors = model.prompt.parts["factors"]
    with torch.no_grad():  # distinct factors per task, so the test sees which task is which
        factors["cols"].copy_(1 + 0.3 * torch.randn_like(factors["cols"]))
        factors["rows"].copy_(1 + 0.3 * torch.randn_like(factors["rows"]))

    reference = peft.get_peft_model(
        copy.deepcopy(backbone.model),
        peft.MultitaskPromptTuningConfig(task_type=peft.TaskType.SEQ_2_SEQ_LM,
                                         num_virtual_tokens=PROMPT_LEN, num_tasks=len(tasks),
                                         num_ranks=1, num_transformer_submodules=1),
    )  # one submodule: a prompt for the encoder only, as compt's (PEFT's default adds one
    #    for the decoder in seq2seq models)
    encoder = reference.prompt_encoder["default"]
    with torch.no_grad():
        encoder.embedding.weight.copy_(model.prompt.private.raw[0])
        encoder.prefix_task_cols.copy_(factors["cols"])
        encoder.prefix_task_rows.copy_(factors["rows"])

    shots = [sample_few_shot(t, cfg.k, cfg.effective_data_seed) for t in tasks]
    data = encode(tasks, shots, backbone.tokenize, cfg.max_length - PROMPT_LEN)
    batch = collate(data, range(len(data)), backbone.pad_id)
    return cfg, model, reference, batch


def test_mpt_before_matches_peft_multitask_prompt_tuning_over_adamw_steps():
    cfg, model, reference, batch = build_pair()
    assert batch.task_ids.unique().tolist() == [0, 1]
    inputs = {**peft_inputs(model, batch), "task_ids": batch.task_ids}
    lr = cfg.learning_rates["private"]
    ours = torch.optim.AdamW(model.param_groups(cfg.learning_rates, cfg.weight_decay))
    theirs = torch.optim.AdamW([p for p in reference.parameters() if p.requires_grad], lr=lr,
                               weight_decay=cfg.weight_decay)
    encoder = reference.prompt_encoder["default"]
    with torch.no_grad():
        prepended = reference.get_prompt(len(batch), task_ids=batch.task_ids)[:, :PROMPT_LEN]
        torch.testing.assert_close(prepended, model.prompt(batch.task_ids), rtol=1e-6, atol=0)

    compt_losses, _ = train(ours, lambda: model.loss(batch, temperature=None),
                            lambda: model.prompt.private.raw.grad)
    peft_losses, _ = train(theirs, lambda: reference(**inputs).loss,
                           lambda: encoder.embedding.weight.grad)

    torch.testing.assert_close(torch.tensor(compt_losses), torch.tensor(peft_losses),
                               rtol=RTOL, atol=0.0)
    assert compt_losses[-1] < compt_losses[0]
    factors = model.prompt.parts["factors"]
    torch.testing.assert_close(model.prompt.private.raw[0], encoder.embedding.weight,
                               rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(factors["cols"], encoder.prefix_task_cols,
                               rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(factors["rows"], encoder.prefix_task_rows, rtol=1e-4, atol=1e-6)


def test_mpt_tasks_get_different_prompts_from_one_shared_prompt():
    _, model, _, _ = build_pair()
    out = model.prompt(torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])
    shared = model.prompt.private.raw[0]
    factors = model.prompt.parts["factors"]
    torch.testing.assert_close(out[1], shared * (factors["cols"][1] @ factors["rows"][1]))
