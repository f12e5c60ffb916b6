"""Shared test setup: never touch a hub, keep each test's run store private."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Report commands leave the reference rows out (they would evaluate the tiny models on
# 200 test examples in every test that prints a table); tests/test_reference_rows_cli.py
# turns them back on.
os.environ["COMPT_NO_REFERENCES"] = "1"
# Tiny models gain nothing from two threads, and on a busy 2-core machine threads fighting
# for cores make tests many times slower; subprocesses inherit the variable.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def reference_cache(tmp_path_factory, monkeypatch):
    """Reference scores go to a cache of this test session, never the user's."""
    import compt.references

    root = tmp_path_factory.getbasetemp() / "reference-cache"
    monkeypatch.setattr(compt.references, "cache_root", lambda: root)
    return root


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """An empty run store, also exported as COMPT_RUNS_DIR for code that reads the default."""
    path = tmp_path / "runs"
    path.mkdir()
    monkeypatch.setenv("COMPT_RUNS_DIR", str(path))
    return path


@pytest.fixture
def make_run(runs_dir):
    """Write a run folder by hand (no training): config, status and, if scores, results.

    Returns the ``RunFolder``; ``sync=True`` also records it in the index.
    """
    from compt.config import RunConfig
    from compt.runfolder import create_run_folder
    from compt.store import RunStore

    def make(run_id=None, status="done", scores=None, sync=True, **config):
        cfg = RunConfig(**{"model": "tiny-t5", "tasks": ["sent_movies", "sent_products"],
                           **config})
        folder = create_run_folder(runs_dir, cfg, run_id=run_id)
        if scores is not None:
            folder.write_results({
                "scores": scores, "average": sum(scores.values()) / len(scores),
                "primary_metric": dict.fromkeys(scores, "accuracy"), "duration_s": 12.5,
            })
        folder.update_status(status=status, step=10 if status == "done" else 4, total=10)
        if sync:
            RunStore(runs_dir).sync(folder.run_id)
        return folder

    return make


TINY_RUN = {"model": "tiny-t5", "tasks": ["sent_movies"], "k": 4, "eval_size": 8,
            "analysis": False, "max_steps": 2, "device": "cpu"}


@pytest.fixture
def tiny_cfg(monkeypatch):
    """A RunConfig that trains in a few seconds on the CPU (tiny random T5, one task).

    Also limits every child process to one CPU thread: the process tests start several.
    """
    from compt.config import RunConfig

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    return RunConfig(**TINY_RUN)


@pytest.fixture
def wait_for():
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout``."""
    import time

    def wait(predicate, timeout=60.0, what="a condition", interval=0.1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    return wait


@pytest.fixture
def compt(capsys, monkeypatch):
    """Run ``compt ARGS`` in-process at 80 columns; returns (exit code, stdout, stderr)."""
    from compt.cli import main

    monkeypatch.setenv("COLUMNS", "80")

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exit_:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exit_.value.code or 0, out, err

    return run


class StopAt:
    """A progress reporter that asks the trainer to stop once ``step`` is done."""

    def __init__(self, step: int) -> None:
        self.at, self.trainer = step, None

    def attach(self, trainer) -> None:  # pass as execute_run(on_trainer=...)
        self.trainer = trainer

    def start(self, total, done): ...
    def phase(self, text): ...
    def count(self, done, total): ...
    def finish(self): ...

    def step(self, step, loss):
        if step == self.at:
            self.trainer.stop_requested = True


@pytest.fixture
def stop_at():
    """``stop_at(4)``: a reporter for ``execute_run`` that stops the run after step 4."""
    return StopAt


@pytest.fixture
def train_frozen(tmp_path):
    """Train ``cfg`` and check the frozen-backbone rule (docs/method.md): only the prompts,
    encoders and router get gradients, the backbone ends bit-identical, sources and router
    move. Returns the experiment and its results."""
    import logging

    from compt.runfolder import create_run_folder
    from compt.train import Trainer, build_experiment

    def train(cfg):
        exp = build_experiment(cfg)
        before = {k: v.clone() for k, v in exp.model.backbone.state_dict().items()}
        trainer = Trainer(exp, create_run_folder(tmp_path, cfg), logging.getLogger("test"))
        trainer_params = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
        assert trainer_params == {id(p) for p in exp.model.prompt.parameters()
                                  if p.requires_grad}
        assert not any(p.requires_grad for p in exp.model.backbone.parameters())
        results = trainer.run()
        after = exp.model.backbone.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before)
        start = build_experiment(cfg).model.prompt.state_dict()
        trained = exp.model.prompt.state_dict()
        assert not torch.equal(start["sources.raw"], trained["sources.raw"])
        assert not torch.equal(start["router.logits"], trained["router.logits"])
        return exp, results

    return train


@pytest.fixture(scope="module")
def golden_store(tmp_path_factory):
    """A run store holding the golden sample runs (tests/golden/samples.py)."""
    from golden.samples import build_run_store

    runs_dir = tmp_path_factory.mktemp("store") / "runs"
    runs_dir.mkdir()
    build_run_store(runs_dir)
    return runs_dir
