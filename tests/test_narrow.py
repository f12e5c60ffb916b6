"""Reports fit an 80-column terminal (abbreviated, then split columns), full width on request
or when piped; shown on the golden sample store through the real command line."""

from __future__ import annotations

import re

import pytest

from compt.cli import main
from compt.narrow import short_names

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BUILTIN = ["sent_movies", "sent_products", "lab_result", "entail", "paraphrase", "topic"]


def show(golden_store, capsys, monkeypatch, *args: str, terminal: bool = True) -> list[str]:
    monkeypatch.setenv("COLUMNS", "80")
    if terminal:
        monkeypatch.setenv("FORCE_COLOR", "1")
    else:
        monkeypatch.delenv("FORCE_COLOR", raising=False)
    with pytest.raises(SystemExit) as exc:
        main([*args, "--runs-dir", str(golden_store)])
    assert (exc.value.code or 0) == 0
    return [ANSI.sub("", line).rstrip() for line in capsys.readouterr().out.splitlines()]


def test_short_names_are_unique_and_readable():
    short = short_names([*BUILTIN, "avg", "sent_models"])
    assert short["sent_movies"] == "sent_mo" and short["topic"] == "topic"
    assert short["paraphrase"] == "paraphr" and short["avg"] == "avg"
    assert len(set(short.values())) == len(short)
    assert all(len(s) <= 7 for s in short.values())


def test_table_fits_80_columns_in_a_terminal_with_a_legend(golden_store, capsys, monkeypatch):
    lines = show(golden_store, capsys, monkeypatch, "table")
    assert max(map(len, lines)) <= 80
    text = "\n".join(lines)
    assert "Columns: sent_mo = sent_movies." in text
    for number in ("62.0 ± 2.0", "60.0 ± 2.0*", "72.0 ± 2.8†", "75.0 ± –*", "2/3"):
        assert number in text  # nothing folded or lost


def test_wide_or_piped_tables_keep_full_names(golden_store, capsys, monkeypatch):
    for lines in (show(golden_store, capsys, monkeypatch, "table", "--wide"),
                  show(golden_store, capsys, monkeypatch, "table", terminal=False)):
        header = next(line for line in lines if "method" in line)
        assert "sent_movies" in header and "Columns:" not in "\n".join(lines)


def test_a_narrow_terminal_splits_columns_and_repeats_row_labels(golden_store, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "48")
    monkeypatch.setenv("FORCE_COLOR", "1")
    with pytest.raises(SystemExit):
        main(["heatmap", "grid", "--runs-dir", str(golden_store)])
    lines = [ANSI.sub("", x).rstrip() for x in capsys.readouterr().out.splitlines()]
    assert max(map(len, lines)) <= 48
    headers = [x.split() for x in lines if x.strip().startswith("task ")]
    columns = [c for h in headers for c in h[1:]]
    assert {"src_1", "src_2", "all_src", "private", "total"} <= set(columns)
    assert len(headers) > 2  # each configuration's matrix came in more than one part
