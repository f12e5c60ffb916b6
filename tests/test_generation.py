"""Greedy decoding's options (the authors': repetition penalty 2.0, 50 tokens) reach the model."""

from __future__ import annotations

import pytest

from compt.config import RunConfig
from compt.data import collate
from compt.errors import ComptError
from compt.train import build_experiment


def test_defaults_are_the_authors_and_are_validated():
    assert RunConfig().generation == {"max_new_tokens": 50, "repetition_penalty": 2.0}
    with pytest.raises(ComptError, match="repetition_penalty"):
        RunConfig.from_dict({"repetition_penalty": 0})


def test_penalty_and_length_change_what_is_generated(tiny_cfg):
    tiny_cfg.decoding = "greedy"
    exp = build_experiment(tiny_cfg)
    batch = collate(exp.eval_data, list(range(4)), exp.model.backbone.pad_id)
    free = exp.model.generate(batch, max_new_tokens=12, repetition_penalty=1.0)
    penalised = exp.model.generate(batch, max_new_tokens=12, repetition_penalty=1e4)
    short = exp.model.generate(batch, max_new_tokens=2, repetition_penalty=1e4)
    assert free != penalised  # the random tiny T5 stops at once unless EOS is penalised
    assert any(len(text) > 2 for text in penalised)  # ByT5: one token per byte
    assert all(len(s) <= 2 and p.startswith(s) for s, p in zip(short, penalised))
