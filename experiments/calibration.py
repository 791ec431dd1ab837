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
import statistics
from pathlib import Path

from joblib import Parallel, delayed

from experiments.compare import available_scenarios
from sim.api import compose
from sim.replicate import Spec

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
KEYS = (
    "long_run_value",
    "value_last_year",
    "peak_active_share",
    "active_share_last_year",
    "adoption_value_gap",
    "cost_total",
)


def _summary(spec: Spec, seed: int) -> dict:
    model = spec.model(seed)
    model.run(spec.weeks)
    summary = model.summary()
    return {k: summary[k] for k in KEYS}


def measure(seeds=SEEDS, overrides: tuple[str, ...] = (), n_jobs: int = 2) -> dict[str, list]:
    """Each programme's summaries, one per seed (``overrides`` apply to every programme)."""
    names = [n for n in ORDER if n in available_scenarios()]
    names += sorted(set(available_scenarios()) - set(names))
    specs = {n: Spec.from_config(compose([*overrides, f"scenario={n}"]), n) for n in names}
    jobs = [(n, s) for n in names for s in seeds]
    out = Parallel(n_jobs=n_jobs)(delayed(_summary)(specs[n], s) for n, s in jobs)
    runs: dict[str, list] = {n: [] for n in names}
    for (n, _), summary in zip(jobs, out, strict=True):
        runs[n].append(summary)
    return runs


def _hours(x: float, step: int = 100) -> str:
    """Hours rounded to ``step``, thousands separated, with a typographic minus."""
    text = f"{round(x / step) * step:,.0f}"
    return text.replace("-", "−")


def table(runs: dict[str, list]) -> str:
    """The markdown table of §9."""
    lines = [
        "| programme | long-run value (min to max) | value in the last year | peak weekly active "
        "| weekly active, last year | adoption–value gap | cost | long-run value − cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, summaries in runs.items():

        def mean(key, summaries=summaries):
            return statistics.fmean(s[key] for s in summaries)

        values = [s["long_run_value"] for s in summaries]
        lines.append(
            f"| `{name}` | {_hours(mean('long_run_value'))} ({_hours(min(values))} to "
            f"{_hours(max(values))}) | {_hours(mean('value_last_year'))} | "
            f"{mean('peak_active_share'):.2f} | {mean('active_share_last_year'):.2f} | "
            f"{mean('adoption_value_gap'):.2f} | {_hours(mean('cost_total'), 1)} | "
            f"{_hours(mean('long_run_value') - mean('cost_total'))} |"
        )
    return "\n".join(lines)


def documented(docs: Path = DOCS) -> str:
    """The table as docs/MODEL.md has it."""
    text = docs.read_text(encoding="utf-8")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def update(new: str, docs: Path = DOCS) -> Path:
    text = docs.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    docs.write_text(f"{head}{BEGIN}\n{new}\n{END}{tail}", encoding="utf-8")
    return docs


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", action="store_true", help="rewrite the table in docs/MODEL.md")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    new = table(measure(n_jobs=args.jobs))
    print(new)
    if args.docs:
        print(f"wrote {update(new)}")


if __name__ == "__main__":
    cli()
