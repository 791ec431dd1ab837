"""The scenario comparison (``python -m sim experiment=compare``): seeded replications with
common random numbers, the tables, statistics, figures and report it writes, and how it
refuses bad input.

The command-line cases are real subprocesses on a tiny organisation, started together by a
module-scoped fixture; the statistics are checked in-process against hand-worked examples and
against scipy.
"""

import base64
import json
import math
import re
import subprocess
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from conftest import RUN_FOLDER_NAME, run_cli, run_cli_many, write
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

import sim
from experiments import compare
from models.errors import InputError
from sim import figure_files, palette, plots, report, stats
from sim.csvfile import write_csv_and_parquet
from sim.posterior import Posterior
from sim.replicate import Spec, replication_seeds, run_one

SCENARIOS = ["baseline", "mandate", "incentives"]  # incentives end in week 52: an "after"
COMMON = ["org.size=80", "weeks=60", "seed=5"]
TINY = [
    "experiment=compare",
    *COMMON,
    "experiment.replications=3",
    f"experiment.scenarios=[{','.join(SCENARIOS)}]",
    "experiment.bootstrap=500",
]
R = 3
WEEKS = 60
FILES = {
    "weekly.parquet",
    "weekly.csv",
    "runs.parquet",
    "runs.csv",
    "summary.csv",
    "summary.md",
    "tests.csv",
    "seeds.csv",
    "programmes.csv",
    "departments.csv",
    "report.pdf",
    "config.yaml",
    "scenarios.yaml",
    "overrides.yaml",
    "provenance.json",
    "report.md",
    "report.html",
    *(f"{stem}.{ext}" for stem in report.FIGURES for ext in ("png", "svg")),
}


#: A programme file outside conf/: a quarterly campaign for the managers, from a building block.
PILOT = """# @package _global_
defaults:
  - /intervention@scenario.interventions.drive: campaign
scenario:
  name: pilot
  label: Managers' drive
  description: Quarterly events for the managers.
  interventions:
    drive:
      target: managers
      cadence: 13
"""
#: Variants, a folder of programmes, an assumption changed, money, equal windows.
VARIANTS = [
    *TINY[:-2],
    "experiment.replications=2",
    "experiment.scenarios=[mandate,m6,pilot]",
    "experiment.programmes={m6: {base: mandate, set: {interventions.mandate.end: 26, "
    "interventions.mandate.intensity: 0.8}, label: Six-month mandate}}",
    "experiment.equal_duration=30",
    "population.manager_leading=0",
    "report.hour_value=50",
    "report.currency=EUR",
]
#: A hand-made calibration ensemble: three weighted parameter sets.
ENSEMBLE = pd.DataFrame({"imitation_q": [0.2, 0.6, 1.2], "value_weight": [2.0, 3.0, 4.0]})
K, RK = 3, 2  # draws, seeds per draw
ENSEMBLED = [
    *TINY[:-2],
    "experiment.scenarios=[mandate]",
    f"experiment.replications={RK}",
    f"experiment.draws={K}",
    "population.value_weight=2.5",  # fixed by the command in every draw
]


def compare_job(args: list[str], base: Path, name: str, out: Path | None = None):
    """A ``run_cli`` job of ``python -m sim <args> experiment.dir=<out>``."""
    out = out or base / name / "results"
    return ([*args, f"experiment.dir={out}"], base / name, out)


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """The comparison with two workers and with one, and refused comparisons."""
    base = tmp_path_factory.mktemp("compare")
    a_file = write(base / "a_file", "not a folder\n")
    bad = {
        "unknown scenario": [*TINY, "experiment.scenarios=[baseline,mandatory]"],
        "no replications": [*TINY, "experiment.replications=0"],
        "scenario override": [*TINY, "scenario=mandate"],
        "several experiment errors": [*TINY, "experiment.jobs=0", "experiment.bootstrap=5"],
        "bad common setting": [*TINY, "weeks=0"],
    }
    jobs = {
        "main": compare_job(TINY, base, "main"),
        "serial": compare_job([*TINY, "experiment.jobs=1"], base, "serial"),
    }
    for name, args in bad.items():
        jobs[name] = compare_job(args, base, name.replace(" ", "_"))
    jobs["dir under a file"] = compare_job(TINY, base, "under_file", a_file / "compare")
    folder = base / "programmes"
    write(folder / "pilot.yaml", PILOT)
    jobs["variants"] = compare_job([*VARIANTS, f"experiment.programme_dir={folder}"], base, "var")
    ensemble = Posterior(ENSEMBLE.copy(), np.array([0.5, 0.3, 0.2])).save(base / "ens.parquet")
    jobs["ensemble"] = compare_job([*ENSEMBLED, f"calibration.path={ensemble}"], base, "ens")
    return run_cli_many(jobs)


def the_folder(run) -> Path:
    entries = list(run.out.iterdir())
    assert len(entries) == 1, f"expected one comparison folder, found {entries}"
    return entries[0]


@pytest.fixture(scope="module")
def folder(cli) -> Path:
    run = cli["main"]
    assert run.returncode == 0, run.text
    return the_folder(run)


@pytest.fixture(scope="module")
def tables(folder) -> dict[str, pd.DataFrame]:
    out = {name: pd.read_csv(folder / f"{name}.csv") for name in ("summary", "tests", "seeds")}
    out["weekly"] = pd.read_parquet(folder / "weekly.parquet")
    out["runs"] = pd.read_parquet(folder / "runs.parquet")
    return out


# --- the command line ---------------------------------------------------------------------


def test_compare_exits_0_prints_the_folder_and_writes_every_file(cli, folder):
    run = cli["main"]
    assert re.fullmatch(RUN_FOLDER_NAME, folder.name)  # and nothing else: no temporary folder
    assert run.stdout.strip().splitlines()[-1] == f"wrote {folder}"
    assert "Traceback" not in run.text
    assert {p.name for p in folder.iterdir()} == FILES
    assert list(run.cwd.iterdir()) == []  # nothing in the working directory
    assert f"{len(SCENARIOS) * R}/{len(SCENARIOS) * R}" in run.stderr  # the progress bar


def test_weekly_table_is_tidy_long_with_every_weekly_metric(tables, folder):
    weekly = tables["weekly"]
    assert list(weekly.columns[:4]) == ["scenario", "replication", "seed", "week"]
    assert set(sim.simulate([*COMMON, "weeks=2"]).weekly.columns) <= set(weekly.columns)
    assert len(weekly) == len(SCENARIOS) * R * WEEKS
    counts = weekly.groupby(["scenario", "replication"]).size()
    assert (counts == WEEKS).all() and len(counts) == len(SCENARIOS) * R
    assert list(dict.fromkeys(weekly["scenario"])) == SCENARIOS
    csv = pd.read_csv(folder / "weekly.csv")
    pd.testing.assert_frame_equal(csv, weekly, check_exact=False, rtol=1e-12, check_dtype=False)


def test_runs_table_has_every_summary_scalar_and_common_seeds(tables, folder):
    runs = tables["runs"]
    assert len(runs) == len(SCENARIOS) * R
    summary = sim.simulate([*COMMON, "weeks=2"]).summary
    scalars = {k for k, v in summary.items() if not isinstance(v, dict)}
    assert scalars <= set(runs.columns)
    assert {"final_adopter_share_connect", "final_adopter_share_innovate"} <= set(runs.columns)
    seeds = replication_seeds(5, R)
    for _, g in runs.groupby("scenario"):  # replication i of every scenario: the same seed
        assert g.sort_values("replication")["seed"].tolist() == seeds
    assert tables["seeds"]["seed"].tolist() == seeds
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "runs.csv"), runs, check_exact=False, rtol=1e-12, check_dtype=False
    )


def test_a_replication_is_reproduced_by_one_run_with_its_seed(tables):
    runs = tables["runs"]
    row = runs[(runs["scenario"] == "incentives") & (runs["replication"] == 1)].iloc[0]
    alone = sim.simulate([*COMMON, "scenario=incentives", f"seed={row['seed']}"]).summary
    for key in ("long_run_value", "peak_active_share", "cost_total", "value_after_window"):
        assert alone[key] == pytest.approx(row[key], rel=1e-12), key


def test_one_and_two_workers_give_identical_tables(cli, tables):
    serial = the_folder(cli["serial"])
    assert cli["serial"].returncode == 0, cli["serial"].text
    for name in ("weekly", "runs"):
        pd.testing.assert_frame_equal(pd.read_parquet(serial / f"{name}.parquet"), tables[name])
    for name in ("summary", "tests"):
        pd.testing.assert_frame_equal(pd.read_csv(serial / f"{name}.csv"), tables[name])
    assert (serial / "report.md").read_text() == (the_folder(cli["main"]) / "report.md").read_text()
    # Byte for byte, too (issue 8: reproducible across 1 and 2 workers).
    for name in ("weekly.parquet", "runs.parquet", "summary.csv", "tests.csv", "runs.csv"):
        assert (serial / name).read_bytes() == (the_folder(cli["main"]) / name).read_bytes(), name


def test_summary_has_means_and_cis_that_contain_them(tables):
    summary, runs = tables["summary"], tables["runs"]
    assert summary["scenario"].tolist() == SCENARIOS
    for metric in stats.METRICS:
        mean, low, high = (summary[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
        ok = mean.notna() & low.notna()
        assert ok.any() or metric.startswith("value_after_window"), metric
        assert (low[ok] <= mean[ok] + 1e-9).all() and (mean[ok] <= high[ok] + 1e-9).all(), metric
    by = runs.groupby("scenario", sort=False)
    assert np.allclose(summary["long_run_value_mean"], by["long_run_value"].mean())
    assert np.allclose(summary["cost_total_mean"], by["cost_total"].mean())
    assert np.allclose(summary["net_value_mean"], by["net_value"].mean())
    assert np.allclose(runs["net_value"], runs["long_run_value"] - runs["cost_total"])
    base = summary.set_index("scenario").loc["baseline"]
    assert base["cost_total_mean"] == 0 and math.isnan(base["gain_per_cost_mean"])
    assert math.isnan(base["beats_baseline"])
    assert math.isnan(base["value_after_window_mean"])  # no programme, no "after"
    inc = summary.set_index("scenario").loc["incentives"]
    assert inc["window_end"] == 52 and not math.isnan(inc["value_after_window_vs_baseline_mean"])
    assert math.isnan(summary.set_index("scenario").loc["mandate", "value_after_window_mean"])
    g = runs[runs["scenario"] == "incentives"].set_index("replication")
    b = runs[runs["scenario"] == "baseline"].set_index("replication")
    gain = g["long_run_value"] - b["long_run_value"]
    assert inc["gain_per_cost_mean"] == pytest.approx(gain.mean() / g["cost_total"].mean())
    assert inc["net_value_gain_mean"] == pytest.approx((g["net_value"] - b["net_value"]).mean())
    assert inc["beats_baseline"] == pytest.approx((g["net_value"] > b["net_value"]).mean())
    assert "value_per_cost_mean" not in summary.columns  # never a ratio of a negative value


def test_tests_are_paired_against_the_baseline_and_the_leader_and_holm_corrected(tables):
    tests, runs, summary = tables["tests"], tables["runs"], tables["summary"]
    leader = summary.loc[summary["net_value_mean"].idxmax(), "scenario"]
    against_leader = tests[tests["against"] == leader] if leader != "baseline" else tests[:0]
    tests = tests[tests["against"] == "baseline"]
    assert set(zip(tests["scenario"], tests["outcome"], strict=True)) == {
        (s, o) for s in SCENARIOS[1:] for o in stats.TESTED
    }
    if leader != "baseline":  # every other programme against the first, on net value
        assert set(against_leader["scenario"]) == set(SCENARIOS) - {leader}
        assert set(against_leader["outcome"]) == {"net_value"}
    assert np.allclose(stats.holm(tests["p_value"]), tests["p_holm"], equal_nan=True)
    assert (tests["distinguishable"] == (tests["p_holm"] < 0.05)).all()
    row = tests[(tests["scenario"] == "mandate") & (tests["outcome"] == "net_value")].iloc[0]
    net = runs.pivot(index="replication", columns="scenario", values="net_value")
    assert row["mean_difference"] == pytest.approx((net["mandate"] - net["baseline"]).mean())
    row = tests[(tests["scenario"] == "mandate") & (tests["outcome"] == "long_run_value")].iloc[0]
    lrv = runs.pivot(index="replication", columns="scenario", values="long_run_value")
    d = lrv["mandate"] - lrv["baseline"]
    assert row["mean_difference"] == pytest.approx(d.mean())
    assert row["p_value"] == pytest.approx(scipy.stats.wilcoxon(d).pvalue)
    assert row["higher_in"] == (d > 0).sum()
    after = tests[(tests["scenario"] == "incentives") & (tests["outcome"] == "value_after_window")]
    inc = tables["summary"].set_index("scenario").loc["incentives"]
    for suffix, column in (("mean", "mean_difference"), ("ci_low", "difference_ci_low")):
        assert after[column].iloc[0] == pytest.approx(
            inc[f"value_after_window_vs_baseline_{suffix}"]
        )
    # mandate runs past the horizon: nothing after it to test
    after = tests[(tests["scenario"] == "mandate") & (tests["outcome"] == "value_after_window")]
    assert after["p_value"].isna().all() and after["pairs"].eq(0).all()


def test_report_numbers_are_the_tables_numbers(folder, tables):
    md = (folder / "report.md").read_text()
    summary, tests = tables["summary"], tables["tests"]
    tests = tests[tests["against"] == "baseline"]
    sections = re.split(r"^### ", md, flags=re.M)
    for row in summary.itertuples(index=False):
        section = next(s for s in sections if s.startswith(f"{row.label} (`{row.scenario}`)"))
        assert f"Net value.** {row.net_value_mean:,.0f} h" in section
        assert f"Long-run value {row.long_run_value_mean:,.0f} h" in section
        lo, hi = row.long_run_value_ci_low, row.long_run_value_ci_high
        if f"{lo:,.0f}" != f"{hi:,.0f}":
            assert f"95% CI {lo:,.0f} to {hi:,.0f}" in section
        assert f"peaks at {row.peak_active_share_mean:.0%}" in section
        assert f"averages {row.active_share_last_year_mean:.0%} in the last year" in section
        assert f"{row.adoption_value_gap_mean:,.2f}" in section
        if row.cost_total_mean > 0:
            assert f"{row.cost_total_mean:,.0f} h" in section
            if row.value_gain_mean > 0:
                assert f"{row.gain_per_cost_mean:,.2f}" in section
            else:
                assert "**loses value**" in section
        for t in tests[tests["scenario"] == row.scenario].itertuples(index=False):
            if math.isnan(t.p_value):
                continue
            p = "p < 0.001" if t.p_holm < 0.001 else f"p = {t.p_holm:.3f}"
            assert f"Holm-corrected {p}" in section
            assert f"higher in {t.higher_in} of {t.pairs} replications" in section
    assert "Too few replications to tell" in md  # 3 pairs: the smallest p is 0.25
    # Every number in the findings is a number of the tables (or a count or rank).
    findings = md.split("## In short")[1].split("## How to read")[0]
    allowed = formatted(summary) | formatted(tests) | {"95%", *map(str, range(R + 2))}
    for number in re.findall(r"-?\d[\d,]*(?:\.\d+)?%?", findings):
        assert number.lstrip("-") in allowed, number


def formatted(table: pd.DataFrame) -> set[str]:
    out = set()
    for v in table.select_dtypes("number").to_numpy().ravel():
        if np.isfinite(v):
            for f in ("{:,.0f}", "{:,.1f}", "{:,.2f}", "{:.0%}", "{:.3f}"):
                out.add(f.format(abs(v)))
    return out


def test_report_html_is_one_file_with_its_figures_embedded(folder):
    page = (folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == len(report.FIGURES)
    for stem, source in zip(report.FIGURES, sources, strict=True):  # the PNG itself, inline
        assert source == "data:image/png;base64," + base64.b64encode(
            (folder / f"{stem}.png").read_bytes()
        ).decode("ascii")
    assert "<table>" in page and "<li>" in page and "http" not in page.split("<body>")[1]
    assert "Caveats" in page and "MODEL.md" in page
    pdf = (folder / "report.pdf").read_bytes()  # one page per figure, for slides
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == len(report.FIGURES)


def test_config_overrides_and_provenance_are_recorded(cli, folder):
    config = OmegaConf.load(folder / "config.yaml")
    assert config.experiment.replications == R and config.org.size == 80 and config.seed == 5
    scenarios = OmegaConf.load(folder / "scenarios.yaml")
    assert list(scenarios) == SCENARIOS
    assert scenarios.incentives.scenario.interventions.points.kind == "incentive"
    overrides = OmegaConf.load(folder / "overrides.yaml")
    assert overrides.common[: len(COMMON)] == COMMON  # (run_cli adds output.dir)
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["seed"] == 5 and prov["replication_seeds"] == replication_seeds(5, R)
    assert prov["overrides"][: len(TINY)] == TINY
    assert prov["scenarios"] == SCENARIOS
    assert {"numpy", "mesa", "scipy"} <= set(prov["versions"]) and "commit" in prov["git"]
    assert prov["seconds"]["simulation"] > 0


def test_figures_are_png_and_svg(folder):
    for stem in report.FIGURES:
        assert (folder / f"{stem}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert "<svg" in (folder / f"{stem}.svg").read_text()[:2000]


def test_each_figure_is_drawn_once_for_its_png_svg_and_pdf_page(tmp_path):
    """A ``Drawing`` draws a figure once and writes all three formats from it, laid out once
    (for the PNG): the SVG and the PDF page keep the PNG's positions."""
    import matplotlib.pyplot as plt

    drawn = []

    def draw(title):
        fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
        ax.plot([0, 1], [0, 1000])
        ax.set_title(title)
        ax.set_ylabel("hours")
        drawn.append(fig)
        return fig

    figures = {f"f{i}": partial(draw, f"figure {i}") for i in range(3)}
    drawing = figure_files.Drawing(tmp_path, "pages.pdf")
    drawing.send(figures)
    assert drawn == []  # without workers, drawn at the end
    paths = drawing.finish(list(figures))
    assert len(drawn) == 3
    names = {f"f{i}.{ext}" for i in range(3) for ext in ("png", "svg")} | {"pages.pdf"}
    assert sorted(p.name for p in paths) == sorted(names)
    assert {p.name for p in tmp_path.iterdir()} == names
    pdf = (tmp_path / "pages.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 3
    for i, fig in enumerate(drawn[:3]):
        assert f"figure {i}" in (tmp_path / f"f{i}.svg").read_text()
        assert (tmp_path / f"f{i}.png").read_bytes().startswith(b"\x89PNG")
        # laid out once: no layout engine is left to run again for the SVG or the page (not
        # even a placeholder, for which savefig would draw the whole figure once to no end)
        assert fig.get_layout_engine() is None
        alone = draw(f"figure {i}")  # the same figure laid out for a PNG alone
        alone.savefig(tmp_path / "alone.png", dpi=110)
        laid_out = fig.axes[0].get_position().bounds
        np.testing.assert_allclose(alone.axes[0].get_position().bounds, laid_out, atol=1e-6)
        # rounded to a millionth of the figure: the same numbers in every process, whatever
        # last bits the layout's solver ends with (the SVG's clip-path ids hash them)
        assert [round(v, plots.POSITION_DECIMALS) for v in laid_out] == list(laid_out)
        plt.close(alone)


def test_figures_are_drawn_in_the_order_sent_and_their_files_keep_the_order_asked(tmp_path):
    """The order in which figures are sent is the order in which they are drawn, not the order
    of the paths or of the PDF's pages: those follow the order ``finish`` is given."""
    from pypdf import PdfReader

    started = []

    def draw(title):
        started.append(title)
        return _titled(title)

    figures = {f"f{i}": partial(draw, f"figure {i}") for i in (2, 1, 0)}
    drawing = figure_files.Drawing(tmp_path, "pages.pdf")
    drawing.send(figures)
    paths = drawing.finish(sorted(figures))
    assert started == ["figure 2", "figure 1", "figure 0"]
    assert [p.name for p in paths] == [
        *(f"f{i}.{ext}" for i in range(3) for ext in ("png", "svg")),
        "pages.pdf",
    ]
    pages = PdfReader(tmp_path / "pages.pdf").pages
    assert [page.extract_text().split()[-1] for page in pages] == ["0", "1", "2"]


def _small_multiples_data(names=("baseline", "mandate", "champions", "sense_making")):
    """Bands and stage means of a few programmes over 20 weeks, as a comparison has them."""
    weeks = np.arange(1, 21)
    rows = []
    for k, name in enumerate(names):
        ramp = weeks / (weeks.max() + k)
        rows.append(
            pd.DataFrame(
                {
                    "scenario": name,
                    "week": weeks,
                    **{c: ramp for c in ("active_share", "adopted_share")},
                    "value_total": 900 * ramp,
                    "value_total_low": 800 * ramp,
                    "value_total_high": 1000 * ramp,
                    **{f"stage_{s}": ramp / 5 for s in plots.STAGE_NAMES},
                }
            )
        )
    return pd.concat(rows, ignore_index=True), palette.Style(
        dict(zip(names, [n.replace("_", " ") for n in names], strict=True)),
        palette.programme_colours(list(names)),
        "footer",
    )


@pytest.mark.parametrize("draw", ["comparison_over_time", "stage_composition"])
def test_small_multiples_titles_sit_where_matplotlib_would_place_them(tmp_path, monkeypatch, draw):
    """The panels' titles are given their place (``plots.TITLE_Y``), so Matplotlib does not
    work it out again, measuring each panel, at every drawing; it is the place Matplotlib
    finds itself: the PNG, SVG and PDF page are the same bytes."""
    table, style = _small_multiples_data()
    files = {}
    for placed in (True, False):
        if not placed:
            monkeypatch.setattr(plots, "TITLE_Y", None)  # Matplotlib's own placement
        fig = getattr(plots, draw)(table, style)
        titled = [ax for ax in fig.axes if ax.get_title()]
        assert len(titled) == {"comparison_over_time": 3, "stage_composition": 4}[draw]
        # (private, but the one sign of whether Matplotlib will place the title itself)
        assert {ax._autotitlepos for ax in titled} == {not placed}
        stem = tmp_path / f"{draw}_{placed}"
        plots.save_figure(fig, stem)
        fig.savefig(stem.with_suffix(".pdf"), format="pdf", metadata={"CreationDate": None})
        files[placed] = [stem.with_name(f"{stem.name}{ext}").read_bytes() for ext in FORMATS]
    svg = FORMATS.index(".svg")
    files[False][svg] = files[False][svg].replace(b"_False", b"_True")  # (its own file name)
    assert files[True] == files[False]


FORMATS = (".png", ".svg", ".pdf")


def _titled(title: str):
    """A small figure (here, not in a test: worker processes import it to draw it)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    ax.plot([0, 1], [0, 1000])
    ax.set_title(title)
    return fig


def test_figures_drawn_by_workers_are_the_files_drawn_here_and_pages_keep_their_order(tmp_path):
    """With worker processes each figure is drawn whole in one of them while this process goes
    on, the figures sent in rounds (as their data are ready); the files are the same bytes as
    those drawn here, and the PDF's pages, joined from one file a figure, come in the order
    ``finish`` asks for, not the order they were sent or finished."""
    from pypdf import PdfReader

    figures = {f"f{i}": partial(_titled, f"figure {i}") for i in (3, 1, 2, 0)}
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    alone = figure_files.Drawing(here, "pages.pdf")
    alone.send(figures)
    alone.finish(list(figures))
    drawing = figure_files.Drawing(there, "pages.pdf", 2)
    drawing.send({stem: figures[stem] for stem in ("f2", "f0")})
    drawing.send({stem: figures[stem] for stem in ("f3", "f1")})
    paths = drawing.finish(list(figures))
    assert sorted(p.name for p in there.iterdir()) == sorted(p.name for p in paths)
    assert sorted(p.name for p in here.iterdir()) == sorted(p.name for p in paths)
    for path in here.iterdir():
        assert (there / path.name).read_bytes() == path.read_bytes(), path.name
    pages = PdfReader(there / "pages.pdf").pages
    assert [page.extract_text().split()[-1] for page in pages] == ["3", "1", "2", "0"]


# --- refused comparisons ------------------------------------------------------------------


def assert_refused(run, *patterns) -> None:
    assert run.returncode == 2, run.text
    assert run.stderr.startswith("error: ") and run.stderr.count("error:") == 1, run.stderr
    assert "Traceback" not in run.text and run.stdout == ""
    for pattern in patterns:
        assert re.search(pattern, run.stderr), f"{pattern!r} not in:\n{run.stderr}"
    assert list(run.cwd.iterdir()) == []


def test_unknown_scenario_lists_the_programmes(cli):
    run = cli["unknown scenario"]
    assert_refused(run, r"experiment\.scenarios: 'mandatory' is not a programme", "sense_making")
    for name in compare.available_scenarios():
        assert name in run.stderr
    assert not run.out.exists()


def test_zero_replications_are_refused(cli):
    run = cli["no replications"]
    assert_refused(run, r"experiment\.replications=0 is not allowed: it must be at least 1")
    assert not run.out.exists()


def test_unwritable_experiment_dir_is_refused_and_nothing_written(cli):
    run = cli["dir under a file"]
    assert_refused(run, r"experiment\.dir=\S+a_file/compare'? cannot be written", "not a folder")
    assert run.out.parent.read_text() == "not a folder\n"  # the file in the way is untouched
    assert [p.name for p in run.cwd.parent.iterdir()] == ["cwd"]


def test_scenario_override_points_to_experiment_scenarios(cli):
    assert_refused(cli["scenario override"], r"scenario=mandate", r"experiment\.scenarios")


def test_several_experiment_errors_come_in_one_message(cli):
    run = cli["several experiment errors"]
    assert_refused(run, r"experiment\.jobs=0 is not allowed", r"experiment\.bootstrap=5 is not")


def test_bad_common_setting_is_refused_before_any_run(cli):
    assert_refused(cli["bad common setting"], r"weeks=0 is not allowed")
    assert not cli["bad common setting"].out.exists()


# --- in-process: seeds, common random numbers, no state in workers -------------------------


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    # champions: another champion share and rule in its file — the network must still be shared
    return {
        n: Spec.from_config(sim.compose([*COMMON, f"scenario={n}"]), n)
        for n in ("baseline", "champions", "mandate")
    }


def test_replication_seeds_are_spawned_independent_and_prefix_stable():
    children = np.random.SeedSequence(7).spawn(5)
    assert replication_seeds(7, 5) == [int(c.generate_state(1)[0]) for c in children]
    assert len(set(replication_seeds(7, 50))) == 50
    assert replication_seeds(7, 3) == replication_seeds(7, 5)[:3]
    assert replication_seeds(8, 3) != replication_seeds(7, 3)


def test_crn_pairs_share_the_network_and_replications_differ(specs):
    s0, s1 = replication_seeds(0, 2)
    a, b = specs["baseline"].model(s0), specs["champions"].model(s0)
    other = specs["baseline"].model(s1)
    for x in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(a.org.adjacency, x), getattr(b.org.adjacency, x))
    assert np.array_equal(a.org.department, b.org.department)
    assert np.array_equal(a.org.manager_of, b.org.manager_of)
    assert (a.org.adjacency != other.org.adjacency).nnz > 0  # another replication, another org
    # the champions programme picks other people (5% bridging, not 2.5% random) on that network
    assert a.traits.role.tolist() != b.traits.role.tolist()


def test_replications_are_independent_and_workers_keep_no_state(specs):
    spec = specs["mandate"]
    s0, s1 = replication_seeds(0, 2)
    first, summary = run_one(spec, 0, s0)
    run_one(specs["baseline"], 1, s1)  # another job in between changes nothing
    again, summary_again = run_one(spec, 0, s0)
    pd.testing.assert_frame_equal(first, again)
    assert summary == summary_again
    other, _ = run_one(spec, 1, s1)
    assert not np.array_equal(first["active_share"], other["active_share"])
    assert (first["seed"] == s0).all() and (other["replication"] == 1).all()


# --- in-process: statistics ----------------------------------------------------------------


def test_holm_matches_a_hand_worked_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → max so far 0.06
    assert np.allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    # step-down monotonicity: 0.01·3, 0.02·2, 0.03·1 → 0.03, 0.04, max(0.03, 0.04) = 0.04
    assert np.allclose(stats.holm([0.03, 0.01, 0.02]), [0.04, 0.03, 0.04])
    assert np.allclose(stats.holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    got = stats.holm([np.nan, 0.2, 0.01])  # NaN: not a test, not counted
    assert math.isnan(got[0]) and np.allclose(got[1:], [0.2, 0.02])
    assert stats.holm([]).size == 0


def test_bootstrap_ci_contains_the_mean_is_seeded_and_matches_scipy():
    x = np.random.default_rng(1).normal(10, 3, size=30)
    mean, low, high = stats.bootstrap_ci(x, 2000, np.random.default_rng(4))
    assert mean == pytest.approx(x.mean()) and low < mean < high
    assert stats.bootstrap_ci(x, 2000, np.random.default_rng(4)) == (mean, low, high)
    assert stats.bootstrap_ci(x, 2000, stats.rng_for(0, "a", "b")) == stats.bootstrap_ci(
        x, 2000, stats.rng_for(0, "a", "b")
    )
    assert stats.bootstrap_ci(x, 2000, stats.rng_for(1, "a", "b")) != stats.bootstrap_ci(
        x, 2000, stats.rng_for(0, "a", "b")
    )
    ref = scipy.stats.bootstrap(
        (x,), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(4)
    ).confidence_interval
    assert (low, high) == pytest.approx((ref.low, ref.high), rel=1e-12)
    assert stats.bootstrap_ci([3.0, 3.0, 3.0], 500, np.random.default_rng(0)) == (3.0, 3.0, 3.0)
    one = stats.bootstrap_ci([3.0], 500, np.random.default_rng(0))
    assert one[0] == 3.0 and math.isnan(one[1]) and math.isnan(one[2])
    band_mean, band_low, band_high = stats.bootstrap_bands(
        np.column_stack([x, 2 * x]), 2000, np.random.default_rng(4)
    )
    assert (band_low[0], band_high[0]) == pytest.approx((low, high))
    assert (band_low[1], band_high[1]) == pytest.approx((2 * low, 2 * high))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([0.0, 1.0, -1.0, 2.5]),
        min_size=1,
        max_size=60,
    )
)
def test_the_paired_test_gives_scipys_statistic_and_p_value_to_the_bit(differences):
    """Exact where SciPy is exact (at most 50 differences, no zeros, no tied sizes: computed
    here, without importing scipy.stats), SciPy's own method otherwise: the same numbers."""
    d = np.array(differences)
    mine = stats.paired_test(d, np.zeros_like(d))
    if not d.any():
        assert mine == (0.0, 1.0)
        return
    theirs = scipy.stats.wilcoxon(d)
    assert mine == (float(theirs.statistic), float(theirs.pvalue))
    exact = len(d) <= 50 and d.all() and len(np.unique(np.abs(d))) == len(d)
    assert (stats.signed_rank_exact(d) is not None) == exact


def test_paired_test_and_ratio_of_means():
    assert stats.paired_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == (0.0, 1.0)
    x = np.arange(20.0)
    assert stats.paired_test(x + 5, x)[1] < 0.001
    assert stats.paired_test(x + 5, x)[1] == pytest.approx(scipy.stats.wilcoxon(x + 5 - x).pvalue)
    ratio, low, high = stats.bootstrap_ratio_ci([10.0, 20, 30], [1.0, 2, 3], 500, stats.rng_for(0))
    assert (ratio, low, high) == pytest.approx((10.0, 10.0, 10.0))
    assert math.isnan(stats.bootstrap_ratio_ci([1.0, 2], [0.0, 0], 500, stats.rng_for(0))[0])


def test_value_after_the_window_is_compared_over_the_same_weeks():
    weeks = np.arange(1, 11)
    weekly = pd.concat(
        [
            pd.DataFrame(
                {
                    "scenario": "baseline",
                    "replication": 0,
                    "week": weeks,
                    "value_total": weeks * 1.0,
                }
            ),
            pd.DataFrame(
                {"scenario": "drive", "replication": 0, "week": weeks, "value_total": 100.0}
            ),
        ]
    )
    runs = pd.DataFrame(
        {
            "scenario": ["baseline", "drive"],
            "replication": [0, 0],
            "window_end": [0, 4],
            "value_after_window": [5.5, 100.0],
        }
    )
    out = stats.add_same_weeks_baseline(runs, weekly).set_index("scenario")
    # drive ends in week 4: the baseline over weeks 5..10 (what is left of the year) has mean 7.5
    assert out.loc["drive", "baseline_value_same_weeks"] == 7.5
    assert out.loc["drive", "value_after_window_vs_baseline"] == 92.5
    assert math.isnan(out.loc["baseline", "value_after_window_vs_baseline"])


# --- in-process: the folder is written whole or not at all ---------------------------------


def test_the_analysis_runs_its_matrix_products_in_one_thread(tmp_path, monkeypatch):
    """The bootstrap's BLAS runs in one thread while the analysis runs (the comparison's
    workers use the other CPUs), and as many as before afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen = []
    bands = stats.weekly_bands

    def watched(*args, **kwargs):
        seen.append(blas_threads())
        return bands(*args, **kwargs)

    monkeypatch.setattr(stats, "weekly_bands", watched)
    overrides = [*TINY[:-2], "experiment.scenarios=[baseline]", "experiment.replications=2"]
    overrides += ["experiment.jobs=1", "weeks=10", f"experiment.dir={tmp_path}/out"]
    with threadpool_limits(2, user_api="blas"):  # two, whatever the machine's default
        compare.main(sim.compose(overrides), overrides)
        assert blas_threads() == {2}
    assert seen == [{1}]


def test_with_workers_the_figures_are_drawn_during_the_analysis_the_slowest_early(
    tmp_path, monkeypatch
):
    """With two workers, the weekly table's files and the figures that need no analysis (each
    run's adoption against its net value, the quicker, then the stage mix) are sent as the
    analysis starts; the small multiples, the slowest figure, as soon as their bands are
    worked out, before the rest of the analysis; the other figures when it is done, the
    slower first. The report has every figure once."""
    events = []
    start, send = compare.in_a_worker, figure_files.Drawing.send
    bands_of, analyse = compare.bands_of, compare.analyse

    def recorded(n_jobs, task, *args):
        events.append(task)
        return start(n_jobs, task, *args)

    def sent(self, figures):
        events.append(list(figures))
        return send(self, figures)

    def banded(*args):
        events.append("bands")
        return bands_of(*args)

    def analysed(*args):
        events.append("analyse")
        return analyse(*args)

    monkeypatch.setattr(compare, "in_a_worker", recorded)
    monkeypatch.setattr(figure_files.Drawing, "send", sent)
    monkeypatch.setattr(compare, "bands_of", banded)
    monkeypatch.setattr(compare, "analyse", analysed)
    overrides = [*TINY[:-2], "experiment.scenarios=[baseline]", "experiment.replications=2"]
    overrides += ["experiment.jobs=2", "weeks=10", f"experiment.dir={tmp_path}/out"]
    folder = compare.main(sim.compose(overrides), overrides)
    assert events == [
        write_csv_and_parquet,
        ["adoption_vs_value", "stage_composition"],
        "bands",
        ["adoption_value_over_time"],
        "analyse",
        ["cost_and_gain", "net_value"],
    ]
    assert sorted(p.stem for p in folder.glob("*.png")) == sorted(report.FIGURES)


def test_with_workers_only_they_load_matplotlib_and_nobody_scipys_statistics_or_hydra(tmp_path):
    """The process that runs a comparison with workers sends them its figures by name and
    never imports Matplotlib (0.3 s of CPU); they draw the figures. Its tests are exact
    signed-rank tests, computed without scipy.stats (0.5 s). Nothing it sends its workers has
    them import Hydra or the study's module (0.15 s each, before the weekly table's files could
    start)."""
    overrides = [*TINY[:-2], "experiment.scenarios=[baseline]", "experiment.replications=2"]
    overrides += ["experiment.jobs=2", "weeks=10", f"experiment.dir={tmp_path}/out"]
    script = (
        "import os, sys, time, sim; from experiments import compare; "
        "from joblib import Parallel, delayed\n"
        "def loaded():\n"
        "    time.sleep(0.2)  # long enough for both workers to take one\n"
        f"    return os.getpid(), tuple(m for m in {WATCHED!r} if m in sys.modules)\n"
        f"folder = compare.main(sim.compose({overrides!r}), {overrides!r}); "
        "print(sorted(p.name for p in folder.glob('*.png')), "
        "'matplotlib' in sys.modules, 'scipy.stats' in sys.modules); "
        "print(sorted(set(Parallel(n_jobs=2)(delayed(loaded)() for _ in range(6)))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    *_, figures, workers = done.stdout.strip().splitlines()
    assert figures.split("] ")[-1].strip() == "False False", done.stdout
    assert "net_value.png" in figures  # the figures were drawn, by the workers
    seen = eval(workers)  # (worker, the modules of interest it has loaded), each worker
    assert len({pid for pid, _ in seen}) == 2, seen
    assert all(modules == ("matplotlib",) for _, modules in seen), seen


#: Modules a comparison's workers should load (Matplotlib, to draw) or not (the rest).
WATCHED = ("matplotlib", "hydra", "omegaconf", "experiments.compare", "scipy.stats")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failure_while_writing_leaves_nothing(tmp_path, monkeypatch, jobs):
    """Also with workers still drawing the figures sent before the failure: they are waited
    for before the unfinished folder is removed."""
    overrides = [*TINY[:-2], "experiment.scenarios=[baseline]", "experiment.replications=2"]
    overrides += [f"experiment.jobs={jobs}", "weeks=10", f"experiment.dir={tmp_path}/out"]
    cfg = sim.compose(overrides)

    def boom(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(compare, "figures_after_analysis", boom)
    with (
        warnings.catch_warnings(record=True) as warned,
        pytest.raises(RuntimeError, match="disk on fire"),
    ):
        warnings.simplefilter("always")
        compare.main(cfg, overrides)
    # the figures sent before the failure were drawn to the end, not cancelled as it unwound
    assert not [w for w in warned if "still being processed" in str(w.message)]
    # No results folder, not even a hidden temporary one: only the completed replications,
    # saved for a re-run (sim.resume), in the hidden .partial/.
    assert [p.name for p in (tmp_path / "out").iterdir()] == [".partial"]
    # a file an ensemble: the two runs in one, or one a worker
    assert len(list((tmp_path / "out" / ".partial").glob("*.parquet"))) == jobs
    monkeypatch.undo()
    folder = compare.main(cfg, overrides)
    assert folder.parent == tmp_path / "out" and (folder / "report.md").exists()
    assert list((tmp_path / "out").iterdir()) == [folder]  # the saved runs were used, then removed


def test_input_errors_in_process_name_the_key():
    cfg = sim.compose([*TINY, "experiment.replications=-1"])
    with pytest.raises(InputError, match=r"experiment\.replications=-1"):
        compare.main(cfg, [*TINY, "experiment.replications=-1"])


def test_markdown_to_html_handles_the_reports_constructs():
    page = report.markdown_to_html(
        "# T\n\nSome **bold** and *it* and `code` <b>.\n\n- one\n- two\n\n"
        "| a | b |\n|---|---:|\n| x | 1 |\n\n![fig](f.png)\n",
        "title",
    )
    assert "<h1>T</h1>" in page and "<strong>bold</strong>" in page and "<em>it</em>" in page
    assert "<code>code</code>" in page and "&lt;b&gt;" in page
    assert page.count("<li>") == 2 and '<td class="num">1</td>' in page
    assert '<img src="f.png" alt="fig">' in page


def test_programmes_default_to_all_with_the_baseline_first_and_always_there(tmp_path):
    def names(*overrides):
        cfg = sim.compose(["experiment=compare", *overrides])
        programmes, added = compare.programme_list(cfg)
        return [p.name for p in programmes], added

    every = compare.available_scenarios()
    assert len(every) >= 10 and "baseline" in every
    assert names() == (["baseline", *(n for n in every if n != "baseline")], False)
    assert names("experiment.scenarios=[mandate,sense_making,mandate]") == (
        ["baseline", "mandate", "sense_making"],
        True,
    )
    # programmes a user adds elsewhere never join the default comparison: given them, the
    # comparison is theirs (and the baseline)
    write(tmp_path / "mine.yaml", "# @package _global_\nscenario:\n  name: mine\n")
    assert names(f"experiment.programme_dir={tmp_path}") == (["baseline", "mine"], True)
    variant = "experiment.programmes={m6: {base: mandate, set: {interventions.mandate.end: 26}}}"
    assert names(variant) == (["baseline", "m6"], True)
    assert names(variant, "experiment.scenarios=[mandate,m6]") == (
        ["baseline", "mandate", "m6"],
        True,
    )
    assert names() == (["baseline", *(n for n in every if n != "baseline")], False)
    assert compare.common_overrides(
        ["experiment=compare", "experiment.jobs=1", "+experiment.x=1", "org.size=9", "seed=2"]
    ) == ["org.size=9", "seed=2"]


def test_an_experiment_that_does_not_exist_is_refused(tmp_path):
    run = run_cli(["experiment=nonexistent", "org.size=50", "weeks=2"], tmp_path)
    assert run.returncode != 0
    assert "experiment/nonexistent" in run.text and "compare" in run.text
    assert "Traceback" not in run.text
    assert not run.out.exists() and not any(run.cwd.iterdir())


# --- programme variants, folders, assumptions, money, equal windows --------------------------


@pytest.fixture(scope="module")
def varied(cli) -> Path:
    run = cli["variants"]
    assert run.returncode == 0, run.text
    return the_folder(run)


def test_variants_and_programme_files_run_beside_the_shipped_programmes(varied):
    runs = pd.read_parquet(varied / "runs.parquet")
    assert list(dict.fromkeys(runs["scenario"])) == ["baseline", "mandate", "m6", "pilot"]
    configs = OmegaConf.load(varied / "scenarios.yaml")
    m6 = configs.m6.scenario
    assert m6.interventions.mandate.intensity == 0.8  # the variant's setting
    assert configs.mandate.scenario.interventions.mandate.intensity == 0.5  # its base unchanged
    assert m6.label == "Six-month mandate" and "Changed: interventions.mandate.end" in (
        m6.description
    )
    pilot = configs.pilot.scenario.interventions.drive  # the file, with its building block
    assert pilot.kind == "campaign" and pilot.target == "managers" and pilot.cadence == 13
    table = pd.read_csv(varied / "programmes.csv").set_index("scenario")
    assert table.loc["m6", "base"] == "mandate" and "end=26" in table.loc["m6", "settings"]
    assert table.loc["pilot", "file"].endswith("pilot.yaml")


def test_equal_duration_runs_every_intervention_the_same_weeks(varied):
    configs = OmegaConf.load(varied / "scenarios.yaml")
    for name in ("mandate", "m6", "pilot"):
        for iv in configs[name].scenario.interventions.values():
            assert iv.end == iv.start + 30 - 1, (name, iv)
    runs = pd.read_parquet(varied / "runs.parquet")
    assert (runs.loc[runs["scenario"] != "baseline", "window_end"] == 30).all()
    changes = pd.read_csv(varied / "programmes.csv").set_index("scenario")["changes"]
    assert "mandate ends in week 30 (was week 26)" in changes["m6"]


def test_report_opens_with_the_changed_assumptions_labels_and_money(varied):
    md = (varied / "report.md").read_text()
    assumed = md.split("## What was assumed")[1].split("## In short")[0]
    default = sim.compose([]).population.manager_leading
    assert f"`population.manager_leading` = 0 (default {default})" in assumed
    assert "replication noise only" in assumed and "Equal duration" in assumed
    assert "Six-month mandate (`m6`)" in assumed and "Managers' drive (`pilot`)" in assumed
    assert "one hour of work is valued at 50 EUR" in assumed
    short = md.split("## In short")[1].split("## How to read")[0]
    assert "net value, EUR" in short and " EUR |" in short
    # figures: human labels and the changed assumption in every one, one colour per programme
    colours = palette.programme_colours(["baseline", "mandate", "m6", "pilot"])
    for stem in report.FIGURES:
        svg = (varied / f"{stem}.svg").read_text()
        assert "population.manager_leading=0" in svg, stem
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
        assert not any(re.search(r"\bm6\b", t) for t in texts), stem  # labels, not names
        if stem != "cost_and_gain":  # the gain panel leaves out programmes that lose value
            assert "Six-month mandate" in svg and colours["m6"] in svg, stem


def test_colours_follow_the_programme_not_its_position():
    alone = palette.programme_colours(["baseline", "mandate"])
    crowd = palette.programme_colours(["baseline", "sense_making", "incentives", "mandate"])
    assert alone["mandate"] == crowd["mandate"] and alone["baseline"] == palette.REFERENCE_COLOUR
    many = palette.programme_colours(["baseline", *(f"p{i}" for i in range(12))])
    assert len(set(many.values())) == 13  # no two programmes of a study share a colour


def test_the_programmes_palette_is_matplotlibs_tab10_and_dark2_without_greys():
    import matplotlib
    import matplotlib.pyplot as plt

    maps = (*plt.get_cmap("tab10").colors, *plt.get_cmap("Dark2").colors)
    expected = tuple(matplotlib.colors.to_hex(c) for c in maps if not c[0] == c[1] == c[2])
    assert palette.PALETTE == expected


# --- parameter uncertainty: a calibration ensemble -------------------------------------------


@pytest.fixture(scope="module")
def ensembled(cli) -> Path:
    run = cli["ensemble"]
    assert run.returncode == 0, run.text
    return the_folder(run)


def test_an_ensemble_runs_k_draws_times_r_seeds_with_common_random_numbers(ensembled):
    runs = pd.read_parquet(ensembled / "runs.parquet")
    assert len(runs) == 2 * K * RK and set(runs["draw"]) == set(range(K))
    seeds = replication_seeds(5, K * RK)
    for _, g in runs.groupby("scenario"):  # the same draw and seed for every programme
        g = g.sort_values("replication")
        assert g["seed"].tolist() == seeds
        assert g["draw"].tolist() == [i // RK for i in range(K * RK)]
    draws = pd.read_csv(ensembled / "draws.csv")
    assert list(draws.columns) == ["draw", "imitation_q"]  # value_weight: fixed by the command
    # a run is its draw's parameters with its seed: one plain run reproduces it
    row = runs[(runs["scenario"] == "mandate") & (runs["replication"] == RK)].iloc[0]
    q = draws.loc[draws["draw"] == 1, "imitation_q"].iloc[0]
    alone = sim.simulate(
        [
            *COMMON,
            "scenario=mandate",
            f"seed={row['seed']}",
            f"population.imitation_q={q}",
            "population.value_weight=2.5",
        ]
    ).summary
    assert alone["net_value"] == pytest.approx(row["net_value"], rel=1e-12)


def test_an_ensemble_gives_the_probability_of_beating_the_baseline_over_draws(ensembled):
    runs = pd.read_parquet(ensembled / "runs.parquet")
    summary = pd.read_csv(ensembled / "summary.csv").set_index("scenario")
    tests = pd.read_csv(ensembled / "tests.csv")
    net = runs.pivot(index="replication", columns="scenario", values="net_value")
    per_draw = (net["mandate"] - net["baseline"]).groupby(np.arange(K * RK) // RK).mean()
    assert summary.loc["mandate", "beats_baseline"] == pytest.approx((per_draw > 0).mean())
    row = tests[(tests["scenario"] == "mandate") & (tests["outcome"] == "net_value")].iloc[0]
    assert row["paired_by"] == "parameter draw" and row["pairs"] == K
    low, high = np.percentile(per_draw, [2.5, 97.5])
    assert (row["difference_ci_low"], row["difference_ci_high"]) == pytest.approx((low, high))
    assert row["distinguishable"] == (low > 0 or high < 0)
    draw_means = runs[runs["scenario"] == "mandate"].groupby("draw")["net_value"].mean()
    assert summary.loc["mandate", "net_value_ci_low"] == pytest.approx(
        np.percentile(draw_means, 2.5)
    )
    md = (ensembled / "report.md").read_text()
    assumed = md.split("## In short")[0]
    assert "ens.parquet" in assumed and f"{K} sets drawn" in assumed
    assert "replication noise only" not in assumed and "value_weight" in assumed
    assert "P(beats baseline)" in md and "of the parameter draws" in md


# --- refused settings, in-process (before any run) -------------------------------------------

REFUSED = [
    (
        ["experiment.programmes={m: {base: mandat}}"],
        r"experiment\.programmes\.m\.base='mandat' is not a programme",
    ),
    (
        ["experiment.programmes={m: {base: mandate, sett: {}}}"],
        r"experiment\.programmes\.m\.sett: not a key of a variant; its keys are base, set, "
        r"label, description",
    ),
    (["experiment.programmes={mandate: {base: mandate}}"], r"'mandate' is already a programme"),
    (
        ["experiment.programmes={m: {base: mandate, set: {interventions.mandat.end: 3}}}"],
        r"set\.interventions\.mandat\.end: programme 'mandate' has no such setting; its "
        r"settings are interventions\.mandate\.\{kind,start,end",
    ),
    (
        ["experiment.programmes={m: {base: mandate, set: {interventions.mandate.end: soon}}}"],
        r"set\.interventions\.mandate\.end='soon' is not allowed",
    ),
    (
        ["experiment.programmes={m: {base: mandate, set: {interventions.mandate.end: -3}}}"],
        r"scenario\.interventions\.mandate\.end=-3 is not allowed",
    ),
    (
        ["experiment.programmes={m: {base: mandate, set: {weeks: 3}}}"],
        r"set\.weeks: a variant sets interventions\.<name>\.<field> or champions",
    ),
    (
        ["experiment.programme_dir=/no/such/folder"],
        r"experiment\.programme_dir='/no/such/folder': no such folder",
    ),
    (
        ["experiment.equal_duration=500"],
        r"experiment\.equal_duration=500 is not allowed: .* from 1 to the horizon \(60\)",
    ),
    (
        ["experiment.equal_cost=-1"],
        r"experiment\.equal_cost=-1(\.0)? is not allowed: it must be a positive number",
    ),
    (["experiment.draws=0"], r"experiment\.draws=0 is not allowed"),
    (["report.currency=EUR"], r"report\.currency='EUR' needs report\.hour_value"),
    (["report.hour_value=-5"], r"report\.hour_value=-5(\.0)? is not allowed"),
    (["budget=10000"], r"budget=10000(\.0)? means nothing here: .* experiment=optimise"),
    (["calibration.path=/no/such.parquet"], r"calibration\.path='/no/such\.parquet': no such file"),
]


@pytest.mark.parametrize(("extra", "pattern"), REFUSED)
def test_bad_programmes_and_settings_are_refused_with_the_key(extra, pattern, tmp_path):
    overrides = [*TINY[:-2], *extra, f"experiment.dir={tmp_path / 'out'}"]
    with pytest.raises(InputError, match=pattern):
        compare.main(sim.compose(overrides), overrides)
    assert not (tmp_path / "out").exists()


def test_scenario_overrides_point_to_variants():
    with pytest.raises(InputError, match=r"varies a programme with a named variant, e\.g\."):
        compare.common_overrides(["+scenario.interventions.mandate.end=26"])


def test_a_programme_file_named_like_a_shipped_one_is_refused(tmp_path):
    write(tmp_path / "mandate.yaml", "# @package _global_\n")
    cfg = sim.compose(["experiment=compare", f"experiment.programme_dir={tmp_path}"])
    with pytest.raises(InputError, match=r"mandate\.yaml has the name of a shipped programme"):
        compare.programme_list(cfg)


# --- equal cost ------------------------------------------------------------------------------


def test_equal_cost_scales_each_programme_to_the_same_mean_cost(tmp_path):
    target = 40.0
    overrides = [
        *COMMON[:-1],
        "weeks=30",
        "seed=3",
        "experiment=compare",
        "experiment.replications=2",
        "experiment.scenarios=[mandate,sense_making]",
        "experiment.jobs=1",
        f"experiment.equal_cost={target}",
        "experiment.pilots=2",
        "experiment.bootstrap=100",
        f"experiment.dir={tmp_path}",
        "output.progress=false",
    ]
    folder = compare.main(sim.compose(overrides), overrides)
    table = pd.read_csv(folder / "programmes.csv").set_index("scenario")
    runs = pd.read_parquet(folder / "runs.parquet")
    for name in ("mandate", "sense_making"):
        assert table.loc[name, "pilot_cost"] == pytest.approx(target, rel=compare.COST_TOLERANCE)
        assert table.loc[name, "intensity_scale"] != 1.0
        assert runs.loc[runs["scenario"] == name, "cost_total"].mean() == pytest.approx(
            target, rel=0.25
        )  # other seeds than the pilots'
    assert math.isnan(table.loc["baseline", "pilot_cost"])
    scenarios = OmegaConf.load(folder / "scenarios.yaml")  # the study's own intensities are 0.5
    assert scenarios.mandate.scenario.interventions.mandate.intensity == 0.5
    assert "Equal cost" in (folder / "report.md").read_text()
    overrides[-4] = "experiment.equal_cost=1e9"  # more than any intensity can cost
    with pytest.raises(InputError, match=r"'mandate' cannot be made to cost more"):
        compare.main(sim.compose(overrides), overrides)


# --- per-department outcomes (the engine's third table) ----------------------------------


def test_department_outcomes_give_the_gain_per_person_and_a_report_table():
    rows = []
    for scenario, lift in (("baseline", 0.0), ("drive", 10.0)):
        for replication in range(3):
            for department, size in (("sales", 10), ("eng", 40)):
                net = 100.0 + replication + (lift * size if department == "eng" else -lift)
                rows.append(
                    {
                        "scenario": scenario,
                        "replication": replication,
                        "seed": replication,
                        "department": department,
                        "size": size,
                        "active_share": 0.5,
                        "value_total": net + 1,
                        "cost": 1.0,
                        "net_value": net,
                    }
                )
    table = stats.department_summary(pd.DataFrame(rows), 200, 0).set_index(
        ["scenario", "department"]
    )
    assert table.loc[("drive", "eng"), "net_value_gain_per_person_mean"] == pytest.approx(10.0)
    assert table.loc[("drive", "sales"), "net_value_gain_per_person_mean"] == pytest.approx(-1.0)
    assert table.loc[("baseline", "eng"), "net_value_gain_per_person_mean"] == 0.0
    summary = pd.DataFrame(
        {
            "scenario": ["baseline", "drive"],
            "label": ["Baseline", "Drive"],
            "net_value_mean": [0.0, 1.0],
        }
    )
    md = "\n".join(report._departments(table.reset_index(), summary, {}))
    assert "| eng | 40 | 10.0 |" in md and "| sales | 10 | -1.0 |" in md


def test_report_html_fits_a_1280_pixel_screen(folder):
    """The report's widest table fits the width of a 1,280-pixel screen (a real browser lays
    it out; skipped where there is none, but not in CI)."""
    import os

    from sim.dashboard import screenshots as ui

    reason = ui.missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser check, but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ui.CHROMIUM, args=ui.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((folder / "report.html").as_uri())
            width = page.evaluate("document.documentElement.scrollWidth")
            widest = page.evaluate(
                "Math.max(...[...document.querySelectorAll('table')].map(t => t.scrollWidth))"
            )
        finally:
            browser.close()
    assert width <= 1280 and widest <= 1280, (width, widest)


def test_the_readme_walk_through_commands_compose(tmp_path):
    """The strategists' walk-through in the README: each comparison it shows (but one with a
    placeholder) composes, and every programme it names builds."""
    import shlex

    from conftest import ORG_CHART, ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For strategists")[1].split("\n## ")[0]
    commands = [
        shlex.split(block.replace("\\\n", " "))
        for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    ]
    hr = write(tmp_path / "hr.csv", ORG_CHART)
    checked = 0
    for words in commands:
        args = [a.replace("org.path=hr.csv", f"org.path={hr}") for a in words[3:]]
        if words[3] != "experiment=compare" or any("<" in a for a in args):
            continue
        cfg = sim.compose(args)
        listed, _ = compare.programme_list(cfg)
        for p in listed:
            Spec.from_config(compare.programme_config(p, compare.common_overrides(args), []))
        checked += 1
    assert checked >= 1


def test_a_single_runs_figure_names_its_programme(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(
        plots, "adoption_vs_value", lambda w, p, programme="": seen.update(p=programme)
    )
    sim.simulate(["org.size=50", "weeks=3", "scenario=mandate"]).save(tmp_path / "run")
    assert seen["p"] == "mandate"
