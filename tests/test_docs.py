"""docs/MODEL.md stays true to the code.

The behavioural parameters and intervention building blocks of MODEL.md §8 are generated from
the registry (``tests/test_registry.py`` checks them). The organisation and run table of §8
(columns ``parameter | default | unit | meaning | source or reason``) must list every parameter
of every organisation generator and loader (``models.generators.BUILDERS``, written
``<generator>.<parameter>``) and the champion and run parameters (``sim/schema.py``), each with
the default the code uses. Every weekly and per-group record column, every summary key, every
state variable and trait, every intervention kind and field (``models.interventions``) and
every named programme (``conf/scenario/*.yaml``) must be named in MODEL.md in backticks.
"""

import inspect
import math
import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from models.generators import BUILDERS
from models.interventions import KINDS, Intervention
from models.model import AdoptionModel
from models.params import Behaviour
from models.state import AgentState, Traits
from sim.schema import ChampionsConfig, RunConfig

ROOT = Path(__file__).resolve().parent.parent
MODEL_MD = ROOT / "docs" / "MODEL.md"
SCENARIOS = ROOT / "conf" / "scenario"
HEADER = ["parameter", "default", "unit", "meaning", "source or reason"]
REQUIRED = "required"  # what the table writes for a parameter without a default
NAME = re.compile(r"`([^`]+)`")


def cells(line: str) -> list[str]:
    """The cells of a markdown table row (no escaped pipes are used in the table)."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


@pytest.fixture(scope="module")
def text() -> str:
    return MODEL_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def table(text) -> dict[str, str]:
    """Parameter name → default as written, from the parameter table. Rows whose first cell
    holds no name in backticks (group headings) are skipped."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if cells(line) == HEADER]
    assert len(starts) == 1, f"MODEL.md needs exactly one table with columns {HEADER}"
    rows: dict[str, str] = {}
    for line in lines[starts[0] + 2 :]:
        if not line.startswith("|"):
            break
        row = cells(line)
        assert len(row) == len(HEADER), f"parameter table row has {len(row)} cells: {line}"
        name = NAME.search(row[0])
        if name is None:
            continue
        assert name.group(1) not in rows, f"{name.group(1)} is listed twice"
        rows[name.group(1)] = row[1]
    return rows


def behaviour_defaults() -> dict[str, object]:
    return {f.name: f.default for f in fields(Behaviour)}


def builder_defaults() -> dict[str, object]:
    out = {}
    for kind, fn in BUILDERS.items():
        for name, p in inspect.signature(fn).parameters.items():
            if name != "rng":
                empty = p.default is inspect.Parameter.empty
                out[f"{kind}.{name}"] = REQUIRED if empty else p.default
    return out


def run_defaults() -> dict[str, object]:
    champions = {f"champions.{f.name}": f.default for f in fields(ChampionsConfig)}
    run = {
        f.name: f.default
        for f in fields(RunConfig)
        if f.name in ("weeks", "seed", "discount_rate") and f.default is not MISSING
    }
    return champions | run


def agrees(written: str, default: object) -> bool:
    """Whether the table's default cell says the same as the code's default."""
    value = written.strip().strip("`").strip()
    if default is REQUIRED:
        return value.lower() == REQUIRED
    if default is None:
        return value.lower() in ("none", "null")
    if isinstance(default, bool):
        return value.lower() == str(default).lower()
    if isinstance(default, int | float):
        try:
            return math.isclose(float(value), default, rel_tol=1e-12, abs_tol=0.0)
        except ValueError:
            return False
    return value.strip("\"'") == str(default)


def mismatches(table: dict[str, str], expected: dict[str, object]) -> list[str]:
    problems = []
    for name, default in expected.items():
        if name not in table:
            problems.append(f"{name}: missing from the parameter table (default {default!r})")
        elif not agrees(table[name], default):
            problems.append(f"{name}: table says {table[name]!r}, code says {default!r}")
    return problems




def test_every_generator_and_loader_parameter_is_in_the_table_with_its_default(table):
    assert not mismatches(table, builder_defaults()), "\n".join(
        mismatches(table, builder_defaults())
    )


def test_champion_and_run_parameters_are_in_the_table_with_their_defaults(table):
    assert not mismatches(table, run_defaults()), "\n".join(mismatches(table, run_defaults()))


def test_the_table_lists_no_parameter_the_code_does_not_have(table):
    known = behaviour_defaults() | builder_defaults() | run_defaults()
    stale = sorted(set(table) - set(known))
    assert not stale, f"parameter table rows with no parameter in the code: {stale}"


def test_the_default_comparison_is_strict():
    assert agrees("0.25", 0.25) and agrees("`2`", 2) and agrees("True", True)
    assert agrees("false", False) and agrees("required", REQUIRED) and agrees("None", None)
    assert agrees('"random"', "random") and agrees("-1.0", -1.0)
    assert not agrees("0.2", 0.25) and not agrees("1", True) and not agrees("True", 1)
    assert not agrees("2", REQUIRED) and not agrees("0", None)


@pytest.fixture(scope="module")
def tiny_model() -> AdoptionModel:
    model = AdoptionModel(org={"generator": "hierarchy", "size": 60}, rng=0)
    model.run(2)
    return model


def undocumented(text: str, names) -> list[str]:
    return sorted(name for name in names if f"`{name}`" not in text)


def test_every_weekly_record_column_is_documented(text, tiny_model):
    columns = list(tiny_model.weekly().columns)
    assert columns, "the recorder recorded no columns"
    missing = undocumented(text, columns)
    assert not missing, f"weekly record columns not named in MODEL.md: {missing}"


def test_every_group_record_column_is_documented(text, tiny_model):
    columns = list(tiny_model.recorder.groups().columns)
    assert columns, "the recorder recorded no group columns"
    missing = undocumented(text, columns)
    assert not missing, f"group record columns not named in MODEL.md: {missing}"


def test_every_summary_key_is_documented(text, tiny_model):
    missing = undocumented(text, tiny_model.summary())
    assert not missing, f"summary keys not named in MODEL.md: {missing}"


def test_every_state_variable_and_trait_is_documented(text):
    names = [f.name for cls in (AgentState, Traits) for f in fields(cls)]
    missing = undocumented(text, names)
    assert not missing, f"state variables or traits not named in MODEL.md: {missing}"


def test_every_intervention_kind_is_documented(text):
    assert KINDS, "models.interventions.KINDS is empty"
    missing = undocumented(text, KINDS)
    assert not missing, f"intervention kinds not named in MODEL.md: {missing}"


def test_every_intervention_field_is_documented(text):
    # ``name`` is the intervention's key in ``scenario.interventions``, not a field one sets.
    names = [f.name for f in fields(Intervention) if f.name != "name"]
    missing = undocumented(text, names)
    assert not missing, f"intervention fields not named in MODEL.md: {missing}"


def test_every_named_programme_is_documented(text):
    names = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))
    assert names, f"no programmes found in {SCENARIOS}"
    missing = undocumented(text, names)
    assert not missing, f"programmes in conf/scenario/ not named in MODEL.md: {missing}"


def test_the_programme_tables_are_what_the_code_gives():
    """The tables of the named programmes (seeds 0–9, five years) in docs/MODEL.md §9 and in
    the README are measured, not typed: regenerate them with
    ``python -m experiments.programme_table --docs``."""
    from experiments import programme_table as pt

    runs, weekly = pt.measure()
    measured = pt.model_table(runs), pt.readme_table(runs, weekly)
    assert measured == pt.documented(), (
        "docs/MODEL.md §9 or the README no longer matches the model: run "
        "`python -m experiments.programme_table --docs` and reread the text around the tables"
    )
