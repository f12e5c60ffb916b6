"""``dev_size``: a held-out dev set picks the best checkpoint; reports can show its scores."""

from __future__ import annotations

import pytest
import torch

from compt.checkpoint import load_params
from compt.config import RunConfig
from compt.data import sample_dev, sample_few_shot
from compt.errors import ComptError
from compt.evaluate import predict, score_task, split_by_task
from compt.report import build_table
from compt.runfolder import create_run_folder
from compt.runner import execute_run
from compt.store import RunStore
from compt.tasks import resolve_tasks
from compt.train import build_experiment

# MiniLM learns within a few steps, so the dev score moves (the tiny random T5's does not)
CFG = dict(model="all-MiniLM-L6-v2", tasks=["sent_movies", "entail"], k=8, max_steps=6,
           batch_size=8, eval_size=16, analysis=False, checkpoint_every=0, dev_size=8,
           eval_every=1)


def test_dev_examples_are_held_out_from_the_few_shot_set():
    task = resolve_tasks(["entail"])[0]
    for balanced in (False, True):
        shots = sample_few_shot(task, 16, 3, balanced)
        dev = sample_dev(task, 16, 32, 3, balanced)
        assert len(dev) == 32 and not set(dev) & set(shots)
        assert dev == sample_dev(task, 16, 32, 3, balanced)
    with pytest.raises(ComptError, match="dev_size"):
        sample_dev(task, 16, 10**6, 3)


def test_test_scores_of_the_checkpoint_best_on_dev(runs_dir):
    cfg = RunConfig(**CFG)
    folder = create_run_folder(runs_dir, cfg)
    results = execute_run(folder, cfg)
    dev_rows = [r for r in folder.read_metrics() if "dev_average" in r]
    assert [r["step"] for r in dev_rows] == [1, 2, 3, 4, 5, 6]
    averages = [r["dev_average"] for r in dev_rows]
    best = averages.index(max(averages))  # the first of equals
    assert results["best_step"] == dev_rows[best]["step"]
    assert results["best_dev_average"] == pytest.approx(max(averages), abs=1e-3)

    exp = build_experiment(cfg)  # score the saved best state independently
    exp.model.load_trainable_state(load_params(folder.best_checkpoint_path))
    exp.model.eval()
    per_task = split_by_task(exp.eval_data, predict(exp.model, exp.eval_data, exp.tasks),
                             len(exp.tasks))
    by_hand = {t.name: score_task(t, exs, p).primary
               for t, exs, p in zip(exp.tasks, exp.eval_examples, per_task)}
    assert results["best_scores"] == pytest.approx(by_hand, abs=1e-3)
    final = load_params(folder.checkpoint_path)  # the run's checkpoint stays the last state
    best_state = load_params(folder.best_checkpoint_path)
    same = all(torch.equal(final[k], best_state[k]) for k in final)
    assert same == (results["best_step"] == 6)

    summary = RunStore(runs_dir).sync(folder.run_id)
    assert summary["best_scores"] == results["best_scores"]
    table = build_table([summary], value="best")
    assert not any("best-checkpoint" in note for note in table.notes)


def test_a_resumed_run_remembers_its_best_checkpoint(runs_dir, stop_at):
    cfg = RunConfig(**CFG)
    whole = execute_run(create_run_folder(runs_dir, cfg), cfg)
    stopper = stop_at(4)
    folder = create_run_folder(runs_dir, cfg)
    assert execute_run(folder, cfg, reporter=stopper, on_trainer=stopper.attach) == {}
    resumed = execute_run(folder, cfg, resume=True)
    keys = ("best_step", "best_scores", "best_average", "scores")
    assert {k: resumed[k] for k in keys} == {k: whole[k] for k in keys}
