"""Reference rows: what a trained prompt has to beat, computed with compt's own code
(docs/method.md#reference-rows).

For the backbone, tasks, data seeds, k and test examples of a set of runs, three scores
need no training (docs/reports.md#reference-rows):

- ``majority``: always answering the most frequent label of the test examples;
- ``zero-shot``: the frozen backbone with an empty prompt, through the runs' own input
  encoding, rank scoring (``compt.evaluate.predict``) and metrics;
- a training-free k-shot baseline on the very few-shot sample the runs trained on
  (``compt.data.sample_few_shot``), one per backbone kind in ``FEW_SHOT``: the class
  centroid for sentence encoders, in-context demonstrations for generative backbones.

Scores are cached in ``compt.files.cache_dir() / "references"``, not in the run store: a
reference is a pure function of the model, the task data and these settings, not a record
of something that ran; one cache serves every store (a copied or trimmed store keeps no
stale copies) and deleting it costs only the seconds to recompute. The key names the
task, not its data: after editing a local task file, delete that folder.

Torch is imported only on a cache miss, so a report over cached references stays light.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from compt.config import RunConfig
from compt.errors import ComptError
from compt.files import atomic_write_json, cache_dir, read_json
from compt.tasks.base import Example, Task

if TYPE_CHECKING:
    import torch

    from compt.data import Batch, Encoded
    from compt.model.backbones import Backbone

MAJORITY, ZERO_SHOT, K_SHOT = "majority", "zero-shot", "k-shot"
CACHE_VERSION = 2  # bump when a reference's definition changes


class NotCached(ComptError):
    """A reference asked for from the cache alone is not there."""


def cache_root() -> Path:
    return cache_dir() / "references"


@dataclass(frozen=True)
class Setting:
    """What a reference score depends on besides the task and data seed: the runs'
    backbone and scoring options, their few-shot draw, test examples and input budget.

    Not the method: with no prompt, the input may take all of ``max_length`` (a run
    leaves its prompt's rows out of it), so pt, the compositions and mcat's longer prompt
    share one set of reference rows."""

    model: str
    backbone: str  # the config's choice: auto or a kind
    k: int
    sampling: str
    eval_size: int | None
    room: int  # tokens an input may take: the runs' max_length (no prompt rows here)
    logit_scale: float
    length_norm: bool

    @classmethod
    def of(cls, cfg: RunConfig) -> Setting:
        return cls(cfg.model, cfg.backbone, cfg.k, cfg.sampling, cfg.eval_size,
                   cfg.max_length, cfg.logit_scale, cfg.length_norm)


@functools.lru_cache(maxsize=64)
def model_fingerprint(name: str) -> str:
    """A model name, plus the size and time of its files where it is a local path."""
    path = Path(name).expanduser()
    if not path.exists():
        return name.lower()
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    stats = [(str(f.relative_to(path) if path.is_dir() else f.name), f.stat().st_size,
              f.stat().st_mtime_ns) for f in files if f.is_file()]
    return f"{path.resolve()}#{hashlib.sha1(repr(stats).encode()).hexdigest()[:12]}"


# -- the training-free k-shot baselines, one per backbone kind ---------------------------


class FewShotBaseline(ABC):
    """Scores test inputs using the k few-shot examples without a gradient step."""

    name: ClassVar[str]  # the reference row's name

    @abstractmethod
    def predict(self, backbone: Backbone, task: Task, shots: Sequence[Example],
                tests: Sequence[Example], room: int) -> list[int]:
        """One predicted label index per test example (``backbone`` has the task's labels)."""


FEW_SHOT: dict[str, FewShotBaseline] = {}


def register(*kinds: str) -> Callable[[type[FewShotBaseline]], type[FewShotBaseline]]:
    """Class decorator: make the class the k-shot baseline of these backbone kinds (a new
    kind in ``compt.model.kinds`` needs one; tests/test_references.py checks)."""
    def add(cls: type[FewShotBaseline]) -> type[FewShotBaseline]:
        for kind in kinds:
            FEW_SHOT[kind] = cls()
        return cls
    return add


@register("encoder")
class Centroid(FewShotBaseline):
    """Each class's prototype is the average of two unit vectors: the mean of its few-shot
    examples' (unit) pooled vectors, renormalised, and its label word's pooled vector (the
    one zero-shot scores against). A test input goes to the prototype of highest cosine.
    A class absent from the sample keeps its label word's vector alone.

    The test inputs' pooled vectors do not depend on the sample: they are computed once
    per backbone and test set, and every data seed reuses them."""

    name = "centroid"

    def __init__(self) -> None:
        self.test_vectors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def predict(self, backbone: Backbone, task: Task, shots: Sequence[Example],
                tests: Sequence[Example], room: int) -> list[int]:
        import torch
        from torch import nn

        prototypes = backbone.label_bank[0].clone()  # (C, d) unit rows: the label words
        pooled = _pooled(backbone, task, shots, room)
        gold = torch.tensor([ex.label for ex in shots])
        for c in range(len(task.label_words)):
            if (gold == c).any():
                centroid = nn.functional.normalize(pooled[gold == c].mean(0), dim=-1)
                prototypes[c] = nn.functional.normalize(centroid + prototypes[c], dim=-1)
        known = self.test_vectors.setdefault(backbone, {})
        key = (task.name, room, tuple(tests))
        if key not in known:
            known[key] = _pooled(backbone, task, tests, room)
        return (known[key] @ prototypes.T).argmax(-1).tolist()


def _pooled(backbone: Backbone, task: Task, examples: Sequence[Example], room: int,
            batch_size: int = 64) -> torch.Tensor:
    """(N, d) unit pooled vectors of the encoded examples, as zero-shot pools them."""
    import torch
    from torch import nn

    from compt.data import encode, eval_batches

    data = encode([task], [examples], backbone.tokenize, room)
    out = torch.empty(len(data), backbone.hidden_size)
    with torch.no_grad():
        for index, batch in eval_batches(data, batch_size, backbone.pad_id):
            embeds = backbone.embed(batch.input_ids)
            pooled = backbone.pool(embeds, _attention(batch)).float()  # type: ignore[attr-defined]
            out[index] = nn.functional.normalize(pooled, dim=-1).cpu()
    return out


class DemonstrationTask(Task):
    """A task whose inputs are preceded by solved examples: ``"{demo} {label} ... {input}"``.

    Only the test input is shortened to the runs' budget; the demonstrations are whole.
    """

    def __init__(self, task: Task, shots: Sequence[Example]) -> None:
        super().__init__(**{f.name: getattr(task, f.name) for f in fields(task)})
        self.demonstrations = " ".join(
            f"{task.format_input(ex)} {task.label_words[ex.label]}" for ex in shots)

    def format_input(self, example: Example) -> str:
        return f"{self.demonstrations} {super().format_input(example)}"


@register("seq2seq", "causal")
class InContext(FewShotBaseline):
    """In-context learning: the k examples with their label words, in the sample's order,
    before each test input; the label is then ranked exactly as zero-shot ranks it."""

    name = "in-context"

    def predict(self, backbone: Backbone, task: Task, shots: Sequence[Example],
                tests: Sequence[Example], room: int) -> list[int]:
        from compt.truncation import NO_LIMIT

        demo = DemonstrationTask(task, shots)
        extra = len(backbone.tokenize([demo.demonstrations], NO_LIMIT)[0])
        return zero_shot_predict(backbone, demo, tests, room + extra)


def few_shot_sample(task: Task, setting: Setting, data_seed: int) -> list[Example]:
    """The k examples a run of this setting and data seed trains on: the same call
    ``compt.train.build_experiment`` makes."""
    from compt.data import sample_few_shot

    return sample_few_shot(task, setting.k, data_seed, setting.sampling == "balanced")


# -- zero-shot: the runs' evaluation with an empty prompt --------------------------------


def _attention(batch: Batch) -> torch.Tensor:
    import torch

    width = batch.input_ids.shape[1]
    return (torch.arange(width)[None] < batch.lengths[:, None]).long()


class Unprompted:
    """The frozen backbone as ``compt.evaluate.predict`` sees a prompted model, with an
    empty prompt: token embeddings in, the backbone's own label scores out."""

    def __init__(self, backbone: Backbone) -> None:
        self.backbone = backbone

    def scores(self, batch: Batch, mask: Any = None) -> torch.Tensor:
        embeds = self.backbone.embed(batch.input_ids)
        return self.backbone.scores(embeds, _attention(batch), batch.label_tasks)


def zero_shot_predict(backbone: Backbone, task: Task, tests: Sequence[Example],
                      room: int) -> list[int]:
    from compt.data import encode
    from compt.evaluate import predict

    data: Encoded = encode([task], [tests], backbone.tokenize, room)
    return predict(Unprompted(backbone), data, [task])  # type: ignore[arg-type]


def majority_predict(tests: Sequence[Example]) -> list[int]:
    """The most frequent gold label (the lowest index on a tie) for every example."""
    from compt.metrics import majority_label  # scipy and sklearn: not on a warm cache's path

    return [majority_label([ex.label for ex in tests])] * len(tests)


# -- computing with a cache --------------------------------------------------------------


@dataclass
class Computer:
    """Computes and caches reference scores, loading each task and model at most once."""

    root: Path = field(default_factory=lambda: cache_root())  # looked up when made
    cached_only: bool = False  # never compute: a miss raises NotCached (the TUI's mode)
    tasks: dict[str, Task] = field(default_factory=dict)
    backbones: dict[tuple[str, str], Any] = field(default_factory=dict)

    def task(self, name: str) -> Task:
        if name not in self.tasks:
            from compt.tasks import resolve_tasks

            self.tasks[name] = resolve_tasks([name])[0]
        return self.tasks[name]

    def backbone(self, setting: Setting) -> Backbone:
        key = (setting.model, setting.backbone)
        if key not in self.backbones:
            from compt.model import BackboneOptions, load_backbone

            options = BackboneOptions(setting.logit_scale, setting.length_norm)
            self.backbones[key] = load_backbone(setting.model, setting.backbone, options)
        return self.backbones[key]

    def scores(self, setting: Setting, task_name: str, data_seed: int) -> dict[str, float]:
        """Every reference's primary score (0-100) on ``task_name`` for one data seed,
        keyed by its row name (the k-shot one is named by its backbone kind's baseline)."""
        found = [self.score(setting, task_name, data_seed, which)
                 for which in (MAJORITY, ZERO_SHOT, K_SHOT)]
        return dict(found)

    def score(self, setting: Setting, task_name: str, data_seed: int, which: str
              ) -> tuple[str, float]:
        """(row name, score) of one reference, from the cache when it holds it."""
        key = self._key(setting, task_name, data_seed, which)
        digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()
        path = self.root / f"{digest}.json"
        cached = read_json(path)
        if isinstance(cached, dict) and cached.get("key") == key:
            return str(cached["name"]), float(cached["score"])
        if self.cached_only:
            raise NotCached(f"The reference scores of {task_name} are not cached yet.")
        name, score = self._compute(setting, self.task(task_name), data_seed, which)
        try:
            atomic_write_json(path, {"key": key, "name": name, "score": score})
        except OSError:
            pass  # only a cache: a read-only or full disk costs a recomputation next time
        return name, score

    def _key(self, setting: Setting, task: str, data_seed: int, which: str) -> dict[str, Any]:
        """Only what the reference depends on: majority ignores the model and the draw,
        zero-shot the draw."""
        key: dict[str, Any] = {"version": CACHE_VERSION, "reference": which, "task": task,
                               "eval_size": setting.eval_size}
        if which != MAJORITY:
            key.update(asdict(replace(setting, k=0, sampling="")), model=model_fingerprint(
                setting.model))
        if which == K_SHOT:
            key.update(k=setting.k, sampling=setting.sampling, data_seed=data_seed)
        return key

    def _compute(self, setting: Setting, task: Task, data_seed: int, which: str
                 ) -> tuple[str, float]:
        from compt.data import eval_subset
        from compt.evaluate import score_task

        tests = eval_subset(task, setting.eval_size)
        name = which
        if which == MAJORITY:
            preds = majority_predict(tests)
        else:
            backbone = self.backbone(setting)
            backbone.set_labels([list(task.label_words)])
            if which == ZERO_SHOT:
                preds = zero_shot_predict(backbone, task, tests, setting.room)
            else:
                baseline = FEW_SHOT[backbone.kind]
                shots = few_shot_sample(task, setting, data_seed)
                preds = baseline.predict(backbone, task, shots, tests, setting.room)
                name = baseline.name
        primary = score_task(task, tests, preds).primary
        return name, round(primary, 4) if math.isfinite(primary) else 0.0


# -- references for a selection of runs --------------------------------------------------


Scores = dict[int, dict[str, float]]  # data seed -> task -> score


@dataclass
class ReferenceSet:
    """The references standing beside some runs (one setting): for each reference name,
    each data seed those runs used, the per-task scores."""

    data_seeds: dict[str, int]  # run id -> its data seed
    scores: dict[str, Scores]  # reference name -> its scores
    setting: str = ""  # what tells it from the other sets of one view, e.g. "eval_size=100"

    @property
    def run_ids(self) -> list[str]:
        return list(self.data_seeds)

    def over(self, run_ids: Sequence[str]) -> dict[str, Scores]:
        """The scores on the data seeds of ``run_ids`` only (those in this set)."""
        seeds = {self.data_seeds[r] for r in run_ids if r in self.data_seeds}
        return {name: {s: v for s, v in by_seed.items() if s in seeds}
                for name, by_seed in self.scores.items()}


def references_for(
    runs: Sequence[Mapping[str, Any]],
    config_of: Callable[[Mapping[str, Any]], RunConfig],
    computer: Computer | None = None,
) -> list[ReferenceSet]:
    """One ``ReferenceSet`` per setting among ``runs`` (usually one).

    Raises ComptError, saying why, when a model or task cannot be loaded.
    """
    computer = computer or Computer()
    by_setting: dict[Setting, list[tuple[Mapping[str, Any], RunConfig]]] = {}
    for run in runs:
        cfg = config_of(run)
        by_setting.setdefault(Setting.of(cfg), []).append((run, cfg))
    out = []
    for setting, members in by_setting.items():
        scores: dict[str, Scores] = {}
        wanted = {(cfg.effective_data_seed, task): None for run, cfg in members
                  for task in run.get("tasks") or list(run.get("scores") or {})}
        for seed, task in wanted:  # each (data seed, task) once, however many runs share it
            for name, score in computer.scores(setting, task, seed).items():
                scores.setdefault(name, {}).setdefault(seed, {})[task] = score
        seeds = {str(r["run_id"]): cfg.effective_data_seed for r, cfg in members}
        out.append(ReferenceSet(seeds, scores, _differences(setting, list(by_setting))))
    return out


def _differences(setting: Setting, settings: Sequence[Setting]) -> str:
    """``key=value`` of the fields on which ``settings`` disagree, for ``setting``."""
    mine = asdict(setting)
    keys = [k for k in mine if len({asdict(s)[k] for s in settings}) > 1]
    return " ".join(f"{k}={mine[k]}" for k in keys)


def config_reader(read: Callable[[Mapping[str, Any]], dict[str, Any]]
                  ) -> Callable[[Mapping[str, Any]], RunConfig]:
    """``config_of`` from a reader of a run's config.json ``config`` block."""
    def config_of(run: Mapping[str, Any]) -> RunConfig:
        data = read(run)
        if not data:
            raise ComptError(f"Run {run.get('run_id')} has no readable config.json.")
        return RunConfig.from_dict(data, f"{run.get('run_id')}/config.json")
    return config_of


def cached_references(runs: Sequence[Mapping[str, Any]],
                      config_of: Callable[[Mapping[str, Any]], RunConfig]) -> list[ReferenceSet]:
    """The reference sets the cache holds in full for ``runs``, else none: for views that
    must not load a model (the TUI); a report command computes and caches them."""
    try:
        return references_for(runs, config_of, Computer(cached_only=True))
    except ComptError:
        return []
