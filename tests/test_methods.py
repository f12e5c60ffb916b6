"""The method registry and the baselines built on it (docs/method.md §Baselines)."""

from __future__ import annotations

import pytest
import torch

from compt import methods
from compt.config import CHOICES, RunConfig
from compt.errors import ComptError
from compt.methods.base import Method
from compt.model.prompts import ComposedPrompt
from compt.report import METHOD_ORDER


def test_registry_feeds_config_choices_and_the_table_order():
    names = methods.names()
    assert names[0] == "pt" and names[-3:] == ("ssum", "msum", "mcat")
    assert CHOICES["method"] == names == METHOD_ORDER
    assert [m.name for m in methods.all_methods() if m.family == "composition"] == [
        "ssum", "msum", "mcat"]
    for name in names:
        assert methods.get_method(name).summary


def test_unknown_method_is_a_clear_error():
    with pytest.raises(ComptError, match="known methods: pt"):
        methods.get_method("lora")
    with pytest.raises(ComptError, match="allowed values: pt"):
        RunConfig.from_dict({"method": "lora"})
    assert methods.lookup("lora") is None and methods.lookup(None) is None


def test_presets_come_from_the_method():
    mcat = RunConfig(method="mcat", k=16)
    assert mcat.effective_prompt_len == 10 and mcat.effective_epochs == 40
    assert mcat.learning_rates == {"router": 0.15, "source": 0.05, "private": 0.08}
    assert RunConfig(method="pt", k=8, epochs_preset="short").effective_epochs == 40
    assert not RunConfig(method="pt").uses_sources


class Doubled(Method):
    """A throwaway method: the private prompt twice. Shows what adding a method takes."""

    name = "doubled"
    order = 99
    summary = "test only"

    def compose(self, prompt, task_ids, temperature, mask, inputs):
        return 2 * prompt.private()[task_ids]


def test_a_new_method_needs_only_its_own_class():
    method = Doubled()
    model = ComposedPrompt(method, 2, 3, torch.randn(2, 4, 5), None, encoder="none")
    assert model.n_sources == 0 and model.router is None and model.length == 4
    out = model(torch.tensor([1]))
    assert torch.equal(out[0], 2 * model.private.raw[1])
    assert [name for name, _ in method.param_groups(model)] == ["private"]


def test_mtpt_shares_one_prompt_across_tasks():
    model = ComposedPrompt("mtpt", 3, 0, torch.randn(1, 4, 5), None, encoder="none")
    out = model(torch.tensor([0, 2, 1]))
    assert model.private.raw.shape[0] == 1
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], model.private.raw[0])


@pytest.mark.parametrize("method", methods.names())
def test_prompt_length_is_the_length_the_method_puts_into_the_input(method):
    """What ``max_length`` must leave room for; mcat's private prompt is already M x L."""
    spec = methods.get_method(method)
    n_sources = spec.n_sources(3, 2)
    model = ComposedPrompt(spec, 2, n_sources, torch.randn(2, spec.private_len(4, n_sources), 5),
                           torch.randn(n_sources, 4, 5) if n_sources else None, encoder="none")
    inputs = (torch.randn(2, 6, 5), torch.tensor([6, 3]))
    assert model(torch.tensor([0, 1]), 1.0, inputs=inputs).shape[1] == model.length


TINY = dict(model="tiny-t5", tasks=["sent_movies", "entail"], k=4, batch_size=4, eval_size=8,
            analysis_eval_size=4, checkpoint_every=0, epochs=1)


def run_tiny(tmp_path, **overrides):
    from compt.runfolder import create_run_folder
    from compt.runner import execute_run

    cfg = RunConfig(**{**TINY, **overrides})
    folder = create_run_folder(tmp_path, cfg)
    return folder, execute_run(folder, cfg)


@pytest.mark.parametrize("method", ["mtpt", "mpt"])
def test_single_stage_baselines_train_end_to_end(tmp_path, method):
    folder, results = run_tiny(tmp_path, method=method)
    assert set(results["scores"]) == {"sent_movies", "entail"}
    assert results["per_prompt"] is None and results["router"] is None
    assert sum(map(sum, results["predictions"]["entail"]["combined"])) == 8
    losses = [row["loss"] for row in folder.read_metrics() if "loss" in row]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)


@pytest.mark.parametrize("method", ["spot", "attempt", "attempt-m"])
def test_two_stage_baselines_keep_both_stages_in_the_run_folder(tmp_path, method):
    from compt.checkpoint import load_params

    folder, results = run_tiny(tmp_path, method=method)
    rows = [row for row in folder.read_metrics() if "loss" in row]
    assert [row["stage"] for row in rows] == [1, 1, 2, 2]  # 2 steps per stage
    stage1 = load_params(folder.path / "stage1.safetensors")
    final = load_params(folder.checkpoint_path)
    assert not torch.equal(stage1["private.raw"], final["private.raw"])  # targets trained
    assert torch.equal(stage1["sources.raw"], final["sources.raw"])  # sources did not
    assert set(results["scores"]) == {"sent_movies", "entail"}
    per_prompt = results["per_prompt"]
    if method == "spot":
        assert per_prompt is None
    else:
        assert per_prompt["columns"] == ["src_1", "src_2", "all_src", "private", "total"]
        assert results["predictions"]["entail"]["private"] is not None
    if method == "spot":
        assert stage1["sources.raw"].shape[0] == 1 and results["router"] is None
    else:
        router = results["router"]
        assert router["sources"] == ["src_1", "src_2", "target"]
        for mean, spread in zip(router["weights"], router["spread"]):
            assert sum(mean) == pytest.approx(1.0, abs=1e-4) and all(s >= 0 for s in spread)


def test_spot_targets_start_from_the_trained_source_prompt():
    model = ComposedPrompt("spot", 3, 1, torch.randn(3, 4, 5), torch.randn(1, 4, 5),
                           encoder="mlp")
    ids = torch.tensor([0, 2])
    source_prompt = model(ids)
    assert torch.equal(source_prompt[0], source_prompt[1])
    model.method.enter_stage(model, 1, fresh=True)
    assert torch.allclose(model(ids), source_prompt)  # raw prompt and encoder were copied
    with torch.no_grad():
        model.private.raw[2] += 1
    assert not torch.allclose(model(ids)[1], source_prompt[1])  # now each task's own


def test_attempt_weights_depend_on_the_input_and_sources_are_frozen_for_targets():
    torch.manual_seed(0)
    model = ComposedPrompt("attempt", 2, 2, torch.randn(2, 4, 8), torch.randn(2, 4, 8),
                           encoder="none")
    model.method.enter_stage(model, 1, fresh=True)
    ids = torch.tensor([0, 0])
    embeds, lengths = torch.randn(2, 5, 8), torch.tensor([5, 3])
    out = model(ids, inputs=(embeds, lengths))
    assert not torch.allclose(out[0], out[1])  # same task, different inputs
    out.sum().backward()
    assert model.sources.raw.grad is None and model.private.raw.grad is not None
    assert model.parts["attention"]["down"].grad is not None
    padded = torch.cat([embeds, torch.full((2, 2, 8), 100.0)], dim=1)  # padding is ignored
    assert torch.allclose(model(ids, inputs=(padded, lengths)), out)


def test_attempt_masks_separate_the_new_prompt_from_the_source_mixture():
    from compt.model.prompts import PromptMask

    torch.manual_seed(1)
    model = ComposedPrompt("attempt", 2, 2, torch.randn(2, 4, 8), torch.randn(2, 4, 8),
                           encoder="none")
    model.method.enter_stage(model, 1, fresh=True)
    ids, inputs = torch.tensor([1]), (torch.randn(1, 5, 8), torch.tensor([5]))
    new, sources = model.private.raw[1].detach(), model.sources.raw.detach()
    private = model(ids, mask=PromptMask(sources=(), private=True), inputs=inputs)
    assert torch.allclose(private[0], new)
    src2 = model(ids, mask=PromptMask(sources=(1,), private=False), inputs=inputs)
    assert torch.allclose(src2[0], sources[1])
    mixture = model(ids, mask=PromptMask(sources=None, private=False), inputs=inputs)[0]
    total = model(ids, inputs=inputs)[0]
    assert not torch.allclose(mixture, total) and not torch.allclose(mixture, sources[0])
    assert list(model.method.masks(2)) == ["src_1", "src_2", "all_src", "private", "total"]


@pytest.mark.parametrize("stop_at", [3, 4])  # at the stage boundary, and inside stage 2
def test_a_stopped_two_stage_run_resumes_to_the_same_losses(tmp_path, stop_at):
    from compt.runfolder import create_run_folder
    from compt.runner import execute_run
    from compt.train import SilentReporter

    cfg = RunConfig(**{**TINY, "method": "spot", "epochs": 3, "max_steps": 6})
    whole, expected = run_tiny(tmp_path, **{"method": "spot", "epochs": 3, "max_steps": 6})

    class Stopper(SilentReporter):
        trainer = None

        def step(self, step, loss):
            if step == stop_at:
                self.trainer.stop_requested = True

    stopper = Stopper()
    folder = create_run_folder(tmp_path, cfg)
    assert execute_run(folder, cfg, reporter=stopper,
                       on_trainer=lambda t: setattr(stopper, "trainer", t)) == {}
    resumed = execute_run(folder, cfg, resume=True)

    def rows(f):
        return [(r["stage"], r["loss"]) for r in f.read_metrics() if "loss" in r]

    assert rows(folder) == rows(whole) and [s for s, _ in rows(whole)] == [1, 1, 1, 2, 2, 2]
    assert resumed["scores"] == expected["scores"]
