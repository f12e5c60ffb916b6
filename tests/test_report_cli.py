"""The report commands end to end, on a run store built from real run folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from golden import assert_golden

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
    (("compare", "method=pt", "--baseline", "method=ssum"), "same seed"),
    (("compare", "method=ssum", "--baseline", "method=pt", "--effect", "0"),
     "--effect must be a positive"),
    (("table", "method=pt", "--baseline", "method=pt"), "Nothing to compare"),
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
    stats = json.loads(out)[-1]["extra"]["stats"]
    assert len(stats) == 1 and stats[0]["name"] == "method=ssum,router=constant"
    assert stats[0]["seed_task"]["n"] == 6 and stats[0]["seed_task"]["mean_diff"] == 6.5
    assert stats[0]["per_seed"]["n"] == 3 and stats[0]["per_seed"]["t_p"] < 0.01
    assert stats[0]["per_seed"]["family"] == 1 and stats[0]["effect"] == 3.0


def test_compare_several_configurations_is_holm_corrected(cli):
    code, out, _ = cli("compare", "method=ssum", "--baseline", "method=pt", "--effect", "2")
    text = " ".join(out.split())
    assert code == 0
    assert "ssum k=8 router=constant vs method=pt" in text
    assert "ssum k=8 router=learned vs method=pt" in text
    assert "corrected by Holm's method over the 2 tests" in text
    assert "seeds for 2" in text and "are not (the tasks of one run" in text


def test_compare_pool_makes_one_comparison_of_several_configurations(cli):
    runs = "r03-ssum-k8-learned-s0,r04-ssum-k8-learned-s1,r07-ssum-k8-constant-s2"
    split = json.loads(cli("compare", runs, "--baseline", "method=pt", "-f", "json")[1])
    assert [s["per_seed"]["n"] for s in split[-1]["extra"]["stats"]] == [1, 2]
    code, out, _ = cli("compare", runs, "--baseline", "method=pt", "--pool", "-f", "json")
    stats = json.loads(out)[-1]["extra"]["stats"]
    assert code == 0 and len(stats) == 1 and stats[0]["name"] == runs
    # seeds 0, 1 (learned) and 2 (constant): averages 62.5, 65.5, 64 vs pt 55, 56, 58.5
    assert stats[0]["per_seed"]["n"] == 3
    assert stats[0]["per_seed"]["mean_diff"] == pytest.approx((7.5 + 9.5 + 5.5) / 3)


FORMAT_SUFFIX = {"terminal": "txt", "markdown": "md", "csv": "csv", "latex": "tex",
                 "json": "json"}


@pytest.mark.parametrize("fmt", list(FORMAT_SUFFIX))
def test_compare_and_table_baseline_golden(cli, fmt, tmp_path):
    """The statistics of `compt compare` and `compt table --baseline` on the fixed store."""
    for name, args in (("compare_holm", ("compare", "method=ssum", "--baseline", "method=pt")),
                       ("table_baseline", ("table", "--baseline", "method=pt"))):
        target = tmp_path / f"{name}.{FORMAT_SUFFIX[fmt]}"
        code, _, err = cli(*args, "-f", fmt, "-o", str(target))
        assert code == 0, err
        assert_golden(target.name, target.read_text())


def test_table_baseline_numbers(cli):
    code, out, _ = cli("table", "--baseline", "method=pt", "-f", "json")
    table, tests = json.loads(out)
    assert code == 0 and len(table["rows"]) == 4
    by_name = {s["name"]: s for s in tests["extra"]["stats"]}
    constant = by_name["ssum k=8 router=constant"]["per_seed"]
    learned = by_name["ssum k=8 router=learned"]["per_seed"]
    msum = by_name["msum k=16 (r08-msum-k16-learned-s0)"]["per_seed"]
    assert msum["t_p"] is None and msum["p_holm"] is None  # one seed: no test
    assert constant["family"] == 2  # the two rows with a test
    assert constant["p_holm"] == pytest.approx(2 * constant["t_p"])
    assert learned["p_holm"] == pytest.approx(max(learned["t_p"], 2 * constant["t_p"]))


def test_table_baseline_match_pairs_each_row_with_the_baseline_at_its_k(cli):
    """--match k: msum k=16 finds no pt run at k=16, so it is named and left out."""
    code, out, _ = cli("table", "--baseline", "method=pt", "--match", "k")
    text = " ".join(out.split())
    assert code == 0 and "over the 2 tests" in text
    assert "Not compared (no seed and task shared with method=pt): msum k=16" in text


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
