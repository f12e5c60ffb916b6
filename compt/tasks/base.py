"""The task interface every source of data (HF hub, local files, built-in suite) provides.

A task turns into plain ``Example`` lists; everything downstream (sampling, batching,
training, evaluation) works only with this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Metric names understood by compt.metrics; the first listed is the task's primary score.
METRICS = ("accuracy", "matthews", "f1_accuracy", "pearson_spearman")
STSB_GRID = tuple(f"{i / 5:.1f}" for i in range(26))  # "0.0", "0.2", ..., "5.0"


@dataclass(frozen=True)
class Example:
    """One input: text fields in template order, and the gold label.

    ``label`` is the index into the task's ``label_words``; for a regression task it is
    the index of the nearest grid point and ``score`` keeps the exact gold value.
    """

    fields: tuple[tuple[str, str], ...]
    label: int
    score: float | None = None


@dataclass
class Task:
    """A classification (or grid-regression) task with verbalised labels."""

    name: str
    label_words: tuple[str, ...]
    metric: str
    load_split: Callable[[str], Sequence[Example]] = field(repr=False)
    train_split: str = "train"
    test_split: str = "validation"
    regression: bool = False
    description: str = ""
    source: str = ""  # where the data come from: builtin, real suite, lm-bff, hub, local file
    terms: str = ""  # the data's licence or terms of use, where known
    note: str = ""  # a caveat every output that shows this task's score repeats (stand-ins)
    facts: dict[str, Any] = field(default_factory=dict)  # what its build recorded (overlaps)
    # LM-BFF ships one train file per data seed: data seed -> the train split to sample from.
    seeded_train: Callable[[int], str] | None = field(default=None, repr=False)

    def format_input(self, example: Example) -> str:
        """docs/method.md#model: ``"{task}: {field1}: {text1} {field2}: {text2}"``."""
        parts = " ".join(f"{key}: {text}" for key, text in example.fields)
        return f"{self.name}: {parts}"

    def train_split_for(self, seed: int | None = None) -> str:
        """The train split a data seed samples from (one split unless ``seeded_train``)."""
        if self.seeded_train is None or seed is None:
            return self.train_split
        return self.seeded_train(seed)

    def train(self, seed: int | None = None) -> Sequence[Example]:
        return self.load_split(self.train_split_for(seed))

    def test(self) -> Sequence[Example]:
        return self.load_split(self.test_split)

    def label_value(self, index: int) -> float:
        """The numeric value of a label word (regression tasks)."""
        return float(self.label_words[index])
