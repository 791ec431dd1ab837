"""Save the page's controls as a scenario file that ``python -m sim`` runs, and load it back.

The file is a Hydra primary config that starts from the project's own ``config`` and says,
in its defaults list and body, what the controls change — the organisation type and the
programme (``override``), interventions switched on (added from their building block, with the
page's settings) or off (intensity 0, as the page runs them), and the values set on the page:

    python -m sim --config-dir results/scenarios --config-name my_workshop

runs exactly what the page ran (a test runs a saved file through the command line and
compares the weeks). The page's own settings that are not part of a run (the comparison
programme, the seeds for a band) ride along in a comment line, ``# dashboard: {...}``, which
Hydra ignores. Loading reads only what saving writes: each key is mapped back to a control
and every value is checked as the page's controls are (``controls.check``); anything else is
refused with a message naming it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import yaml

from models.loaders import MAX_SETTINGS_BYTES, file_problem
from sim.dashboard import controls
from sim.dashboard.controls import OFF, ON, ControlError
from sim.provenance import git_revision

#: Where the page saves scenario files (relative to the folder the dashboard runs in).
FOLDER = Path("results/scenarios")
MARKER = "# dashboard: "
ADD = "/intervention@scenario.interventions."
#: Page settings that are not part of a run, kept in the ``# dashboard:`` comment.
PAGE_ONLY = ("compare_with", "band_seeds")
FIELDS = ("start", "end", "intensity", "target")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_name(name: str) -> str:
    """A scenario file's name: letters, digits, ``_`` and ``-`` (it becomes a file name and a
    ``--config-name``), and not ``config`` (the project's own)."""
    if not NAME.fullmatch(name or "") or name == "config":
        raise ControlError(
            f"scenario name {name!r} is not allowed: use up to 64 letters, digits, _ or -, "
            "starting with a letter or digit, and not 'config'"
        )
    return name


def to_yaml(values: dict, name: str = "scenario") -> str:
    """The scenario file for the (checked) control ``values``."""
    values = controls.check(values)
    programme = values["programme"]
    keys = controls.programme_keys(programme)
    added, tuned = [], {}
    for kind in controls.kinds():
        if values[kind] == OFF:
            tuned.update({key: {"intensity": 0.0} for key in keys.get(kind, ())})
        elif values[kind] == ON:
            if kind not in keys:
                added.append(kind)
            end = values[f"{kind}_end"]
            for key in keys.get(kind) or (kind,):
                tuned[key] = {
                    "start": values[f"{kind}_start"],
                    "end": end if end > 0 else None,
                    "intensity": round(values[f"{kind}_intensity"], 6),
                    "target": values[f"{kind}_target"],
                }
    defaults = ["config", *({f"{ADD}{kind}": kind} for kind in added), "_self_"]
    defaults += [{"override org": values["organisation"]}, {"override scenario": programme}]
    body: dict = {
        "defaults": defaults,
        "org": {"size": values["size"]},
        "weeks": values["weeks"],
        "seed": values["seed"],
    }
    if values["set_champions"]:
        body["champions"] = {
            "share": round(values["champion_share"], 6),
            "rule": values["champion_rule"],
        }
    if tuned:
        body["scenario"] = {"interventions": tuned}
    page = {key: values[key] for key in PAGE_ONLY}
    revision = git_revision()
    header = [
        f"# beyond-adoption scenario {name!r}, saved from the workshop dashboard on "
        f"{datetime.now():%Y-%m-%d %H:%M} (git {revision['commit'][:12]}"
        f"{', uncommitted changes' if revision['dirty'] else ''}).",
        "# Run it from the project folder:",
        f"#   python -m sim --config-dir <the folder this file is in> --config-name {name}",
        "# The line below is the page's own settings (not part of a run; Hydra ignores it).",
        MARKER + yaml.safe_dump(page, default_flow_style=True, sort_keys=False).strip(),
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False)


def save(values: dict, name: str, folder: Path = FOLDER) -> Path:
    """Write ``<folder>/<name>.yaml`` (whole or not at all) and return its path."""
    path = Path(folder) / f"{check_name(name)}.yaml"
    text = to_yaml(values, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def saved(folder: Path = FOLDER) -> list[str]:
    """Names of the scenario files in ``folder``, newest first."""
    files = [p for p in Path(folder).glob("*.yaml") if NAME.fullmatch(p.stem)]
    return [p.stem for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)]


def load(name: str, folder: Path = FOLDER) -> dict:
    """The control values of ``<folder>/<name>.yaml`` (``from_yaml``)."""
    path = Path(folder) / f"{check_name(name)}.yaml"
    problem = file_problem(f"scenario {name!r}", path, "a scenario file", MAX_SETTINGS_BYTES)
    if problem:
        raise ControlError(problem)
    try:
        return from_yaml(path.read_text())
    except OSError as e:
        raise ControlError(f"scenario {name!r}: {e.strerror}") from e


def _refuse(what: str) -> ControlError:
    return ControlError(f"not a dashboard scenario file: {what}")


def _mapping(node, where: str) -> dict:
    if not isinstance(node, dict):
        raise _refuse(f"{where} must be a mapping")
    return node


def from_yaml(text: str) -> dict:
    """The control values a scenario file describes, checked (``ControlError`` naming the
    first key or value the page cannot take)."""
    try:
        body = _mapping(yaml.safe_load(text), "the file")
        page = {}
        for line in text.splitlines():
            if line.startswith(MARKER):
                page = _mapping(yaml.safe_load(line[len(MARKER) :]), "the # dashboard: line")
    except yaml.YAMLError as e:
        raise _refuse(f"not YAML ({e})") from e
    values: dict = {k: v for k, v in page.items() if k in PAGE_ONLY}
    if set(page) - set(PAGE_ONLY):
        raise _refuse(f"unknown page setting {sorted(set(page) - set(PAGE_ONLY))[0]!r}")
    unknown = set(body) - {"defaults", "org", "weeks", "seed", "champions", "scenario"}
    if unknown:
        raise _refuse(f"key {sorted(unknown)[0]!r} is not one the dashboard sets")
    added = _defaults(body.get("defaults"), values)
    org = _mapping(body.get("org", {}), "org")
    if set(org) - {"size"}:
        raise _refuse(f"org.{sorted(set(org) - {'size'})[0]} is not one the dashboard sets")
    if "size" in org:
        values["size"] = org["size"]
    for key in ("weeks", "seed"):
        if key in body:
            values[key] = body[key]
    if "champions" in body:
        champions = _mapping(body["champions"], "champions")
        if set(champions) != {"share", "rule"}:
            raise _refuse("champions must give share and rule")
        values.update(
            set_champions=True, champion_share=champions["share"], champion_rule=champions["rule"]
        )
    values.update({kind: ON for kind in added})
    keys = controls.programme_keys(values.get("programme", "baseline"))
    kind_of = {key: kind for kind, ks in keys.items() for key in ks} | {k: k for k in added}
    scenario = _mapping(body.get("scenario", {}), "scenario")
    if set(scenario) - {"interventions"}:
        raise _refuse(
            f"scenario.{sorted(set(scenario) - {'interventions'})[0]} is not one the dashboard sets"
        )
    for key, node in _mapping(scenario.get("interventions", {}), "scenario.interventions").items():
        node = _mapping(node, f"scenario.interventions.{key}")
        kind = kind_of.get(key)
        if kind is not None and node == {"intensity": 0} and kind not in added:
            values[kind] = OFF
            continue
        if kind is None or set(node) != set(FIELDS):
            raise _refuse(
                f"scenario.interventions.{key} must be one of the programme's interventions "
                f"(or one switched on) with {', '.join(FIELDS)}"
            )
        if f"{kind}_start" not in values:  # the first key of a kind speaks for it
            values[kind] = ON
            values.update({f"{kind}_{f}": node[f] for f in FIELDS})
            values[f"{kind}_end"] = node["end"] if node["end"] is not None else 0
    return controls.with_programme_values(controls.check(values))


def _defaults(entries, values: dict) -> list[str]:
    """Read the defaults list: organisation and programme into ``values``; return the kinds
    added."""
    if not isinstance(entries, list) or entries[:1] != ["config"] or "_self_" not in entries:
        raise _refuse("the defaults list must start with config and hold _self_")
    added = []
    for entry in entries:
        if entry in ("config", "_self_"):
            continue
        if not isinstance(entry, dict) or len(entry) != 1:
            raise _refuse(f"defaults entry {entry!r} is not one the dashboard writes")
        ((key, value),) = entry.items()
        if key == "override org":
            values["organisation"] = value
        elif key == "override scenario":
            values["programme"] = value
        elif key.startswith(ADD) and key[len(ADD) :] == value:
            added.append(value)
        else:
            raise _refuse(f"defaults entry {entry!r} is not one the dashboard writes")
    for kind in added:
        if kind not in controls.kinds():
            raise _refuse(
                f"no intervention kind {kind!r}; the kinds are {', '.join(controls.kinds())}"
            )
    if "programme" in values:
        controls.check_value("programme", values["programme"])
    return added
