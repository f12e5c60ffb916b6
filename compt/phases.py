"""What a running run is doing, and how far it got: one vocabulary for the trainer and readers.

The trainer writes ``phase`` into status.json, with ``phase_done`` / ``phase_total`` where
the phase counts something (examples evaluated, prompt masks analysed); training counts
in ``step`` / ``total``. ``compt ls``, ``compt show`` and the TUI print the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LOADING = "loading model and data"
TRAINING = "training"
EVALUATING = "evaluating"
ANALYSING = "per-prompt analysis"
SHORT = {LOADING: "loading", TRAINING: "training", EVALUATING: "eval", ANALYSING: "analysis"}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def phase_progress(status: Mapping[str, Any]) -> tuple[int, int] | None:
    """(done, total) within the current phase, where it counts anything."""
    if status.get("phase") in (None, TRAINING):
        done, total = _count(status.get("step")), _count(status.get("total"))
    else:
        done, total = _count(status.get("phase_done")), _count(status.get("phase_total"))
    return (done or 0, total) if total else None


def phase_text(status: Mapping[str, Any], short: bool = False, counts: bool = True) -> str:
    """``training 45%``, ``evaluating 120/400``, ``analysis 2/5``, ``loading`` (running runs);
    without ``counts`` every phase says a percentage (``eval 30%``), for narrow tables."""
    phase = status.get("phase") or TRAINING
    name = SHORT.get(phase, str(phase)) if short else str(phase)
    progress = phase_progress(status)
    if progress is None:
        return name
    done, total = progress
    if phase == TRAINING or not counts:
        return f"{name} {100 * min(done, total) // total}%"
    return f"{name} {done}/{total}"
