"""The layers point one way and nothing imports its way round in a circle, imports inside functions
included. import-linter checks the contracts in pyproject.toml; the circle test walks every import edge."""

import subprocess
import sys
from pathlib import Path

import grimp

ROOTS = ("portal", "integrations", "customers", "payments", "simulators")


def test_no_module_imports_its_way_round_in_a_circle():
    graph = grimp.build_graph(*ROOTS, cache_dir=None)
    circles = [
        f"{importer} -> {imported} -> ... -> {importer}"
        for importer in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer))
        if graph.chain_exists(importer=imported, imported=importer)
    ]
    assert circles == []


def test_import_contracts_hold():
    linter = Path(sys.executable).with_name("lint-imports")
    project = Path(__file__).parents[2]
    result = subprocess.run(
        [str(linter), "--no-cache"], capture_output=True, text=True, cwd=project, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
