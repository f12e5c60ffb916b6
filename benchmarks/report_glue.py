"""Writes docs/results_glue.md from compt's own reports on the GLUE campaign's run store.

Every number on the page comes from ``compt table`` / ``compt compare`` (JSON) over
benchmarks/runs-glue, so the page says exactly what those commands say: reference rows
(majority, zero-shot, training-free k-shot) beside the trained rows, per-seed paired tests
with Holm's correction, and the effect the seeds could detect. Called by bench_glue.py.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from machine import cpu_name  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent
# The paper's Table 1 (T5-base, k = 8, GLUE average), for the record; docs/method.md.
PAPER_K8 = {"pt": 63.4, "ssum": 74.4, "msum": 76.0, "mcat": 74.3}
COMPOSED = ("ssum", "msum", "mcat")
STAND_INS = ("mnli", "qqp")


def compt_json(runs: Path, *args: str) -> object:
    """One compt report as JSON, over the campaign's store."""
    cmd = [sys.executable, "-m", "compt", *args, "--runs-dir", str(runs), "--format", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def label(row: dict) -> str:
    return " ".join(str(v) for v in row["labels"].values() if v not in ("", None))


def fmt(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def p_text(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def table_section(table: dict) -> tuple[str, list[str]]:
    """The mean ± std table with its reference rows, and one verdict line per trained row."""
    cols = table["columns"]
    lines = ["| row | " + " | ".join(cols) + " | seeds |",
             "|---|" + "---|" * (len(cols) + 1)]
    refs = [r for r in table["rows"] if r.get("reference")]
    trained = [r for r in table["rows"] if not r.get("reference")]
    for row in [*trained, *refs]:
        cells = []
        for c in cols:
            cell = row["cells"].get(c)
            if not cell or cell.get("mean") is None:
                cells.append("–")
                continue
            mark = " °" if cell.get("below_reference") else ""
            cells.append(f"{cell['mean']:.1f} ± {cell.get('std') or 0:.1f}{mark}")
        name = f"*{label(row)}* (ref)" if row.get("reference") else label(row)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row.get('runs', '–')} |")
    verdicts = []
    for row in trained:
        below = [c for c in cols if (row["cells"].get(c) or {}).get("below_reference")]
        beats = [c for c in cols if c not in below and c in row["cells"]]
        verdicts.append(f"- **{label(row)}**: beats the best reference on {len(beats)} of "
                        f"{len(cols)} columns ({', '.join(beats) or 'none'}); not on "
                        f"{', '.join(below) or 'none'}.")
    return "\n".join(lines), verdicts


def best_reference_gap(table: dict) -> str:
    """Per task: the best reference row, and each trained row's mean minus it."""
    cols = table["columns"]
    refs = [r for r in table["rows"] if r.get("reference")]
    trained = [r for r in table["rows"] if not r.get("reference")]
    if not refs:
        return "(no reference rows: the report was made with --no-references)"
    head = "| task | best reference | " + " | ".join(label(r) + " − ref" for r in trained) + " |"
    lines = [head, "|---|---|" + "---|" * len(trained)]
    for c in cols:
        scored = [(r["cells"][c]["mean"], label(r)) for r in refs
                  if (r["cells"].get(c) or {}).get("mean") is not None]
        if not scored:
            continue
        best, name = max(scored)
        gaps = [fmt((r["cells"].get(c) or {}).get("mean", None) - best
                    if (r["cells"].get(c) or {}).get("mean") is not None else None)
                for r in trained]
        note = " (stand-in test set)" if c in STAND_INS else ""
        lines.append(f"| {c}{note} | {name} {best:.1f} | " + " | ".join(gaps) + " |")
    return "\n".join(lines)


def comparison_section(runs: Path, group: str, targets: Sequence[str], baseline: str) -> str:
    """Per-seed paired tests of each target method against one baseline, Holm-corrected."""
    present = [m for m in targets if m != baseline]
    data = compt_json(runs, "compare", "--group", group, "method=" + ",".join(present),
                      "--baseline", f"method={baseline}")
    stats = data[-1]["extra"]["stats"] if isinstance(data, list) else data["extra"]["stats"]
    lines = [f"Against **{baseline}** (group `{group}`; per seed = the run's average over "
             "the tasks, paired by seed; Holm over the "
             f"{len(stats)} comparisons of this table):", "",
             "| method | seeds | mean diff | p (t, per seed) | p Holm | detectable at 80 % "
             "| seeds for 3 points | (seed, task) p, not independent |",
             "|---|---|---|---|---|---|---|---|"]
    for s in stats:
        ps, st = s["per_seed"], s.get("seed_task") or {}
        lines.append(f"| {s['name']} | {ps['n']} | {ps['mean_diff']:+.1f} | {p_text(ps['t_p'])} "
                     f"| {p_text(ps.get('p_holm'))} | {fmt(s.get('detectable_effect'))} "
                     f"| {s.get('seeds_needed', '–')} | {p_text(st.get('t_p'))} |")
    return "\n".join(lines)


def write_page(runs: Path, page: Path, base: Sequence[str]) -> None:
    groups = _groups(runs)
    load = os.getloadavg()
    out = [HEADER.format(base=" ".join(base), cpu=cpu_name(), system=platform.system(),
                         load=f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")]
    for group in groups:
        table = compt_json(runs, "table", "--group", group, "--rows", "method,k")
        if isinstance(table, list):
            table = table[0]
        body, verdicts = table_section(table)
        methods = [r["labels"].get("method") for r in table["rows"] if not r.get("reference")]
        out += [f"## `{group}`", "", body, "",
                "° = not above the best reference row of that column (the mark compt table "
                "prints). mnli and qqp are scored on the stand-in test sets "
                "(`glue_pretrain/*/dev.json`, 1,000 rows, exact overlaps with the few-shot "
                "files dropped), not on GLUE's dev sets.", "",
                "**Does training beat the references?**", "", *verdicts, "",
                best_reference_gap(table), ""]
        for baseline in ("pt", "mtpt"):
            if baseline in methods and any(m in methods for m in COMPOSED):
                out += [comparison_section(runs, group, [m for m in methods if m in
                                                         (*COMPOSED, "mtpt")], baseline), ""]
    out.append(PAPER)
    page.write_text("\n".join(out) + "\n")
    print(f"wrote {page}")


def _groups(runs: Path) -> list[str]:
    """The campaign's groups that have finished runs, in bench_glue's phase order."""
    listed = compt_json(runs, "ls", "--status", "done")
    present = {r.get("group") for r in listed}
    from bench_glue import PHASES  # benchmarks/bench_glue.py

    return [f"glue-{name}" for name in PHASES if f"glue-{name}" in present]


HEADER = """# Results: the paper's GLUE tasks, offline (LM-BFF few-shot splits)

Reproduce: `compt data build lm-bff --from ../shared/data/lm-bff` once, then
`python benchmarks/bench_glue.py --phases minilm-k8` (and the other phases named in the
script); `--report` only rewrites this page. Finished cells are skipped, so every command
continues where it stopped.

Settings of every run: `{base}`; data seeds 0–4 are LM-BFF's splits 13, 21, 42, 87, 100
(16 examples per class in each split's train file; k per class are sampled from it).
Where: this project's shared 2-core CPU ({cpu}, {system}, fp32, one thread per run, two
at a time), busy with other work while the runs trained. Load average when this page was
written: {load}.
"""

PAPER = """## Against the paper's Table 1

The paper reports, for T5-base at k = 8 on its GLUE setting (average over tasks): PT 63.4,
SSUM 74.4, MSUM 76.0, MCAT 74.3. See the discussion above for why the numbers here
differ."""
