"""compt's vanilla prompt tuning against PEFT's, on the same frozen tiny T5.

With ``method=pt``, ``placement=before`` and no prompt encoder, compt's model is exactly
prompt tuning as PEFT implements it (prompt rows prepended to the input embeddings, the
attention mask extended with ones). Given the same initial prompt, the same batch and the
same AdamW settings, both must produce the same losses step after step.
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

PROMPT_LEN = 6
STEPS = 5
RTOL = 1e-5


def build_pair(placement: str = "before"):
    """compt's pt model and a PEFT-wrapped copy of its T5 that starts from the same prompt."""
    cfg = RunConfig(model="tiny-t5", tasks=["sent_movies"], method="pt", placement=placement,
                    prompt_encoder="none", prompt_len=PROMPT_LEN, k=8, seed=3)
    task = resolve_tasks(cfg.tasks)[0]
    backbone = load_backbone(cfg.model)
    backbone.set_labels([list(task.label_words)])
    torch.manual_seed(cfg.seed)
    model = PromptedModel(backbone, cfg, n_tasks=1)

    reference = peft.get_peft_model(
        copy.deepcopy(backbone.model),
        peft.PromptTuningConfig(task_type=peft.TaskType.SEQ_2_SEQ_LM,
                                num_virtual_tokens=PROMPT_LEN),
    )
    reference.eval()
    with torch.no_grad():
        # PEFT keeps a second block of rows for a decoder prompt; prompt tuning never uses it.
        prompt_rows = reference.prompt_encoder["default"].embedding.weight
        prompt_rows[:PROMPT_LEN] = model.prompt.private.raw[0]

    examples = sample_few_shot(task, cfg.k, cfg.effective_data_seed)
    room = cfg.max_length - PROMPT_LEN
    batch = collate(encode([task], [examples], backbone.tokenize, room),
                    range(cfg.k), backbone.pad_id)
    return cfg, model, reference, batch


def peft_inputs(model: PromptedModel, batch) -> dict[str, torch.Tensor]:
    """The same batch as PEFT takes it: ids, a right-padded attention mask, label ids."""
    width = batch.input_ids.shape[1]
    mask = (torch.arange(width)[None] < batch.lengths[:, None]).long()
    labels = model.backbone.label_bank[batch.label_tasks, batch.labels]
    return {"input_ids": batch.input_ids, "attention_mask": mask, "labels": labels}


def optimizer_pair(cfg: RunConfig, model: PromptedModel, reference):
    """compt's own parameter groups vs PEFT's trainable prompt, same lr and weight decay."""
    ours = torch.optim.AdamW(model.param_groups(cfg.learning_rates, cfg.weight_decay))
    lr = cfg.learning_rates["private"]
    trainable = [p for p in reference.parameters() if p.requires_grad]
    theirs = torch.optim.AdamW(trainable, lr=lr, weight_decay=cfg.weight_decay)
    return ours, theirs


def test_batch_is_right_padded_with_several_lengths():
    _, model, _, batch = build_pair()
    assert len(set(batch.lengths.tolist())) > 1
    assert (batch.input_ids[torch.arange(len(batch)), batch.lengths - 1] == 1).all()  # </s>
    assert peft_inputs(model, batch)["attention_mask"].sum(1).tolist() == batch.lengths.tolist()


def test_pt_before_matches_peft_prompt_tuning_over_adamw_steps():
    cfg, model, reference, batch = build_pair()
    inputs = peft_inputs(model, batch)
    ours, theirs = optimizer_pair(cfg, model, reference)
    assert sum(p.numel() for g in ours.param_groups for p in g["params"]) == PROMPT_LEN * 64

    compt_losses, peft_losses = [], []
    for _ in range(STEPS):
        for optimizer, loss_fn, losses in (
            (ours, lambda: model.loss(batch, temperature=None), compt_losses),
            (theirs, lambda: reference(**inputs).loss, peft_losses),
        ):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())

    torch.testing.assert_close(torch.tensor(compt_losses), torch.tensor(peft_losses),
                               rtol=RTOL, atol=0.0)
    assert compt_losses[-1] < compt_losses[0]  # the prompts really trained
    learned = reference.prompt_encoder["default"].embedding.weight[:PROMPT_LEN]
    torch.testing.assert_close(model.prompt.private.raw[0], learned, rtol=RTOL, atol=1e-6)
    # the frozen backbone stayed frozen on both sides
    assert all(not p.requires_grad for p in model.backbone.parameters())


def test_placement_after_is_not_peft_prompt_tuning():
    """The same comparison tells the two placements apart (so it can fail)."""
    _, model, reference, batch = build_pair(placement="after")
    with torch.no_grad():
        ours = model.loss(batch, temperature=None).item()
        theirs = reference(**peft_inputs(model, batch)).loss.item()
    assert abs(ours - theirs) > RTOL * abs(theirs)
