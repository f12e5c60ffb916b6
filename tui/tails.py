"""Follow growing files by byte offset: each read returns only what was appended since.

Log and metrics files grow for hours; re-reading them whole on every refresh would make
the dashboard slower the longer a run trains. A tail remembers where it stopped, keeps a
partial last line until its newline arrives, and starts over if the file was replaced
or truncated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

READ_LIMIT = 1 << 20  # bytes read per call at most: a huge backlog arrives over several calls


class LineTail:
    """The complete lines appended to ``path`` since the previous call."""

    def __init__(self, path: Path, backlog: int | None = None) -> None:
        """``backlog``: on the first read, start this many bytes before the end (None: at 0)."""
        self.path = Path(path)
        self.offset = 0
        self._backlog = backlog
        self._partial = b""
        self._inode: int | None = None

    def read(self) -> list[str]:
        try:
            with self.path.open("rb") as fh:
                stat = os.fstat(fh.fileno())
                if stat.st_ino != self._inode or stat.st_size < self.offset:
                    self._restart(stat)
                fh.seek(self.offset)
                chunk = fh.read(READ_LIMIT)
        except OSError:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def _restart(self, stat: os.stat_result) -> None:
        """A new file (first read, replaced or truncated): read it from the start or backlog."""
        first = self._inode is None
        self._inode, self._partial = stat.st_ino, b""
        self.offset = 0
        if first and self._backlog is not None and stat.st_size > self._backlog:
            self.offset = stat.st_size - self._backlog
            self._skip_cut_line()

    def _skip_cut_line(self) -> None:
        """Starting mid-file lands inside a line: move past its end."""
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            head = fh.read(READ_LIMIT)
        cut = head.find(b"\n")
        self.offset += cut + 1 if cut >= 0 else len(head)


class JsonlTail(LineTail):
    """New rows of a JSON-lines file; corrupt lines are skipped, a torn last line waits."""

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for line in self.read():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                out.append(row)
        return out
