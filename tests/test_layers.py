"""The layer contract (pyproject.toml [tool.importlinter], drawn in docs/CONTRACTS.md#layers)
and no import cycle anywhere in compt/: imports at module level, inside functions and under
TYPE_CHECKING all count, since each is a dependency that a later change can make real.

Each check also runs on a copy of the graph with one upward import added, so a checker that
stopped seeing circles would fail here rather than pass quietly.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")
pytest.importorskip("importlinter")

from importlinter.contracts.layers import LayersContract  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def import_cycles(graph) -> list[tuple[str, str]]:
    """Every direct import ``a -> b`` that lies on a circle (``b`` leads back to ``a``)."""
    return sorted((importer, imported) for importer in graph.modules
                  for imported in graph.find_modules_directly_imported_by(importer)
                  if graph.chain_exists(importer=imported, imported=importer))


def contracts() -> list[LayersContract]:
    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    session = {"root_packages": [settings["root_package"]]}
    return [LayersContract(name=c["name"], session_options=session,
                           contract_options={k: v for k, v in c.items()
                                             if k not in ("name", "type")})
            for c in settings["contracts"]]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("compt", cache_dir=None)


def with_import(graph, importer: str, imported: str):
    changed = copy.deepcopy(graph)
    changed.add_import(importer=importer, imported=imported)
    return changed


def test_compt_has_no_import_cycle(graph):
    assert import_cycles(graph) == []


def test_a_reintroduced_circle_is_reported(graph):
    # the store once reached the launcher (through executors/slurm.py), which uses the store
    circle = with_import(graph, "compt.store", "compt.launcher")
    found = import_cycles(circle)
    assert ("compt.store", "compt.launcher") in found
    assert ("compt.launcher", "compt.store") in found
    assert ("compt.config", "compt.methods") not in found  # only the circle's own imports


def test_the_layer_contract_is_kept(graph):
    assert contracts(), "pyproject.toml declares no layer contract"
    for contract in contracts():
        assert contract.check(graph, verbose=False).kept, contract.name


def test_the_layer_contract_breaks_on_an_upward_import(graph):
    # the store may know the executor interface, never an implementation (it once loaded
    # executors/slurm.py, which imports the launcher, which imports the store)
    upward = with_import(graph, "compt.store", "compt.executors.slurm")
    assert not all(c.check(upward, verbose=False).kept for c in contracts())
    assert import_cycles(upward)


def test_lint_imports_reads_the_same_contract():
    """What a developer runs by hand (``lint-imports``) agrees with the test. In a process of
    its own: import-linter reconfigures logging, which would silence compt's logger here."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_the_config_and_the_store_load_no_executor(tmp_path):
    """A ``[slurm]`` table is told from run settings by the executors' module names; the
    store asks the executor interface. Neither loads an executor (importing the store once
    loaded executors/slurm.py, and with it the launcher)."""
    config = tmp_path / "run.toml"
    config.write_text('k = 8\n[slurm]\npartition = "gpu"\n')
    code = ("import sys\nfrom compt.config import build_config\nfrom compt.store import RunStore\n"
            f"assert build_config({str(config)!r}).k == 8\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('compt.executors'))))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["compt.executors", "compt.executors.base"]
