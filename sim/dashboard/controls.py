"""The dashboard's controls, and how a set of control values becomes a run.

The controls never build a model themselves: they are turned into the same command-line
overrides ``python -m sim`` takes (``scenario=mandate org.size=300 ...``), composed by Hydra
(``sim.api.compose``) and built by ``sim.run.build_model``. So the dashboard runs exactly what
the command line would run, with the same validation, and can show the facilitator the command
that reproduces the run on the page.

Interventions: a named programme (``conf/scenario/``) brings its own interventions. For each
kind of intervention the page has a switch with three positions — ``as programme`` (leave the
programme's as they are), ``on`` (run it, with the start, end, intensity and target set on the
page; added from its building block in ``conf/intervention/`` if the programme lacks it) and
``off`` (remove it from the programme).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from omegaconf import OmegaConf

from models.interventions import GROUPS, KINDS
from models.targeting import RULES
from sim.api import CONF_DIR, compose

#: Organisation generators the page offers (files need a path, which a workshop has not).
ORGANISATIONS = ("hierarchy", "small_world", "scale_free", "random", "complete")

#: Switch positions for an intervention kind.
AS_PROGRAMME, ON, OFF = "as programme", "on", "off"

#: Interventions whose intensity is a strength (≥ 0) rather than a level in 0..1.
UNBOUNDED = ("champions", "experiment")

NO_COMPARISON = "none"
MAX_WEEKS = 520


@cache
def programmes() -> tuple[str, ...]:
    """Named programmes, the baseline first."""
    names = sorted(p.stem for p in Path(CONF_DIR, "scenario").glob("*.yaml"))
    return ("baseline", *(n for n in names if n != "baseline"))


@cache
def building_block(kind: str) -> dict:
    """The configured defaults of one intervention kind (``conf/intervention/<kind>.yaml``)."""
    return OmegaConf.to_container(OmegaConf.load(Path(CONF_DIR, "intervention", f"{kind}.yaml")))


@cache
def programme_keys(programme: str) -> dict[str, tuple[str, ...]]:
    """For each intervention kind, the keys under which ``programme`` runs one."""
    interventions = compose([f"scenario={programme}"]).scenario.interventions
    keys: dict[str, list[str]] = {}
    for key, node in interventions.items():
        keys.setdefault(node.kind, []).append(key)
    return {kind: tuple(v) for kind, v in keys.items()}


def _intervention_controls(kind: str) -> dict[str, dict]:
    block = building_block(kind)
    label = kind.replace("_", " ")
    top = 3.0 if kind in UNBOUNDED else 1.0
    return {
        kind: {
            "type": "Select",
            "value": AS_PROGRAMME,
            "values": [AS_PROGRAMME, ON, OFF],
            "label": f"{label}: as programme / on / off",
        },
        f"{kind}_start": {
            "type": "SliderInt",
            "value": int(block["start"]),
            "min": 1,
            "max": MAX_WEEKS,
            "step": 1,
            "label": f"{label}: start week",
        },
        f"{kind}_end": {
            "type": "SliderInt",
            "value": int(block["end"] or 0),
            "min": 0,
            "max": MAX_WEEKS,
            "step": 1,
            "label": f"{label}: end week (0 = never)",
        },
        f"{kind}_intensity": {
            "type": "SliderFloat",
            "value": float(block["intensity"]),
            "min": 0.0,
            "max": top,
            "step": 0.05 if top == 1.0 else 0.1,
            "label": f"{label}: intensity",
        },
        f"{kind}_target": {
            "type": "Select",
            "value": block["target"],
            "values": list(GROUPS),
            "label": f"{label}: target",
        },
    }


def model_params() -> dict[str, dict]:
    """SolaraViz ``model_params``: every control with its default, in page order.

    The seed is an integer slider: a text box hands the model a string, which breaks Mesa
    3.5's reset.
    """
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
            "label": "compare with (same organisation and seed)",
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
            "max": 5000,
            "step": 50,
            "label": "organisation size (people)",
        },
        "weeks": {
            "type": "SliderInt",
            "value": 260,
            "min": 26,
            "max": MAX_WEEKS,
            "step": 13,
            "label": "horizon (weeks)",
        },
        "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 99, "step": 1, "label": "seed"},
        "set_champions": {
            "type": "Checkbox",
            "value": False,
            "label": "set champions here (else the programme's)",
        },
        "champion_share": {
            "type": "SliderFloat",
            "value": 0.025,
            "min": 0.0,
            "max": 0.2,
            "step": 0.005,
            "label": "champion share (of non-managers)",
        },
        "champion_rule": {
            "type": "Select",
            "value": "random",
            "values": list(RULES),
            "label": "champion targeting",
        },
    }
    for kind in KINDS:
        params.update(_intervention_controls(kind))
    return params


def defaults() -> dict:
    """Every control at its default value."""
    return {name: spec["value"] for name, spec in model_params().items()}


def _number(value) -> str:
    return repr(round(float(value), 6))


def intervention_overrides(programme: str, values: dict) -> list[str]:
    """Overrides that switch interventions on or off, and tune those switched on."""
    keys = programme_keys(programme)
    out = []
    for kind in KINDS:
        switch = values[kind]
        if switch == OFF:
            out += [f"~scenario.interventions.{key}" for key in keys.get(kind, ())]
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
        elif switch != AS_PROGRAMME:
            raise ValueError(f"{kind}: {switch!r} is not one of {AS_PROGRAMME}, {ON}, {OFF}")
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
    """The ``python -m sim`` overrides for the run the controls describe."""
    values = complete(values)
    programme = values["programme"]
    return [
        f"scenario={programme}",
        *common_overrides(values),
        *intervention_overrides(programme, values),
    ]


def comparison_overrides(values: dict) -> list[str] | None:
    """Overrides for the comparison run — the other programme, as named, on the same
    organisation, horizon, seed and champions — or None when no comparison is asked for."""
    values = complete(values)
    other = values["compare_with"]
    if other == NO_COMPARISON:
        return None
    return [f"scenario={other}", *common_overrides(values)]


def complete(values: dict) -> dict:
    """Control values with defaults filled in; unknown control names are refused by name."""
    known = defaults()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(
            f"unknown dashboard control {unknown[0]!r}; the controls are {', '.join(known)}"
        )
    return {**known, **values}


def command(args: list[str]) -> str:
    """The shell command that repeats a run from the command line."""
    quoted = [a if all(c not in a for c in " ~[]") else f"'{a}'" for a in args]
    return " ".join(["python -m sim", *quoted])
