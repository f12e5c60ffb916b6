"""Few-shot sampling (docs/method.md#few-shot-data) and multi-task batches.

Every random draw here comes from its own seeded generator, keyed by the data seed and the
task's name, so a task gets the same k examples whatever other tasks share the run, and
the batch order of epoch ``e`` can be rebuilt on resume without replaying earlier epochs.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from compt.errors import ComptError
from compt.tasks.base import Example, Task
from compt.truncation import fit_inputs

if TYPE_CHECKING:  # sampling needs no torch: ``compt run`` checks k before torch loads
    import torch

EVAL_SEED = 1234  # one fixed evaluation subset for every run, so seeds compare like for like


@dataclass
class Batch:
    """A tokenised, padded batch; ``label_tasks`` picks candidates (differs only in transfer)."""

    input_ids: torch.Tensor
    lengths: torch.Tensor
    task_ids: torch.Tensor
    labels: torch.Tensor
    label_tasks: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(t.to(device) for t in (
            self.input_ids, self.lengths, self.task_ids, self.labels, self.label_tasks)))

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def sample_few_shot(task: Task, k: int, seed: int, balanced: bool = False) -> list[Example]:
    """The first k of a seeded permutation of the train split (balanced: k per class)."""
    train = task.train(seed)
    return [train[i] for i in _few_shot_indices(task, k, seed, balanced)]


def sample_dev(task: Task, k: int, size: int, seed: int, balanced: bool = False
               ) -> list[Example]:
    """``size`` train examples outside the few-shot set: the next ones of the same seeded
    permutation. They pick the best checkpoint (``dev_size``), never train."""
    train = task.train(seed)
    taken = set(_few_shot_indices(task, k, seed, balanced))
    if len(taken) + size > len(train):
        raise ComptError(
            f"The few-shot sample ({len(taken)} examples) plus dev_size={size} is larger than "
            f"the train split of task '{task.name}' ({len(train)} examples); choose a smaller "
            f"k or dev_size."
        )
    rest = [i for i in _rng(seed, task.name).permutation(len(train)) if i not in taken]
    return [train[i] for i in rest[:size]]


def _few_shot_indices(task: Task, k: int, seed: int, balanced: bool) -> list[int]:
    train = task.train(seed)
    if k > len(train):
        raise ComptError(
            f"k={k} is larger than the train split of task '{task.name}' "
            f"({len(train)} examples); choose k <= {len(train)}."
        )
    order = _rng(seed, task.name).permutation(len(train))
    if not balanced:
        return order[:k].tolist()
    counts: dict[int, int] = {}
    picked: list[int] = []
    for i in order:  # stops once every class has k, so a large split is not read whole
        label = train[i].label
        if counts.get(label, 0) < k:
            counts[label] = counts.get(label, 0) + 1
            picked.append(int(i))
            if len(picked) == k * len(task.label_words):
                break
    return picked


def missing_classes(task: Task, examples: Sequence[Example]) -> list[str]:
    """The label words no example of a few-shot sample has (none for regression tasks):
    the prompt is then trained without ever seeing those answers."""
    if task.regression:
        return []
    seen = {ex.label for ex in examples}
    return [word for i, word in enumerate(task.label_words) if i not in seen]


def data_record(task: Task, examples: Sequence[Example], seed: int) -> dict:
    """What a run records about one task's data: where it came from, which train split the
    data seed read, the few-shot class counts, missing classes and any caveat."""
    counts = {word: 0 for word in task.label_words} if not task.regression else {}
    for ex in examples:
        if counts:
            counts[task.label_words[ex.label]] += 1
    record: dict = {"source": task.source, "train_split": task.train_split_for(seed),
                    **task.facts, "few_shot": len(examples)}
    if counts:
        record["class_counts"] = {w: n for w, n in counts.items() if n}
    missing = missing_classes(task, examples)
    if missing:
        record["missing_classes"] = missing
    if task.note:
        record["note"] = task.note
    return record


def eval_subset(task: Task, size: int | None) -> list[Example]:
    """The first ``size`` examples of a fixed permutation of the test split (all if None)."""
    test = task.test()
    if size is None or size >= len(test):
        return list(test)
    order = _rng(EVAL_SEED, task.name).permutation(len(test))[:size]
    return [test[i] for i in sorted(order)]


@dataclass
class Encoded:
    """Tokenised examples of several tasks, ready to batch.

    Its evaluation batches are built once (``eval_batches``) and kept here: they do not
    depend on the prompt, so every evaluation of the same examples shares them.
    """

    ids: list[list[int]]
    task_ids: list[int]
    labels: list[int]
    batches: dict[tuple, list[tuple[list[int], Batch]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, rows: Sequence[int]) -> Encoded:
        """The examples ``rows``, in that order (no tokenising again)."""
        return Encoded([self.ids[i] for i in rows], [self.task_ids[i] for i in rows],
                       [self.labels[i] for i in rows])


def encode(
    tasks: Sequence[Task], examples: Sequence[Sequence[Example]], tokenize, max_length: int
) -> Encoded:
    """Format and tokenise each task's examples, each at most ``max_length`` tokens.

    ``tokenize(texts, max_length)`` is the backbone's; over-long inputs are shortened
    field by field (``compt.truncation``), so no field is lost.
    """
    ids: list[list[int]] = []
    task_ids: list[int] = []
    labels: list[int] = []
    for t, (task, exs) in enumerate(zip(tasks, examples)):
        ids.extend(fit_inputs(task, exs, tokenize, max_length))
        task_ids.extend([t] * len(exs))
        labels.extend(ex.label for ex in exs)
    return Encoded(ids, task_ids, labels)


def collate(data: Encoded, index: Sequence[int], pad_id: int, label_task: int | None = None
            ) -> Batch:
    import torch

    rows = [data.ids[i] for i in index]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for j, row in enumerate(rows):
        input_ids[j, : len(row)] = torch.tensor(row)
    task_ids = torch.tensor([data.task_ids[i] for i in index])
    label_tasks = task_ids if label_task is None else torch.full_like(task_ids, label_task)
    return Batch(
        input_ids=input_ids,
        lengths=torch.tensor([len(r) for r in rows]),
        task_ids=task_ids,
        labels=torch.tensor([data.labels[i] for i in index]),
        label_tasks=label_tasks,
    )


def epoch_order(size: int, seed: int, epoch: int) -> list[int]:
    """A shuffled union of all tasks' examples, reproducible from (seed, epoch) alone."""
    return np.random.default_rng([seed, 7919, epoch]).permutation(size).tolist()


def train_batches(data: Encoded, batch_size: int, seed: int, epoch: int, pad_id: int
                  ) -> list[Batch]:
    order = epoch_order(len(data), seed, epoch)
    return [collate(data, order[i : i + batch_size], pad_id)
            for i in range(0, len(order), batch_size)]


def eval_batches(
    data: Encoded, batch_size: int, pad_id: int, label_task: int | None = None
) -> list[tuple[list[int], Batch]]:
    """Length-sorted batches (little padding), each with the indices of its examples;
    built on the first call and reused by later evaluations of ``data``."""
    key = (batch_size, pad_id, label_task)
    if key not in data.batches:
        order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
        data.batches[key] = [(order[i : i + batch_size],
                              collate(data, order[i : i + batch_size], pad_id, label_task))
                             for i in range(0, len(order), batch_size)]
    return data.batches[key]
