"""The programme tables of docs/MODEL.md §9 and of the README, measured rather than typed:

    python -m experiments.programme_table            # print the tables
    python -m experiments.programme_table --docs     # and rewrite them in MODEL.md and README

Every named programme (conf/scenario/) at the defaults, seeds 0–9 — the runs
``sim.simulate(["scenario=<name>", "seed=<s>"])`` makes — summarised as means over the seeds,
ranked by net value (value minus every hour the programme costs). ``tests/test_docs.py``
regenerates the tables and compares them with the documented ones, so a change to the model
that moves these numbers fails until the tables (and the reading of them) are brought up to
date.
"""

import argparse
from pathlib import Path

import pandas as pd

from experiments.compare import available_scenarios
from experiments.docs_blocks import block, replace_block
from sim.api import compose
from sim.replicate import Spec, run_replications

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "MODEL.md"
README = ROOT / "README.md"
BEGIN = "<!-- programmes:begin (python -m experiments.programme_table --docs) -->"
END = "<!-- programmes:end -->"
SEEDS = tuple(range(10))
YEAR = 52


def measure(seeds=SEEDS, overrides: tuple[str, ...] = (), n_jobs: int = 2) -> tuple:
    """The runs table (one row per programme × seed, the run's summary) and the weekly table,
    every programme in ``conf/scenario/`` (``overrides`` apply to every programme)."""
    names = available_scenarios()
    specs = [Spec.from_config(compose([*overrides, f"scenario={n}"]), n) for n in names]
    weekly, runs = run_replications(specs, list(seeds), n_jobs=n_jobs)
    return runs, weekly


def _hours(x: float, step: int = 100) -> str:
    """Hours rounded to ``step``, thousands separated, with a typographic minus."""
    return f"{round(x / step) * step:,.0f}".replace("-", "−")


def _ranked(runs: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Programmes by mean net value, highest first."""
    groups = list(runs.groupby("scenario", sort=False))
    return sorted(groups, key=lambda g: -g[1]["net_value"].mean())


def _yearly_active(weekly: pd.DataFrame, name: str, years=(1, 3, 5)) -> str:
    """Mean weekly-active share in each of ``years`` (over seeds and the year's weeks)."""
    w = weekly[weekly["scenario"] == name]
    parts = []
    for y in years:
        weeks = w[(w["week"] > (y - 1) * YEAR) & (w["week"] <= y * YEAR)]
        parts.append(f"{weeks['active_share'].mean():.0%}" if len(weeks) else "—")
    return " / ".join(parts)


def model_table(runs: pd.DataFrame) -> str:
    """§9's table: means over the seeds, with the range of net value."""
    lines = [
        "| programme | net value (min to max) | long-run value | cost | value in the last year "
        "| peak weekly active | weekly active, last year | adoption–value gap | gap among users |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in _ranked(runs):
        mean = r.mean(numeric_only=True)
        net = r["net_value"]
        lines.append(
            f"| `{name}` | {_hours(mean['net_value'])} ({_hours(net.min())} to "
            f"{_hours(net.max())}) | {_hours(mean['long_run_value'])} | "
            f"{_hours(mean['cost_total'], 1)} | {_hours(mean['value_last_year'])} | "
            f"{mean['peak_active_share']:.2f} | {mean['active_share_last_year']:.2f} | "
            f"{mean['adoption_value_gap']:.2f} | {mean['adoption_value_gap_users']:.2f} |"
        )
    return "\n".join(lines)


def readme_table(runs: pd.DataFrame, weekly: pd.DataFrame) -> str:
    """The README's shorter table: net value, cost and weekly use in years 1 / 3 / 5."""
    lines = [
        f"Mean of {runs['seed'].nunique()} seeds at the default calibration (1,000 people, "
        "five years), ranked by net value — long-run value (hours of work, net of the time "
        "people spend on the network) minus every hour the programme costs — with the share "
        "active in a week in years 1 / 3 / 5 (`python -m experiments.programme_table`).",
        "",
        "| programme | net value | programme cost | weekly active, years 1 / 3 / 5 |",
        "|---|---:|---:|---|",
    ]
    for name, r in _ranked(runs):
        mean = r.mean(numeric_only=True)
        lines.append(
            f"| {name} | {_hours(mean['net_value'])} h | {_hours(mean['cost_total'])} h | "
            f"{_yearly_active(weekly, name)} |"
        )
    return "\n".join(lines)


def documented() -> tuple[str, str]:
    """The tables as docs/MODEL.md and README.md have them."""
    return block(DOCS, BEGIN, END), block(README, BEGIN, END)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="rewrite the tables in the docs")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    runs, weekly = measure(n_jobs=args.jobs)
    tables = model_table(runs), readme_table(runs, weekly)
    print("\n\n".join(tables))
    if args.docs:
        for path, text in zip((DOCS, README), tables, strict=True):
            print(f"wrote {replace_block(path, BEGIN, END, text)}")


if __name__ == "__main__":
    cli()
