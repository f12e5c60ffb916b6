"""Table exports: golden files for every format, and what each format must show."""

from __future__ import annotations

import csv
import io
import json

import pytest
from golden import HERE, assert_golden
from golden.samples import summaries

from compt import export
from compt.errors import ComptError
from compt.export import FORMATS, latex_escape, render, table_rich
from compt.report import build_table

SUFFIX = {"terminal": "txt", "markdown": "md", "csv": "csv", "latex": "tex", "json": "json"}


@pytest.fixture
def table():
    return build_table(summaries(), title="Few-shot results")


@pytest.mark.parametrize("fmt", FORMATS)
def test_table_golden(table, fmt):
    assert_golden(f"table.{SUFFIX[fmt]}", render(table, fmt))


def test_long_tables_use_the_fast_layout_with_the_same_text(table, monkeypatch):
    monkeypatch.setattr(export, "LONG_TABLE", 2)
    assert render(table, "terminal") == (HERE / "table.txt").read_text()
    table.title = ""
    fast = render(table, "terminal")
    monkeypatch.setattr(export, "LONG_TABLE", 1000)
    assert fast == render(table, "terminal")


def test_plain_text_marks_best_and_second_without_colour(table):
    text = render(table, "terminal")
    assert "\x1b[" not in text
    msum = next(line for line in text.splitlines() if line.strip().startswith("msum"))
    assert "75.0 ± –*" in msum  # n = 1: the std reads "–"; best sent_movies
    assert "59.0 ± –†" in msum  # second in nli
    assert "1/3" in msum
    assert "* best in column" in text


def test_rich_table_styles_best_bold_and_second_underlined(table):
    rich = table_rich(table)
    sent = rich.columns[len(table.label_names)]  # the first task column

    def style_of(number: str) -> str:
        text = next(t for t in sent.cells if number in t.plain)
        return next((str(span.style) for span in text.spans if span.style), "")

    assert style_of("75.0") == "bold"
    assert style_of("72.0") == "underline"
    assert style_of("62.0") == ""


def test_markdown_and_latex_markup(table):
    md = render(table, "markdown")
    assert "**75.0 ± –**" in md and "<ins>72.0 ± 2.8</ins>" in md
    assert "underlined: second" in md  # as on screen and in LaTeX (not "italic")
    tex = render(table, "latex")
    assert r"\textbf{75.0 $\pm$ --}" in tex
    assert r"\underline{72.0 $\pm$ 2.8}" in tex
    assert r"sent\_movies" in tex and r"\toprule" in tex and r"\bottomrule" in tex


def test_csv_and_json_carry_the_numbers(table):
    rows = list(csv.DictReader(io.StringIO(render(table, "csv"))))
    pt = rows[0]
    assert (pt["method"], pt["k"], pt["sent_movies"], pt["sent_movies_std"]) == (
        "pt", "8", "62.0", "2.0")
    assert rows[-1]["nli_std"] == ""  # n = 1: no std, an empty field rather than a dash
    data = json.loads(render(table, "json"))
    cell = data["rows"][0]["cells"]["avg"]
    assert cell == {"mean": 56.5, "std": 1.802776, "n": 3, "rank": None,
                    "values": [55.0, 56.0, 58.5], "below_reference": False}
    assert data["rows"][2]["complete"] is False


def test_latex_escape():
    assert latex_escape("a_b & 50% #1 {x} ~ ^ \\") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{}")


def test_unknown_format_is_a_user_error(table):
    with pytest.raises(ComptError, match="markdown"):
        render(table, "html")
