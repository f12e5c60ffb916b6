"""Task registry, hub task definitions (without network) and local task files."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import datasets
import huggingface_hub
import numpy as np
import pytest

from compt.errors import ComptError
from compt.tasks import STSB_GRID, available_tasks, hub, resolve_tasks
from compt.tasks.builtin import BUILTIN_TASKS

EXAMPLE = Path(__file__).parent.parent / "examples" / "support_tickets" / "support.toml"


# -- registry ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    """No built suite: GLUE names are the hub's even where the user built LM-BFF's splits."""
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "empty-cache"))


def names(tasks):
    return [t.name for t in tasks]


def test_suites_expand_in_order():
    assert names(resolve_tasks(["builtin"])) == list(BUILTIN_TASKS)
    assert names(resolve_tasks(["glue"])) == [
        "mnli", "qnli", "rte", "cola", "sst2", "stsb", "mrpc", "qqp"]
    assert names(resolve_tasks(["SET2"])) == [
        "multinli", "scitail", "imdb", "yelp_polarity", "paws", "mrpc"]


def test_single_tasks_aliases_and_mixtures():
    tasks = resolve_tasks(["glue/rte", "sent_movies", "multi_nli", "set2/paws", str(EXAMPLE)])
    assert names(tasks) == ["rte", "sent_movies", "multinli", "paws", "support"]


def test_resolution_reads_no_data(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("resolve_tasks must not load data")

    monkeypatch.setattr(hub, "load_hub_split", forbidden)
    monkeypatch.setattr(datasets, "load_dataset", forbidden)
    started = time.perf_counter()
    tasks = resolve_tasks(["glue", "imdb", "builtin"])
    assert time.perf_counter() - started < 1.0
    assert len(tasks) == 15


def test_duplicates_are_refused():
    with pytest.raises(ComptError, match="'rte' is listed twice.*'rte'.*'glue/rte'"):
        resolve_tasks(["rte", "glue/rte"])
    with pytest.raises(ComptError, match="'mrpc' is listed twice.*'glue'.*'set2'"):
        resolve_tasks(["glue", "set2"])


def test_unknown_names_suggest_the_closest():
    expected = "Unknown task 'sent_movie'. Did you mean 'sent_movies'"
    with pytest.raises(ComptError, match=expected) as err:
        resolve_tasks(["sent_movie"])
    assert "builtin, glue, set2" in str(err.value) and "docs/tasks.md" in str(err.value)
    with pytest.raises(ComptError, match="suite 'glue' has: mnli, qnli"):
        resolve_tasks(["glue/imdb"])
    with pytest.raises(ComptError, match="is a data file, not a task"):
        resolve_tasks(["train.jsonl"])
    with pytest.raises(ComptError, match="No tasks"):
        resolve_tasks([])


def test_available_tasks_cover_everything_with_one_line_each():
    listed = available_tasks()
    for name in ("builtin", "glue", "set2", *BUILTIN_TASKS, *hub.HUB_SPECS):
        assert listed[name] and "\n" not in listed[name]
    assert "sent_movies" in listed["builtin"]


# -- hub task definitions ------------------------------------------------------------------


def test_hub_tasks_follow_the_spec():
    tasks = {t.name: t for t in resolve_tasks(["glue", "multinli", "scitail", "imdb",
                                                "yelp_polarity", "paws"])}
    assert tasks["mnli"].test_split == "validation_matched"
    assert tasks["multinli"].test_split == "validation_matched"
    assert tasks["imdb"].test_split == "test" and tasks["yelp_polarity"].test_split == "test"
    assert tasks["rte"].test_split == "validation"
    assert tasks["cola"].metric == "matthews"
    assert tasks["mrpc"].metric == tasks["qqp"].metric == "f1_accuracy"
    # F1's positive class is the first label word
    assert tasks["mrpc"].label_words[0] == "equivalent"
    assert tasks["qqp"].label_words[0] == "duplicate"
    assert tasks["stsb"].regression and tasks["stsb"].label_words == STSB_GRID
    assert tasks["stsb"].metric == "pearson_spearman"
    assert tasks["mnli"].label_words == ("entailment", "neutral", "contradiction")
    assert tasks["rte"].label_words == ("entailment", "not_entailment")
    assert tasks["cola"].label_words == ("acceptable", "unacceptable")
    assert all(t.metric == "accuracy" for n, t in tasks.items()
               if n not in ("cola", "mrpc", "qqp", "stsb"))


@pytest.fixture
def fake_hub(monkeypatch):
    """``datasets.load_dataset`` answering from in-memory tables; records its calls."""
    tables: dict[tuple, dict] = {}
    calls: list[tuple] = []

    def load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(tables[(path, name)])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)  # no reachability probe
    return tables, calls


def test_hub_rows_map_labels_and_drop_unlabelled(fake_hub):
    tables, calls = fake_hub
    tables[("nyu-mll/glue", "mrpc")] = {
        "sentence1": ["a", "b", "c"], "sentence2": ["x", "y", "z"], "label": [1, -1, 0],
        "idx": [0, 1, 2]}
    mrpc = resolve_tasks(["mrpc"])[0]
    rows = mrpc.test()
    assert calls == [("nyu-mll/glue", "mrpc", "validation")]
    assert len(rows) == 2
    assert rows[0].fields == (("sentence1", "a"), ("sentence2", "x"))
    assert [mrpc.label_words[e.label] for e in rows] == ["equivalent", "not_equivalent"]
    assert mrpc.format_input(rows[1]) == "mrpc: sentence1: c sentence2: z"
    assert [e.fields[0][1] for e in rows[0:2]] == ["a", "c"]
    assert rows[np.int64(1)] == rows[-1]  # samplers index with numpy integers
    mrpc.test()
    assert len(calls) == 1  # a split is loaded once


def test_hub_regression_and_string_labels(fake_hub):
    tables, calls = fake_hub
    tables[("nyu-mll/glue", "stsb")] = {
        "sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [3.38, 0.04], "idx": [0, 1]}
    tables[("allenai/scitail", "snli_format")] = {
        "sentence1": ["p", "q", "r"], "sentence2": ["h", "i", "j"],
        "gold_label": ["neutral", "entailment", "-"]}
    stsb, scitail = resolve_tasks(["stsb", "scitail"])
    first, second = stsb.train()
    assert stsb.label_words[first.label] == "3.4" and first.score == pytest.approx(3.38)
    assert stsb.label_words[second.label] == "0.0"
    assert [scitail.label_words[e.label] for e in scitail.test()] == ["neutral", "entailment"]


def test_offline_hub_fails_fast_with_a_way_out(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path))  # nothing cached
    started = time.perf_counter()
    with pytest.raises(ComptError) as err:
        resolve_tasks(["rte"])[0].train()
    assert time.perf_counter() - started < 10
    message = str(err.value)
    assert "'rte'" in message and "nyu-mll/glue" in message and "config 'rte'" in message
    assert "docs/tasks.md" in message and "Offline mode is on" in message
    assert "set HF_DATASETS_OFFLINE=1" not in message  # it is on already
    assert "builtin" in message and "\n" not in message


def test_unreachable_hub_fails_fast(monkeypatch, tmp_path):
    """Online mode but nothing listening: the probe gives up at once instead of retrying."""
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")

    def load_dataset(*args, **kwargs):
        raise AssertionError("the probe should have stopped before load_dataset")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    started = time.perf_counter()
    with pytest.raises(ComptError, match="Task 'imdb' needs the dataset 'stanfordnlp/imdb'"
                       ) as err:
        resolve_tasks(["imdb"])[0].test()
    assert time.perf_counter() - started < 10
    assert "set HF_DATASETS_OFFLINE=1 to use the cached copy" in str(err.value)


# -- local task files ----------------------------------------------------------------------


def test_example_definition_loads():
    (task,) = resolve_tasks([str(EXAMPLE)])
    assert task.label_words == ("billing", "shipping", "technical")
    assert (task.train_split, task.test_split) == ("train", "test")
    train, test = task.train(), task.test()
    assert len(train) == 24 and len(test) == 12
    # train labels are words, test labels indices: both map to the same classes
    assert sorted({e.label for e in train}) == sorted({e.label for e in test}) == [0, 1, 2]
    assert task.format_input(train[0]) == (
        "support: subject: Charged twice message: My card was charged two times for the "
        "same order.")


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


GOOD_ROWS = [{"text": "fine", "label": "yes"}, {"text": "bad", "label": 1}]


@pytest.fixture
def task_dir(tmp_path):
    write(tmp_path / "train.jsonl", jsonl(GOOD_ROWS))
    write(tmp_path / "test.jsonl", jsonl(GOOD_ROWS))
    return tmp_path


def definition(folder: Path, suffix: str = ".toml", **overrides) -> Path:
    spec = {"train": "train.jsonl", "test": "test.jsonl", "text_fields": ["text"],
            "label": "label", "label_words": ["yes", "no"], **overrides}
    spec = {k: v for k, v in spec.items() if v is not None}
    path = folder / f"mytask{suffix}"
    if suffix == ".json":
        return write(path, json.dumps(spec))
    if suffix == ".toml":
        return write(path, "".join(f"{k} = {json.dumps(v)}\n" for k, v in spec.items()))
    return write(path, "".join(f"{k}: {json.dumps(v)}\n" for k, v in spec.items()))


@pytest.mark.parametrize("suffix", [".toml", ".yaml", ".yml", ".json"])
def test_definition_formats(task_dir, suffix):
    (task,) = resolve_tasks([str(definition(task_dir, suffix))])
    assert task.name == "mytask" and task.metric == "accuracy" and not task.regression
    assert [e.label for e in task.train()] == [0, 1]


def test_csv_and_tsv(task_dir):
    write(task_dir / "train.csv", 'text,label\n"fine, really",yes\nbad,1\n')
    write(task_dir / "test.tsv", 'text\tlabel\nsays "hi"\tno\n')
    (task,) = resolve_tasks([str(definition(task_dir, train="train.csv", test="test.tsv"))])
    assert [(e.fields, e.label) for e in task.train()] == [
        ((("text", "fine, really"),), 0), ((("text", "bad"),), 1)]
    assert task.test()[0].fields == (("text", 'says "hi"'),)


def test_regression_task(task_dir):
    rows = [{"text": "a", "label": 3.38}, {"text": "b", "label": "1"}]
    write(task_dir / "train.jsonl", jsonl(rows))
    (task,) = resolve_tasks([str(definition(task_dir, label_words=None, regression=True))])
    assert task.metric == "pearson_spearman" and task.label_words == STSB_GRID
    first, second = task.train()
    assert task.label_words[first.label] == "3.4" and first.score == 3.38
    assert task.label_words[second.label] == "1.0"


def load_error(path: Path, split: str = "train") -> str:
    with pytest.raises(ComptError) as err:
        resolve_tasks([str(path)])[0].load_split(split)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"text": "a", "label": "yes"}\n\n{"text": "b", "label": "no"\n',
         r"line 3: not valid JSON"),
        ('{"text": "a", "label": "yes"}\n["b", "no"]\n', r"line 2: expected a JSON object"),
        ('{"text": "a", "label": "yes"}\n{"label": "no"}\n',
         r"line 2: missing column 'text' \(the row has: label\)"),
        ('{"text": "a", "label": "maybe"}\n',
         r"line 1: unknown label 'maybe'; expected one of the label words \(yes, no\) "
         r"or an index 0-1"),
        ('{"text": "a", "label": 2}\n', r"line 1: unknown label 2"),
        ('{"text": null, "label": 0}\n', r"line 1: column 'text' must hold text"),
        ("\n", r"holds no examples"),
    ],
)
def test_malformed_jsonl_names_file_and_line(task_dir, content, expected):
    write(task_dir / "train.jsonl", content)
    message = load_error(definition(task_dir))
    assert "train.jsonl" in message
    assert re.search(expected, message), message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("text,label\nfine,yes\nbad\n", r"line 3: missing column 'label'"),
        ("text,label\nfine,yes\nbad,no,extra\n", r"line 3: more values than the header"),
        ("words,label\nfine,yes\n", r"line 2: missing column 'text'"),
    ],
)
def test_malformed_csv_names_file_and_line(task_dir, content, expected):
    write(task_dir / "train.csv", content)
    message = load_error(definition(task_dir, train="train.csv"))
    assert "train.csv" in message
    assert re.search(expected, message), message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"train": None}, "lacks the key\\(s\\) train"),
        ({"labels": ["a"]}, "unknown key 'labels'. Did you mean 'label'"),
        ({"label_words": ["yes"]}, "needs at least two labels"),
        ({"label_words": None}, "lacks 'label_words'"),
        ({"metric": "f2"}, "unknown metric 'f2'"),
        ({"metric": "pearson_spearman"}, "goes with regression = true"),
        ({"train": "missing.jsonl"}, "train file .*missing.jsonl' does not exist"),
        ({"test": "test.parquet"}, "must end in .jsonl, .csv, .tsv"),
        ({"text_fields": []}, "'text_fields' must be a non-empty list"),
        ({"name": "my task"}, "the name 'my task' must be"),
        ({"regression": "yes"}, "'regression' must be true or false"),
    ],
)
def test_bad_definitions(task_dir, overrides, expected):
    with pytest.raises(ComptError, match=expected):
        resolve_tasks([str(definition(task_dir, **overrides))])


def test_missing_or_broken_definition_file(tmp_path):
    with pytest.raises(ComptError, match="does not exist"):
        resolve_tasks([str(tmp_path / "nope.toml")])
    broken = write(tmp_path / "broken.toml", "train = [\n")
    with pytest.raises(ComptError, match="broken.toml' is not valid"):
        resolve_tasks([str(broken)])
    listed = write(tmp_path / "listed.yaml", "- a\n- b\n")
    with pytest.raises(ComptError, match="must hold a table of key = value pairs"):
        resolve_tasks([str(listed)])


def test_unknown_split_of_local_task(task_dir):
    with pytest.raises(ComptError, match="splits train and test, not 'validation'"):
        resolve_tasks([str(definition(task_dir))])[0].load_split("validation")
