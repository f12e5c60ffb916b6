"""compt's vanilla prompt tuning against PEFT's, on the same frozen tiny T5.

With ``method=pt``, ``placement=before`` and no prompt encoder, compt's model is exactly
prompt tuning as PEFT implements it (prompt rows prepended to the input embeddings, the
attention mask extended with ones). Given the same initial prompt, the same batch and the
same AdamW settings, both must produce the same losses step after step, the same prompt
gradient and the same trained prompt.
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


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: on a busy 2-core machine, two threads spin-wait on each other's
    tiny kernels and this module takes 20 s instead of under one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


def train(optimizer, loss_fn, prompt_grad) -> tuple[list[float], torch.Tensor]:
    """STEPS AdamW steps; the losses and the prompt's gradient at the first step."""
    losses, first_grad = [], None
    for _ in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        if first_grad is None:
            first_grad = prompt_grad().clone()
        optimizer.step()
        losses.append(loss.item())
    return losses, first_grad


def test_pt_before_matches_peft_prompt_tuning_over_adamw_steps():
    cfg, model, reference, batch = build_pair()
    inputs = peft_inputs(model, batch)
    ours, theirs = optimizer_pair(cfg, model, reference)
    assert sum(p.numel() for g in ours.param_groups for p in g["params"]) == PROMPT_LEN * 64

    def our_prompt() -> torch.Tensor:
        return model.prompt.private.raw

    def peft_prompt() -> torch.Tensor:
        return reference.prompt_encoder["default"].embedding.weight

    with torch.no_grad():  # the prompt PEFT prepends is compt's initial private prompt
        prepended = reference.get_prompt(batch_size=len(batch))[:, :PROMPT_LEN]
        torch.testing.assert_close(prepended, model.prompt(batch.task_ids), rtol=0, atol=0)
    compt_losses, compt_grad = train(ours, lambda: model.loss(batch, temperature=None),
                                     lambda: our_prompt().grad[0])
    peft_losses, peft_grad = train(theirs, lambda: reference(**inputs).loss,
                                   lambda: peft_prompt().grad[:PROMPT_LEN])

    torch.testing.assert_close(torch.tensor(compt_losses), torch.tensor(peft_losses),
                               rtol=RTOL, atol=0.0)
    assert compt_losses[-1] < compt_losses[0]  # the prompt really trained
    scale = peft_grad.abs().max().item()
    assert scale > 0
    torch.testing.assert_close(compt_grad, peft_grad, rtol=1e-4, atol=1e-5 * scale)
    torch.testing.assert_close(our_prompt()[0], peft_prompt()[:PROMPT_LEN], rtol=RTOL, atol=1e-6)
    # the frozen backbone stayed frozen
    assert all(not p.requires_grad for p in model.backbone.parameters())


def test_placement_after_is_not_peft_prompt_tuning():
    """The same comparison tells the two placements apart (so it can fail)."""
    _, model, reference, batch = build_pair(placement="after")
    with torch.no_grad():
        ours = model.loss(batch, temperature=None).item()
        theirs = reference(**peft_inputs(model, batch)).loss.item()
    assert abs(ours - theirs) > RTOL * abs(theirs)
