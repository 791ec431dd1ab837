"""``sim.aggregate`` on a sweep folder built from real runs (no Hydra multirun, so it is fast):
weekly series in the table, one naming of metrics with summaries and ``simulate_many``, figures
that never put the seed on an axis and draw categories as points with intervals, ``--where``
and ``--facet``, axis labels with units."""

import json

import matplotlib
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

import sim
import sim.aggregate as agg
from models.errors import InputError
from models.registry import PARAMETERS
from sim.labels import label

matplotlib.use("Agg")
TINY = ["org.size=40", "weeks=12", "output.plot=false"]
GRID = [
    [f"champions.share={share}", f"org={org}", f"seed={seed}"]
    for share in (0.0, 0.1)
    for org in ("hierarchy", "small_world")
    for seed in (1, 2)
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A sweep folder as ``python -m sim -m`` writes it: one run folder per job."""
    folder = tmp_path_factory.mktemp("sweep")
    for job, overrides in enumerate(GRID):
        sim.simulate([*TINY, *overrides]).save(folder / str(job), plot=False)
    return folder


def test_weekly_series_land_in_a_job_by_week_table(sweep):
    out = agg.aggregate(sweep, draw=False, progress=False, weekly=True)
    weekly = pd.read_parquet(sweep / "sweep_weekly.parquet")
    assert len(weekly) == len(GRID) * 12
    front = ["job", "org.size", "weeks", "output.plot", "champions.share", "org", "seed", "week"]
    assert list(weekly.columns[: len(front)]) == front
    for job in (0, 5):
        own = pd.read_parquet(sweep / str(job) / "weekly.parquet")
        rows = weekly[weekly["job"] == job].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows[own.columns], own)
        assert rows["org"].unique().tolist() == [out["table"].loc[job, "org"]]
    assert (sweep / "sweep_weekly.csv").exists()
    assert sweep / "sweep_weekly.parquet" in out["written"]


def test_one_naming_of_metrics_in_summaries_sweeps_and_batches(sweep):
    table = agg.aggregate(sweep, draw=False, progress=False)["table"]
    summary = json.loads((sweep / "0" / "summary.json").read_text())
    assert all(not isinstance(v, dict) for v in summary.values())  # flat
    assert set(summary) - {"weeks"} <= set(table.columns)
    assert "net_value" in table and "final_adopter_share_connect" in table
    batch = sim.simulate_many([[*TINY, *GRID[0]]])
    assert set(summary) <= set(batch.columns)
    assert batch.loc[0, "net_value"] == table.loc[0, "net_value"]


def test_the_seed_is_never_an_axis(sweep):
    out = agg.aggregate(sweep, progress=False)
    assert out["axes"] == ("champions.share", "org", None)  # the heatmap skips the seed
    assert "seed" in out["swept"]
    assert agg.choose_axes(["seed", "a"], None, None, None) == ("a", None, None)
    assert agg.choose_axes(["seed"], None, None, None) == (None, None, None)
    for flag in ("x", "y", "by", "facet"):
        with pytest.raises(InputError, match=f"--{flag} seed is not allowed: .*replications"):
            agg.choose_axes(
                ["seed", "a", "b"], **{"x": None, "y": None, "by": None} | {flag: "seed"}
            )


def test_categories_are_points_with_intervals_and_numbers_lines_with_bands(sweep):
    table = agg.collect(sweep, progress=False)[0]
    fig = agg.figure(table, "net_value", "org", None, None)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1
    assert all(
        line.get_linestyle() == "None" for line in ax.get_lines() if len(line.get_xdata()) > 1
    )
    assert ax.get_xlabel() == label("org")
    fig = agg.figure(table, "net_value", "champions.share", None, "org")
    ax = fig.axes[0]
    joined = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(joined) == 2  # one line per organisation
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2  # bands
    assert ax.get_xlabel() == "champion share (share of non-managers)"
    assert ax.get_ylabel() == "net value (value − programme cost) (h)"
    assert "95% interval" in fig._suptitle.get_text()


def test_where_filters_and_facet_splits_the_figure(sweep):
    out = agg.aggregate(sweep, x="champions.share", facet="org", where=["seed=1"], progress=False)
    png = sweep / "long_run_value_vs_champions.share_facet_org_seed=1.png"
    assert png in out["written"] and png.stat().st_size > 5_000
    assert out["averaged"] == []  # the seed is fixed by --where: the figure averages nothing
    out = agg.aggregate(sweep, x="champions.share", facet="org", progress=False)
    assert out["averaged"] == ["seed"]
    table = agg.collect(sweep, progress=False)[0]
    kept = agg.filtered(table, ["seed=1", "champions.share=0.1"], ["champions.share", "seed"])
    assert kept["seed"].tolist() == [1, 1] and set(kept["champions.share"]) == {0.1}
    fig = agg.figure(kept, "net_value", "champions.share", None, None, facet="org")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["organisation = hierarchy", "organisation = small_world"]
    with pytest.raises(InputError, match="--where seed=9: no job has it; seed takes 1, 2"):
        agg.filtered(table, ["seed=9"], ["seed"])
    with pytest.raises(InputError, match="--where weeks=3: weeks is not an override"):
        agg.filtered(table, ["weeks=3"], ["champions.share", "seed"])


def test_the_command_takes_the_new_flags(sweep, capsys):
    assert agg.main([str(sweep), "--weekly", "--by", "org", "--where", "seed=2"]) == 0
    out = capsys.readouterr().out
    assert "sweep_weekly.parquet" in out and "_by_org_seed=2.png" in out
    assert agg.main([str(sweep), "--x", "seed"]) == 2
    assert "--x seed is not allowed" in capsys.readouterr().err


def test_labels_carry_units_from_the_registry():
    name, p = next(iter(PARAMETERS.items()))
    assert label(f"population.{name}") == (f"{name} ({p.unit})" if p.unit else name)
    assert label("long_run_value") == "long-run value (h)"
    assert label("scenario.interventions.mandate.cost_per_person") == (
        "mandate cost_per_person (h per person)"
    )
    assert label("final_adopter_share_solve").startswith("share of adopters at Solve")
    assert label("no.such.key") == "no.such.key"


def test_a_sweeps_figure_is_byte_identical_when_drawn_again(sweep, tmp_path):
    """Issue 18 item 5 for sweeps: no date and no random ids in the SVG
    (``sim.plots.save_figure``)."""
    table = agg.collect(sweep, progress=False)[0]
    drawn = [
        agg.plot(table, "net_value", "champions.share", None, "org", ["seed"], tmp_path / name)
        for name in ("first", "second")
    ]
    for first, second in zip(*drawn, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
