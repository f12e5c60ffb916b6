"""Fit a formatted input into its token budget without losing a field.

Cutting ``"{task}: {field1}: {text1} {field2}: {text2}"`` from the right drops the last
fields first: a long premise leaves no room for the hypothesis. Instead the longest
field's text is shortened first (water-filling), so every field keeps its label and a
share of its text, cut at a word boundary (docs/method.md#inputs-and-truncation).

Only the backbone's ``tokenize(texts, max_length)`` is used, so this works with any
tokenizer and its special tokens are added once, by the tokenizer itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate

from compt.tasks.base import Example, Task

Tokenize = Callable[[list[str], int], list[list[int]]]
NO_LIMIT = 1_000_000  # "do not truncate": tokenize() treats max_length as an upper bound
MAX_TRIES = 4  # re-fits when word-wise token counts underestimate the joined text


def fit_inputs(task: Task, examples: Sequence[Example], tokenize: Tokenize,
               max_length: int) -> list[list[int]]:
    """Token ids of each formatted example, at most ``max_length`` long.

    Inputs that fit are tokenised exactly as a whole; only longer ones are re-fitted.
    """
    ids = tokenize([task.format_input(ex) for ex in examples], NO_LIMIT)
    return [row if len(row) <= max_length else fit_example(task, ex, tokenize, max_length)
            for row, ex in zip(ids, examples)]


def fit_example(task: Task, example: Example, tokenize: Tokenize, max_length: int
                ) -> list[int]:
    """Shorten the field texts (longest first, whole words) until the input fits."""
    words = [text.split() for _, text in example.fields]
    word_counts = _word_token_counts(words, tokenize)
    empty = Example(tuple((key, "") for key, _ in example.fields), example.label)
    budget = max_length - len(tokenize([task.format_input(empty)], NO_LIMIT)[0])
    text = task.format_input(example)
    for _ in range(MAX_TRIES):
        if budget <= 0:
            break
        caps = water_fill([sum(c) for c in word_counts], budget)
        kept = [ws[: _words_within(counts, cap)]
                for ws, counts, cap in zip(words, word_counts, caps)]
        fields = tuple((key, " ".join(ws)) for (key, _), ws in zip(example.fields, kept))
        text = task.format_input(Example(fields, example.label))
        ids = tokenize([text], NO_LIMIT)[0]
        if len(ids) <= max_length:
            return ids
        budget -= len(ids) - max_length
    return tokenize([text], max_length)[0]  # labels alone overflow: a plain right cut


def water_fill(lengths: Sequence[int], budget: int) -> list[int]:
    """Per-field caps summing to at most ``budget``: the longest fields are cut first.

    The cap ``c`` is the largest with ``sum(min(n, c)) <= budget``; tokens left over by the
    integer division go to the longest cut fields, one each.
    """
    if sum(lengths) <= budget:
        return list(lengths)
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    caps = list(lengths)
    remaining = budget
    for rank, i in enumerate(order):
        left = len(order) - rank
        if lengths[i] * left > remaining:
            cap, extra = divmod(remaining, left)
            cut = order[rank:]
            for j in cut:
                caps[j] = cap
            for j in cut[::-1][:extra]:
                caps[j] += 1
            break
        remaining -= lengths[i]
    return caps


def _word_token_counts(words: list[list[str]], tokenize: Tokenize) -> list[list[int]]:
    """Tokens per word (special tokens subtracted), all fields in one tokenizer call."""
    flat = [w for ws in words for w in ws]
    special = len(tokenize([""], NO_LIMIT)[0])
    counts = [max(len(ids) - special, 1) for ids in tokenize(flat, NO_LIMIT)] if flat else []
    out, start = [], 0
    for ws in words:
        out.append(counts[start : start + len(ws)])
        start += len(ws)
    return out


def _words_within(counts: list[int], cap: int) -> int:
    """How many leading words fit in ``cap`` tokens."""
    return sum(1 for total in accumulate(counts) if total <= cap)
