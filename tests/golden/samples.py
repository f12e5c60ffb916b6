"""Fixed inputs for the report tests, small enough to work every number out by hand.

Four configurations of two tasks (``sent_movies``, ``nli``):

=======================  =====  ================  =========  =========
configuration            seeds  sent_movies       nli        run avg
=======================  =====  ================  =========  =========
pt k=8                   0 1 2  60 62 64          50 50 53   55 56 58.5
ssum k=8 router=learned  0 1    70 74             55 57      62.5 65.5
ssum k=8 router=constant 0 1 2  66 66 66          58 60 62   62 63 64
msum k=16                0      75                59         67
=======================  =====  ================  =========  =========
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TASKS = ["sent_movies", "nli"]
# (method, k, router, seed, sent_movies, nli)
RUNS = [
    ("pt", 8, "learned", 0, 60.0, 50.0),
    ("pt", 8, "learned", 1, 62.0, 50.0),
    ("pt", 8, "learned", 2, 64.0, 53.0),
    ("ssum", 8, "learned", 0, 70.0, 55.0),
    ("ssum", 8, "learned", 1, 74.0, 57.0),
    ("ssum", 8, "constant", 0, 66.0, 58.0),
    ("ssum", 8, "constant", 1, 66.0, 60.0),
    ("ssum", 8, "constant", 2, 66.0, 62.0),
    ("msum", 16, "learned", 0, 75.0, 59.0),
]


def run_id(i: int, method: str, k: int, router: str, seed: int) -> str:
    return f"r{i:02d}-{method}-k{k}-{router}-s{seed}"


def summaries() -> list[dict[str, Any]]:
    """Index summaries (docs/CONTRACTS.md) of the runs above, as compt.store writes them."""
    out = []
    for i, (method, k, router, seed, sent, nli) in enumerate(RUNS):
        out.append({
            "run_id": run_id(i, method, k, router, seed),
            "created": f"2026-01-01T00:00:{i:02d}+00:00",
            "status": "done", "method": method, "tasks": list(TASKS), "k": k, "seed": seed,
            "data_seed": seed, "n_sources": 2, "model": "tiny",
            "hparams": {"router": router, "lr_router": 0.1, "prompt_len": 4},
            "scores": {"sent_movies": sent, "nli": nli}, "average": (sent + nli) / 2,
            "group": "grid", "tags": [], "config_key": f"{method}-{k}-{router}",
        })
    return out


def per_prompt(offset: float) -> dict[str, Any]:
    """results.json's per_prompt block; ``offset`` varies it between seeds."""
    columns = ["src_1", "src_2", "all_src", "private", "total"]
    base = {"sent_movies": [60.0, 52.0, 64.0, 58.0, 66.0], "nli": [50.0, 56.0, 57.0, 49.0, 60.0]}
    return {"columns": columns,
            "scores": {t: dict(zip(columns, [v + offset for v in vals], strict=True))
                       for t, vals in base.items()}}


def router(shift: float) -> dict[str, Any]:
    return {"tasks": list(TASKS), "sources": ["src_1", "src_2"],
            "logits": [[1.0 + shift, -1.0], [0.0, 0.5 + shift]],
            "weights": [[0.8 + shift / 10, 0.2 - shift / 10], [0.4, 0.6]]}


PREDICTIONS = {
    "sent_movies": {"labels": ["positive", "negative"], "combined": [[40, 10], [5, 45]],
                    "source": [[30, 20], [15, 35]], "private": None},
    "nli": {"labels": ["entailment", "not_entailment"], "combined": [[30, 20], [10, 40]],
            "source": None, "private": None},
}
TRANSFER = {"tasks": list(TASKS), "scores": [[66.0, 51.0], [55.0, 60.0]]}


def results(summary: dict[str, Any], shift: float = 0.0) -> dict[str, Any]:
    """A results.json for one run; pt has no sources, hence no per-prompt scores or router."""
    composed = summary["method"] != "pt"
    return {"scores": summary["scores"], "average": summary["average"],
            "per_prompt": per_prompt(shift) if composed else None,
            "router": router(shift) if composed else None, "predictions": PREDICTIONS}


def build_run_store(runs_dir: Path) -> list[str]:
    """Real run folders for the runs above (config/status/results.json), then a reindex."""
    from compt.config import RunConfig
    from compt.runfolder import atomic_write_json, create_run_folder
    from compt.store import RunStore

    ids = []
    for summary, (method, k, router_mode, seed, _, _) in zip(summaries(), RUNS, strict=True):
        config = RunConfig.from_dict({"method": method, "k": k, "router": router_mode,
                                      "seed": seed, "tasks": TASKS, "n_sources": 2,
                                      "model": "tiny", "group": "grid"})
        folder = create_run_folder(runs_dir, config, run_id=summary["run_id"])
        folder.write_results(results(summary, shift=float(seed)))
        if summary["run_id"].startswith("r05"):
            atomic_write_json(folder.path / "transfer.json", TRANSFER)
        folder.update_status(status="done")
        ids.append(folder.run_id)
    RunStore(runs_dir).reindex()
    return ids


def reference_sets() -> list:
    """Reference rows for the runs above, by hand: one set per setting (k=8, k=16).

    =========  ==============  ===========  ===========  ==========================
    setting    reference       sent_movies  nli          marks (not above the best)
    =========  ==============  ===========  ===========  ==========================
    k=8        majority        50           52           nli: pt 51.0
    k=8        zero-shot       55           48
    k=8        centroid s0-2   63 65 64     50 51 52     sent_movies: pt 62.0;
                                                         avg (best 57.5): pt 56.5
    k=16       majority        50           52
    k=16       zero-shot       55           48
    k=16       centroid s0     70           60           nli: msum 59.0
    =========  ==============  ===========  ===========  ==========================
    """
    from compt.references import ReferenceSet

    def same(sent: float, nli: float, seeds: range) -> dict:
        return {s: {"sent_movies": sent, "nli": nli} for s in seeds}

    sets = []
    for k, centroid in ((8, {0: (63.0, 50.0), 1: (65.0, 51.0), 2: (64.0, 52.0)}),
                        (16, {0: (70.0, 60.0)})):
        seeds = {summary["run_id"]: summary["data_seed"] for summary in summaries()
                 if summary["k"] == k}
        used = range(max(seeds.values()) + 1)
        sets.append(ReferenceSet(seeds, {
            "majority": same(50.0, 52.0, used), "zero-shot": same(55.0, 48.0, used),
            "centroid": {s: {"sent_movies": a, "nli": b} for s, (a, b) in centroid.items()}}))
    return sets
