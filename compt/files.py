"""File primitives every module shares: atomic replace, tolerant JSON readers, and the one
loader for the key = value files users write (configs, sweeps, task definitions).

Atomic replace: write a temp file next to the target, fsync, then ``os.replace``, so a
reader (another process, a crash) sees the old file or the new one, never part of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from compt.errors import ComptError


def cache_dir() -> Path:
    """compt's one cache: downloads, built suites, converted models; never the repository.

    ``$COMPT_CACHE`` (``$COMPT_CACHE_DIR``, its older name, also works) or ~/.cache/compt.
    """
    root = os.environ.get("COMPT_CACHE") or os.environ.get("COMPT_CACHE_DIR")
    return Path(root or Path.home() / ".cache" / "compt").expanduser()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces ``path`` (fsynced, mode of
    ``open``), on any error it is removed and ``path`` is untouched."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)  # after writing: some writers recreate the file as 0600
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON so that no reader ever sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, json.dumps(data, indent=2, default=str).encode())


def read_json(path: Path, default: Any = None) -> Any:
    """Read JSON, returning ``default`` for a missing or unreadable file."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the complete rows of a JSON-lines file; a torn or corrupt line is skipped."""
    try:
        fh = path.open()
    except OSError:
        return
    with fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # a writer is mid-line or died mid-line
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def read_mapping(path: Path, what: str = "Config file", hint: str = "") -> dict[str, Any]:
    """A TOML, YAML or JSON file holding a table, or ComptError naming ``what`` it is."""
    if not path.is_file():
        raise ComptError(f"{what} '{path}' does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
        suffix = path.suffix.lower()
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ComptError(f"{what} '{path}' must end in .toml, .yaml, .yml or .json.")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, ValueError, OSError) as exc:
        raise ComptError(f"{what} '{path}' is not valid: {exc}") from None
    except RecursionError:  # the parsers recurse once per nesting level
        raise ComptError(f"{what} '{path}' is not valid: its values nest too deeply "
                         f"(a {what.lower()} holds flat keys, lists and tables).") from None
    if not isinstance(data, dict):
        raise ComptError(f"{what} '{path}' must hold a table of key = value pairs{hint}.")
    return data


def swap_in(staging: Path, root: Path, names: tuple[str, ...] = ("tasks", "suite.json")) -> None:
    """Move a freshly built suite from ``staging`` into ``root`` in one step each, so a
    failed build leaves the old suite usable."""
    old = root / ".old"
    shutil.rmtree(old, ignore_errors=True)
    old.mkdir(parents=True)
    for name in names:
        if (root / name).exists():
            (root / name).replace(old / name)
        (staging / name).replace(root / name)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML or YAML config file into a plain dict (a ``[run]`` table is unwrapped)."""
    data = read_mapping(Path(path), "Config file")
    if "run" in data and isinstance(data["run"], dict):
        data = {**{k: v for k, v in data.items() if k != "run"}, **data["run"]}
    return data
