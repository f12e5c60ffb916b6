"""Golden files for the report exports, the fixed inputs they are rendered from, and the check.

Regenerate after an intended change with ``COMPT_UPDATE_GOLDEN=1 pytest tests/test_export.py
tests/test_heatmap.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).parent


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``tests/golden/<name>`` (or rewrite it when updating)."""
    path = HERE / name
    if os.environ.get("COMPT_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.is_file(), f"missing golden file {path}; run with COMPT_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"
