"""Sweeps: the folder a Hydra multirun writes, and ``python -m sim.aggregate``, which collects it.

A sweep (``python -m sim -m champions.share=0,0.05 org=hierarchy,small_world``, or a preset
such as ``python -m sim experiment=sweep_champions``) writes ``results/sweeps/<time>/``::

    sweep.json      how it was started: the command, its overrides, the sweeper's parameters,
                    the launcher, package versions, git revision; completed at the end with
                    the jobs that finished and those that failed (``SweepCallback``)
    multirun.yaml   Hydra's record of the sweep's config
    0/, 1/, ...     one run folder per job, as ``python -m sim`` writes (weekly.parquet,
                    summary.json, config.yaml, provenance.json with the job's overrides, ...),
                    or, for a job that failed, only error.json (its overrides and the message)

Then::

    python -m sim.aggregate results/sweeps/<time> [--outcome long_run_value]
                            [--x champions.share] [--y org | --by champions.rule]

reads every job folder and writes into the sweep folder ``sweep.parquet`` and ``sweep.csv``
(one row per completed job: ``job``, every override as a column holding its parsed value,
``seed``, and every scalar of summary.json; nested ones as ``parent.child``), ``failed.csv``
(the jobs that failed or never finished, by their overrides, with the message), and a figure
of the outcome against the swept parameters, PNG and SVG: a heatmap for two (``--x``,
``--y``), a line plot for one (``--x``, with one line per ``--by`` value). Jobs that differ
in other swept parameters are averaged, and the figure says so.
"""

import argparse
import json
import numbers
import os
import platform
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from models.errors import InputError
from sim.provenance import git_revision, package_versions

SWEEP_JSON = "sweep.json"
RESULT = "summary.json"
ERROR = "error.json"
PROVENANCE = "provenance.json"
STUDY = "experiment.json"  # a job that ran a study (experiment=...) points to its folder
TABLE = "sweep"  # sweep.parquet, sweep.csv
WEEKLY = "sweep_weekly"  # with --weekly: sweep_weekly.parquet, sweep_weekly.csv
FAILED = "failed.csv"
LAUNCHER_PACKAGES = ("hydra-joblib-launcher", "joblib", "hydra-submitit-launcher", "submitit")
JOB_NAME = re.compile(r"\d+(_\d+)?")  # <job number>, or <job number>_<n> if it was taken


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _write_json(path: Path, data: dict) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {e.strerror or e}") from e


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- reading a sweep folder --------------------------------------------------------------------


@dataclass
class Job:
    """One job folder of a sweep: what it ran (its overrides) and how it ended."""

    name: str
    folder: Path
    status: str  # completed | failed | unfinished | study (ran experiment=...; not a run)
    overrides: list[str] = field(default_factory=list)
    seed: int | None = None
    summary: dict | None = None
    message: str = ""

    @property
    def label(self) -> str:
        return f"job {self.name} ({' '.join(self.overrides) or 'overrides unknown'})"


def job_folders(folder: Path) -> list[Path]:
    """The job folders of a sweep folder, in job order: sub-folders named by a job number, or
    holding a job's summary.json or error.json (hidden ones, such as submitit's, are not)."""
    found = [
        d
        for d in folder.iterdir()
        if d.is_dir()
        and not d.name.startswith(".")
        and (JOB_NAME.fullmatch(d.name) or any((d / f).exists() for f in (RESULT, ERROR, STUDY)))
    ]
    return sorted(found, key=_job_order)


def _job_order(path: Path) -> tuple:
    numbers = [int(n) for n in re.findall(r"\d+", path.name)]
    return (0, numbers, path.name) if JOB_NAME.fullmatch(path.name) else (1, [], path.name)


def read_job(folder: Path) -> Job:
    """A job folder as a ``Job``: completed (summary.json), failed (error.json), a study
    (experiment.json: the job ran ``experiment=...``, which writes its own folder) or
    unfinished (none of them: interrupted, timed out, or still running)."""
    name = folder.name
    if (folder / RESULT).exists():
        summary = _read_json(folder / RESULT)
        provenance = _read_json(folder / PROVENANCE) or {}
        overrides = [str(o) for o in provenance.get("overrides", [])]
        if summary is None:
            return Job(name, folder, "failed", overrides, message=f"{RESULT} is unreadable")
        return Job(name, folder, "completed", overrides, provenance.get("seed"), summary)
    if (folder / ERROR).exists():
        error = _read_json(folder / ERROR) or {}
        overrides = [str(o) for o in error.get("overrides", [])]
        return Job(name, folder, "failed", overrides, message=str(error.get("message", "")))
    if (folder / STUDY).exists():  # a sweep of studies (experiment=compare ...): no row
        study = _read_json(folder / STUDY) or {}
        overrides = [str(o) for o in study.get("overrides", [])]
        message = f"experiment={study.get('experiment')}: its results are in {study.get('folder')}"
        return Job(name, folder, "study", overrides, message=message)
    return Job(
        name,
        folder,
        "unfinished",
        message=f"no {RESULT} or {ERROR}: the job was interrupted, timed out or is still running",
    )


def parse_override(text: str) -> tuple[str, Any]:
    """``"champions.share=0.05"`` → ``("champions.share", 0.05)``: the key (with its package
    for a group added at a package, without ``+``) and the value as Hydra parses it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        override = OverridesParser.create().parse_override(text)
    except HydraException:
        key, _, value = text.partition("=")
        return key.lstrip("+~"), value
    key = override.key_or_group + (f"@{override.package}" if override.package else "")
    if override.is_sweep_override():
        return key, override.get_value_element_as_str()
    value = override.value()
    if isinstance(value, list | dict):
        value = override.get_value_element_as_str()
    return key, value


def _flatten(summary: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        elif value is None or isinstance(value, bool | int | float | str):
            out[f"{prefix}{key}"] = value
    return out


def _tidy(values: list) -> list:
    """One type per column: numbers stay numbers (ints and floats together become floats in
    pandas), strings stay strings; a column mixing anything else becomes strings."""
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int, float} or kinds <= {str} or kinds <= {bool}:
        return values
    return [None if v is None else str(v) for v in values]


def collect(folder: str | Path, progress: bool = True) -> tuple[pd.DataFrame, list[Job], list[str]]:
    """Read a sweep folder: the table of completed jobs, the jobs that did not complete, and
    the names of the override columns (in the order they first appear).

    Raises ``InputError`` for a folder that does not exist or holds no job.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError(
            f"{folder}: no such folder; give a sweep folder (results/sweeps/<time>, "
            "written by python -m sim -m ...)"
        )
    if not folder.is_dir():
        raise InputError(f"{folder} is a file, not a sweep folder")
    dirs = job_folders(folder)
    if not dirs:
        raise InputError(
            f"{folder} holds no sweep jobs (no sub-folder <n>/ with {RESULT} or {ERROR}); "
            "a sweep folder is results/sweeps/<time>, written by python -m sim -m ..."
        )
    from tqdm import tqdm

    jobs = [
        read_job(d)
        for d in tqdm(dirs, desc="reading jobs", unit="job", leave=False, disable=not progress)
    ]
    done = [j for j in jobs if j.status == "completed"]
    rows, keys, metrics = [], {}, {}
    for job in done:
        row = dict(parse_override(o) for o in job.overrides)
        keys.update(dict.fromkeys(row))
        values = _flatten(job.summary)
        metrics.update(dict.fromkeys(values))
        rows.append((job, row, values))
    override_cols = list(keys)
    extra = [] if "seed" in keys else ["seed"]
    metric_cols = [m for m in metrics if m not in keys and m not in extra]  # overrides win
    numeric = all(j.name.isdigit() for j in done)
    data: dict[str, list] = {"job": [int(j.name) if numeric else j.name for j, _, _ in rows]}
    for col in override_cols:
        data[col] = _tidy([row.get(col) for _, row, _ in rows])
    if extra:
        data["seed"] = [job.seed for job, _, _ in rows]
    for col in metric_cols:
        data[col] = _tidy([values.get(col) for _, _, values in rows])
    table = pd.DataFrame(data)
    return table, [j for j in jobs if j.status != "completed"], override_cols


def failed_table(jobs: list[Job]) -> pd.DataFrame:
    """The jobs that did not complete: job, status, overrides (as given and one column each),
    and the message."""
    rows = []
    for job in jobs:
        row = {"job": job.name, "status": job.status, "overrides": " ".join(job.overrides)}
        row.update(parse_override(o) for o in job.overrides)
        row["message"] = job.message
        rows.append(row)
    return pd.DataFrame(rows)


# --- the figure --------------------------------------------------------------------------------


def swept(table: pd.DataFrame, override_cols: list[str], others: list[Job] = ()) -> list[str]:
    """The overrides that take more than one value among the jobs: the completed ones (the
    table) and ``others`` (those that failed, which still say what was swept)."""

    def same(value: Any) -> str:  # 0 and 0.0 are one value
        if isinstance(value, numbers.Number) and not isinstance(value, bool | np.bool_):
            return repr(float(value))
        return str(value)

    values = {c: {same(v) for v in table[c]} for c in override_cols}
    for job in others:
        for key, value in (parse_override(o) for o in job.overrides):
            if key in values:
                values[key].add(same(value))
    return [c for c in override_cols if len(values[c]) > 1]


#: Keys that are never an axis: replications of the same setting, averaged over.
NOT_AXES = ("seed",)


def choose_axes(
    varying: list[str],
    x: str | None,
    y: str | None,
    by: str | None,
    facet: str | None = None,
) -> tuple[str | None, str | None, str | None]:
    """Which parameters the figure shows. Given ones must be swept (and not ``seed``: jobs
    that differ only in their seed are replications, averaged with an interval); missing ones
    default to the swept parameters in order: a heatmap of the first two, or a line plot of
    the only one (``--x`` alone, or with ``--by``, asks for a line plot)."""
    axes = [v for v in varying if v not in NOT_AXES]
    for flag, name in (("--x", x), ("--y", y), ("--by", by), ("--facet", facet)):
        if name in NOT_AXES:
            raise InputError(
                f"{flag} {name} is not allowed: jobs that differ only in their {name} are "
                "replications, averaged with a 95% interval; choose one of "
                + (", ".join(axes) or "the swept parameters (none but the seed here)")
            )
        if name is not None and name not in axes:
            raise InputError(
                f"{flag} {name} is not a swept parameter of this sweep: "
                + (f"choose one of {', '.join(axes)}" if axes else "nothing was swept")
            )
    chosen = [n for n in (x, y, by, facet) if n is not None]
    if len(set(chosen)) < len(chosen):
        raise InputError("--x, --y, --by and --facet must be different parameters")
    if not axes:
        return None, None, None
    rest = [v for v in axes if v not in chosen]
    if x is None:
        x = rest.pop(0) if rest else None
        if x is None:
            raise InputError("no swept parameter is left for --x")
        if y is None and by is None and rest:
            y = rest.pop(0)
    return x, y, by


def filtered(table: pd.DataFrame, where: list[str], keys: list[str]) -> pd.DataFrame:
    """The jobs whose ``keys`` (override columns and ``seed``) have the values ``where`` gives
    (``key=value``, parsed as Hydra parses an override: ``champions.share=0.05`` matches
    0.05)."""
    for condition in where:
        if "=" not in condition:
            raise InputError(f"--where {condition} is not allowed: write key=value")
        key, value = parse_override(condition)
        if key not in keys:
            raise InputError(
                f"--where {condition}: {key} is not an override of this sweep: choose one of "
                + ", ".join(keys)
            )
        column = table[key]
        if pd.api.types.is_numeric_dtype(column) and isinstance(value, int | float):
            keep = np.isclose(column.astype(float), float(value))
        else:
            keep = column.astype(str) == str(value)
        table = table[keep]
        if table.empty:
            values = ", ".join(_label(v) for v in _categories(column))
            raise InputError(f"--where {condition}: no job has it; {key} takes {values}")
    return table


def _label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _fmt(value: float) -> str:
    if pd.isna(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _categories(series: pd.Series) -> list:
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def interval(values: pd.Series) -> tuple[float, float, int]:
    """Mean and half-width of its 95% t-interval (NaN for one value), and the count."""
    from scipy import stats

    v = values.dropna().to_numpy(float)
    n = len(v)
    if n < 2:
        return (float(v.mean()) if n else np.nan), np.nan, n
    half = stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n)
    return float(v.mean()), float(half), n


def _ticks(ax, axis: str, values: list) -> None:
    """Category tick labels, turned when they would run into each other."""
    labels = [_label(v) for v in values]
    if axis == "x":
        long = sum(len(t) for t in labels) > 50 or max(map(len, labels), default=0) > 12
        ax.set_xticks(
            range(len(values)), labels, rotation=30 if long else 0, ha="right" if long else "center"
        )
    else:
        ax.set_yticks(range(len(values)), labels)


def figure(
    table: pd.DataFrame,
    outcome: str,
    x: str,
    y: str | None,
    by: str | None,
    facet: str | None = None,
    note: str = "",
):
    """The figure of the mean outcome over ``x`` (a Matplotlib Figure): a heatmap over ``x``
    and ``y``; else points over ``x`` — joined by lines where ``x`` is numeric, with a shaded
    95% interval; as separate points with 95% error bars where it is categorical — one
    series per ``by`` value. One panel per ``facet`` value. Axis labels: ``sim.labels``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize, TwoSlopeNorm

    from sim.labels import label

    panels = (
        [(None, table)]
        if facet is None
        else [(v, table[table[facet] == v]) for v in _categories(table[facet])]
    )
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    xs = _categories(table[x])
    if y is not None:
        ys = _categories(table[y])
        grids = [
            d.groupby([y, x])[outcome].mean().unstack(x).reindex(index=ys, columns=xs)
            for _, d in panels
        ]
        values = np.concatenate([g.to_numpy(dtype=float).ravel() for g in grids])
        lo, hi = np.nanmin(values), np.nanmax(values)
        if lo < 0 < hi:
            cmap, norm = plt.get_cmap("RdBu"), TwoSlopeNorm(vmin=lo, vcenter=0, vmax=hi)
        else:
            cmap, norm = plt.get_cmap("viridis"), Normalize(vmin=lo, vmax=hi)
        size = (1.8 + 1.1 * len(xs), 1.6 + 0.6 * len(ys))
    else:
        size = (7, 4.5)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(size[0] * cols, size[1] * rows),
        squeeze=False,
        sharey=y is None,
        layout="constrained",
    )
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    several = False
    for k, (ax, (value, d)) in enumerate(zip(axes.ravel(), panels, strict=False)):
        if y is not None:
            grid = grids[k].to_numpy(dtype=float)
            image = ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto")
            for i in range(len(ys)):
                for j in range(len(xs)):
                    if pd.isna(grid[i, j]):
                        continue
                    r, g, b, _ = cmap(norm(grid[i, j]))
                    ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
                    ax.text(j, i, _fmt(grid[i, j]), ha="center", va="center", color=ink, fontsize=8)
            _ticks(ax, "x", xs)
            _ticks(ax, "y", ys)
            ax.set_ylabel(label(y))
        else:
            several |= _series(ax, d, outcome, x, xs, by)
            ax.set_ylabel(label(outcome))
            if by is not None:
                ax.legend(title=label(by), fontsize=8)
        ax.set_xlabel(label(x))
        if facet is not None:
            ax.set_title(f"{label(facet)} = {_label(value)}", fontsize=9)
    if y is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), label=label(outcome))
    notes = [n for n in (note, "bars and bands: 95% interval of the mean" if several else "") if n]
    fig.suptitle(
        label(outcome)
        + (f" by {label(x)}" if y is None else "")
        + ("\n" + "; ".join(notes) if notes else ""),
        fontsize=10,
    )
    return fig


def _series(ax, table: pd.DataFrame, outcome: str, x: str, xs: list, by: str | None) -> bool:
    """The ``by`` series of one panel; whether any point averages several jobs."""
    numeric = pd.api.types.is_numeric_dtype(table[x]) and table[x].dtype != bool
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    several = False
    for k, (name, group) in enumerate(groups):
        stats = pd.DataFrame(
            [(v, *interval(g[outcome])) for v, g in group.groupby(x, sort=True)],
            columns=[x, "mean", "half", "n"],
        )
        several |= bool((stats["n"] > 1).any())
        name = None if by is None else _label(name)
        if numeric:
            (line,) = ax.plot(stats[x], stats["mean"], marker="o", label=name)
            ax.fill_between(
                stats[x],
                stats["mean"] - stats["half"],
                stats["mean"] + stats["half"],
                color=line.get_color(),
                alpha=0.15,
            )
        else:  # categories have no order to join: points, side by side per series
            shift = (k - (len(groups) - 1) / 2) * 0.6 / max(len(groups), 1)
            at = [xs.index(v) + shift for v in stats[x]]
            ax.errorbar(at, stats["mean"], yerr=stats["half"], fmt="o", capsize=3, label=name)
    if not numeric:
        _ticks(ax, "x", xs)
    low, high = table[outcome].min(), table[outcome].max()
    if low < 0 < high:
        ax.axhline(0, color="black", lw=0.5)
    return several


def plot(
    table: pd.DataFrame,
    outcome: str,
    x: str,
    y: str | None,
    by: str | None,
    averaged: list[str],
    stem: Path,
    facet: str | None = None,
    where: list[str] = (),
) -> list[Path]:
    """``figure`` saved as PNG and SVG at ``stem``; the title says what each point averages
    and which jobs were kept (``where``)."""
    from sim.labels import label
    from sim.plots import save_figure

    note = "; ".join(
        [f"mean over {', '.join(label(a) for a in averaged)}"] * bool(averaged)
        + [f"only {', '.join(where)}"] * bool(where)
    )
    fig = figure(table, outcome, x, y, by, facet, note)
    return save_figure(fig, stem, dpi=120, bbox_inches="tight")


# --- the command -------------------------------------------------------------------------------


def aggregate(
    folder: str | Path,
    outcome: str = "long_run_value",
    x: str | None = None,
    y: str | None = None,
    by: str | None = None,
    draw: bool = True,
    progress: bool = True,
    weekly: bool = False,
    where: list[str] = (),
    facet: str | None = None,
) -> dict:
    """Collect a sweep folder into ``sweep.parquet``, ``sweep.csv``, ``failed.csv`` (if any
    job failed), with ``weekly`` also ``sweep_weekly.parquet``/``.csv`` (one row per job ×
    week), and a figure of the jobs ``where`` keeps; return what was written and found
    (``averaged``: the swept keys each point of the figure is a mean over).
    ``InputError`` for a folder that is missing, holds no job, or a figure that cannot be
    drawn as asked."""
    folder = Path(folder)
    table, others, override_cols = collect(folder, progress=progress)
    not_done = [j for j in others if j.status != "study"]
    metric_cols = [c for c in table.columns if c not in override_cols and c not in ("job", "seed")]
    varying = swept(table, override_cols, not_done) if len(table) else []
    axes, averaged = (None, None, None), []
    shown = table
    if draw and len(table):
        if outcome not in metric_cols or not pd.api.types.is_numeric_dtype(table[outcome]):
            numbers = [c for c in metric_cols if pd.api.types.is_numeric_dtype(table[c])]
            raise InputError(
                f"--outcome {outcome} is not a numeric summary metric: choose one of "
                + ", ".join(numbers)
            )
        shown = filtered(table, list(where), list(dict.fromkeys([*override_cols, "seed"])))
        axes = choose_axes(varying, x, y, by, facet)
    series = weekly_table(folder, table, override_cols) if weekly and len(table) else None
    written: list[Path] = []
    try:
        if len(table):
            written.append(_replace(folder / f"{TABLE}.parquet", table.to_parquet, index=False))
            written.append(_replace(folder / f"{TABLE}.csv", table.to_csv, index=False))
        if series is not None:
            written.append(_replace(folder / f"{WEEKLY}.parquet", series.to_parquet, index=False))
            written.append(_replace(folder / f"{WEEKLY}.csv", series.to_csv, index=False))
        if not_done:
            written.append(_replace(folder / FAILED, failed_table(not_done).to_csv, index=False))
        else:
            (folder / FAILED).unlink(missing_ok=True)  # from an earlier aggregation
        if not (folder / SWEEP_JSON).exists():
            _write_json(folder / SWEEP_JSON, _record_from_multirun(folder))
            written.append(folder / SWEEP_JSON)
        if axes[0] is not None:
            x, y, by = axes
            # what still varies among the jobs drawn: a key fixed by --where is not averaged
            averaged = [v for v in swept(shown, override_cols) if v not in (*axes, facet)]
            name = f"{outcome}_vs_{x}" + (f"_and_{y}" if y else "") + (f"_by_{by}" if by else "")
            name += (f"_facet_{facet}" if facet else "") + "".join(f"_{w}" for w in where)
            stem = folder / re.sub(r"[^\w.=-]+", "_", name)
            written += plot(shown, outcome, x, y, by, averaged, stem, facet, list(where))
    except OSError as e:
        raise InputError(f"cannot write in {folder}: {e.strerror or e}") from e
    return {
        "table": table,
        "not_done": not_done,
        "studies": [j for j in others if j.status == "study"],
        "swept": varying,
        "axes": axes,
        "averaged": averaged,
        "written": written,
    }


def weekly_table(folder: Path, table: pd.DataFrame, override_cols: list[str]) -> pd.DataFrame:
    """One row per completed job × week: ``job``, its override columns and ``seed`` (as in
    the sweep table), then every weekly metric of its ``weekly.parquet`` — the form of
    NetLogo BehaviorSpace's table output."""
    frames = []
    ids = table[["job", *override_cols, *(["seed"] if "seed" not in override_cols else [])]]
    for row in ids.to_dict("records"):
        weekly = pd.read_parquet(folder / str(row["job"]) / "weekly.parquet")
        front = pd.DataFrame({k: [v] * len(weekly) for k, v in row.items()})
        frames.append(pd.concat([front, weekly.reset_index(drop=True)], axis=1))
    return pd.concat(frames, ignore_index=True)


def _replace(path: Path, write, **kwargs) -> Path:
    """``write(tmp, **kwargs)``, then rename the temporary file to ``path``: a reader (or a
    second aggregation at the same time) never sees half a table."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp, **kwargs)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _record_from_multirun(folder: Path) -> dict:
    """``sweep.json`` for a sweep that did not write one (run without ``SweepCallback``), from
    Hydra's ``multirun.yaml``; versions and git revision are those at aggregation."""
    record: dict[str, Any] = {"written_by": "sim.aggregate (the sweep did not write one)"}
    try:
        hydra_cfg = OmegaConf.load(folder / "multirun.yaml").hydra
        record["overrides"] = list(hydra_cfg.overrides.task)
        record["hydra_overrides"] = list(hydra_cfg.overrides.hydra)
        record["sweeper"] = OmegaConf.to_container(hydra_cfg.sweeper, resolve=False)
        record["launcher"] = OmegaConf.to_container(hydra_cfg.launcher, resolve=False)
    except Exception:  # no or unreadable multirun.yaml: say what can be said
        record["overrides"] = "unknown (no readable multirun.yaml)"
    record.update(
        aggregated=_now(),
        versions={**package_versions(), **package_versions(LAUNCHER_PACKAGES)},
        git=git_revision(),
        platform=platform.platform(),
    )
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.aggregate",
        description="Collect a sweep folder (python -m sim -m ...) into one table and a figure.",
    )
    parser.add_argument("folder", help="the sweep folder, e.g. results/sweeps/<time>")
    parser.add_argument(
        "--outcome", default="long_run_value", help="summary metric to plot (long_run_value)"
    )
    parser.add_argument("--x", help="swept parameter on the x axis (default: the first swept)")
    axes = parser.add_mutually_exclusive_group()
    axes.add_argument("--y", help="second swept parameter: draws a heatmap")
    axes.add_argument("--by", help="second swept parameter: one series per value")
    parser.add_argument("--facet", help="swept parameter: one panel per value")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="draw only the jobs with this value (repeatable)",
    )
    parser.add_argument(
        "--weekly", action="store_true", help="also write sweep_weekly.parquet/.csv (job × week)"
    )
    parser.add_argument("--no-plot", action="store_true", help="write the tables only")
    args = parser.parse_args(argv)
    try:
        out = aggregate(
            args.folder,
            args.outcome,
            args.x,
            args.y,
            args.by,
            draw=not args.no_plot,
            progress=sys.stderr.isatty(),
            weekly=args.weekly,
            where=args.where,
            facet=args.facet,
        )
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    table, not_done, studies = out["table"], out["not_done"], out["studies"]
    failed = sum(j.status == "failed" for j in not_done)
    counts = [f"{len(table)} completed", f"{failed} failed"]
    if len(not_done) > failed:
        counts.append(f"{len(not_done) - failed} unfinished")
    if studies:
        counts.append(f"{len(studies)} ran a study")
    print(f"{len(table) + len(not_done) + len(studies)} jobs: {', '.join(counts)}")
    for job in studies:
        print(f"study: {job.label}: {job.message}")
    for job in not_done:
        print(f"{job.status}: {job.label}: {job.message}", file=sys.stderr)
    if out["swept"]:
        print(f"swept: {', '.join(out['swept'])}")
    if out["axes"][0] is None and not args.no_plot and len(table):
        print("nothing was swept but the seed: no figure")
    for path in out["written"]:
        print(f"wrote {path}")
    if not len(table) and not studies:
        print(f"error: no job of {args.folder} completed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from sim.signals import interrupted, terminate_like_interrupt

    terminate_like_interrupt()
    try:
        sys.exit(main())
    except KeyboardInterrupt as stopped:
        interrupted(
            stopped,
            "the aggregation",
            "each table is written under a temporary name and renamed, so none is half-written; "
            "run it again",
        )
