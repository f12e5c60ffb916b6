"""Tasks from the user's own files: a small definition file next to jsonl/csv/tsv data.

This is how compt runs on any data without network access (format: docs/tasks.md).
Every problem in a definition or a data file is reported with the file, the line and
what is wrong, so a user can fix a 10,000-line file without a debugger.
"""

from __future__ import annotations

import csv
import difflib
import functools
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from compt.errors import ComptError
from compt.files import read_mapping
from compt.tasks.base import METRICS, STSB_GRID, Example, Task

DEFINITION_SUFFIXES = (".toml", ".yaml", ".yml", ".json")
DATA_SUFFIXES = (".jsonl", ".csv", ".tsv")
KEYS = ("name", "description", "train", "test", "text_fields", "label", "label_words",
        "metric", "regression")
REQUIRED = ("train", "test", "text_fields", "label")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_task_file(path: str | Path) -> Task:
    """Read and check a task definition; the data files are parsed on first use."""
    path = Path(path)
    spec = _read_definition(path)
    where = f"Task definition '{path}'"
    unknown = [key for key in spec if key not in KEYS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], KEYS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ComptError(f"{where} has the unknown key '{unknown[0]}'.{hint} "
                         f"Valid keys: {', '.join(KEYS)}.")
    missing = [key for key in REQUIRED if key not in spec]
    if missing:
        raise ComptError(f"{where} lacks the key(s) {', '.join(missing)} (see docs/tasks.md).")

    name = str(spec.get("name", path.stem))
    if not NAME_PATTERN.match(name):
        raise ComptError(f"{where}: the name {name!r} must be letters, digits, '_', '-' or '.'.")
    regression = spec.get("regression", False)
    if not isinstance(regression, bool):
        raise ComptError(f"{where}: 'regression' must be true or false, got {regression!r}.")
    metric = spec.get("metric", "pearson_spearman" if regression else "accuracy")
    if metric not in METRICS:
        raise ComptError(f"{where}: unknown metric {metric!r}; choose one of {', '.join(METRICS)}.")
    if (metric == "pearson_spearman") != regression:
        raise ComptError(f"{where}: the metric pearson_spearman goes with regression = true, "
                         f"and only with it.")
    text_fields = _string_list(spec["text_fields"], "text_fields", where)
    label_words = _label_words(spec, regression, where)
    files = {"train": _data_file(path, spec["train"], "train"),
             "test": _data_file(path, spec["test"], "test")}
    reader = _Reader(text_fields, str(spec["label"]), label_words, regression)

    @functools.cache
    def load_split(split: str) -> Sequence[Example]:
        if split not in files:
            raise ComptError(f"Local task '{name}' has the splits train and test, not '{split}'.")
        return reader.read(files[split])

    return Task(
        name=name,
        label_words=label_words,
        metric=metric,
        load_split=load_split,
        train_split="train",
        test_split="test",
        regression=regression,
        description=str(spec.get("description", f"Local task from {path}")),
        source=f"local file: {path}",
    )


def _read_definition(path: Path) -> dict[str, Any]:
    return read_mapping(path, "Task definition", " (docs/tasks.md)")


def _string_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str | int | float) and str(v) for v in value)):
        raise ComptError(f"{where}: '{key}' must be a non-empty list of names, got {value!r}.")
    items = tuple(str(v) for v in value)
    if len(set(items)) != len(items):
        raise ComptError(f"{where}: '{key}' lists a name twice: {list(items)}.")
    return items


def _label_words(spec: dict[str, Any], regression: bool, where: str) -> tuple[str, ...]:
    if "label_words" not in spec:
        if regression:
            return STSB_GRID
        raise ComptError(f"{where} lacks 'label_words', the words the model should answer with.")
    words = _string_list(spec["label_words"], "label_words", where)
    if regression:
        try:
            [float(w) for w in words]
        except ValueError:
            raise ComptError(f"{where}: a regression task's label_words must be numbers, "
                             f"got {list(words)}.") from None
    elif len(words) < 2:
        raise ComptError(f"{where}: 'label_words' needs at least two labels, got {list(words)}.")
    return words


def _data_file(definition: Path, value: Any, key: str) -> Path:
    path = definition.parent / str(value)
    if path.suffix.lower() not in DATA_SUFFIXES:
        raise ComptError(f"Task definition '{definition}': the {key} file '{value}' must end in "
                         f"{', '.join(DATA_SUFFIXES)}.")
    if not path.is_file():
        raise ComptError(f"Task definition '{definition}': the {key} file '{path}' does not "
                         f"exist (paths are relative to the definition file).")
    return path


class _Reader:
    """Turns the rows of one data file into examples, or names the line that is wrong."""

    def __init__(self, text_fields: tuple[str, ...], label: str, label_words: tuple[str, ...],
                 regression: bool) -> None:
        self.text_fields = text_fields
        self.label = label
        self.label_words = label_words
        self.regression = regression
        self.word_index = {word: i for i, word in enumerate(label_words)}
        self.values = [float(w) for w in label_words] if regression else []

    def read(self, path: Path) -> tuple[Example, ...]:
        try:
            examples = tuple(self.example(path, line, row) for line, row in _rows(path))
        except UnicodeDecodeError as exc:
            raise ComptError(f"{path} is not UTF-8 text ({exc.reason}).") from None
        if not examples:
            raise ComptError(f"{path} holds no examples.")
        return examples

    def example(self, path: Path, line: int, row: dict[str, Any]) -> Example:
        def fail(problem: str) -> ComptError:
            return ComptError(f"{path}, line {line}: {problem}")

        fields = []
        for column in (*self.text_fields, self.label):
            if column not in row:
                have = ", ".join(str(k) for k in row) or "nothing"
                raise fail(f"missing column '{column}' (the row has: {have}).")
            if row[column] is None or isinstance(row[column], dict | list):
                raise fail(f"column '{column}' must hold text, got {row[column]!r}.")
        for column in self.text_fields:
            fields.append((column, str(row[column])))
        value = row[self.label]
        if self.regression:
            try:
                score = float(value)
            except (TypeError, ValueError):
                raise fail(f"the label {value!r} is not a number.") from None
            nearest = min(range(len(self.values)), key=lambda i: abs(self.values[i] - score))
            return Example(tuple(fields), label=nearest, score=score)
        return Example(tuple(fields), label=self._label_index(value, fail))

    def _label_index(self, value: Any, fail) -> int:
        """A label is one of the label words, or the index of one."""
        if isinstance(value, str) and value in self.word_index:
            return self.word_index[value]
        if isinstance(value, int | str) and not isinstance(value, bool):
            text = str(value).strip()
            if re.fullmatch(r"\d+", text) and int(text) < len(self.label_words):
                return int(text)
        choices = ", ".join(self.label_words)
        raise fail(f"unknown label {value!r}; expected one of the label words ({choices}) "
                   f"or an index 0-{len(self.label_words) - 1}.")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` pairs of a jsonl, csv or tsv file (blank lines skipped)."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix.lower() == ".jsonl":
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ComptError(f"{path}, line {line}: not valid JSON ({exc.msg} "
                                     f"column {exc.colno}).") from None
                except RecursionError:
                    raise ComptError(f"{path}, line {line}: the JSON nests too deeply; "
                                     "a row is one flat object.") from None
                if not isinstance(row, dict):
                    raise ComptError(f"{path}, line {line}: expected a JSON object "
                                     f"{{\"column\": value, ...}}, got {type(row).__name__}.")
                yield line, row
            return
        tsv = path.suffix.lower() == ".tsv"
        reader = csv.DictReader(handle, delimiter="\t" if tsv else ",",
                                quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL)
        try:
            for row in reader:
                if None in row:
                    raise ComptError(f"{path}, line {reader.line_num}: more values than the "
                                     f"header has columns ({len(reader.fieldnames or [])}).")
                yield reader.line_num, {k: v for k, v in row.items() if v is not None}
        except csv.Error as exc:
            raise ComptError(f"{path}, line {reader.line_num}: {exc}.") from None
