"""The LM-BFF few-shot splits (GLUE and SentEval) as compt tasks, once built into the cache.

``compt data build lm-bff --from DIR`` (``compt/lmbff.py``) writes each task's rows in the
hub's own schema (column names, integer labels); this module reads them back through the
hub's row converter, so the GLUE tasks have the very definitions of the hub path
(``compt/tasks/hub.py``) and a score from either means the same (docs/tasks.md#lm-bff).
LM-BFF ships one train file per data seed; compt's data seed picks one of them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compt.errors import ComptError
from compt.files import cache_dir
from compt.tasks.base import Example, Task
from compt.tasks.hub import GLUE, HUB_SPECS, NLI3, SENTIMENT, HubRows, HubSpec

BUILD_COMMAND = "compt data build lm-bff --from DIR"
SEEDS = (13, 21, 42, 87, 100)  # LM-BFF's five data splits, in its order
SOURCE = "lm-bff"
TERMS = {
    "glue": "GLUE task terms (gluebenchmark.com); LM-BFF splits (Gao et al. 2021)",
    "senteval": "SentEval set, research use; LM-BFF splits (Gao et al. 2021)",
}
STAND_IN = ("test = {n} rows of glue_pretrain/{folder}/dev.json standing in for the missing "
            "test file, {dropped} exact overlap(s) with the k-shot train/dev files dropped")

SENTEVAL_SPECS = {
    spec.name: spec
    for spec in (
        HubSpec("senteval_sst5", "", None, ("sentence",),
                ("terrible", "bad", "okay", "good", "great"), (0, 1, 2, 3, 4),
                "SST-5 (SentEval): movie review sentence, five grades of sentiment."),
        HubSpec("senteval_mr", "", None, ("sentence",), SENTIMENT, (1, 0),
                "MR (SentEval): movie review sentence polarity (Pang & Lee)."),
        HubSpec("senteval_cr", "", None, ("sentence",), SENTIMENT, (1, 0),
                "CR (SentEval): customer review sentence polarity."),
        HubSpec("senteval_mpqa", "", None, ("sentence",), SENTIMENT, (1, 0),
                "MPQA (SentEval): opinion polarity of a short phrase."),
        HubSpec("senteval_subj", "", None, ("sentence",), ("subjective", "objective"), (0, 1),
                "Subj (SentEval): subjective review snippet or objective plot sentence."),
        HubSpec("senteval_trec", "", None, ("question",),
                ("description", "entity", "abbreviation", "human", "location", "number"),
                (0, 1, 2, 3, 4, 5), "TREC (SentEval): question type, 6 coarse classes."),
    )
}
SNLI_SPEC = HubSpec("snli", "", None, ("premise", "hypothesis"), NLI3, (0, 1, 2),
                    "SNLI: premise/hypothesis inference on image captions, 3 classes.")
SPECS: dict[str, HubSpec] = {**{name: HUB_SPECS[name] for name in GLUE}, "snli": SNLI_SPEC,
                             **SENTEVAL_SPECS}
# compt task name -> LM-BFF folder under k-shot/
FOLDERS = {"mnli": "MNLI", "qnli": "QNLI", "rte": "RTE", "cola": "CoLA", "sst2": "SST-2",
           "stsb": "STS-B", "mrpc": "MRPC", "qqp": "QQP", "snli": "SNLI",
           "senteval_sst5": "sst-5", "senteval_mr": "mr", "senteval_cr": "cr",
           "senteval_mpqa": "mpqa", "senteval_subj": "subj", "senteval_trec": "trec"}
SENTEVAL = tuple(SENTEVAL_SPECS)
LMBFF_SUITES = {"senteval": SENTEVAL, "lmbff": tuple(FOLDERS)}
LMBFF_SUITE_DESCRIPTIONS = {
    "senteval": "SentEval's six LM-BFF tasks, built offline by `compt data build lm-bff`",
    "lmbff": "All 15 LM-BFF few-shot tasks (GLUE, SNLI, SentEval), built offline",
}
ALIASES = {"sst-5": "senteval_sst5", "sst5": "senteval_sst5", "cr": "senteval_cr",
           "mpqa": "senteval_mpqa"}


def suite_dir() -> Path:
    return cache_dir() / "lm-bff"


def manifest_path(root: Path | None = None) -> Path:
    return (root or suite_dir()) / "suite.json"


def split_of(data_seed: int) -> int:
    """The LM-BFF split a compt data seed reads: 0-4 (and 5-9, ...) map onto 13, 21, 42,
    87, 100 in order; a data seed that is itself one of them reads that split."""
    return data_seed if data_seed in SEEDS else SEEDS[data_seed % len(SEEDS)]


def train_split(data_seed: int) -> str:
    return f"train-{split_of(data_seed)}"


@functools.cache
def _manifest(path: Path, mtime: float) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def built_tasks(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """The built tasks and what the build recorded about each ({} when not built)."""
    path = manifest_path(root)
    if not path.is_file():
        return {}
    return dict(_manifest(path, path.stat().st_mtime).get("tasks", {}))


def is_built(name: str) -> bool:
    return name in built_tasks()


def not_built_error(name: str) -> ComptError:
    return ComptError(
        f"The task '{name}' comes from LM-BFF's few-shot splits, which are not built yet in "
        f"{suite_dir()} (set COMPT_CACHE to use another cache). Build them once, offline, "
        f"from a folder in LM-BFF's layout (k-shot/<TASK>/16-<seed>/...): `{BUILD_COMMAND}` "
        f"(docs/tasks.md#lm-bff)."
    )


def lmbff_task(name: str) -> Task:
    """A built LM-BFF task; its train split follows the data seed (``split_of``)."""
    info = built_tasks().get(name)
    if info is None:
        raise not_built_error(name)
    spec = SPECS[name]
    folder = suite_dir() / "tasks" / name

    @functools.cache
    def load_split(split: str) -> Sequence[Example]:
        path = folder / f"{split}.jsonl"
        if not path.is_file():
            raise ComptError(f"LM-BFF task '{name}' has no split '{split}' in {folder}: "
                             f"build it again with `{BUILD_COMMAND}`.")
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        return HubRows(RowTable(rows), spec)

    family = "senteval" if name in SENTEVAL else "glue"
    return Task(
        name=name,
        label_words=spec.label_words,
        metric=spec.metric,
        load_split=load_split,
        train_split=train_split(SEEDS[0]),
        test_split="test",
        regression=spec.regression,
        description=f"{spec.description} LM-BFF split.",
        source=SOURCE,
        terms=TERMS[family],
        note=str(info.get("note", "")),
        seeded_train=train_split,
        facts={key: info[key] for key in ("test_file", "overlaps_dropped") if key in info},
    )


class RowTable:
    """Rows read from a jsonl file, indexed like a ``datasets.Dataset`` (what HubRows reads)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return [row[key] for row in self.rows]
        return self.rows[key]
