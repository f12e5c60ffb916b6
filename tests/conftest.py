"""Shared test setup: never touch a hub, keep each test's run store private."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """An empty run store, also exported as COMPT_RUNS_DIR for code that reads the default."""
    path = tmp_path / "runs"
    path.mkdir()
    monkeypatch.setenv("COMPT_RUNS_DIR", str(path))
    return path
