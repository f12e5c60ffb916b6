"""The report commands end to end, on a run store built from real run folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compt.cli import main


@pytest.fixture
def cli(golden_store, capsys):
    """Run ``compt ARGS --runs-dir STORE``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main([*args, "--runs-dir", str(golden_store)])
        out = capsys.readouterr()
        return exc.value.code or 0, out.out, out.err

    return run


def test_table_json_has_hand_computed_numbers(cli):
    code, out, _ = cli("table", "--format", "json")
    assert code == 0
    data = json.loads(out)
    labels = [tuple(r["labels"].values()) for r in data["rows"]]
    assert labels == [("pt", "8", ""), ("ssum", "8", "router=constant"),
                      ("ssum", "8", "router=learned"), ("msum", "16", "")]
    pt = data["rows"][0]["cells"]
    assert (pt["sent_movies"]["mean"], pt["sent_movies"]["std"], pt["sent_movies"]["n"]) == (
        62.0, 2.0, 3)
    assert data["rows"][2]["runs"] == 2 and data["expected"] == 3


def test_table_terminal_is_readable_without_colour(cli):
    code, out, _ = cli("table")
    assert code == 0 and "\x1b[" not in out
    assert "75.0 ± –*" in out and "2/3" in out and "* best in column" in out


def test_table_filters_selectors_and_rows(cli):
    data = json.loads(cli("table", "--method", "ssum", "-f", "json")[1])
    assert len(data["rows"]) == 2
    data = json.loads(cli("table", "k=16", "-f", "json")[1])
    assert [r["labels"]["method"] for r in data["rows"]] == ["msum"]
    data = json.loads(cli("table", "grid", "--rows", "router", "-f", "json")[1])
    assert {r["labels"]["router"] for r in data["rows"]} == {"learned", "constant"}
    assert all(r["labels"]["variant"] for r in data["rows"] if r["labels"]["router"] == "learned")


def test_table_writes_a_file(cli, tmp_path):
    target = tmp_path / "table.tex"
    code, out, err = cli("table", "-f", "latex", "-o", str(target))
    assert code == 0 and out == "" and "wrote" in err
    assert r"\textbf{75.0 $\pm$ --}" in target.read_text()


@pytest.mark.parametrize("args, message", [
    (("table", "-f", "html"), "Unknown --format 'html'"),
    (("table", "--status", "running"), "--status all"),
    (("table", "colour=blue"), "Unknown key 'colour'"),
    (("table", "--rows", "colour"), "Unknown row key"),
    (("table", "nosuchgroup"), "No run or group 'nosuchgroup'"),
    (("predictions", "grid"), "prediction tables are per run"),
    (("transfer", "r00-pt-k8-learned-s0"), "no transfer matrix"),
    (("heatmap", "method=pt"), "no per-prompt scores"),
    (("compare", "method=ssum", "--baseline", "method=pt"), "same seed"),
])
def test_user_mistakes_exit_2_without_traceback(cli, args, message):
    code, _, err = cli(*args)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_missing_runs_dir_is_a_user_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["table", "--runs-dir", str(tmp_path / "nope")])
    assert exc.value.code == 2 and "does not exist" in capsys.readouterr().err


def test_heatmap_one_per_configuration_seeds_averaged(cli):
    data = json.loads(cli("heatmap", "grid", "--method", "ssum", "-f", "json")[1])
    assert [m["title"] for m in data] == ["ssum k=8 router=constant", "ssum k=8 router=learned"]
    # constant: seeds 0, 1, 2 shift the per-prompt scores by 0, 1, 2 -> mean +1
    assert data[0]["values"][0][0] == 61.0 and data[0]["runs"] == 3
    assert data[1]["values"][0][0] == 60.5  # learned: seeds 0 and 1


def test_heatmap_skips_configurations_without_the_analysis(cli):
    code, out, err = cli("heatmap", "grid", "-f", "json")
    assert code == 0
    assert [m["title"] for m in json.loads(out)] == [
        "ssum k=8 router=constant", "ssum k=8 router=learned",
        "msum k=16 (r08-msum-k16-learned-s0)"]
    assert "skipped: pt k=8 has no per-prompt scores" in " ".join(err.split())


def test_router_predictions_transfer_seeds(cli):
    code, out, _ = cli("router", "method=ssum,router=constant", "-f", "json")
    weights = json.loads(out)[0]
    assert code == 0 and weights["values"][0] == [0.9, 0.1]  # (0.8 + 0.9 + 1.0) / 3
    code, out, _ = cli("predictions", "r03", "--task", "sent_movies", "--variant", "source")
    assert code == 0 and "65 of 100 correct" in out and "combined" not in out
    code, out, _ = cli("transfer", "r05-ssum-k8-constant-s0", "-f", "csv")
    assert code == 0 and "sent_movies,nli,51.0" in out
    code, out, _ = cli("seeds", "method=pt", "-f", "markdown")
    assert code == 0 and "| seed 2 | 64.0 | 53.0 | 58.5 |" in out and "| **range** | 4.0" in out


def test_compare_against_baseline(cli):
    code, out, _ = cli("compare", "method=ssum,router=constant", "--baseline", "method=pt",
                       "-f", "json")
    assert code == 0
    stats = json.loads(out)["extra"]["stats"]
    assert stats["pairs"] == 6 and stats["mean_diff"] == pytest.approx(6.5)
    assert stats["t_p"] < 0.01


def test_table_stays_import_light(golden_store):
    """`compt table` must not pay for torch, transformers, textual or scipy (the reference
    rows do on a cold cache only: tests/test_reference_rows_cli.py)."""
    code = ("import sys\nfrom compt.cli import main\ntry:\n    main(['table', '--runs-dir', "
            f"{str(golden_store)!r}, '-f', 'csv', '--no-references'])\nexcept SystemExit:\n"
            "    pass\n"
            "print([m for m in ('torch', 'transformers', 'textual', 'scipy') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_modularity_options_become_separate_labelled_rows(tmp_path, capsys):
    """Runs differing only by a key the index lacks are told apart from config.json."""
    from compt.config import RunConfig
    from compt.runfolder import create_run_folder
    from compt.store import RunStore

    runs_dir = tmp_path / "runs"
    for i, (init, tasks) in enumerate([(None, ["a", "b"]), ("r0", ["a", "b"]), (None, ["a"])]):
        config = RunConfig.from_dict({"tasks": tasks, "init_sources_from": init, "k": 8})
        folder = create_run_folder(runs_dir, config, run_id=f"r{i}")
        folder.write_results({"scores": {t: 50.0 + i for t in tasks}})
        folder.update_status(status="done")
    RunStore(runs_dir).reindex()
    with pytest.raises(SystemExit):
        main(["table", "--runs-dir", str(runs_dir), "-f", "json"])
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert sorted(r["labels"]["variant"] for r in rows) == [
        "init_sources_from=r0 tasks=a+b", "init_sources_from=– tasks=a",
        "init_sources_from=– tasks=a+b"]
