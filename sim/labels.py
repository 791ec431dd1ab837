"""Readable names, with units, for the keys that tables and figures use: summary and weekly
metrics, config keys (``champions.share``, ``org.size``, ``population.<parameter>``,
``scenario.interventions.<name>.<field>``). Figures (``sim.aggregate``, the sensitivity
report) label axes with ``label(key)``; a key without an entry is shown as it is.

Units of behavioural parameters come from the parameter registry (``models.registry``).
"""

import re

from models.registry import PARAMETERS

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
    if parameter in PARAMETERS:
        return parameter, PARAMETERS[parameter].unit
    field = re.fullmatch(r"scenario\.interventions\.(\w+)\.(\w+)", key)
    if field:
        return f"{field.group(1)} {field.group(2)}", INTERVENTION_UNITS.get(field.group(2), "")
    return key, ""
