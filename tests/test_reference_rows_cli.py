"""Reference rows computed by the report commands on runs of the tiny random T5, whose
numbers are pinned by a golden file; the cache keeps a second report light."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from golden import assert_golden


@pytest.fixture(autouse=True)
def references_on(monkeypatch):
    """The suite leaves reference rows out (tests/conftest.py); here they are the point."""
    monkeypatch.delenv("COMPT_NO_REFERENCES")


SCORES = {0: {"sent_movies": 50.0, "sent_products": 60.0},
          1: {"sent_movies": 55.0, "sent_products": 52.0}}


@pytest.fixture
def tiny_store(make_run, runs_dir):
    """pt and ssum, seeds 0 and 1, on 16 test examples of two built-in tasks."""
    for method in ("pt", "ssum"):
        for seed, scores in SCORES.items():
            make_run(method=method, seed=seed, k=4, eval_size=16, scores=scores)
    return runs_dir


def test_table_computes_and_pins_the_reference_rows(tiny_store, compt):
    code, out, err = compt("table", "--runs-dir", str(tiny_store), "-f", "markdown")
    assert code == 0, err
    assert_golden("table_tiny_refs.md", out)
    data = json.loads(compt("table", "--runs-dir", str(tiny_store), "-f", "json")[1])
    refs = {r["labels"]["method"]: r["cells"] for r in data["rows"] if r["reference"]}
    assert list(refs) == ["majority", "zero-shot", "in-context"]  # seq2seq: in-context
    assert refs["majority"]["sent_products"]["values"] == [81.25, 81.25]  # 13 of 16 negative
    pt = next(r for r in data["rows"] if r["labels"]["method"] == "pt")
    assert pt["cells"]["sent_products"]["below_reference"] is True  # 56.0 vs 81.2


def test_seeds_and_compare_show_the_references(tiny_store, compt):
    _, out, _ = compt("seeds", "--runs-dir", str(tiny_store), "method=pt")
    assert "ref majority" in out and "ref in-context" in out
    code, out, _ = compt("compare", "--runs-dir", str(tiny_store), "method=ssum",
                         "--baseline", "method=pt", "-f", "json")
    assert code == 0
    views = json.loads(out)
    assert views[-1]["columns"][2:] == ["ref majority", "ref zero-shot", "ref in-context"]


def test_no_references_says_so_in_one_line(tiny_store, compt):
    for command in (["table"], ["seeds"], ["compare", "method=ssum", "--baseline", "method=pt"]):
        code, out, _ = compt(*command, "--runs-dir", str(tiny_store), "--no-references")
        assert code == 0
        assert "Reference rows left out (--no-references or COMPT_NO_REFERENCES)." in out
        assert "ref " not in out.replace("Reference rows", "")


def test_the_environment_variable_leaves_them_out_too(tiny_store, compt, monkeypatch):
    monkeypatch.setenv("COMPT_NO_REFERENCES", "1")
    _, out, _ = compt("table", "--runs-dir", str(tiny_store))
    assert "Reference rows left out" in out and "majority" not in out


def test_a_model_that_cannot_load_leaves_the_references_out_with_a_reason(make_run, runs_dir,
                                                                        compt):
    make_run(model="no-such-model-here", scores={"sent_movies": 50.0, "sent_products": 50.0})
    code, out, err = compt("table", "--runs-dir", str(runs_dir), "-f", "markdown")
    assert code == 0, err
    note = next(line for line in out.splitlines() if line.startswith("Reference rows left"))
    assert "Could not load model 'no-such-model-here'" in note
    assert "majority" not in out


def test_a_warm_cache_keeps_the_table_import_light(tiny_store, compt, reference_cache, tmp_path):
    assert compt("table", "--runs-dir", str(tiny_store))[0] == 0
    shutil.copytree(reference_cache, tmp_path / "cache" / "references")
    code = ("import sys\nfrom compt.cli import main\ntry:\n    main(['table', '--runs-dir', "
            f"{str(tiny_store)!r}])\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('torch', 'transformers') if m in sys.modules])")
    env = {**os.environ, "COMPT_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent, check=True)
    assert "in-context" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
