"""The parameter registry (issue 12, item 1): one place for every number the dynamics use.

- every parameter has a default inside its plausible range, inside its allowed bounds, a unit
  and a source (a paper, or "assumption"/"calibration" with the reasoning);
- ``Behaviour`` (what the model reads, and the population schema) is built from it;
- MODEL.md §8 and the intervention building blocks are what the registry generates;
- the dynamics and the interventions hold no decisive numeric literal (only 0 and 1).
"""

import ast
from dataclasses import fields
from pathlib import Path

import pytest

from experiments import registry_docs
from models import registry
from models.interventions import KINDS, Intervention
from models.params import BOUNDS, Behaviour

ROOT = Path(__file__).resolve().parent.parent
#: Numbers that are structure, not assumptions: nothing, one (shares, complements).
STRUCTURAL = (0, 1)


def test_the_registry_is_consistent():
    assert registry.check() == []
    for p in registry.PARAMETERS.values():
        assert p.unit and p.meaning and p.source, p.name
        if p.uncertain:
            assert p.low < p.high, f"{p.name}: an uncertain parameter needs a range"


def test_behaviour_is_the_registry():
    names = [f.name for f in fields(Behaviour)]
    assert names == list(registry.SWITCHES) + list(registry.PARAMETERS)
    b = Behaviour()
    for p in registry.PARAMETERS.values():
        assert getattr(b, p.name) == p.default
        assert BOUNDS[p.name] == p.bounds


def test_every_kind_has_a_building_block_and_every_field_a_unit():
    assert set(KINDS) == set(registry.BLOCKS) == set(registry.KIND_TEXT)
    numeric = [f.name for f in fields(Intervention) if f.type in ("int", "float", int, float)]
    numeric += ["end"]
    for name in numeric:
        assert name in registry.FIELDS, name
    for kind, values in registry.BLOCKS.items():
        assert set(values) <= {f.name for f in fields(Intervention)}, kind


def test_generated_files_are_up_to_date():
    """docs/MODEL.md §8 and conf/intervention/*.yaml are what the registry generates
    (regenerate with ``python -m experiments.registry_docs``)."""
    assert registry_docs.stale() == []


def test_the_generated_table_lists_every_parameter():
    table = registry_docs.parameter_table()
    for p in registry.PARAMETERS.values():
        assert f"| `{p.name}` |" in table


def decisive_literals(path: Path) -> list[tuple[int, object]]:
    """Numeric literals other than 0 and 1 in a module (booleans excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and node.value not in STRUCTURAL
    ]


@pytest.mark.parametrize(
    "module", ["models/dynamics.py", "models/fused.py", "models/interventions.py"]
)
def test_no_numeric_literal_in_the_rules(module):
    """Every number the weekly rules and the interventions use comes from the registry."""
    assert decisive_literals(ROOT / module) == []


def test_the_literal_check_can_fail(tmp_path):
    source = tmp_path / "rules.py"
    source.write_text("x = 0.35 * y + 1 - 0\n")
    assert decisive_literals(source) == [(1, 0.35)]
