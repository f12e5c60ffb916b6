"""Every phase of a run reaches status.json with its own progress, and ls / show print it.

A real (tiny) training: each status.json write is recorded, so the test sees what a
reader polling the file could see.
"""

from __future__ import annotations

from compt.cli.store_cmds import _progress
from compt.config import RunConfig
from compt.phases import ANALYSING, EVALUATING, LOADING, TRAINING
from compt.runfolder import RunFolder, create_run_folder
from compt.runner import execute_run

TINY = dict(model="tiny-t5", tasks=["sent_movies", "entail"], k=8, max_steps=2, batch_size=8,
            eval_size=8, analysis_eval_size=4, method="ssum", n_sources=2)


def test_status_json_shows_each_phase_and_how_far_it_got(tmp_path, monkeypatch):
    writes: list[dict] = []
    update = RunFolder.update_status

    def recording(self, **fields):
        status = update(self, **fields)
        writes.append(dict(status))
        return status

    monkeypatch.setattr(RunFolder, "update_status", recording)
    cfg = RunConfig(**TINY)
    folder = create_run_folder(tmp_path, cfg)
    execute_run(folder, cfg)
    phases = list(dict.fromkeys(w.get("phase") for w in writes if w.get("phase")))
    assert phases == [LOADING, TRAINING, EVALUATING, ANALYSING]
    evaluating = [w for w in writes if w.get("phase") == EVALUATING and w.get("phase_total")]
    assert evaluating[-1]["phase_done"] == evaluating[-1]["phase_total"] == 2 * 8
    analysing = [w for w in writes if w.get("phase") == ANALYSING and w.get("phase_total")]
    masks = analysing[-1]["phase_total"]
    assert [w["phase_done"] for w in analysing][0] == 0 and analysing[-1]["phase_done"] == masks
    assert masks == len(folder.read_results()["per_prompt"]["columns"])
    assert not any(w.get("phase_total") for w in writes if w.get("phase") == TRAINING)
    assert "loading model and data: tiny-t5" in folder.log_path.read_text()


def test_ls_prints_the_phase_of_a_running_run():
    running = {"status": "running", "step": 20, "total": 20}
    assert _progress({**running, "phase": EVALUATING, "phase_done": 120,
                      "phase_total": 400}) == "eval 120/400"
    assert _progress({**running, "phase": LOADING}) == "loading"
    assert _progress({**running, "phase": TRAINING, "step": 5}) == "training 25%"
    assert _progress({"status": "done"}) == "100%"
