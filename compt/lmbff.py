"""Builds LM-BFF's few-shot splits (a folder in LM-BFF's layout) into compt's cache.

Each LM-BFF file is read into rows of the Hugging Face hub's own schema (the ``glue``
config's column names and integer labels; SentEval tasks the same kind of row), so the
tasks reuse the hub path's definitions (``compt/tasks/lmbff.py``). Rules
(docs/tasks.md#lm-bff): one train file per LM-BFF seed; one test set per task (the same
file in every seed folder); a test row whose text fields equal those of a k-shot train or
dev row of any seed is dropped and counted; MNLI, QQP and SNLI, whose test files LM-BFF's
copy may lack, use ``glue_pretrain/<TASK>/dev.json`` as a stand-in, and say so.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from compt.errors import ComptError
from compt.files import swap_in
from compt.tasks.hub import NLI2, NLI3
from compt.tasks.lmbff import FOLDERS, SEEDS, SPECS, STAND_IN, suite_dir

Row = dict[str, Any]
Progress = Callable[[str, int, int], None]  # (what, done, total)
STAND_IN_TASKS = ("mnli", "qqp", "snli")


def _tsv(path: Path, header: bool = True) -> Iterator[tuple[dict[str, int], list[str]]]:
    """``(column index by header name, cells)`` per line; GLUE's tsv files are unquoted."""
    with path.open(encoding="utf-8-sig") as handle:
        lines = [line.rstrip("\n").rstrip("\r") for line in handle if line.strip()]
    names = {name: i for i, name in enumerate(lines[0].split("\t"))} if header else {}
    for line in lines[1 if header else 0:]:
        yield names, line.split("\t")


def _pairs(first: str, second: str, label: str, to_label: Callable[[str], Any],
           out: tuple[str, str]) -> Callable[[Path], list[Row]]:
    """A reader of a headed tsv: two text columns and a label column, renamed to ``out``."""
    def read(path: Path) -> list[Row]:
        rows = []
        for names, cells in _tsv(path):
            at = {"last": len(cells) - 1}.get(label, names.get(label, -1))
            rows.append({out[0]: cells[names[first]], out[1]: cells[names[second]],
                         "label": to_label(cells[at])})
        return rows
    return read


def _sst2(path: Path) -> list[Row]:
    return [{"sentence": c[n["sentence"]], "label": int(c[n["label"]])} for n, c in _tsv(path)]


def _cola(path: Path) -> list[Row]:
    """CoLA's tsv has no header: source, label, original mark, sentence."""
    return [{"sentence": c[3], "label": int(c[1])} for _, c in _tsv(path, header=False)]


def _senteval(field: str) -> Callable[[Path], list[Row]]:
    def read(path: Path) -> list[Row]:
        with path.open(encoding="utf-8", newline="") as handle:
            return [{field: row[1], "label": int(row[0])} for row in csv.reader(handle) if row]
    return read


READERS: dict[str, Callable[[Path], list[Row]]] = {
    "sst2": _sst2,
    "cola": _cola,
    "mrpc": _pairs("#1 String", "#2 String", "Quality", int, ("sentence1", "sentence2")),
    "qqp": _pairs("question1", "question2", "is_duplicate", int, ("question1", "question2")),
    "stsb": _pairs("sentence1", "sentence2", "score", float, ("sentence1", "sentence2")),
    "mnli": _pairs("sentence1", "sentence2", "last", NLI3.index, ("premise", "hypothesis")),
    "snli": _pairs("sentence1", "sentence2", "last", NLI3.index, ("premise", "hypothesis")),
    "qnli": _pairs("question", "sentence", "label", NLI2.index, ("question", "sentence")),
    "rte": _pairs("sentence1", "sentence2", "label", NLI2.index, ("sentence1", "sentence2")),
    **{name: _senteval("question" if name == "senteval_trec" else "sentence")
       for name in FOLDERS if name.startswith("senteval_")},
}


def _split_file(folder: Path, stem: str) -> Path | None:
    for suffix in (".tsv", ".csv"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def _stand_in(root: Path, name: str) -> list[Row]:
    """glue_pretrain/<TASK>/dev.json: ``{"0": {"text_a", "text_b", "label"}, ...}``."""
    path = root / "glue_pretrain" / FOLDERS[name] / "dev.json"
    if not path.is_file():
        raise ComptError(f"LM-BFF's '{FOLDERS[name]}' has no test file in {root / 'k-shot'} "
                         f"and no stand-in {path}: add one of them, or leave the task out.")
    first, second = SPECS[name].fields
    to_label = int if name == "qqp" else NLI3.index
    return [{first: item["text_a"], second: item["text_b"], "label": to_label(item["label"])}
            for item in json.loads(path.read_text(encoding="utf-8")).values()]


def _text(row: Row, name: str) -> tuple[str, ...]:
    return tuple(str(row[f]) for f in SPECS[name].fields)


def read_task(root: Path, name: str) -> tuple[dict[int, list[Row]], list[Row], dict[str, Any]]:
    """One task's train rows per seed, its test rows (overlaps dropped) and its record."""
    base = root / "k-shot" / FOLDERS[name]
    read = READERS[name]
    trains: dict[int, list[Row]] = {}
    seen: set[tuple[str, ...]] = set()
    test_file = None
    for seed in SEEDS:
        folder = base / f"16-{seed}"
        train = _split_file(folder, "train")
        if train is None:
            raise ComptError(f"LM-BFF task folder {folder} lacks train.tsv/train.csv: is "
                             f"'{root}' in LM-BFF's layout (k-shot/<TASK>/16-<seed>/)?")
        trains[seed] = read(train)
        for stem in ("dev", "dev_matched"):
            dev = _split_file(folder, stem)
            if dev is not None:
                seen.update(_text(row, name) for row in read(dev))
        seen.update(_text(row, name) for row in trains[seed])
        test_file = test_file or _split_file(folder, "test") or _split_file(folder, "test_matched")
    if test_file is not None:
        test, source = read(test_file), str(test_file.relative_to(root))
    elif name in STAND_IN_TASKS:
        test, source = _stand_in(root, name), f"glue_pretrain/{FOLDERS[name]}/dev.json"
    else:
        raise ComptError(f"LM-BFF task '{FOLDERS[name]}' has no test file in {base}.")
    kept = [row for row in test if _text(row, name) not in seen]
    record: dict[str, Any] = {"folder": FOLDERS[name], "test_file": source,
                              "train": {str(s): len(rows) for s, rows in trains.items()},
                              "test": len(kept), "overlaps_dropped": len(test) - len(kept)}
    if test_file is None:
        record["note"] = STAND_IN.format(n=len(kept), folder=FOLDERS[name],
                                         dropped=len(test) - len(kept))
    return trains, kept, record


def build_lmbff(source: Path, root: Path | None = None, progress: Progress | None = None
                ) -> dict[str, Any]:
    """Read every LM-BFF task found in ``source`` into ``root`` (the cache); the manifest."""
    root = root or suite_dir()
    report = progress or (lambda what, done, total: None)
    present = [name for name, folder in FOLDERS.items()
               if (source / "k-shot" / folder).is_dir()]
    if not present:
        raise ComptError(
            f"'{source}' holds none of LM-BFF's task folders (k-shot/SST-2, k-shot/RTE, ...); "
            f"give the folder that contains k-shot/ (LM-BFF's data/ folder).")
    staging = root / ".building"
    shutil.rmtree(staging, ignore_errors=True)
    tasks: dict[str, Any] = {}
    try:
        for done, name in enumerate(present):
            report(f"reading {FOLDERS[name]}", done, len(present))
            trains, test, tasks[name] = read_task(source, name)
            folder = staging / "tasks" / name
            folder.mkdir(parents=True)
            for split, rows in (*((f"train-{s}", r) for s, r in trains.items()),
                                ("test", test)):
                _write_jsonl(folder / f"{split}.jsonl", rows)
        manifest = {"source": str(source.resolve()), "seeds": list(SEEDS), "tasks": tasks}
        (staging / "suite.json").write_text(json.dumps(manifest, indent=1) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, root)
    report("done", len(present), len(present))
    return manifest


def _write_jsonl(path: Path, rows: list[Row]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
