"""The package's shape, as docs/layout.md promises it: no import cycle inside amr/ (function-
level imports count too) and no module over 400 lines."""

import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "structure.py"


def _structure():
    spec = importlib.util.spec_from_file_location("structure", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["structure"] = module
    spec.loader.exec_module(module)
    return module


def test_amr_has_no_import_cycle():
    structure = _structure()
    graph = structure.import_graph(structure.modules())
    assert "amr.train.stages" in graph["amr.cli.train"]  # function-level imports count
    assert structure.cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    structure = _structure()
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert structure.cycles(graph) == [["a", "b", "c"]]


def test_no_module_is_over_the_line_limit():
    structure = _structure()
    assert structure.long_modules(structure.modules()) == {}
