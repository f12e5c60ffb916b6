"""From corpora to task files: clean, remove overlap, split deterministically, write.

Rules (docs/real_suite.md): a text is compared after normalising (lower case, letters
and digits only); a text with two labels inside a task is dropped; a text belongs to one
task only (the first in ``REAL_TASKS`` order), so the Pang & Lee sentences in ``mr`` are
not also Rotten Tomatoes snippets in ``rt``; a fixed third of the critics' snippets is
left to ``subj`` instead of ``rt``. The test split is the first ``min(500, n/5)``
examples in the order of a seeded hash of the text, so it never depends on file order.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from compt.errors import ComptError
from compt.files import swap_in
from compt.realsuite.corpora import CORPORA, Corpus, Record
from compt.realsuite.packages import PACKAGES, Archive, fetch, missing_error
from compt.tasks.real import REAL_TASKS, definition_path, suite_dir

SPLIT_SEED = "compt-real-v1"
MAX_TEST = 500
SUBJ_SHARE = 3  # one snippet in SUBJ_SHARE goes to subj, the rest to rt

Progress = Callable[[str, int, int], None]  # (what, done, total)


def normalise(text: str) -> str:
    """The key texts are compared by: case, accents, spacing and punctuation removed."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def digest(*parts: str) -> str:
    return hashlib.sha256("|".join((SPLIT_SEED, *parts)).encode()).hexdigest()


def _to_subj(norm: str) -> bool:
    return int(digest("rt-pool", norm), 16) % SUBJ_SHARE == 0


def _keep(task: str, norm: str, label: str) -> bool:
    """The split of the Rotten Tomatoes snippets between rt and subj."""
    if task == "rt":
        return not _to_subj(norm)
    if task == "subj" and label == "subjective":
        return _to_subj(norm)
    return True


def clean_records(task: str, records: list[Record], taken: set[str]) -> list[Record]:
    """Tidy whitespace, drop empty, conflicting, repeated and already-used texts."""
    labels: dict[str, set[str]] = {}
    first: dict[str, Record] = {}
    for fields, label in records:
        fields = {key: " ".join(value.split()) for key, value in fields.items()}
        norm = normalise(" ".join(fields.values()))
        if not norm or norm in taken or not _keep(task, norm, label):
            continue
        labels.setdefault(norm, set()).add(label)
        first.setdefault(norm, (fields, label))
    return [record for norm, record in first.items() if len(labels[norm]) == 1]


def split(task: str, records: list[Record]) -> tuple[list[Record], list[Record]]:
    """Seeded, order-independent train/test split."""
    ordered = sorted(records, key=lambda r: digest(task, normalise(" ".join(r[0].values()))))
    n_test = min(MAX_TEST, len(ordered) // 5)
    return ordered[n_test:], ordered[:n_test]


def build_real_suite(root: Path | None = None, source: Path | None = None,
                     progress: Progress | None = None) -> dict:
    """Fetch the packages, build every task into ``root`` (the cache), return the manifest."""
    root = root or suite_dir()
    report = progress or (lambda what, done, total: None)
    total = len(PACKAGES) + len(REAL_TASKS)
    if source is not None:
        absent = [p for p in PACKAGES.values() if not (source / p.filename).is_file()]
        if absent:
            raise missing_error(absent, f"{'is' if len(absent) == 1 else 'are'} not in "
                                        f"'{source}'")
    archives: dict[str, Archive] = {}
    for done, package in enumerate(PACKAGES.values()):
        report(f"fetching {package.filename}", done, total)
        archives[package.key] = Archive(fetch(package, root / "packages", source))

    staging = root / ".building"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest = _build_tasks(archives, staging, root, report, len(PACKAGES), total)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, root)
    return manifest


def _build_tasks(archives: dict[str, Archive], staging: Path, root: Path, report: Progress,
                 start: int, total: int) -> dict:
    taken: set[str] = set()
    tasks = {}
    for done, name in enumerate(REAL_TASKS, start=start):
        report(f"building {name}", done, total)
        corpus = CORPORA[name]
        records = clean_records(name, list(corpus.read(archives)), taken)
        if len({label for _, label in records}) < 2:
            raise ComptError(
                f"The real task '{name}' got {len(records)} usable examples from "
                f"{PACKAGES[corpus.package].filename}, too few to train on: is the archive "
                f"the right version? Delete it from {root / 'packages'} and build again.")
        taken.update(normalise(" ".join(fields.values())) for fields, _ in records)
        train, test = split(name, records)
        _write_task(definition_path(name, staging), name, corpus, train, test)
        tasks[name] = {"train": len(train), "test": len(test),
                       "labels": dict(Counter(label for _, label in records)),
                       "source": corpus.source}
    report("done", total, total)
    manifest = {"version": SPLIT_SEED, "tasks": tasks,
                "packages": {p.key: p.filename for p in PACKAGES.values()}}
    (staging / "suite.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _write_task(definition: Path, name: str, corpus: Corpus, train: list[Record],
                test: list[Record]) -> None:
    definition.parent.mkdir(parents=True)
    for split_name, records in (("train", train), ("test", test)):
        with (definition.parent / f"{split_name}.jsonl").open("w", encoding="utf-8") as out:
            for fields, label in records:
                out.write(json.dumps({**fields, "label": label}, ensure_ascii=False) + "\n")
    lines = [f"name = {json.dumps(name)}",
             f"description = {json.dumps(f'{REAL_TASKS[name]}. Source: {corpus.source}.')}",
             'train = "train.jsonl"', 'test = "test.jsonl"',
             f"text_fields = {json.dumps(list(corpus.text_fields))}",
             'label = "label"',
             f"label_words = {json.dumps(list(corpus.label_words))}",
             f"metric = {json.dumps(corpus.metric)}"]
    definition.write_text("\n".join(lines) + "\n", encoding="utf-8")
