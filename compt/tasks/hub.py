"""GLUE and SET2 tasks from the Hugging Face Hub, loaded lazily with ``datasets``.

docs/method.md#tasks-and-metrics.

Label words follow the paper; each task lists the dataset's own label value for each of
its label words, so the word order is compt's choice (F1's positive class comes first).
Rows are turned into ``Example`` objects only when read: sampling 16 examples from a
400k-row train split converts 16 rows. Without a reachable hub the load fails within
seconds and says how to work offline (docs/tasks.md).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

from compt.errors import ComptError
from compt.tasks.base import STSB_GRID, Example, Task

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HubSpec:
    """Where a task lives on the hub and how its rows become examples."""

    name: str
    path: str
    config: str | None
    fields: tuple[str, ...]
    label_words: tuple[str, ...]
    labels: tuple[Any, ...] | None  # the dataset's value for each label word; None: regression
    description: str
    metric: str = "accuracy"
    test_split: str = "validation"
    label_column: str = "label"

    @property
    def regression(self) -> bool:
        return self.labels is None


NLI3 = ("entailment", "neutral", "contradiction")
NLI2 = ("entailment", "not_entailment")
SENTIMENT = ("positive", "negative")
GLUE_ID = "nyu-mll/glue"

HUB_SPECS = {
    spec.name: spec
    for spec in (
        HubSpec("mnli", GLUE_ID, "mnli", ("premise", "hypothesis"), NLI3, (0, 1, 2),
                "GLUE MNLI: premise/hypothesis inference, 3 classes.",
                test_split="validation_matched"),
        HubSpec("qnli", GLUE_ID, "qnli", ("question", "sentence"), NLI2, (0, 1),
                "GLUE QNLI: does the sentence answer the question?"),
        HubSpec("rte", GLUE_ID, "rte", ("sentence1", "sentence2"), NLI2, (0, 1),
                "GLUE RTE: textual entailment, 2 classes."),
        HubSpec("cola", GLUE_ID, "cola", ("sentence",), ("acceptable", "unacceptable"), (1, 0),
                "GLUE CoLA: is the sentence grammatical? (Matthews correlation)",
                metric="matthews"),
        HubSpec("sst2", GLUE_ID, "sst2", ("sentence",), SENTIMENT, (1, 0),
                "GLUE SST-2: movie review sentence sentiment."),
        HubSpec("stsb", GLUE_ID, "stsb", ("sentence1", "sentence2"), STSB_GRID, None,
                "GLUE STS-B: similarity 0-5 on a 0.2 grid (Pearson/Spearman).",
                metric="pearson_spearman"),
        HubSpec("mrpc", GLUE_ID, "mrpc", ("sentence1", "sentence2"),
                ("equivalent", "not_equivalent"), (1, 0),
                "GLUE MRPC: are the two sentences paraphrases? (F1/accuracy)",
                metric="f1_accuracy"),
        HubSpec("qqp", GLUE_ID, "qqp", ("question1", "question2"),
                ("duplicate", "not_duplicate"), (1, 0),
                "GLUE QQP: are the two questions duplicates? (F1/accuracy)",
                metric="f1_accuracy"),
        HubSpec("multinli", "nyu-mll/multi_nli", None, ("premise", "hypothesis"), NLI3,
                (0, 1, 2), "MultiNLI (SET2): premise/hypothesis inference, 3 classes.",
                test_split="validation_matched"),
        HubSpec("scitail", "allenai/scitail", "snli_format", ("sentence1", "sentence2"),
                ("entailment", "neutral"), ("entailment", "neutral"),
                "SciTail: science-exam entailment, 2 classes.", label_column="gold_label"),
        HubSpec("imdb", "stanfordnlp/imdb", "plain_text", ("text",), SENTIMENT, (1, 0),
                "IMDB movie review sentiment (test split: test).", test_split="test"),
        HubSpec("yelp_polarity", "fancyzhx/yelp_polarity", "plain_text", ("text",), SENTIMENT,
                (1, 0), "Yelp review polarity (test split: test).", test_split="test"),
        HubSpec("paws", "google-research-datasets/paws", "labeled_final",
                ("sentence1", "sentence2"), ("equivalent", "not_equivalent"), (1, 0),
                "PAWS: paraphrase or not, with high word overlap."),
    )
}
GLUE = ("mnli", "qnli", "rte", "cola", "sst2", "stsb", "mrpc", "qqp")
SET2 = ("multinli", "scitail", "imdb", "yelp_polarity", "paws", "mrpc")
ALIASES = {"multi_nli": "multinli", "sst-2": "sst2", "sts-b": "stsb", "yelp": "yelp_polarity"}


def hub_task(name: str) -> Task:
    """The Task for one hub dataset; nothing is downloaded until a split is read."""
    spec = HUB_SPECS[name]

    @functools.cache
    def load_split(split: str) -> Sequence[Example]:
        return load_hub_split(spec, split)

    return Task(
        name=spec.name,
        label_words=spec.label_words,
        metric=spec.metric,
        load_split=load_split,
        test_split=spec.test_split,
        regression=spec.regression,
        description=spec.description,
        source=f"hub: {spec.path}",
        terms=f"the terms on the dataset card of {spec.path}",
    )


def load_hub_split(spec: HubSpec, split: str) -> Sequence[Example]:
    """One split of a hub dataset as examples; rows without a gold label are dropped."""
    import datasets  # heavy: imported only when data are actually needed

    if not datasets.config.HF_HUB_OFFLINE:
        _check_reachable(spec)
    try:
        dataset = datasets.load_dataset(spec.path, spec.config, split=split)
    except (ConnectionError, FileNotFoundError) as exc:
        raise ComptError(_unavailable(spec, exc)) from None
    return HubRows(dataset, spec)


def _check_reachable(spec: HubSpec) -> None:
    """Ask the hub about the dataset with a short timeout.

    Without this, ``load_dataset`` retries for half a minute before giving up on an
    unreachable hub.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        HfApi().dataset_info(spec.path, timeout=PROBE_TIMEOUT_S)
    except HfHubHTTPError:
        return  # the hub answered; load_dataset reports what it said
    except Exception as exc:  # any transport failure means the hub is out of reach
        raise ComptError(_unavailable(spec, exc)) from None


def _unavailable(spec: HubSpec, exc: BaseException) -> str:
    import datasets

    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    dataset = f"'{spec.path}'" + (f" (config '{spec.config}')" if spec.config else "")
    cache = ("Offline mode is on (HF_DATASETS_OFFLINE / HF_HUB_OFFLINE) and there is no "
             "cached copy of it." if datasets.config.HF_HUB_OFFLINE else
             "If you downloaded it before, set HF_DATASETS_OFFLINE=1 to use the cached copy.")
    return (
        f"Task '{spec.name}' needs the dataset {dataset} from the Hugging Face Hub, "
        f"which could not be loaded: {reason}. {cache} Without network, train on the "
        f"built-in offline suite (--tasks builtin), on your own data files through a "
        f"local task definition (a .toml/.yaml/.json file; see docs/tasks.md){_lmbff_hint(spec)}."
    )


def _lmbff_hint(spec: HubSpec) -> str:
    if spec.path != GLUE_ID:
        return ""
    return (", or build the GLUE tasks offline from LM-BFF's few-shot splits with `compt data "
            "build lm-bff --from DIR` (docs/tasks.md#lm-bff)")


class HubRows(Sequence[Example]):
    """A dataset split seen as examples, converted row by row on access."""

    def __init__(self, dataset: Any, spec: HubSpec) -> None:
        self.dataset = dataset
        self.spec = spec
        self._index = {value: i for i, value in enumerate(spec.labels or ())}
        values = dataset[spec.label_column][:]
        if spec.regression:
            self.rows = [i for i, v in enumerate(values) if v is not None and v >= 0]
        else:
            self.rows = [i for i, v in enumerate(values) if v in self._index]

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Example: ...

    @overload
    def __getitem__(self, index: slice) -> list[Example]: ...

    def __getitem__(self, index: int | slice) -> Example | list[Example]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self.convert(self.dataset[self.rows[index]])

    def convert(self, row: dict[str, Any]) -> Example:
        spec = self.spec
        fields = tuple((name, str(row[name])) for name in spec.fields)
        value = row[spec.label_column]
        if spec.regression:
            step = round(float(value) * 5)
            return Example(fields, label=min(max(step, 0), len(STSB_GRID) - 1), score=float(value))
        return Example(fields, label=self._index[value])
