"""Same config, same seed, same machine: the same losses, with the default two threads.

The batch is sized so that the per-example prompt tensor (batch x prompt_len x d_model =
32 x 20 x 64) passes torch's 32,768-element grain: above it, a multi-threaded CPU op may
split its work, and an operation that adds into shared memory from several threads
(advanced-indexing backward did) sums in a different order each time.
"""

from __future__ import annotations

import logging

import pytest
import torch

from compt.config import RunConfig
from compt.runfolder import create_run_folder
from compt.train import Trainer, build_experiment

CFG = dict(model="tiny-t5", tasks=["sent_movies", "entail"], k=16, batch_size=32,
           prompt_len=20, max_steps=2, eval_size=8, analysis=False, checkpoint_every=0,
           device="cpu")


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def train_once(tmp_path) -> tuple[list[float], dict[str, torch.Tensor]]:
    """The losses of a run and its trained parameters (which show a one-ulp drift at once,
    where the losses often show it only steps later)."""
    cfg = RunConfig(**CFG)
    exp = build_experiment(cfg)
    folder = create_run_folder(tmp_path, cfg)
    Trainer(exp, folder, logging.getLogger("test")).run()
    losses = [row["loss"] for row in folder.read_metrics() if "loss" in row]
    return losses, exp.model.trainable_state()


def test_two_runs_with_two_threads_give_identical_losses_and_parameters(tmp_path, two_threads):
    (losses, params), (losses_again, params_again) = train_once(tmp_path), train_once(tmp_path)
    assert len(losses) == CFG["max_steps"]
    assert losses_again == losses
    drifted = [name for name in params if not torch.equal(params[name], params_again[name])]
    assert drifted == []
