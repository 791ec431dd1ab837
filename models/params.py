"""Behavioural parameters of the model, as the model reads them.

``Behaviour`` is a frozen dataclass with one field per parameter of the registry
(``models.registry``: default, plausible range, unit and source of each) plus the switches.
It is both what the model reads and the typed schema of the Hydra ``population`` config group
(``sim/schema.py`` registers it), so a parameter is declared once, in the registry.

Rates that the literature states per year (Bass p and q, the adoption hazards) are annual
here too and are converted to weekly probabilities inside the step
(``1 - exp(-rate / 52)``), so that the discrete weekly curve follows the continuous-time model.

In an ensemble (``models.ensemble``) a field may hold an array with one value per agent row
instead of a number, when the runs of the ensemble differ in it; the dynamics are written so
that either works.
"""

import math
from dataclasses import field, fields, make_dataclass

from models.registry import ANY, NON_NEGATIVE, PARAMETERS, POSITIVE, SWITCHES, UNIT

WEEKS_PER_YEAR = 52.0


def _stage_posting(self) -> tuple:
    """Posting factor at each stage, Connect to Innovate."""
    return (self.posting_connect, self.posting_share, self.posting_solve, self.posting_innovate)


def _from_mapping(cls, values):
    """Build from a mapping (e.g. an OmegaConf node) holding some or all fields."""
    return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


Behaviour = make_dataclass(
    "Behaviour",
    [(name, bool, field(default=default)) for name, (default, _) in SWITCHES.items()]
    + [
        (p.name, int if p.whole else float, field(default=p.default))
        for p in PARAMETERS.values()
    ],
    namespace={
        "__doc__": "The behavioural parameters (models.registry gives each one's meaning).",
        "__module__": __name__,
        "stage_posting": property(_stage_posting),
        "from_mapping": classmethod(_from_mapping),
    },
    frozen=True,
)

#: Largest magnitude of any number of the behaviour or of an intervention: the agents' state
#: is float32 (largest about 3.4e38), and products of a few such numbers must stay finite. No
#: parameter of an organisation in hours, weeks or rates comes anywhere near it.
MAX_MAGNITUDE = 1e12

#: Allowed range of every parameter (from the registry).
BOUNDS: dict[str, tuple[float, float]] = {p.name: p.bounds for p in PARAMETERS.values()}

__all__ = ["ANY", "BOUNDS", "NON_NEGATIVE", "POSITIVE", "UNIT", "WEEKS_PER_YEAR", "Behaviour"]


def problems(values, prefix: str = "population") -> list[str]:
    """Messages for every parameter outside its allowed range, not a finite number or larger
    than ``MAX_MAGNITUDE`` (empty when all are valid).

    ``values`` is a mapping (or a Behaviour); each message names the full key, the bad value
    and the allowed range.
    """
    get = values.get if hasattr(values, "get") else lambda k: getattr(values, k)
    out = []
    for f in fields(Behaviour):
        value = get(f.name)
        if f.type is bool or isinstance(value, bool):
            continue
        lo, hi = BOUNDS.get(f.name, NON_NEGATIVE)
        whole = PARAMETERS[f.name].whole
        if isinstance(value, float) and whole and not (math.isfinite(value) and value.is_integer()):
            out.append(f"{prefix}.{f.name}={value!r} is not allowed: it must be a whole number")
            continue
        if not lo <= value <= hi or (lo == float("-inf") and not math.isfinite(value)):
            if lo == float("-inf"):
                allowed = "a finite number"
            elif hi != float("inf"):
                allowed = f"between {lo:g} and {hi:g}"
            elif (lo, hi) == POSITIVE:
                allowed = "greater than 0"
            else:
                allowed = f"at least {lo:g}" if lo > 0 else "non-negative"
            out.append(f"{prefix}.{f.name}={value!r} is not allowed: it must be {allowed}")
    return out + too_large(prefix, {f.name: get(f.name) for f in fields(Behaviour)}, already=out)


def too_large(prefix: str, values: dict, already: list[str]) -> list[str]:
    """Messages for numbers that are infinite or larger than ``MAX_MAGNITUDE`` (NaN fails
    every range check already), except for keys ``already`` has a message about."""
    out = []
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        full = f"{prefix}.{key}"
        if abs(value) > MAX_MAGNITUDE and not any(m.startswith(f"{full}=") for m in already):
            out.append(
                f"{full}={value} is not allowed: it must be a finite number, at most "
                f"{MAX_MAGNITUDE:g} in size"
            )
    return out


def discount_problems(rate) -> list[str]:
    """The message for a discount rate that is not a finite non-negative number (empty if it
    is)."""
    if 0 <= rate < math.inf:
        return []
    return [f"discount_rate={rate} is not allowed: it must be a non-negative number"]
