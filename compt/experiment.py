"""What a run is built into (``compt.train.build_experiment``): tasks, data, the model.

It sits below training and the analyses so that both can take an ``Experiment`` without
importing each other.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from compt.config import RunConfig
from compt.data import Encoded, encode
from compt.model.prompted import PromptedModel
from compt.tasks.base import Example, Task


@dataclass
class Experiment:
    """Everything a run needs, built once from its config."""

    cfg: RunConfig
    tasks: list[Task]
    model: PromptedModel
    train_data: Encoded
    eval_examples: list[list[Example]]
    eval_data: Encoded
    device: torch.device
    batch_size: int
    steps_per_epoch: int
    total_steps: int
    stage_steps: int  # steps of each of the method's stages (all of them if it has one)
    dev_examples: list[list[Example]] | None = None
    dev_data: Encoded | None = None
    data: dict[str, dict] = field(default_factory=dict)  # per task: compt.data.data_record

    @property
    def selection_every(self) -> int:
        """Steps between best-checkpoint checks on the dev set: ``eval_every``, else an epoch."""
        return self.cfg.eval_every or self.steps_per_epoch

    @property
    def autocast(self) -> bool:
        return self.device.type == "cuda" and self.cfg.bf16

    @functools.cached_property
    def analysis_set(self) -> tuple[list[list[Example]], Encoded]:
        """The analyses' test subset (``analysis_eval_size`` per task) and its encoding: a
        prefix of each task's rows of ``eval_data``, tokenised once with it."""
        size = self.cfg.analysis_eval_size
        subset = [exs if size is None else exs[:size] for exs in self.eval_examples]
        rows: list[int] = []
        start = 0
        for exs, kept in zip(self.eval_examples, subset):
            rows.extend(range(start, start + len(kept)))
            start += len(exs)
        return subset, self.eval_data.select(rows)

    def encode(self, examples: list[list[Example]]) -> Encoded:
        room = self.cfg.max_length - self.model.prompt.length
        return encode(self.tasks, examples, self.model.backbone.tokenize, room)
