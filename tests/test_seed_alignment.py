"""Sources across seeds: matched by router-weight profile before averaging, or shown per
seed where the router cannot tell them apart; said on screen and in the exports."""

from __future__ import annotations

import json

import pytest
from golden.samples import per_prompt, router

from compt.cli import main
from compt.config import RunConfig
from compt.heatmap import per_prompt_matrix, router_matrices, source_alignment
from compt.runfolder import create_run_folder
from compt.store import RunStore

SWAP = {"src_1": "src_2", "src_2": "src_1"}


def swapped(result: dict) -> dict:
    """The same trained run as ``result`` with its two sources numbered the other way."""
    r = result["router"]
    pp = result["per_prompt"]
    return {
        "router": {**r, "weights": [row[::-1] for row in r["weights"]],
                   "logits": [row[::-1] for row in r["logits"]]},
        "per_prompt": {**pp, "scores": {t: {SWAP.get(c, c): v for c, v in row.items()}
                                        for t, row in pp["scores"].items()}},
        "eval_size": {"sent_movies": 200, "nli": 200},
    }


def seed(shift: float) -> dict:
    return {"router": router(shift / 10), "per_prompt": per_prompt(shift),
            "eval_size": {"sent_movies": 200, "nli": 200}}


def test_swapped_sources_are_matched_back_before_averaging():
    runs = [seed(0.0), swapped(seed(2.0))]
    assert source_alignment([r["router"] for r in runs]) == [[0, 1], [1, 0]]
    m = per_prompt_matrix(runs, "ssum")
    # aligned: seed 1's src_1 is its (renamed) src_2; the mean adds 1 to the base everywhere
    assert m.values[0][:2] == pytest.approx([61.0, 53.0])
    assert m.std[0][:2] == pytest.approx([2 ** 0.5] * 2)
    assert any("aligned across seeds" in n for n in m.notes)
    assert m.extra["source_alignment"] == [[0, 1], [1, 0]]
    weights, _ = router_matrices(runs)
    assert weights.values[0] == pytest.approx([0.81, 0.19])


def test_a_constant_router_cannot_align_and_a_smaller_analysis_is_stated():
    flat = {"tasks": ["sent_movies", "nli"], "sources": ["src_1", "src_2"],
            "weights": [[0.5, 0.5], [0.5, 0.5]], "logits": [[0.0, 0.0], [0.0, 0.0]]}
    runs = [{**seed(s), "router": flat} for s in (0.0, 1.0)]
    assert source_alignment([r["router"] for r in runs]) is None
    runs[0]["per_prompt"]["eval_size"] = {"sent_movies": 100, "nli": 100}
    notes = " ".join(per_prompt_matrix(runs).notes)
    assert "NOT aligned" in notes
    assert "Per-prompt scores on 100 test examples per task; the run's own scores use 200" in notes


@pytest.fixture
def store(tmp_path):
    """Two seeds of one configuration whose sources are numbered the other way round, and
    two seeds of a constant-router configuration."""
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    flat = {"tasks": ["sent_movies", "nli"], "sources": ["src_1", "src_2"],
            "weights": [[0.5, 0.5], [0.5, 0.5]], "logits": [[0.0, 0.0], [0.0, 0.0]]}
    for n, (router_mode, seed_, result) in enumerate([
            ("learned", 0, seed(0.0)), ("learned", 1, swapped(seed(2.0))),
            ("constant", 0, {**seed(0.0), "router": flat}),
            ("constant", 1, {**seed(2.0), "router": flat})]):
        cfg = RunConfig.from_dict({"method": "ssum", "k": 8, "router": router_mode,
                                   "seed": seed_, "tasks": ["sent_movies", "nli"],
                                   "n_sources": 2, "model": "tiny", "group": "g"})
        folder = create_run_folder(runs_dir, cfg, run_id=f"r{n}")
        folder.write_results({"scores": {"sent_movies": 70.0, "nli": 60.0}, "average": 65.0,
                              "primary_metric": {"sent_movies": "accuracy", "nli": "accuracy"},
                              **result})
        folder.update_status(status="done")
    RunStore(runs_dir).reindex()
    return runs_dir


def cli(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert (exc.value.code or 0) == 0
    return capsys.readouterr().out


def test_cli_aligns_learned_and_shows_constant_router_per_seed(store, capsys):
    out = cli(capsys, "heatmap", "g", "--runs-dir", str(store))
    assert "Sources aligned across seeds" in " ".join(out.split())
    assert "router=constant, seed 0" in out and "router=constant, seed 1" in out
    data = json.loads(cli(capsys, "router", "g", "--runs-dir", str(store), "-f", "json"))
    learned = next(m for m in data if "router=learned" in m["title"])
    assert learned["extra"]["source_alignment"] == [[0, 1], [1, 0]]
    assert any("aligned across seeds" in n for n in learned["notes"])


def test_cli_per_seed_on_request(store, capsys):
    out = cli(capsys, "heatmap", "g", "--sources", "per-seed", "--runs-dir", str(store))
    assert "router=learned, seed 0" in out and "router=learned, seed 1" in out
    assert "Mean of" not in out


def test_transfer_states_its_evaluation_size():
    from compt.heatmap import transfer_matrix

    m = transfer_matrix([{"tasks": ["a", "b"], "scores": [[1.0, 2.0], [3.0, 4.0]],
                          "eval_size": 100}])
    assert "Scores on 100 test examples per task." in m.notes
