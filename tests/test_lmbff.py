"""LM-BFF's few-shot splits as offline tasks: on a tiny folder in LM-BFF's layout written
here (so the logic is tested in any clone) and on the real splits where they are at hand
(``../shared/data/lm-bff`` beside the repository, or ``COMPT_LMBFF_DIR``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compt.data import data_record, sample_few_shot
from compt.errors import ComptError
from compt.lmbff import build_lmbff
from compt.tasks import catalog, resolve_tasks
from compt.tasks.hub import HUB_SPECS
from compt.tasks.lmbff import SEEDS, split_of

REAL = Path(os.environ.get("COMPT_LMBFF_DIR") or
            Path(__file__).resolve().parents[2] / "shared" / "data" / "lm-bff")
needs_real = pytest.mark.skipif(not (REAL / "k-shot").is_dir(),
                                reason=f"LM-BFF splits not at {REAL}")
OVERLAP = "the same sentence in train and test ."


def write_lmbff(root: Path) -> Path:
    """RTE, SST-2, STS-B, sst-5 with all files and MNLI without a test file (stand-in)."""
    def put(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    for n, seed in enumerate(SEEDS):
        seed_dir = f"16-{seed}"
        put(root / "k-shot/RTE" / seed_dir / "train.tsv", "index\tsentence1\tsentence2\tlabel\n"
            + "".join(f"{i}\tpremise {seed} {i}\thypothesis {i}\t"
                      f"{'entailment' if i % 2 else 'not_entailment'}\n" for i in range(4)))
        put(root / "k-shot/RTE" / seed_dir / "dev.tsv", "index\tsentence1\tsentence2\tlabel\n"
            "9\tdev premise\tdev hypothesis\tentailment\n")
        put(root / "k-shot/RTE" / seed_dir / "test.tsv", "index\tsentence1\tsentence2\tlabel\n"
            "1\ttest premise\ttest hypothesis\tentailment\n"
            "2\tdev premise\tdev hypothesis\tentailment\n"   # an exact overlap with dev
            "3\tother premise\tother hypothesis\tnot_entailment\n")
        # SST-2: seed 13's train holds only negatives, so a sample lacks a class
        put(root / "k-shot/SST-2" / seed_dir / "train.tsv", "sentence\tlabel\n" + "".join(
            f"review {seed} {i} .\t{0 if n == 0 else i % 2}\n" for i in range(6))
            + f"{OVERLAP}\t{0 if n == 0 else 1}\n")
        put(root / "k-shot/SST-2" / seed_dir / "test.tsv",
            f"sentence\tlabel\nfine film .\t1\nbad film .\t0\n{OVERLAP}\t1\n")
        put(root / "k-shot/STS-B" / seed_dir / "train.tsv",
            "index\tgenre\tsentence1\tsentence2\tscore\n"
            + "".join(f"{i}\tnews\ta {i}\tb {i}\t{i * 0.9:.2f}\n" for i in range(4)))
        put(root / "k-shot/STS-B" / seed_dir / "test.tsv",
            "index\tgenre\tsentence1\tsentence2\tscore\n0\tnews\tx\ty\t3.38\n")
        put(root / "k-shot/MNLI" / seed_dir / "train.tsv",
            "index\tsentence1\tsentence2\tlabel1\tgold_label\n"
            + "".join(f"{i}\tp {i}\th {i}\tx\t{lab}\n" for i, lab in
                      enumerate(["entailment", "neutral", "contradiction"])))
        put(root / "k-shot/MNLI" / seed_dir / "dev_matched.tsv",
            "index\tsentence1\tsentence2\tlabel1\tgold_label\n9\tp 0\th 0\tx\tentailment\n")
        put(root / "k-shot/sst-5" / seed_dir / "train.csv",
            "".join(f'{i % 5},"grade {i}, seed {seed}"\n' for i in range(10)))
        put(root / "k-shot/sst-5" / seed_dir / "test.csv", '4,"a great film"\n')
    put(root / "glue_pretrain/MNLI/dev.json", json.dumps({
        "0": {"text_a": "p 0", "text_b": "h 0", "label": "entailment"},  # overlaps train
        "1": {"text_a": "q", "text_b": "r", "label": "neutral"}}))
    return root


@pytest.fixture
def built(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    return build_lmbff(write_lmbff(tmp_path / "lm-bff"))


def test_build_counts_overlaps_and_marks_stand_ins(built):
    tasks = built["tasks"]
    assert set(tasks) == {"rte", "sst2", "stsb", "mnli", "senteval_sst5"}
    assert tasks["rte"] == {"folder": "RTE", "test_file": "k-shot/RTE/16-13/test.tsv",
                            "train": {str(s): 4 for s in SEEDS}, "test": 2,
                            "overlaps_dropped": 1}
    assert tasks["sst2"]["overlaps_dropped"] == 1
    assert tasks["mnli"]["test_file"] == "glue_pretrain/MNLI/dev.json"
    assert tasks["mnli"]["test"] == 1 and "stand" in tasks["mnli"]["note"]
    assert "note" not in tasks["rte"]


def test_glue_tasks_keep_the_hub_definitions_and_follow_the_data_seed(built):
    rte, sst2, stsb, mnli = resolve_tasks(["glue/rte", "sst-2", "stsb", "mnli"])
    for task in (rte, sst2, stsb, mnli):
        hub = HUB_SPECS[task.name]
        assert (task.label_words, task.metric, task.source) == (hub.label_words, hub.metric,
                                                                "lm-bff")
    assert [ex.fields for ex in rte.test()] == [
        (("sentence1", "test premise"), ("sentence2", "test hypothesis")),
        (("sentence1", "other premise"), ("sentence2", "other hypothesis"))]
    assert [rte.label_words[ex.label] for ex in rte.test()] == ["entailment", "not_entailment"]
    assert (stsb.test()[0].label, stsb.test()[0].score) == (17, 3.38)  # "3.4" on the grid
    assert [split_of(s) for s in (0, 1, 4, 5, 42)] == [13, 21, 100, 13, 42]
    assert rte.train(0)[0].fields[0][1] == "premise 13 0"
    assert rte.train(2)[0].fields[0][1] == "premise 42 0"
    assert {ex.fields[0][1].split()[1] for ex in sample_few_shot(rte, 4, 3)} == {"87"}
    assert "stand" in mnli.note and "LM-BFF" in mnli.description


def test_a_run_records_the_split_stand_in_and_missing_class(built):
    sst2, mnli = resolve_tasks(["sst2", "mnli"])
    shots = sample_few_shot(sst2, 4, 0)  # seed 0 -> split 13: negatives only
    record = data_record(sst2, shots, 0)
    assert record["train_split"] == "train-13" and record["overlaps_dropped"] == 1
    assert record["missing_classes"] == ["positive"]
    assert record["class_counts"] == {"negative": 4}
    balanced = sample_few_shot(sst2, 2, 1, balanced=True)  # k per class
    assert sorted(sst2.label_words[ex.label] for ex in balanced) == [
        "negative", "negative", "positive", "positive"]
    assert "missing_classes" not in data_record(sst2, balanced, 1)
    assert data_record(mnli, sample_few_shot(mnli, 3, 0), 0)["note"] == mnli.note


def test_senteval_names_and_catalog_sources(built):
    (sst5,) = resolve_tasks(["senteval/sst5"])
    assert sst5.label_words[sst5.test()[0].label] == "great"
    entries = {e["name"]: e for e in catalog()}
    assert entries["rte"]["source"] == "lm-bff" and "GLUE" in entries["rte"]["terms"]
    assert "stand" in entries["mnli"]["note"] and entries["rte"]["note"] == ""
    assert entries["senteval_mr"]["built"] is False  # not in the tiny folder
    assert "compt data build lm-bff" in entries["senteval_mr"]["how"]
    assert entries["sent_movies"]["source"] == "builtin"
    assert entries["qnli"]["source"].startswith("hub")  # not built: the hub's task
    assert entries["glue"]["kind"] == "suite"


def test_compt_tasks_json_and_bad_format(built, compt):
    code, out, _ = compt("tasks", "--format", "json")
    assert code == 0
    rows = {e["name"]: e for e in json.loads(out)}
    assert rows["sst2"]["source"] == "lm-bff" and "standing in" in rows["mnli"]["note"]
    code, out, _ = compt("tasks")
    row = next(line for line in out.splitlines() if line.startswith("│ sst2 "))
    assert "lm-bff" in row and "GLUE" in row  # source and terms columns
    assert "standing" in out  # mnli's stand-in note (wrapped at 80 columns)
    code, _, err = compt("tasks", "--format", "xml")
    assert code == 2 and "table or json" in err


def test_build_refuses_a_folder_that_is_not_lmbff(tmp_path, compt, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    code, _, err = compt("data", "build", "lm-bff", "--from", str(tmp_path))
    assert code == 2 and "k-shot" in err and "Traceback" not in err
    code, _, err = compt("data", "build", "lm-bff")
    assert code == 2 and "--from" in err


def test_unbuilt_senteval_and_offline_glue_say_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "empty"))
    with pytest.raises(ComptError, match="compt data build lm-bff --from DIR"):
        resolve_tasks(["senteval"])
    with pytest.raises(ComptError, match="compt data build lm-bff"):
        resolve_tasks(["glue/rte"])[0].train()


def test_a_run_on_lmbff_tasks_trains_and_reports_its_data(built, tiny_cfg, runs_dir, compt):
    code, out, _ = compt("run", "--set", "model=tiny-t5", "--set", "tasks=[sst2, mnli]",
                         "--set", "k=3", "--set", "eval_size=4", "--set", "max_steps=2",
                         "--set", "analysis=false", "--set", "device=cpu")
    assert code == 0, out
    assert "mnli: test = " in " ".join(out.split())
    assert "sst2: the few-shot sample lacks the class(es) positive" in " ".join(out.split())
    (run,) = [p for p in runs_dir.iterdir() if (p / "results.json").is_file()]
    results = json.loads((run / "results.json").read_text())
    assert set(results["scores"]) == {"sst2", "mnli"}
    assert results["data"]["sst2"]["train_split"] == "train-13"
    assert "stand" in results["data"]["mnli"]["note"]
    for command in (("table",), ("show", run.name)):
        code, out, _ = compt(*command)
        assert code == 0 and "mnli: test = " in " ".join(out.split()), command


@needs_real
def test_the_real_splits_build_with_their_published_sizes(tmp_path):
    manifest = build_lmbff(REAL, tmp_path / "cache")
    tasks = manifest["tasks"]
    assert len(tasks) == 15
    assert {n for n, t in tasks.items() if "note" in t} == {"mnli", "qqp", "snli"}
    assert tasks["rte"]["test"] == 277 and tasks["sst2"]["test"] == 872
    assert tasks["cola"]["test"] == 1043 and tasks["qnli"]["test"] == 5463
    assert all(set(t["train"].values()) == {16 * n} for t, n in
               ((tasks["rte"], 2), (tasks["mnli"], 3), (tasks["senteval_sst5"], 5)))
    assert sum(t["overlaps_dropped"] for t in tasks.values()) > 0


@needs_real
def test_real_rows_read_as_the_hub_would(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    build_lmbff(REAL, tmp_path / "cache" / "lm-bff")
    cola, mrpc, stsb = resolve_tasks(["cola", "mrpc", "stsb"])
    first = cola.test()[0]
    assert first.fields == (("sentence", "The sailors rode the breeze clear of the rocks."),)
    assert cola.label_words[first.label] == "acceptable"
    assert all(ex.fields[0][0] == "sentence1" for ex in mrpc.train(0))
    assert all(0.0 <= ex.score <= 5.0 for ex in stsb.test())


# The hub's `nyu-mll/glue` schema, written out as the hub has it: columns, ClassLabel names
# (in the hub's integer order) and split names. Only the download is left untested.
HUB_GLUE = {
    "cola": (("sentence",), ["unacceptable", "acceptable"]),
    "sst2": (("sentence",), ["negative", "positive"]),
    "mrpc": (("sentence1", "sentence2"), ["not_equivalent", "equivalent"]),
    "qqp": (("question1", "question2"), ["not_duplicate", "duplicate"]),
    "stsb": (("sentence1", "sentence2"), None),
    "mnli": (("premise", "hypothesis"), ["entailment", "neutral", "contradiction"]),
    "qnli": (("question", "sentence"), ["entailment", "not_entailment"]),
    "rte": (("sentence1", "sentence2"), ["entailment", "not_entailment"]),
}


def hub_dataset(name: str, rows: list[dict], test_rows: list[dict]):
    """A DatasetDict shaped like the hub's glue config ``name``, holding real rows."""
    import datasets

    columns, names = HUB_GLUE[name]
    label = datasets.Value("float32") if names is None else datasets.ClassLabel(names=names)
    features = datasets.Features({**{c: datasets.Value("string") for c in columns},
                                  "label": label, "idx": datasets.Value("int32")})
    evaluation = ("validation_matched", "validation_mismatched") if name == "mnli" else (
        "validation",)
    tests = ("test_matched", "test_mismatched") if name == "mnli" else ("test",)

    def split(items: list[dict], hidden: bool = False):
        return datasets.Dataset.from_list(
            [{**{c: r[c] for c in columns}, "label": -1 if hidden else r["label"], "idx": i}
             for i, r in enumerate(items)], features=features)

    return datasets.DatasetDict({"train": split(rows), **{s: split(test_rows) for s in evaluation},
                                 **{s: split(test_rows, hidden=True) for s in tests}})


@needs_real
@pytest.mark.parametrize("name", list(HUB_GLUE))
def test_hub_loading_reads_the_hub_schema_of_real_rows(name, tmp_path, monkeypatch):
    import datasets

    from compt.lmbff import read_task
    from compt.tasks.hub import hub_task

    trains, test, _ = read_task(REAL, name)
    data = hub_dataset(name, trains[13], test[:200])
    asked = []

    def load_dataset(path, config=None, split=None, **_):
        asked.append((path, config, split))
        return data[split]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    task = hub_task(name)
    train, evaluation = task.train(), task.test()
    assert asked == [("nyu-mll/glue", name, "train"), ("nyu-mll/glue", name, task.test_split)]
    assert len(train) == len(trains[13]) and len(evaluation) == len(data[task.test_split])
    names = HUB_GLUE[name][1]
    for example, row in zip(evaluation, data[task.test_split]):
        assert example.fields == tuple((c, row[c]) for c in HUB_GLUE[name][0])
        if names is None:
            assert example.score == pytest.approx(row["label"])
        else:  # the label word is the hub's ClassLabel name of the row's integer label
            assert task.label_words[example.label] == names[row["label"]]
    hidden = "test_matched" if name == "mnli" else "test"
    monkeypatch.setattr(task, "test_split", hidden)
    assert len(task.test()) == 0  # the hub's test labels are -1: no example survives
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    build_lmbff(REAL, tmp_path / "cache" / "lm-bff")
    (lmbff,) = resolve_tasks([name])
    assert lmbff.source == "lm-bff"
    for ours, hubs in ((lmbff.train(0), train), (lmbff.test()[:200], evaluation)):
        assert [(e.fields, e.label) for e in ours] == [(e.fields, e.label) for e in hubs]
        assert [e.score for e in ours] == pytest.approx([e.score for e in hubs])  # float32


def test_a_table_says_when_one_task_column_mixes_data_sources(make_run, runs_dir, compt):
    from compt.store import RunStore

    for seed, source in ((0, "lm-bff"), (1, "hub: nyu-mll/glue")):
        folder = make_run(sync=False, tasks=["rte"], seed=seed, scores={"rte": 50.0 + seed})
        results = folder.read_results()
        folder.write_results({**results, "data": {"rte": {"source": source}}})
        RunStore(runs_dir).sync(folder.run_id)
    code, out, _ = compt("table")
    assert code == 0
    assert "rte: runs on different data sources share this column (hub: nyu-mll/glue, " \
           "lm-bff)." in " ".join(out.split())


def test_a_broken_folder_names_the_file_and_keeps_the_old_build(built, tmp_path, compt):
    broken = write_lmbff(tmp_path / "broken")
    (broken / "k-shot/RTE/16-42/train.tsv").unlink()
    code, _, err = compt("data", "build", "lm-bff", "--from", str(broken))
    assert code == 2 and "16-42" in err and "Traceback" not in err
    (rte,) = resolve_tasks(["rte"])
    assert len(rte.train(2)) == 4  # the earlier build is still there
