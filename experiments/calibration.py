"""The programme table of docs/MODEL.md §9, measured rather than typed:

    python -m experiments.calibration            # print the table
    python -m experiments.calibration --docs     # and rewrite it in docs/MODEL.md

Every named programme (conf/scenario/) at the defaults, seeds 0–9 — the runs
``sim.simulate(["scenario=<name>", "seed=<s>"])`` makes — summarised as means over the seeds
(long-run value with its range). ``tests/test_docs.py`` regenerates the table and compares it
with the documented one, so a change to the model that moves these numbers fails until the
table (and the reading of it in §9) is brought up to date.
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
BEGIN = "<!-- calibration:programmes:begin (python -m experiments.calibration --docs) -->"
END = "<!-- calibration:programmes:end -->"
SEEDS = tuple(range(10))
#: The baseline first, then the programmes in the order of §7.16.
ORDER = (
    "baseline",
    "mandate",
    "incentives",
    "adoption_drive",
    "champions",
    "sense_making",
    "mandate_and_sense_making",
    "drive_and_sense_making",
    "terry_five_elements",
    "connect_basf",
)


def measure(seeds=SEEDS, overrides: tuple[str, ...] = (), n_jobs: int = 2) -> pd.DataFrame:
    """One row per programme × seed with the run's summary (``overrides`` apply to every
    programme), programmes in the table's order."""
    names = [n for n in ORDER if n in available_scenarios()]
    names += sorted(set(available_scenarios()) - set(names))
    specs = [Spec.from_config(compose([*overrides, f"scenario={n}"]), n) for n in names]
    return run_replications(specs, list(seeds), n_jobs=n_jobs)[1]


def _hours(x: float, step: int = 100) -> str:
    """Hours rounded to ``step``, thousands separated, with a typographic minus."""
    text = f"{round(x / step) * step:,.0f}"
    return text.replace("-", "−")


def table(runs: pd.DataFrame) -> str:
    """The markdown table of §9: means over the seeds, with the range of long-run value."""
    lines = [
        "| programme | long-run value (min to max) | value in the last year | peak weekly active "
        "| weekly active, last year | adoption–value gap | cost | long-run value − cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.groupby("scenario", sort=False):
        mean = r.mean(numeric_only=True)
        value = r["long_run_value"]
        lines.append(
            f"| `{name}` | {_hours(mean['long_run_value'])} ({_hours(value.min())} to "
            f"{_hours(value.max())}) | {_hours(mean['value_last_year'])} | "
            f"{mean['peak_active_share']:.2f} | {mean['active_share_last_year']:.2f} | "
            f"{mean['adoption_value_gap']:.2f} | {_hours(mean['cost_total'], 1)} | "
            f"{_hours(mean['long_run_value'] - mean['cost_total'])} |"
        )
    return "\n".join(lines)


def documented(docs: Path = DOCS) -> str:
    """The table as docs/MODEL.md has it."""
    return block(docs, BEGIN, END)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="rewrite the table in docs/MODEL.md")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    new = table(measure(n_jobs=args.jobs))
    print(new)
    if args.docs:
        print(f"wrote {replace_block(DOCS, BEGIN, END, new)}")


if __name__ == "__main__":
    cli()
