"""Speed of the full weekly step: agent-steps per second at 1k, 10k and 100k agents.

    python -m experiments.benchmark_step                # default sizes, 5 repeats, median
    python -m experiments.benchmark_step --sizes 1000 --weeks 52 --repeats 3

Each measurement builds a default organisation (hierarchy generator, default behaviour),
then times ``weeks`` calls of ``model.step()`` — the draws, the dynamics and the weekly
record, everything a run does per week. Model construction is timed separately. Timings on a
shared machine are noisy, so each figure is the median of ``repeats`` runs.
"""

import argparse
import statistics
import time

from models.model import AdoptionModel

DEFAULT_SIZES = (1_000, 10_000, 100_000)


def measure(size: int, weeks: int, seed: int = 0) -> tuple[float, float]:
    """Seconds to build the model, and seconds for ``weeks`` steps."""
    t0 = time.perf_counter()
    model = AdoptionModel(org={"generator": "hierarchy", "size": size}, rng=seed)
    t1 = time.perf_counter()
    model.run(weeks)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--weeks", type=int, default=None, help="default: 260 (52 at ≥ 100k)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'agents':>9} {'weeks':>6} {'build s':>8} {'run s':>8} {'agent-steps/s':>14}")
    for size in args.sizes:
        weeks = args.weeks or (52 if size >= 100_000 else 260)
        builds, runs = zip(
            *(measure(size, weeks, seed) for seed in range(args.repeats)), strict=True
        )
        build, run = statistics.median(builds), statistics.median(runs)
        rate = size * weeks / run
        rows.append(
            {
                "agents": size,
                "weeks": weeks,
                "build_s": build,
                "run_s": run,
                "agent_steps_per_s": rate,
            }
        )
        print(f"{size:>9,} {weeks:>6} {build:>8.2f} {run:>8.3f} {rate:>14,.0f}")
    return rows


if __name__ == "__main__":
    main()
