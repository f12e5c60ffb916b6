"""What reaches the model: field-aware truncation (a long first field never pushes a later
field out), padding to the batch's longest row, the attention kernel."""

from __future__ import annotations

import pytest

from compt.data import collate, encode
from compt.model import load_backbone
from compt.tasks.base import Example, Task
from compt.truncation import water_fill

NLI = Task("nli", ("yes", "no"), "accuracy", lambda split: [])
HYPOTHESIS = "A small dog barks at the mailman."
PREMISE = " ".join(f"sentence{i % 13} about the weather in the early spring" for i in range(50))


@pytest.fixture(scope="module", params=["all-MiniLM-L6-v2", "tiny-t5"])
def backbone(request):
    return load_backbone(request.param)


def contains(row: list[int], part: list[int]) -> bool:
    return any(row[i : i + len(part)] == part for i in range(len(row) - len(part) + 1))


def plain_ids(backbone, text: str) -> list[int]:
    return backbone.tokenizer(text, add_special_tokens=False)["input_ids"]


def test_water_fill_cuts_the_longest_field_first():
    assert water_fill([300, 10], 100) == [90, 10]
    assert water_fill([300, 200, 10], 100) == [45, 45, 10]
    assert water_fill([7, 8], 100) == [7, 8]
    caps = water_fill([50, 50, 50], 100)
    assert sum(caps) == 100 and max(caps) - min(caps) <= 1


def test_long_premise_keeps_the_hypothesis(backbone):
    assert len(PREMISE.split()) == 400
    example = Example((("premise", PREMISE), ("hypothesis", HYPOTHESIS)), 0)
    room = 108  # max_length 128 minus a 20-token prompt
    data = encode([NLI], [[example]], backbone.tokenize, room)
    row = data.ids[0]
    full = backbone.tokenize([NLI.format_input(example)], 10_000)[0]
    assert len(full) > room >= len(row) > room - 10  # cut, and the room is used
    assert contains(row, plain_ids(backbone, "hypothesis: " + HYPOTHESIS))
    assert contains(row, plain_ids(backbone, "nli: premise: sentence0 about"))  # a share
    assert row[-1] == full[-1]  # the end-of-sequence / [SEP] token is added once, kept
    assert row[0] == full[0]  # and [CLS] (encoder) stays first
    batch = collate(data, [0], backbone.pad_id)
    assert batch.input_ids[0].tolist() == row  # this is what reaches the model


def test_inputs_that_fit_are_tokenised_whole(backbone):
    example = Example((("premise", "It rains."), ("hypothesis", HYPOTHESIS)), 1)
    data = encode([NLI], [[example]], backbone.tokenize, 108)
    assert data.ids[0] == backbone.tokenize([NLI.format_input(example)], 108)[0]


def test_batches_pad_to_their_longest_row(backbone):
    short = Example((("premise", "It rains."), ("hypothesis", "Wet.")), 0)
    longer = Example((("premise", "It rains a lot in April here."), ("hypothesis", "Wet.")), 1)
    data = encode([NLI], [[short, longer]], backbone.tokenize, 108)
    batch = collate(data, [0, 1], backbone.pad_id)
    assert batch.input_ids.shape[1] == len(data.ids[1]) < 108
    assert batch.lengths.tolist() == [len(data.ids[0]), len(data.ids[1])]
    assert batch.input_ids[0, len(data.ids[0]):].eq(backbone.pad_id).all()


def test_attention_uses_the_fused_sdpa_kernel(backbone):
    """The front door's speed: torch's scaled-dot-product attention, not the eager path."""
    assert backbone.model.config._attn_implementation == "sdpa"
