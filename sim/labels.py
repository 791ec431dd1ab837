"""Readable names, with units, for the keys that tables and figures use: summary and weekly
metrics, config keys (``champions.share``, ``org.size``, ``population.<parameter>``,
``scenario.interventions.<name>.<field>``). Figures (``sim.aggregate``, the sensitivity
report) label axes with ``label(key)``; a key without an entry is shown as it is.

Units of behavioural parameters come from the parameter registry (``registry()``).
"""

import re
from dataclasses import dataclass, fields

from models.params import BOUNDS, NON_NEGATIVE, Behaviour

#: Summary and weekly metrics: key -> (name, unit). "share" is a share of everyone (0..1)
#: unless the name says of whom.
METRICS: dict[str, tuple[str, str]] = {
    "long_run_value": ("long-run value", "h"),
    "net_value": ("net value (value − programme cost)", "h"),
    "discounted_value": ("discounted value", "h"),
    "value_last_year": ("value in the last year", "h"),
    "window_end": ("last week of the programme", "week"),
    "value_after_window": ("value in the year after the programme", "h/week"),
    "value_personal_total": ("personal value", "h"),
    "value_strategic_total": ("strategic value", "h"),
    "time_spent_total": ("time spent on the network", "h"),
    "peak_active_share": ("peak weekly-active share", "share"),
    "active_share_last_year": ("weekly-active share, last year", "share"),
    "final_adopted_share": ("share who have adopted, at the end", "share"),
    "adoption_value_gap": ("adoption–value gap", "share"),
    "top10_value_share": ("value share of the top 10%", "share of value"),
    "gini_posts": ("Gini of contributions", "0–1"),
    "observer_share_last_year": ("observers among the weekly active, last year", "share"),
    "cost_total": ("programme cost", "h"),
    "value_per_cost": ("value per hour of cost", "h/h"),
    "weeks": ("horizon", "weeks"),
    "agents": ("people", "people"),
    "active_share": ("weekly-active share", "share"),
    "adopted_share": ("cumulative adoption", "share"),
    "value_total": ("value", "h/week"),
    "cost": ("programme cost", "h/week"),
}

#: Config keys other than behavioural parameters: key -> (name, unit).
CONFIG: dict[str, tuple[str, str]] = {
    "champions.share": ("champion share", "share of non-managers"),
    "champions.rule": ("champion targeting", ""),
    "org": ("organisation", ""),
    "org.size": ("people", "people"),
    "weeks": ("horizon", "weeks"),
    "seed": ("seed", ""),
    "scenario": ("programme", ""),
    "discount_rate": ("discount rate", "/year"),
}

#: Units of intervention fields (scenario.interventions.<name>.<field>).
INTERVENTION_UNITS = {
    "start": "week",
    "end": "week",
    "cadence": "weeks",
    "cost_fixed": "h",
    "cost_per_week": "h/week",
    "cost_per_person": "h per person",
    "cost_per_reward": "h per reward",
}


def label(key: str) -> str:
    """``key`` as a figure shows it: a readable name with its unit, e.g. ``"champion share
    (share of non-managers)"``; unknown keys as they are."""
    name, unit = describe(key)
    return f"{name} ({unit})" if unit else name


def describe(key: str) -> tuple[str, str]:
    """(name, unit) of a metric or config key; (key, "") when unknown."""
    if key in METRICS:
        return METRICS[key]
    if key in CONFIG:
        return CONFIG[key]
    stage = re.fullmatch(r"final_adopter_share_(\w+)", key)
    if stage:
        return f"share of adopters at {stage.group(1).title()}, at the end", "share of adopters"
    parameter = key.removeprefix("population.")
    if parameter in registry():
        return parameter, registry()[parameter].unit
    field = re.fullmatch(r"scenario\.interventions\.(\w+)\.(\w+)", key)
    if field:
        return f"{field.group(1)} {field.group(2)}", INTERVENTION_UNITS.get(field.group(2), "")
    return key, ""


# --- ADAPTER: delete after merging the lead's models/registry.py ---------------------------------
# Until ``models.registry`` is in this checkout, the studies read a stand-in of the same names
# and shape. After the merge, replace ``registry()`` with ``models.registry.PARAMETERS`` and
# ``intervention_range`` with a lookup in ``models.registry.BLOCKS``, and delete this section.


@dataclass(frozen=True)
class Parameter:
    name: str
    default: float
    low: float
    high: float
    unit: str
    meaning: str
    source: str
    group: str
    uncertain: bool = True


#: The stand-in's uncertain parameters and plausible ranges: the sensitivity study's earlier
#: fifteen, with reactance_gain down to 0, and the decisive ones issue 16 names.
_UNCERTAIN = {
    "value_weight": (1.5, 4.5),
    "sense_weight": (0.0, 2.0),
    "social_weight": (0.0, 1.5),
    "habit_weight": (0.5, 2.5),
    "pressure_weight": (1.0, 5.0),
    "extrinsic_weight": (0.5, 3.5),
    "reactance_gain": (0.0, 0.4),
    "reactance_erosion": (0.0, 0.05),
    "reactance_decay": (0.01, 0.15),
    "crowding_d_engagement": (0.1, 0.7),
    "relevance_mean": (0.1, 0.5),
    "initial_expectation": (0.3, 1.0),
    "innovation_p": (0.05, 0.5),
    "imitation_q": (0.2, 1.2),
    "leading_learning": (0.01, 0.1),
    "use_learning": (0.005, 0.05),
    "noise_hours": (0.0, 0.15),
    "leading_pull": (0.0, 4.0),
    "manager_pull": (0.0, 1.0),
    "abandon_rate": (0.02, 0.3),
    "stage_up": (0.03, 0.2),
}


def _registry_module():
    """``models.registry`` if this checkout has it (a module of that name found elsewhere, e.g.
    through another checkout's editable install, belongs to other code)."""
    import importlib
    from pathlib import Path

    import models

    if not (Path(models.__file__).parent / "registry.py").exists():
        return None
    return importlib.import_module("models.registry")


def registry() -> dict:
    """``models.registry.PARAMETERS`` when the checkout has it, else a stand-in built from
    ``models.params`` (defaults and bounds) and ``_UNCERTAIN``."""
    module = _registry_module()
    if module is not None:
        return module.PARAMETERS
    out = {}
    for f in fields(Behaviour):
        if f.type is bool:
            continue
        default = getattr(Behaviour(), f.name)
        lo, hi = BOUNDS.get(f.name, NON_NEGATIVE)
        low, high = _UNCERTAIN.get(f.name, (max(lo, default * 0.5), min(hi, default * 1.5)))
        uncertain = f.name in _UNCERTAIN
        out[f.name] = Parameter(
            f.name, default, low, high, "", "", "models/params.py", "", uncertain
        )
    return out


def intervention_range(kind: str, field: str) -> tuple[float, float, str] | None:
    """The plausible range and source of an intervention kind's field
    (``models.registry.BLOCKS``), or None where the registry gives none."""
    module = _registry_module()
    setting = getattr(module, "BLOCKS", {}).get(kind, {}).get(field) if module else None
    if setting is None or not hasattr(setting, "low"):
        return None
    return setting.low, setting.high, setting.source


# --- end of ADAPTER ------------------------------------------------------------------------------
