"""The dashboard's controls, how their values are checked, and how they become a run.

The controls never build a model themselves: they are turned into the same command-line
overrides ``python -m sim`` takes (``scenario=mandate org.size=300 ...``), composed by Hydra
(``sim.api.compose``) and built by ``sim.run.build_model``. So the dashboard runs exactly what
the command line would run, with the same validation, and can show the facilitator the command
that reproduces the run on the page.

Every value that reaches an override is checked first against the control's allowed options
(``check``): a drop-down's value must be one of its options, a slider's a number in its range,
a tick box's a boolean. A browser can send anything over its WebSocket, and Hydra resolves
``${...}`` interpolations in override values (``${oc.env:HOME}`` would put the server's home
folder on the page), so nothing unchecked is ever written into an override.

Interventions: a named programme (``conf/scenario/``) brings its own interventions. For each
kind of intervention (``models.interventions.KINDS`` that has a building block in
``conf/intervention/``) the page has a switch with three positions — ``as programme`` (leave
the programme's as they are), ``on`` (run it, with the start, end, intensity and target set on
the page; added from its building block if the programme lacks it) and ``off`` (intensity 0:
an intervention at intensity 0 does nothing and costs nothing, so the run is the programme's
without it, number for number). While a kind is not ``on`` its sliders show what the programme runs
(``with_programme_values``), so the page never shows a default that is not running.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from models.interventions import GROUPS, KINDS, Intervention
from models.targeting import RULES
from sim.api import CONF_DIR, compose

#: Largest organisation the page builds, by type: one page's run (and its comparison, and the
#: band's runs, one at a time) then stays within ``SESSION_BUDGET_MIB``. A complete network has
#: n² ties, so it gets a far smaller limit (5,000 people: 25 million ties, gigabytes).
MAX_SIZE = {
    "hierarchy": 5000,
    "small_world": 5000,
    "scale_free": 5000,
    "random": 5000,
    "complete": 1000,
}
#: Organisation generators the page offers (files need a path, which a workshop has not).
ORGANISATIONS = tuple(MAX_SIZE)

#: Memory one page may use at the largest settings the controls allow (measured by
#: tests/test_dashboard_security.py); the server admits at most ``sim.dashboard.session
#: .MAX_PAGES`` pages at once, so its memory is bounded by their product.
SESSION_BUDGET_MIB = 256

#: Switch positions for an intervention kind.
AS_PROGRAMME, ON, OFF = "as programme", "on", "off"

NO_COMPARISON = "none"
MAX_WEEKS = 520
#: Seeds for the band of outcomes shown behind the curves (1: no band).
BAND_SEEDS = (1, 5, 10, 20)
#: Most simulation work a band may ask for, in tie-weighted person-weeks (``band_work``):
#: 20 seeds of two programmes over five years at 1,000 people, seconds of CPU in the
#: background. A larger band belongs on the command line (``experiment=compare``).
BAND_WORK = 20 * 2 * 260 * 1000
#: Interventions' intensity slider ends here when the model allows any strength (≥ 0).
STRENGTH_TOP = 3.0


class ControlError(ValueError):
    """A control value that is not one of the control's allowed values."""


@cache
def programmes() -> tuple[str, ...]:
    """Named programmes, the baseline first."""
    names = sorted(p.stem for p in Path(CONF_DIR, "scenario").glob("*.yaml"))
    return ("baseline", *(n for n in names if n != "baseline"))


@cache
def kinds() -> tuple[str, ...]:
    """Intervention kinds the page can switch on: the model's kinds with a building block."""
    return tuple(k for k in KINDS if Path(CONF_DIR, "intervention", f"{k}.yaml").exists())


@cache
def building_block(kind: str) -> dict:
    """The configured defaults of one intervention kind (``conf/intervention/<kind>.yaml``)."""
    return OmegaConf.to_container(OmegaConf.load(Path(CONF_DIR, "intervention", f"{kind}.yaml")))


@cache
def intensity_top(kind: str) -> float:
    """Top of a kind's intensity slider: 1 where the model refuses more (a level in 0..1),
    ``STRENGTH_TOP`` where it takes any strength — asked of the model, not listed here."""
    probe = Intervention(name="probe", kind=kind, intensity=1.5)
    return 1.0 if any(".intensity=" in m for m in probe.problems()) else STRENGTH_TOP


@cache
def _programme(programme: str):
    return compose([f"scenario={programme}"])


@cache
def programme_keys(programme: str) -> dict[str, tuple[str, ...]]:
    """For each intervention kind, the keys under which ``programme`` runs one."""
    keys: dict[str, list[str]] = {}
    for key, node in _programme(programme).scenario.interventions.items():
        keys.setdefault(node.kind, []).append(key)
    return {kind: tuple(v) for kind, v in keys.items()}


@cache
def programme_values(programme: str) -> dict:
    """The control values that show what ``programme`` runs: for each kind, the start, end,
    intensity and target of its first intervention of that kind (the building block's where
    it has none), and the programme's champions."""
    cfg = _programme(programme)
    nodes = OmegaConf.to_container(cfg.scenario.interventions, resolve=True)
    first = {}
    for node in nodes.values():
        first.setdefault(node["kind"], node)
    values = {}
    for kind in kinds():
        node = {**building_block(kind), **first.get(kind, {})}
        values[f"{kind}_start"] = int(node.get("start", 1))
        values[f"{kind}_end"] = int(node.get("end") or 0)
        values[f"{kind}_intensity"] = float(node.get("intensity", 1.0))
        values[f"{kind}_target"] = str(node.get("target", "everyone"))
    if cfg.champions.share is not None:
        values["champion_share"] = float(cfg.champions.share)
    values["champion_rule"] = str(cfg.champions.rule)
    return values


def with_programme_values(values: dict) -> dict:
    """``values`` with every intervention kind that is not switched ``on`` (and the champions,
    unless set on the page) showing the programme's own settings."""
    shown = programme_values(values["programme"])
    out = dict(values)
    for name, value in shown.items():
        kind = name.rsplit("_", 1)[0]
        if name.startswith("champion_"):
            if not values.get("set_champions"):
                out[name] = value
        elif values.get(kind) != ON:
            out[name] = value
    return out


def _intervention_controls(kind: str) -> dict[str, dict]:
    block = building_block(kind)
    label = kind.replace("_", " ")
    top = intensity_top(kind)
    return {
        kind: {
            "type": "Select",
            "value": AS_PROGRAMME,
            "values": [AS_PROGRAMME, ON, OFF],
            "label": label,
        },
        f"{kind}_start": {
            "type": "SliderInt",
            "value": int(block["start"]),
            "min": 1,
            "max": MAX_WEEKS,
            "step": 1,
            "label": "start week",
        },
        f"{kind}_end": {
            "type": "SliderInt",
            "value": int(block.get("end") or 0),
            "min": 0,
            "max": MAX_WEEKS,
            "step": 1,
            "label": "end week (0 = never)",
        },
        f"{kind}_intensity": {
            "type": "SliderFloat",
            "value": float(block["intensity"]),
            "min": 0.0,
            "max": top,
            "step": 0.05 if top == 1.0 else 0.1,
            "label": "intensity",
        },
        f"{kind}_target": {
            "type": "Select",
            "value": block["target"],
            "values": list(GROUPS),
            "label": "who it reaches",
        },
    }


@cache
def model_params() -> dict[str, dict]:
    """Every control with its default and allowed values, in page order."""
    params = {
        "programme": {
            "type": "Select",
            "value": "baseline",
            "values": list(programmes()),
            "label": "programme",
        },
        "compare_with": {
            "type": "Select",
            "value": NO_COMPARISON,
            "values": [NO_COMPARISON, *programmes()],
            "label": "compare with",
        },
        "organisation": {
            "type": "Select",
            "value": "hierarchy",
            "values": list(ORGANISATIONS),
            "label": "organisation type",
        },
        "size": {
            "type": "SliderInt",
            "value": 1000,
            "min": 50,
            "max": max(MAX_SIZE.values()),
            "step": 50,
            "label": "people",
        },
        "weeks": {
            "type": "SliderInt",
            "value": 260,
            "min": 13,
            "max": MAX_WEEKS,
            "step": 13,
            "label": "horizon (weeks)",
        },
        "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 99, "step": 1, "label": "seed"},
        "band_seeds": {
            "type": "Select",
            "value": 1,
            "values": list(BAND_SEEDS),
            "label": "seeds for a band",
        },
        "set_champions": {
            "type": "Checkbox",
            "value": False,
            "label": "set champions here",
        },
        "champion_share": {
            "type": "SliderFloat",
            "value": 0.025,
            "min": 0.0,
            "max": 0.2,
            "step": 0.005,
            "label": "champion share",
        },
        "champion_rule": {
            "type": "Select",
            "value": "random",
            "values": list(RULES),
            "label": "champion targeting",
        },
    }
    for kind in kinds():
        params.update(_intervention_controls(kind))
    return params


def defaults() -> dict:
    """Every control at its default value."""
    return {name: spec["value"] for name, spec in model_params().items()}


def _refuse(name: str, value, allowed: str) -> ControlError:
    return ControlError(f"control {name}={value!r} is not allowed: {allowed}")


def check_value(name: str, value):
    """``value`` if it is allowed for control ``name`` (an int slider's float that is a whole
    number becomes an int); otherwise ``ControlError`` naming the control, the value and what
    is allowed. Text is only ever one of a drop-down's options, so ``${...}`` cannot pass."""
    spec = model_params().get(name)
    if spec is None:
        raise ControlError(
            f"unknown dashboard control {name!r}; the controls are {', '.join(model_params())}"
        )
    kind = spec["type"]
    if isinstance(value, str) and "${" in value:
        raise _refuse(name, value, "interpolations (${...}) are never resolved on the page")
    if kind == "Select":
        if value not in spec["values"] or type(value) is not type(spec["value"]):
            options = ", ".join(str(v) for v in spec["values"])
            raise _refuse(name, value, f"choose one of {options}")
        return value
    if kind == "Checkbox":
        if not isinstance(value, bool):
            raise _refuse(name, value, "it must be true or false")
        return value
    low, high = spec["min"], spec["max"]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not low <= value <= high:
        raise _refuse(name, value, f"it must be a number from {low} to {high}")
    if kind == "SliderInt":
        if value != int(value):
            raise _refuse(name, value, f"it must be a whole number from {low} to {high}")
        return int(value)
    return float(value)


def complete(values: dict) -> dict:
    """Control values with defaults filled in; unknown names are refused by name."""
    known = model_params()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ControlError(
            f"unknown dashboard control {unknown[0]!r}; the controls are {', '.join(known)}"
        )
    return {**defaults(), **values}


def band_work(values: dict) -> float:
    """The simulation work of the band the (checked) ``values`` ask for: seeds × runs ×
    weeks × people, each person weighted by their ties over ten (a week of a complete
    network costs in proportion to its n² ties; the other organisations have about ten
    ties a person)."""
    if values["band_seeds"] < 2:
        return 0.0
    runs = 1 if values["compare_with"] == NO_COMPARISON else 2
    size = values["size"]
    weight = max(1.0, (size - 1) / 10) if values["organisation"] == "complete" else 1.0
    return values["band_seeds"] * runs * values["weeks"] * size * weight


def check(values: dict) -> dict:
    """Every control's value checked (``check_value``) with defaults filled in; the
    organisation within its size limit for its type (``MAX_SIZE``), and the band within
    ``BAND_WORK``."""
    out = {name: check_value(name, value) for name, value in complete(values).items()}
    limit = MAX_SIZE[out["organisation"]]
    if out["size"] > limit:
        raise ControlError(
            f"control size={out['size']} is not allowed for a {out['organisation']} "
            f"organisation on the page: at most {limit:,} people (a page's memory budget is "
            f"{SESSION_BUDGET_MIB} MiB); larger runs: python -m sim"
        )
    work = band_work(out)
    if work > BAND_WORK:
        raise ControlError(
            f"control band_seeds={out['band_seeds']} is too much for the page with "
            f"{out['size']:,} people ({out['organisation']}) over {out['weeks']} weeks: "
            f"{work:,.0f} person-weeks, at most {BAND_WORK:,}; choose fewer seeds, people or "
            "weeks, or compare on the command line (python -m sim experiment=compare)"
        )
    return out


def _number(value) -> str:
    return repr(round(float(value), 6))


def intervention_overrides(programme: str, values: dict) -> list[str]:
    """Overrides that switch interventions on or off, and tune those switched on."""
    keys = programme_keys(programme)
    out = []
    for kind in kinds():
        switch = values[kind]
        if switch == OFF:
            out += [f"scenario.interventions.{key}.intensity=0" for key in keys.get(kind, ())]
        elif switch == ON:
            targets = keys.get(kind) or (kind,)
            if kind not in keys:
                out.append(f"+intervention@scenario.interventions.{kind}={kind}")
            end = int(values[f"{kind}_end"])
            for key in targets:
                node = f"scenario.interventions.{key}"
                out += [
                    f"{node}.start={int(values[f'{kind}_start'])}",
                    f"{node}.end={end if end > 0 else 'null'}",
                    f"{node}.intensity={_number(values[f'{kind}_intensity'])}",
                    f"{node}.target={values[f'{kind}_target']}",
                ]
    return out


def common_overrides(values: dict) -> list[str]:
    """Overrides shared by a run and its comparison: organisation, horizon, seed, champions."""
    out = [
        f"org={values['organisation']}",
        f"org.size={int(values['size'])}",
        f"weeks={int(values['weeks'])}",
        f"seed={int(values['seed'])}",
    ]
    if values["set_champions"]:
        out += [
            f"champions.share={_number(values['champion_share'])}",
            f"champions.rule={values['champion_rule']}",
        ]
    return out


def overrides(values: dict) -> list[str]:
    """The ``python -m sim`` overrides for the run the (checked) controls describe."""
    values = check(values)
    programme = values["programme"]
    return [
        f"scenario={programme}",
        *common_overrides(values),
        *intervention_overrides(programme, values),
    ]


def comparison_overrides(values: dict) -> list[str] | None:
    """Overrides for the comparison run — the other programme, as named, on the same
    organisation, horizon, seed and champions — or None when no comparison is asked for."""
    values = check(values)
    other = values["compare_with"]
    if other == NO_COMPARISON:
        return None
    return [f"scenario={other}", *common_overrides(values)]


def command(args: list[str]) -> str:
    """The shell command that repeats a run from the command line."""
    quoted = [a if all(c not in a for c in " ~[]") else f"'{a}'" for a in args]
    return " ".join(["python -m sim", *quoted])
