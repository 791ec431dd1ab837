"""Ensembles (issue 13, item 1): run i of an ensemble gives the results of the same run alone.

"The same" means one of two things, and each test says which it checks:

* **Identical, bit for bit**, when the runs share their parameter values, whatever else
  differs between them — seed, organisation type, interventions, number of departments. Each
  run is built from its own seed's streams and draws its own uniforms; the stacked ties are
  block-diagonal with each row's entries in their own order, so a neighbour sum adds the same
  numbers in the same order as the run alone (also when a large ensemble sums over its active
  rows while the run alone makes the full product); the records reduce each run's own row of a
  (runs × people) table, and add cells in order, so the empty cells of a run with fewer
  departments than the others add nothing.
* **Equal within float32 rounding, with every discrete decision the same**, when the runs
  differ in a parameter value. Such a parameter becomes one float32 value per agent row
  (``models.ensemble.merge_behaviour``), while a run alone holds it as a Python number; NumPy
  works out an expression of numbers alone (``1 - skill_floor``) in float64 and rounds it once,
  but the same expression of float32 arrays in float32, so the last bits of some continuous
  quantities differ. Nobody's activity, adoption, stage or posts may differ.

Weekly records, group tables, per-department outcomes, summaries, snapshots and the final state
are compared; the batching of ``sim.replicate.run_jobs`` is checked to change nothing.
"""

import dataclasses
import random
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.ensemble import Ensemble, build_run
from models.interventions import KINDS, Intervention
from models.neighbours import MeanField
from models.params import Behaviour
from models.registry import PARAMETERS
from models.state import STAGE_NAMES, AgentState, Levers
from sim.replicate import Spec, batches, run_batch, run_jobs, run_one, run_tables

SIZE = 150
WEEKS = 60
EVERY = 10  # snapshot cadence
#: Weekly columns that are counts of people or posts (shares of them): discrete decisions.
DISCRETE = (
    "active_share",
    "adopted_share",
    "user_share",
    *(f"stage_{name}" for name in STAGE_NAMES),
    "posts",
    "observer_share",
    "year_active_share",
    "year_observer_share",
    "gini_posts",
    "top1_posts_share",
)
#: Tolerance of float32 rounding: float32 carries seven significant digits, and a person's value
#: summed over 60 weeks of gains and costs that cancel keeps about five of them. Results computed
#: with another run's parameters differ by far more (tenths).
ROUNDING = {"rtol": 1e-4, "atol": 1e-4}
#: Snapshot columns that are discrete decisions.
DISCRETE_SNAPSHOT = (
    "week",
    "agent",
    "role",
    "department",
    "stage",
    "active",
    "user",
    "adopted",
    "posts",
)


def programme(kind: str, start: int = 3, end: int = 40, **fields_) -> Intervention:
    """An intervention of ``kind`` that runs for part of the horizon and costs something in
    every way it can (so that costs per cell are compared too)."""
    values = {
        "cost_fixed": 5.0,
        "cost_per_week": 1.3,
        "cost_per_person": 0.1,
        "training_hours": 0.5,
        "sense_gain": 0.1,
        "intensity": 0.6,
        **fields_,
    }
    if kind == "incentive":
        values["cost_per_reward"] = 0.2
    return Intervention(name=f"{kind}_{start}", kind=kind, start=start, end=end, **values)


#: Every kind of intervention, and every contingency of rewards, spread over the runs below.
PROGRAMMES = [
    (programme("mandate"), programme("incentive", contingency="completion")),
    (programme("campaign", cadence=4), programme("sense_making", share=0.5)),
    (programme("champions", intensity=1.5), programme("alignment")),
    (programme("stories"), programme("experiment", target="non_managers", share=0.3)),
    (programme("role_model", target="managers"), programme("use_cases", cadence=3)),
    (programme("community"), programme("incentive", start=10, contingency="performance")),
    (programme("incentive", start=5),),
    (),
]


def test_the_runs_cover_every_kind_of_intervention():
    kinds = {iv.kind for runs in PROGRAMMES for iv in runs}
    assert kinds == set(KINDS)
    contingencies = {iv.contingency for runs in PROGRAMMES for iv in runs if iv.kind == "incentive"}
    assert contingencies == {"engagement", "completion", "performance"}


@pytest.fixture(scope="module")
def orgchart(tmp_path_factory) -> dict:
    """An HR org chart of SIZE people in 12 departments: more departments than the hierarchy of
    the same size has (9), so that the hierarchy's cells are padded when they run together."""
    lines = ["employee_id,manager_id,department", "1,,Board"]
    lines += [f"{i},{(i - 2) // 5 + 1},dept{i % 11}" for i in range(2, SIZE + 1)]
    path = Path(tmp_path_factory.mktemp("chart")) / "chart.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"generator": "orgchart", "path": str(path)}


def setup(org, seed: int, interventions=(), behaviour: Behaviour | None = None):
    return build_run(org, behaviour, 0.05, "random", interventions, np.random.default_rng(seed))


def outcomes(ensemble: Ensemble, r: int) -> dict[str, pd.DataFrame]:
    """Everything a run reports, as tables: weekly, groups, departments, summary, snapshots and
    its final state."""
    state = ensemble.state_of(r)
    return {
        "weekly": ensemble.weekly(r),
        "groups": ensemble.groups(r),
        "departments": ensemble.departments(r),
        "summary": pd.DataFrame([ensemble.summary(r)]),
        "snapshots": ensemble.snapshots[r].frame(),
        "state": pd.DataFrame({f.name: getattr(state, f.name) for f in fields(AgentState)}),
    }


def together_and_alone(runs, weeks: int = WEEKS, every: int = EVERY):
    """The outcomes of each run (a function returning its ``RunSetup``) in one ensemble, and
    alone (an ensemble of one, which is what ``AdoptionModel`` steps)."""
    ensemble = Ensemble([make() for make in runs], every)
    ensemble.run(weeks)
    alone = []
    for make in runs:
        single = Ensemble([make()], every)
        single.run(weeks)
        alone.append(outcomes(single, 0))
    return [outcomes(ensemble, r) for r in range(len(runs))], alone


def assert_identical(together, alone):
    for r, (mine, theirs) in enumerate(zip(together, alone, strict=True)):
        for name in mine:
            pd.testing.assert_frame_equal(
                mine[name], theirs[name], check_exact=True, obj=f"run {r} {name}"
            )
        assert len(mine["snapshots"]) == SIZE * (WEEKS // EVERY)  # snapshots were compared


def test_runs_of_every_organisation_type_and_programme_match_their_runs_alone(orgchart):
    """Identical: a hierarchy, a small world, a scale-free, a random and an org-chart
    organisation of one size, each with its own seed and programme, stepped together."""
    orgs = [
        {"generator": kind, "size": SIZE}
        for kind in ("hierarchy", "small_world", "scale_free", "random")
    ] + [orgchart]
    runs = [
        (lambda org=org, seed=seed, ivs=ivs: setup(org, seed, ivs))
        for seed, (org, ivs) in enumerate(zip(orgs * 2, PROGRAMMES + PROGRAMMES[:2], strict=True))
    ]
    together, alone = together_and_alone(runs)
    assert_identical(together, alone)
    # the org chart's 12 departments and the hierarchy's 9 are each reported as they are
    assert len(together[4]["departments"]) == 12 and len(together[0]["departments"]) == 9
    # the programmes did something: runs differ, and costs were counted
    assert together[0]["summary"]["cost_total"].item() > 0
    assert not together[0]["weekly"].equals(together[5]["weekly"])


def test_replications_of_a_programme_set_their_levers_together_and_match_their_runs_alone(
    orgchart,
):
    """Identical: as a study batches them, consecutive runs with the same interventions (its
    replications of a programme) set their levers with one schedule of their stacked rows
    (``Schedule.stacked``); each programme here has three replications, on organisations with
    different departments (cells padded), and every kind of intervention is among them."""
    orgs = [
        {"generator": "hierarchy", "size": SIZE},
        orgchart,
        {"generator": "random", "size": SIZE},
    ]
    runs = [
        (lambda org=org, seed=seed, ivs=ivs: setup(org, seed, ivs))
        for p, ivs in enumerate(PROGRAMMES[:6])
        for seed, org in enumerate(orgs, 10 * p)
    ]
    together, alone = together_and_alone(runs)
    assert_identical(together, alone)
    ensemble = Ensemble([make() for make in runs])
    assert [g.runs for g in ensemble._programmes] == [slice(3 * p, 3 * p + 3) for p in range(6)]
    assert all(t["summary"]["cost_total"].item() > 0 for t in together)


def test_complete_organisations_match_their_runs_alone_and_store_no_ties():
    """Identical: complete organisations (mean field: each person's sums from their run's
    totals) with different seeds and programmes."""
    org = {"generator": "complete", "size": SIZE}
    runs = [(lambda seed=seed: setup(org, seed, PROGRAMMES[seed])) for seed in range(4)]
    together, alone = together_and_alone(runs)
    assert_identical(together, alone)
    network = Ensemble([make() for make in runs]).network
    assert isinstance(network, MeanField) and not hasattr(network, "adjacency")


def test_a_large_ensemble_matches_runs_alone():
    """Identical: eleven 1,000-person runs stacked into 11,000 rows, whose pass over contacts
    reads ties shifted by each run's offset and each run's cross-team marks in turn, give
    each run's results alone; both add each person's contacts in the order of their row."""
    org = {"generator": "hierarchy", "size": 1000}
    runs = [(lambda seed=seed: setup(org, seed, PROGRAMMES[seed % 3])) for seed in range(11)]
    together, alone = together_and_alone(runs, weeks=30, every=0)
    for r in (0, 1, 2, 10):  # runs alone take the time: a few are enough
        for name in ("weekly", "summary", "groups", "state"):
            pd.testing.assert_frame_equal(together[r][name], alone[r][name], check_exact=True)


def drawn_behaviour(seed: int) -> Behaviour:
    """Every uncertain parameter drawn from its plausible range (as a calibration would)."""
    rnd = random.Random(seed)
    values = {}
    for p in PARAMETERS.values():
        if p.uncertain:
            value = rnd.uniform(p.low, p.high)
            values[p.name] = round(value) if p.whole else value
    return Behaviour(**values)


def test_runs_that_differ_in_parameter_values_match_within_float32_rounding():
    """Within float32 rounding, every discrete decision the same: six runs, each with every
    uncertain parameter drawn from its plausible range, and a programme."""
    org = {"generator": "hierarchy", "size": SIZE}
    runs = [
        (lambda seed=seed: setup(org, seed, PROGRAMMES[seed], drawn_behaviour(seed)))
        for seed in range(6)
    ]
    ensemble = Ensemble([make() for make in runs])
    varied = [
        f.name
        for f in fields(Behaviour)
        if isinstance(getattr(ensemble.behaviour, f.name), np.ndarray)
    ]
    assert len(varied) > 50  # the parameters are per-row arrays in the ensemble
    together, alone = together_and_alone(runs)
    for r, (mine, theirs) in enumerate(zip(together, alone, strict=True)):
        weekly, expected = mine["weekly"], theirs["weekly"]
        pd.testing.assert_frame_equal(
            weekly[["week", *DISCRETE]],
            expected[["week", *DISCRETE]],
            check_exact=True,
            obj=f"run {r} weekly decisions",
        )
        pd.testing.assert_frame_equal(weekly, expected, **ROUNDING, obj=f"run {r}")
        snap, snap_alone = mine["snapshots"], theirs["snapshots"]
        pd.testing.assert_frame_equal(
            snap[list(DISCRETE_SNAPSHOT)], snap_alone[list(DISCRETE_SNAPSHOT)], check_exact=True
        )
        pd.testing.assert_frame_equal(snap, snap_alone, **ROUNDING)
        for name in ("groups", "departments", "summary", "state"):
            pd.testing.assert_frame_equal(
                mine[name], theirs[name], **ROUNDING, obj=f"run {r} {name}"
            )
        state, state_alone = mine["state"], theirs["state"]
        for column in ("user", "ever", "active", "stage", "idle", "posts", "total_posts"):
            pd.testing.assert_series_equal(state[column], state_alone[column], check_exact=True)


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            {"generator": "hierarchy", "size": SIZE},
            {"generator": "hierarchy", "size": SIZE + 1},
            r"must have one size, not \[150, 151\]",
        ),
        (
            {"generator": "complete", "size": SIZE},
            {"generator": "random", "size": SIZE},
            "must all be complete organisations",
        ),
        (
            {"generator": "random", "size": SIZE},
            {"generator": "complete", "size": SIZE},
            "must all be complete organisations",
        ),
    ],
)
def test_runs_that_cannot_be_stacked_are_refused_with_the_reason(first, second, message):
    with pytest.raises(ValueError, match=message):
        Ensemble([setup(first, 1), setup(second, 2)])


def test_runs_must_share_the_switches():
    pure = Behaviour(value_dynamics=False)
    org = {"generator": "hierarchy", "size": SIZE}
    with pytest.raises(ValueError, match="must share value_dynamics"):
        Ensemble([setup(org, 1, behaviour=pure), setup(org, 2)])


def test_a_live_week_leaves_the_baseline_levers_wherever_nothing_sets_them():
    """A live week fills from the baseline only the levers that interventions reached for
    since the last fill (``Ensemble._levers``): in the rows of a run with nothing running —
    not yet, or no longer — every lever is the baseline's, week after week, while the other
    runs' programmes (every kind, ending at different weeks) set theirs.

    Mutation tried: never filling again (the levers of ended programmes linger): fails."""
    org = {"generator": "hierarchy", "size": SIZE}
    windows = [(3, 6), (2, 9), (5, 7), (4, 12), (2, 5), (6, 10)]
    runs = [
        setup(org, seed, [dataclasses.replace(iv, start=a, end=b) for iv in PROGRAMMES[seed]])
        for seed, (a, b) in enumerate(windows)
    ]
    ensemble = Ensemble(runs)
    checked = 0
    for week in range(1, 15):
        ensemble.step()
        for r, schedule in enumerate(ensemble.schedules):
            if schedule.live(week) or ensemble.levers is ensemble.baseline:
                continue
            rows = ensemble.rows(r)
            for f in fields(Levers):
                here, base = getattr(ensemble.levers, f.name), getattr(ensemble.baseline, f.name)
                np.testing.assert_array_equal(here[rows], base[rows], f"week {week} {f.name}")
            checked += 1
    assert checked > 10  # runs idle in live weeks, before and after their programmes


# --- batching in run_jobs -----------------------------------------------------------------


def spec(name: str, size: int, interventions=(), behaviour=None) -> Spec:
    return Spec(
        name,
        {"generator": "hierarchy", "size": size},
        behaviour or Behaviour(),
        0.05,
        "random",
        0.03,
        tuple(interventions),
        30,
    )


JOBS = [
    (s, r, 1000 + r)
    for s in (
        spec("base", 120),
        spec("mandate", 120, PROGRAMMES[0]),
        spec("drawn", 120, PROGRAMMES[2], drawn_behaviour(3)),
        spec("big", 200, PROGRAMMES[1]),
    )
    for r in range(3)
]


def test_batches_group_runs_of_one_size_within_the_row_budget_and_give_every_worker_work():
    sizes = [spec.org["size"] for spec, _, _ in JOBS]
    for rows, workers in ((1, 1), (400, 1), (10**6, 1), (10**6, 2)):
        groups = batches(JOBS, rows, workers)
        assert sorted(i for g in groups for i in g) == list(range(len(JOBS)))
        for group in groups:
            assert len({sizes[i] for i in group}) == 1  # never two sizes in one ensemble
            assert len(group) == 1 or sum(sizes[i] for i in group) <= rows
    assert len(batches(JOBS, 1, 1)) == len(JOBS)  # one run per ensemble
    assert len(batches(JOBS, 10**6, 1)) == 2  # one per size
    assert len(batches(JOBS, 10**6, 2)) == 4  # each size split between the two workers


def test_batches_are_even_and_as_many_as_a_multiple_of_the_workers():
    """300 runs of one size at 20 a batch over two workers: 16 batches of 18 or 19 runs
    (not 15 of 20, the last run by one worker while the other idles)."""
    jobs = [(JOBS[0][0], r, r) for r in range(300)]
    groups = batches(jobs, 20 * 120, 2)
    assert len(groups) == 16
    assert {len(g) for g in groups} == {18, 19}
    assert [i for g in groups for i in g] == list(range(300))  # consecutive, in order
    assert len(batches(jobs, 20 * 120, 1)) == 15  # one worker: as full as allowed
    assert [len(g) for g in batches(jobs[:5], 20 * 120, 3)] == [2, 2, 1]


def test_an_ensembles_tables_hold_each_runs_results_in_turn():
    """``run_tables`` (what studies collect) builds whole tables of an ensemble's runs: the
    same rows, types and values as ``run_batch``'s tables, one a run, joined."""
    jobs = JOBS[:9]  # three programmes of one size, one of them with drawn parameters
    apart = run_batch(jobs, departments=True)
    tables = run_tables(jobs, departments=True)
    for name in ("weekly", "departments"):
        joined = pd.concat([getattr(o, name) for o in apart], ignore_index=True)
        pd.testing.assert_frame_equal(getattr(tables, name), joined, check_exact=True, obj=name)
    assert tables.summaries == [o.summary for o in apart]
    assert tables.department_rows == [len(o.departments) for o in apart]
    assert tables.jobs == list(range(len(jobs)))


def test_the_last_ensembles_load_what_comes_next_as_they_end(monkeypatch):
    """``afterwards``: only the tasks of the last ``n_jobs`` ensembles import the modules the
    study needs next (the workers that end them: the first to end gets ready while the other
    runs), in the background, after their runs."""
    import sys

    from joblib import Parallel, delayed

    from sim import replicate

    sent = []
    finished = replicate._finished

    def watched(tasks, *args):
        sent.extend(task[1][5] for task in tasks)  # (function, arguments, keywords)
        return finished(tasks, *args)

    monkeypatch.setattr(replicate, "_finished", watched)
    run_jobs(JOBS, n_jobs=2, batch_rows=240, afterwards=["tabnanny"])
    assert len(sent) == len(batches(JOBS, 240, 2)) > 2
    assert sent == [()] * (len(sent) - 2) + [("tabnanny",)] * 2
    # the workers that ran them have it loaded; neither of the others (no module imports it)
    loaded = Parallel(n_jobs=2)(delayed(_holds)("tabnanny") for _ in range(6))
    assert any(loaded) and "tabnanny" not in sys.modules
    sent.clear()
    run_jobs(JOBS, n_jobs=1, batch_rows=240, afterwards=["tabnanny"])
    assert set(sent) == {()}  # no workers: nothing to get ready in the background


def _holds(module: str) -> bool:
    """Whether this (worker) process has ``module`` loaded."""
    import sys
    import time

    time.sleep(0.1)  # long enough for both workers to take one
    return module in sys.modules


def test_batching_and_workers_never_change_the_results():
    """Every run alone (one worker, an ensemble per run) and runs stacked by size over two
    workers give identical tables, in the order of the jobs; and a run alone through
    ``run_one`` (``AdoptionModel``) is the same run."""
    alone = run_jobs(JOBS, n_jobs=1, batch_rows=1, departments=True)
    stacked = run_jobs(JOBS, n_jobs=2, batch_rows=10**6, departments=True)
    for mine, theirs, name in zip(stacked, alone, ("weekly", "runs", "departments"), strict=True):
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True, obj=name)
    weekly, runs, _ = alone
    assert runs["scenario"].tolist() == [s.scenario for s, _, _ in JOBS]
    spec_, replication, seed = JOBS[4]
    one_weekly, one_summary = run_one(spec_, replication, seed)
    mine = weekly[(weekly["scenario"] == spec_.scenario) & (weekly["replication"] == replication)]
    pd.testing.assert_frame_equal(one_weekly, mine.reset_index(drop=True), check_exact=True)
    expected = runs.iloc[4].to_dict()
    assert one_summary.keys() == expected.keys()
    for key, value in one_summary.items():  # run_jobs gives None (no value) as NaN
        assert value == expected[key] or (pd.isna(value) and pd.isna(expected[key])), key
