"""The analyses (docs/method.md#analyses) on a trained tiny run, checked by hand."""

from __future__ import annotations

import pytest
import torch

from compt import analysis
from compt.checkpoint import load_params
from compt.config import RunConfig
from compt.data import collate
from compt.errors import ComptError
from compt.model.splice import splice_prompt
from compt.runfolder import create_run_folder
from compt.runner import execute_run
from compt.train import build_experiment

CFG = dict(model="tiny-t5", tasks=["sent_movies", "topic"], k=8, max_steps=6, batch_size=8,
           n_sources=2, eval_size=24, analysis_eval_size=12, checkpoint_every=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished ssum run and its experiment with the trained prompts loaded."""
    cfg = RunConfig(method="ssum", **CFG)
    folder = create_run_folder(tmp_path_factory.mktemp("runs"), cfg)
    results = execute_run(folder, cfg)
    exp = build_experiment(cfg)
    exp.model.load_trainable_state(load_params(folder.checkpoint_path))
    exp.model.eval()
    return folder, results, exp


def accuracy_with_prompt(exp, task_index: int, make_prompt) -> float:
    """Score one task's analysis subset with a prompt built by ``make_prompt(encoded)``."""
    subset, data = analysis.analysis_subset(exp)
    rows = [i for i, t in enumerate(data.task_ids) if t == task_index]
    batch = collate(data, rows, exp.model.backbone.pad_id)
    prompt = exp.model.prompt
    with torch.no_grad():
        encoded = {"private": prompt.private()[task_index], "sources": prompt.sources(),
                   "logits": prompt.router.logits[task_index]}
        target = make_prompt(encoded).expand(len(rows), -1, -1)
        embeds, mask = splice_prompt(exp.model.backbone.embed(batch.input_ids), batch.lengths,
                                     target, exp.cfg.placement)
        preds = exp.model.backbone.scores(embeds, mask, batch.label_tasks).argmax(-1)
    return 100.0 * (preds == batch.labels).float().mean().item()


def test_per_prompt_matrix_matches_masks_applied_by_hand(trained):
    _, results, exp = trained
    matrix = results["per_prompt"]["scores"]

    def weighted(p):
        return torch.einsum("m,mld->ld", torch.softmax(p["logits"], -1), p["sources"])

    by_hand = {
        "src_1": lambda p: p["sources"][0],
        "src_2": lambda p: p["sources"][1],
        "all_src": weighted,
        "private": lambda p: p["private"],
        "total": lambda p: p["private"] + weighted(p),
    }
    for t, task in enumerate(exp.tasks):
        for column, make in by_hand.items():
            assert matrix[task.name][column] == pytest.approx(
                accuracy_with_prompt(exp, t, make), abs=1e-3), (task.name, column)


def test_router_table_is_the_softmax_of_the_saved_logits(trained):
    folder, results, _ = trained
    logits = load_params(folder.checkpoint_path)["router.logits"]
    assert torch.allclose(torch.tensor(results["router"]["logits"]), logits, atol=1e-6)
    assert torch.allclose(torch.tensor(results["router"]["weights"]),
                          torch.softmax(logits, -1), atol=1e-6)


def test_prediction_tables_count_every_example(trained):
    _, results, _ = trained
    for tables in results["predictions"].values():
        assert sum(map(sum, tables["combined"])) == 24
        assert sum(map(sum, tables["source"])) == sum(map(sum, tables["private"])) == 12


def test_transfer_diagonal_is_each_tasks_own_score(trained):
    _, results, exp = trained
    matrix = analysis.transfer_matrix(exp)
    assert matrix["tasks"] == ["sent_movies", "topic"]
    for i, task in enumerate(matrix["tasks"]):
        assert matrix["scores"][i][i] == pytest.approx(
            results["per_prompt"]["scores"][task]["total"], abs=1e-3)


def test_sources_can_start_from_a_finished_run(trained):
    folder, _, _ = trained
    cfg = RunConfig(method="msum", init_sources_from=str(folder.path), **CFG)
    exp = build_experiment(cfg)
    saved = load_params(folder.checkpoint_path)
    for name, value in exp.model.prompt.sources.state_dict().items():
        assert torch.equal(value, saved[f"sources.{name}"])
    with pytest.raises(ComptError, match="do not fit"):
        build_experiment(RunConfig(method="ssum", init_sources_from=str(folder.path),
                                   **{**CFG, "n_sources": 3}))


def test_one_source_gets_src_1_private_and_total(tmp_path):
    """Paper Fig. 3 SSUM(1): with one source the matrix is src_1 / private / total."""
    cfg = RunConfig(method="ssum", **{**CFG, "n_sources": 1, "max_steps": 2})
    results = execute_run(create_run_folder(tmp_path, cfg), cfg)
    assert results["per_prompt"]["columns"] == ["src_1", "private", "total"]
    for task, row in results["per_prompt"]["scores"].items():
        assert set(row) == {"src_1", "private", "total"}
        tables = results["predictions"][task]
        assert sum(map(sum, tables["source"])) == sum(map(sum, tables["private"])) == 12


def test_masks_per_method_and_source_count():
    assert list(analysis.prompt_masks("ssum", 1)) == ["src_1", "private", "total"]
    assert list(analysis.prompt_masks("ssum", 2)) == ["src_1", "src_2", "all_src", "private",
                                                      "total"]
    assert list(analysis.prompt_masks("msum", 2)) == ["src_1", "src_2", "total"]
    assert analysis.prompt_masks("msum", 1) == analysis.prompt_masks("pt", 0) == {}


def test_init_sources_from_a_run_id_looks_in_the_runs_own_store(trained, runs_dir):
    """``runs_dir`` (COMPT_RUNS_DIR) is empty; the source run lives in another store."""
    folder, _, _ = trained
    cfg = RunConfig(method="ssum", init_sources_from=folder.run_id, **CFG)
    with pytest.raises(ComptError, match="No checkpoint found"):
        analysis.checkpoint_of(folder.run_id)
    saved = load_params(folder.checkpoint_path)
    exp = build_experiment(cfg, runs_dir=folder.path.parent)
    for name, value in exp.model.prompt.sources.state_dict().items():
        assert torch.equal(value, saved[f"sources.{name}"])
