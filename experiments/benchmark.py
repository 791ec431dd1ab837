"""Benchmark suite: speed, scaling and memory of the weekly step, side by side with the
per-agent reference and with Mesa's own network example.

    python -m experiments.benchmark            # the full suite (make bench), 15-20 min
    python -m experiments.benchmark --quick    # tiny sizes, one repeat: checks the plumbing
    python -m experiments.benchmark --sizes 1000 10000 --repeats 3 --no-compare --no-peer
    python -m experiments.benchmark --sizes 1000 --tie-degrees --no-oracle --no-peer \
        --no-compare --profile-size 1000       # issue 13's tables alone, ~5 min
    python -m experiments.benchmark --only full    # part 9 alone (--only takes part names)
    python -m experiments.benchmark --replot results/benchmarks/<time>   # redraw the figures

Prints tables and writes ``results/benchmarks/<time>/`` (``--out`` to choose):
``benchmark.json`` (every measurement and its median), ``scaling.png`` (time per step
against agents and against ties), ``comparison.png`` (per-step time of this model, the
per-agent reference and Mesa's virus_on_network), ``profile.txt`` (pyinstrument, one step)
and ``profile_ensemble.txt`` (pyinstrument, one step of an ensemble).
``--docs`` also copies the scaling figure to ``docs/img/benchmark_scaling.png``.

What is measured, each in a fresh interpreter (``--worker``), so that no measurement inherits
another's memory or warm caches. Times are wall time (``perf_counter``), and also CPU time of
the process (``process_time``), which other jobs on a shared machine disturb far less; on a
quiet machine the two agree, as everything measured runs in one thread. Issue 6's targets
are checked on wall time, with the CPU-time figure beside them; issue 13's (7–9 below) on CPU
time, as ratios of things measured side by side in one process.

1. **Steps** — for each size (default 1k, 10k, 100k for 260 weeks; 1M for 52 weeks), build
   the default organisation and model (timed as the build), then time ``model.run(weeks)``:
   the full weekly step — levers, random draws, ``models.dynamics.advance`` and the weekly
   record. Peak memory is the worker's peak resident set (``ru_maxrss``), interpreter and
   imports included (the import baseline is reported too). Median of ``--repeats`` runs.
   The scaling figure uses the first 52 weeks of every size, so all sizes are compared over
   the same stretch of the diffusion (a step's cost follows how many people are active).
2. **Ties** — 52 weeks at one size (100k) with the informal ties per person varied, so the
   cost of a step can be read against the number of ties at a fixed number of agents.
3. **Reference** — the per-agent oracle of the tests (``tests/oracle.py``, plain Python loops
   over agents and their contacts implementing the same weekly rules) against the vectorised
   step, at 1k and 10k, on the same states and the same uniforms, in CPU time (the oracle's
   long pure-Python stretches are what a busy machine would otherwise distort most). The
   model runs the whole
   horizon; every ``--oracle-every`` weeks the oracle advances a copy of that week's state
   with that week's draws (the oracle is ~100× slower, so sampling weeks keeps the 10k case
   under a minute while still covering early, middle and late weeks). Two ratios: *rules*
   (``advance`` against ``oracle_advance``) and *full step* (``model.step()`` against the
   same step with ``oracle_advance`` in place of ``advance``: the oracle is charged the same
   levers, draws and weekly record). The share of agents whose
   activity the two agree on is reported as a check that they did the same work.
   The oracle lives in ``tests/`` (it is test code and is not installed); the benchmark loads
   it by file path from the source tree and skips this part, saying so, if it is absent.
4. **Peer** — Mesa's ``virus_on_network`` example (shipped inside the mesa package) at the
   same sizes and number of steps, its own model and agent code unchanged, with two changes
   to how its network is built, both outside the timed steps: ``nx.erdos_renyi_graph`` (an
   O(N²) loop over all pairs) is replaced by ``nx.fast_gnp_random_graph`` (the same G(n, p)
   distribution in O(N + ties)), and ``mesa.discrete_space.Network`` is built with
   ``layout=None`` (its default runs an unseeded spring layout, minutes at 10k, only needed
   for drawing). Its defaults otherwise (mean degree 3, its rates), with 1% of nodes infected
   at the start so the epidemic has work to do. Only ``model.step()`` is timed, including
   its DataCollector, as our step includes its weekly record.
5. **Profile** — one step at 100k after a year of warm-up, and one step of an ensemble of 1k
   runs (as many as ``sim.replicate.BATCH_ROWS`` holds), repeated on copies of the same
   state: pyinstrument, a breakdown into levers, draws (a block of weeks drawn at once, per
   week), neighbour sums, the rest of ``advance`` and the record (CPU time, the parts timed
   in turn), ``advance``'s own parts (its CPU time split as pyinstrument's samples split it),
   and the *practical limit*: the cost of the sums over contacts the step makes (its pass
   over the sources' ties, as it makes it) plus its random draws; the same sums as SciPy's
   full sparse products, one a vector, are timed beside it. The ratio step / limit says how
   much is left to gain.
6. **Compare** — ``python -m sim experiment=compare`` (every programme × 30 replications ×
   1,000 agents × 260 weeks, 2 worker processes), timed end to end (wall time, and the CPU
   time of the command and its workers). With ``--compare-against DIR`` (a checkout of
   another revision with its own ``.venv``, e.g. ``git worktree add ../base13 a37ff01`` and
   ``make setup`` there) the same command of that checkout is timed too, the two in turn
   ``--compare-repeats`` times each, and the ratio of their median wall times is issue 13's
   "default compare at least 3× faster" (against ``a37ff01``, the code before ensembles).
7. **Ensembles** — runs per CPU-second of baseline runs at 1k and 10k × 260 weeks, three ways
   in turn in one process: one ``AdoptionModel``, one run through ``sim.simulate`` (as a user
   runs one, Hydra composing its config), and an ensemble of R runs through
   ``sim.replicate.run_batch`` (R = ``BATCH_ROWS`` / agents: 20 at 1k, 2 at 10k), with the
   ratios, and at 1k the ratio to issue 13's single run (0.19 s).
8. **Mean field** — one run of the Bass validation (``experiments.validate._bass_runs`` with
   one seed: a complete organisation of 5,000, value dynamics off, the preset's weeks) in a
   fresh process: CPU time against issue 13's 158 s, and peak memory against what N² stored
   ties would take; and a year of the same at ten times the people, to show memory O(N).
9. **Full run** — a 10,000-agent × 260-week run through ``sim.simulate`` (compose, build, run,
   records, summary) against the steps of Mesa's ``virus_on_network`` (built as in 4), per
   agent-step of CPU time, in turn in one process.
"""

import argparse
import functools
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
ORACLE_PATH = ROOT / "tests" / "oracle.py"
VALIDATE_PRESET = ROOT / "conf" / "experiment" / "validate.yaml"

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
ORACLE_SIZES = (1_000, 10_000)
PEER_SIZES = (1_000, 10_000, 100_000)
TIE_DEGREES = (0.0, 4.0, 16.0, 40.0)  # informal ties per person (4 is the default)
PROFILE_SIZE = 100_000
FIRST_YEAR = 52  # the scaling figure compares sizes over the same weeks: the first year
MIB = 2**20

#: The issues' targets (issues 6 and 13), checked against the measurements.
TARGETS = {
    # × the per-agent reference of the same rules at 10k: the oracle implements the weekly
    # rules (``advance``), so the target is checked on them; the full-step ratio, with the
    # draws and the weekly record charged to both, is reported beside it
    "oracle_ratio_10k": 100.0,
    "agent_steps_per_s_100k": 10e6,
    "peak_mib_1m": 4096.0,
    "compare_s": 60.0,
    # issue 13, checked on CPU time (the tables below measure it, side by side in one run):
    # ensemble runs per CPU-second at 1k × 260 weeks against the issue's single run (0.19 s)
    "ensemble_over_issue_1k": 5.0,
    # the Bass validation run at 5,000 people against the issue's 158 s a run
    "bass_speedup_5k": 50.0,
    # a full 10k × 260-week run through sim.simulate against Mesa's virus_on_network, per
    # agent-step
    "full_10k_over_mesa": 10.0,
    # the default compare against the same command of revision a37ff01 (--compare-against),
    # ratio of wall times on 2 cores
    "compare_over_before": 3.0,
}
ISSUE_6_TARGETS = ("oracle_ratio_10k", "agent_steps_per_s_100k", "peak_mib_1m", "compare_s")
#: Issue 13's figures for "today": CPU seconds of one 1,000-person × 260-week run in the model,
#: and of one Bass validation run at 5,000 people (the complete graph stored as N² ties).
ISSUE_13_TODAY_S = {1_000: 0.19}
ISSUE_13_BASS_S = 158.0
ENSEMBLE_SIZES = (1_000, 10_000)
#: The parts of the suite, as ``--only`` names them (numbered as in the module docstring;
#: ``profile`` is part 5's two profiles).
PARTS = ("steps", "ties", "oracle", "peer", "profile", "compare", "ensemble", "bass", "full")


def bass_preset_weeks() -> int:
    """Weeks of the Bass validation preset (``conf/experiment/validate.yaml``)."""
    from omegaconf import OmegaConf

    return int(OmegaConf.load(VALIDATE_PRESET).params.bass.weeks)


def default_weeks(size: int) -> int:
    """Weeks per measurement: five years, one year for the million-agent organisation."""
    return 52 if size >= 1_000_000 else 260


# --- measurements, each run in a fresh interpreter -------------------------------------------


def _peak_mib() -> float:
    """Peak resident set of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024


def _current_mib() -> float:
    """Current resident set (Linux /proc; elsewhere the peak, which is an upper bound)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB
    except OSError:
        return _peak_mib()


def work_step(size: int, weeks: int, seed: int = 0, informal_degree: float | None = None) -> dict:
    """Build the default organisation and model, then run ``weeks`` full weekly steps."""
    from models.model import AdoptionModel

    org = {"generator": "hierarchy", "size": size}
    if informal_degree is not None:
        org["informal_degree"] = informal_degree
    loaded = load_compiled()
    baseline = _peak_mib()
    t0 = time.perf_counter()
    model = AdoptionModel(org=org, rng=seed)
    t1, c1 = time.perf_counter(), time.process_time()
    after_build = _peak_mib()
    first = min(weeks, FIRST_YEAR)
    model.run(first)
    t2, c2 = time.perf_counter(), time.process_time()
    model.run(weeks - first)
    t3, c3 = time.perf_counter(), time.process_time()
    return {
        "agents": size,
        "ties": int(model.org.n_edges),
        "informal_degree": informal_degree,
        "weeks": weeks,
        "seed": seed,
        "load_s": loaded,
        "build_s": t1 - t0,
        "run_s": t3 - t1,
        "run_cpu_s": c3 - c1,
        "first_year_step_ms": 1e3 * (t2 - t1) / first,
        "first_year_step_cpu_ms": 1e3 * (c2 - c1) / first,
        "import_mib": baseline,
        "peak_after_build_mib": after_build,
        "peak_mib": _peak_mib(),
        "weekly_rows": len(model.weekly()),
        "group_rows_per_week": len(model.recorder.groups()) / weeks,
        "final_active_share": float(model.state.active.mean()),
    }


def load_compiled() -> float:
    """Load the step's compiled passes (``models.fused`` and the others, compiled once and
    cached by Numba) in this process as a study's worker does (``sim.replicate.ready``), so
    that the weeks timed after it are the step's own; returns the seconds it took, the cost a
    fresh process pays once (reported beside the steps)."""
    from sim.replicate import ready

    t0 = time.perf_counter()
    ready()
    return time.perf_counter() - t0


def work_build(size: int, seed: int = 0) -> dict:
    """Where a build's time and memory go: the organisation, then the model around it (state,
    network, one Mesa agent per person). Memory as growth of the current resident set."""
    from models import generators
    from models.model import AdoptionModel

    m0, t0 = _current_mib(), time.perf_counter()
    org = generators.build("hierarchy", {"size": size}, np.random.default_rng(seed))
    m1, t1 = _current_mib(), time.perf_counter()
    model = AdoptionModel(org=org, rng=seed)
    m2, t2 = _current_mib(), time.perf_counter()
    return {
        "agents": size,
        "ties": int(org.n_edges),
        "org_s": t1 - t0,
        "org_mib": m1 - m0,
        "model_s": t2 - t1,
        "model_mib": m2 - m1,
        "mesa_agents": len(model.agents),
        "peak_mib": _peak_mib(),
    }


def work_agents(size: int) -> dict:
    """The cost of the Mesa agents alone: ``size`` Employee agents in a bare Mesa model."""
    import mesa

    from models.agents import Employee

    m0, t0 = _current_mib(), time.perf_counter()
    model = mesa.Model(rng=0)
    agents = Employee.create_agents(model, size, row=np.arange(size))
    m1, t1 = _current_mib(), time.perf_counter()
    return {
        "agents": len(agents),
        "create_s": t1 - t0,
        "mib": m1 - m0,
        "bytes_per_agent": (m1 - m0) * MIB / size,
    }


def load_oracle():
    """``oracle_advance`` from ``tests/oracle.py`` by file path, or None if the source tree has
    no tests (an installed copy). Loaded by path because ``tests/`` is not a package and the
    oracle is test code the package does not ship."""
    if not ORACLE_PATH.exists():
        return None
    spec = importlib.util.spec_from_file_location("beyond_adoption_oracle", ORACLE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.oracle_advance


def work_oracle(size: int, weeks: int, every: int, seed: int = 0, inner: int = 5) -> dict:
    """The vectorised step against the per-agent oracle on the same states and draws, in CPU
    time of this process (``time.process_time``: what other processes on a shared machine
    disturb least; on a quiet machine it equals wall time, as everything here is one thread)."""
    from models.dynamics import advance
    from models.model import AdoptionModel

    oracle_advance = load_oracle()
    if oracle_advance is None:
        return {"agents": size, "skipped": f"{ORACLE_PATH} not found"}
    model = AdoptionModel(org={"generator": "hierarchy", "size": size}, rng=seed)
    clock = time.process_time
    samples, step_times = [], []
    for week in range(weeks):
        sampled = week % every == every // 2
        if sampled:
            state = model.state
            levers, _ = model.schedule.levers(week + 1, model._baseline_levers, state)
            draws = model.engine.draws_for(week + 1).copy()  # the draws step() will make
            vector_times = []
            for _ in range(inner):
                copy = state.copy()
                t0 = clock()
                advance(copy, model.traits, model.network, model.behaviour, levers, draws)
                vector_times.append(clock() - t0)
            reference = state.copy()
            t0 = clock()
            oracle_advance(reference, model.traits, model.org, model.behaviour, levers, draws)
            oracle_time = clock() - t0
        t0 = clock()
        model.step()
        step_times.append(clock() - t0)
        if sampled:
            samples.append(
                {
                    "week": week + 1,
                    "active_share": float(model.state.active.mean()),
                    "advance_s": statistics.median(vector_times),
                    "oracle_advance_s": oracle_time,
                    "agree_active": float((reference.active == model.state.active).mean()),
                }
            )
    # A step is timed once, and one just after the oracle ran finds the caches cold, so the
    # step's time is the median over every week of the run; what a step does besides advance
    # (levers, draws, record, Mesa's bookkeeping) is that minus the median advance, and the
    # oracle's step is the oracle's advance plus the same.
    step = statistics.median(step_times)
    advance_time = statistics.median(s["advance_s"] for s in samples)
    overhead = max(step - advance_time, 0.0)
    oracle_advance_time = statistics.median(s["oracle_advance_s"] for s in samples)
    return {
        "agents": size,
        "weeks": weeks,
        "sampled_weeks": len(samples),
        "clock": "CPU time (time.process_time)",
        "step_ms": 1e3 * step,
        "advance_ms": 1e3 * advance_time,
        "oracle_advance_ms": 1e3 * oracle_advance_time,
        "oracle_step_ms": 1e3 * (oracle_advance_time + overhead),
        "ratio_rules": statistics.median(s["oracle_advance_s"] / s["advance_s"] for s in samples),
        "ratio_full_step": (oracle_advance_time + overhead) / step,
        "agree_active": min(s["agree_active"] for s in samples),
        "samples": samples,
    }


def build_virus(size: int, seed: int):
    """Mesa's virus_on_network example at ``size`` nodes, its graph built in O(N + ties) and
    its network space without a layout (see the module docstring)."""
    from unittest import mock

    import networkx as nx
    from mesa.discrete_space import Network
    from mesa.examples.basic.virus_on_network import model as virus

    def gnp(n, p, **_):
        return nx.fast_gnp_random_graph(n, p, seed=seed)

    with (
        mock.patch.object(virus.nx, "erdos_renyi_graph", gnp),
        mock.patch.object(virus, "Network", functools.partial(Network, layout=None)),
    ):
        return virus.VirusOnNetwork(
            num_nodes=size, initial_outbreak_size=max(1, size // 100), rng=seed
        )


def work_virus(size: int, weeks: int, seed: int = 0) -> dict:
    baseline = _peak_mib()
    t0 = time.perf_counter()
    model = build_virus(size, seed)
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(weeks):
        model.step()
    t2, c2 = time.perf_counter(), time.process_time()
    last = model.datacollector.get_model_vars_dataframe().iloc[-1]
    return {
        "agents": size,
        "ties": model.grid.G.number_of_edges(),
        "weeks": weeks,
        "seed": seed,
        "build_s": t1 - t0,
        "run_s": t2 - t1,
        "run_cpu_s": c2 - c1,
        "import_mib": baseline,
        "peak_mib": _peak_mib(),
        "final_infected_share": float(last["Infected"]) / size,
    }


def _cross_team(net, adjacency: sp.csr_array) -> sp.csr_array:
    """The cross-team ties of a (stacked) network (``adjacency``, its ties as a matrix) as a
    matrix of their own, as SciPy would need them for a product of its own."""
    keep = net.cross > 0
    rows = np.repeat(np.arange(adjacency.shape[0]), np.diff(adjacency.indptr))
    return sp.csr_array(
        (adjacency.data[keep], (rows[keep], adjacency.indices[keep])), shape=adjacency.shape
    )


def _median_times(fns: dict, repeats: int) -> dict[str, float]:
    """Median CPU time of each function, called in turn ``repeats`` rounds (round robin, so
    that a busy spell of the machine falls on all of them alike)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def _engine(size: int, runs: int, seed: int = 0):
    """``runs`` baseline runs of the default organisation at ``size``, seeds ``seed``,
    ``seed`` + 1, …, stacked in one ensemble (one run: what ``AdoptionModel`` steps)."""
    from models.ensemble import Ensemble, build_run

    org = {"generator": "hierarchy", "size": size}
    return Ensemble(
        [
            build_run(org, None, 0.025, "random", (), np.random.default_rng(seed + r))
            for r in range(runs)
        ]
    )


def _advance_parts(root, out: dict[str, float]) -> None:
    """Add to ``out`` the sampled time of each function called from ``advance`` (its own
    array work as ``advance itself``), from a pyinstrument frame tree."""
    if root.function == "advance":
        for child in root.children:
            name = "advance itself" if child.function == "[self]" else child.function
            out[name] = out.get(name, 0.0) + child.time
        return
    for child in root.children:
        _advance_parts(child, out)


def work_profile(
    size: int, warmup: int, repeats: int, out: str, seed: int = 0, runs: int = 1
) -> dict:
    """Where one step's time goes, and how far it is from its sums over contacts and draws: one
    run of ``size`` people, or an ensemble of ``runs`` such runs stepped together."""
    from models.dynamics import advance, expose, held
    from models.ensemble import DRAW_AHEAD
    from models.state import REAL, SHARE

    engine = _engine(size, runs, seed)
    engine.run(warmup)
    n, net, state = engine.state.n, engine.network, engine.state
    week = engine.week + 1  # the week the next step simulates
    levers, cost = engine._levers(week)
    draws = engine.draws_for(week).copy()

    def one_advance():
        advance(state.copy(), engine.traits, net, engine.behaviour, levers, draws)

    def draw_block():  # a block of DRAW_AHEAD weeks of uniforms, every run's from its stream
        engine._drawn_for = 0
        engine.draws_for(1)

    # The sums over contacts a step makes, made as the step makes them (one pass over the
    # sources' ties, ``contact_sums``), on this week's state: the counts of active, engaged
    # (and joined) contacts, the sums of posts and benefit (and what contacts read), and the
    # engaged contacts in other teams; then the coaching champions' pass and, in weeks with
    # hollow posts, the noise.
    a = state.active
    engaged = a & (state.stage >= SHARE)
    b = engine.behaviour
    joining, passing = held(b, "joined_signal"), held(b, "spillover")
    source = a | state.user if joining else a
    flags = [a, engaged, state.user] if joining else [a, engaged]
    values = [state.posts, state.benefit] + ([state.read] if passing else [])
    c = net.champions
    coach = (a[c] * state.sense[c]).astype(REAL)
    noisy = state.posts * state.low_quality

    def products():
        net.contacts(source, flags, values, engaged)
        net.coaching(coach)
        if noisy.any():
            net.sums(noisy > 0, noisy)

    # the same sums as SciPy's full products, one a vector (what the step made before the
    # pass), for comparison
    columns = [f.astype(REAL) for f in flags] + values
    adjacency = net.ties.matrix()
    cross_team, to_champions = _cross_team(net, adjacency), adjacency[:, c].tocsc()

    def full_products():
        for v in columns:
            adjacency @ v
        to_champions @ coach
        cross_team @ columns[1]

    def step():  # the engine's own step, on a copy of this week's state
        saved = engine.state
        engine.state = saved.copy()
        engine.step()
        engine.state = saved

    t = _median_times(
        {
            "levers": lambda: engine._levers(week),
            "draws": draw_block,
            "expose": lambda: expose(state, net, engine.behaviour, levers),
            "copy": state.copy,
            "advance": one_advance,
            "record": lambda: engine.records.record(week, state, cost),
            "products": products,
            "full_products": full_products,
            "step": step,
        },
        repeats,
    )
    t["draws"] /= DRAW_AHEAD
    step_s = max(t["step"] - t["copy"], 1e-9)
    parts = {
        "levers": t["levers"],
        "draws": t["draws"],
        "neighbour sums (expose)": t["expose"],
        "advance without neighbour sums": max(t["advance"] - t["copy"] - t["expose"], 0.0),
        "record": t["record"],
    }
    # what the parts timed alone do not add up to: the snapshot check, and caches that are
    # warmer when a part is timed alone than in a step
    parts["unattributed"] = max(step_s - sum(parts.values()), 0.0)
    limit_s = t["products"] + t["draws"]

    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(repeats):
        step()
    profiler.stop()
    what = f"{size:,} agents" if runs == 1 else f"{runs} runs × {size:,} agents (an ensemble)"
    Path(out).write_text(
        f"pyinstrument: {repeats} weekly steps of {what} after {warmup} weeks\n\n"
        + profiler.output_text(unicode=True, color=False, show_all=False)
    )
    # advance's own parts, as shares of its sampled time (wall-clock samples: on a loaded
    # machine their shares, not their times, are what to read), applied to its CPU time
    sampled: dict[str, float] = {}
    _advance_parts(profiler.last_session.root_frame(), sampled)
    total = sum(sampled.values()) or 1.0
    advance_s = max(t["advance"] - t["copy"], 0.0)
    return {
        "agents": size,
        "runs": runs,
        "rows": n,
        "ties": int(net.ties.ends.size // 2),
        "warmup_weeks": warmup,
        "active_share": float(a.mean()),
        "step_ms": 1e3 * step_s,
        "step_per_run_ms": 1e3 * step_s / runs,
        "parts_ms": {k: 1e3 * v for k, v in parts.items()},
        "advance_parts_ms": {
            k: 1e3 * advance_s * v / total
            for k, v in sorted(sampled.items(), key=lambda kv: -kv[1])
        },
        "products_ms": 1e3 * t["products"],
        "full_products_ms": 1e3 * t["full_products"],
        "limit_ms": 1e3 * limit_s,
        "step_over_limit": step_s / limit_s,
        "profile": str(out),
    }


def work_ensemble(size: int, weeks: int, repeats: int, runs: int | None = None) -> dict:
    """Runs per CPU-second of ``size``-person × ``weeks``-week baseline runs, three ways side
    by side in this process, in turn (round robin, so that a busy spell of a shared machine
    falls on all three alike): one ``AdoptionModel`` (build, run, weekly records, summary);
    one run through ``sim.simulate`` as a user runs one (compose, build, run, records,
    summary); and an ensemble of ``runs`` runs (default: as many as ``BATCH_ROWS`` holds)
    through ``sim.replicate.run_batch``, as studies run them (config composed once)."""
    from models.model import AdoptionModel
    from sim.api import compose, simulate
    from sim.replicate import BATCH_ROWS, Spec, run_batch

    runs = runs or max(1, BATCH_ROWS // size)
    overrides = [f"org.size={size}", f"weeks={weeks}"]
    spec = Spec.from_config(compose(overrides))
    jobs = [(spec, r, 100 + r) for r in range(runs)]
    seeds = iter(range(10**6))

    def model():
        m = AdoptionModel(org=spec.org, rng=next(seeds))
        m.run(weeks)
        m.weekly(), m.summary()

    times: dict[str, list[float]] = {"model": [], "simulate": [], "ensemble": []}
    for _ in range(repeats):
        for name, fn in (
            ("model", model),
            ("simulate", lambda: simulate([*overrides, f"seed={next(seeds)}"])),
            ("ensemble", lambda: run_batch(jobs)),
        ):
            t0 = time.process_time()
            fn()
            times[name].append(time.process_time() - t0)
    per_run = {k: statistics.median(v) for k, v in times.items()}
    per_run["ensemble"] /= runs
    return {
        "agents": size,
        "weeks": weeks,
        "runs": runs,
        "clock": "CPU time (time.process_time)",
        "model_s": per_run["model"],
        "simulate_s": per_run["simulate"],
        "ensemble_s": per_run["ensemble"],
        "runs_per_cpu_s": {k: 1 / v for k, v in per_run.items()},
        "ensemble_over_model": per_run["model"] / per_run["ensemble"],
        "ensemble_over_simulate": per_run["simulate"] / per_run["ensemble"],
        "times": times,
    }


def work_bass(size: int, weeks: int, seed: int = 0) -> dict:
    """One run of the Bass validation (``experiments.validate._bass_runs``, one seed: a complete
    organisation, value dynamics off, the preset's p and q): CPU time and peak memory, and
    what the same organisation's ties would take as a sparse matrix."""
    from omegaconf import OmegaConf

    from experiments.validate import _bass_runs

    preset = OmegaConf.load(VALIDATE_PRESET).params.bass
    baseline = _peak_mib()
    t0, c0 = time.perf_counter(), time.process_time()
    (adopted,) = _bass_runs([seed], float(preset.p), float(preset.q), size, weeks)
    t1, c1 = time.perf_counter(), time.process_time()
    ties = size * (size - 1)  # stored entries of a complete graph's symmetric sparse matrix
    return {
        "agents": size,
        "weeks": weeks,
        "p": float(preset.p),
        "q": float(preset.q),
        "run_s": t1 - t0,
        "run_cpu_s": c1 - c0,
        "import_mib": baseline,
        "peak_mib": _peak_mib(),
        "n2_ties_mib": ties * (4 + 8) / MIB,  # float32 values and int64 column indices
        "final_adopted_share": float(adopted[-1]),
    }


def work_full(size: int, weeks: int, virus_weeks: int, repeats: int) -> dict:
    """A full run through ``sim.simulate`` (compose, build, run, records, summary) against
    Mesa's ``virus_on_network`` steps (its build outside the timing, as in the peer table),
    per agent-step of CPU time, both in this process, in turn."""
    from sim.api import simulate

    ours, virus = [], []
    for s in range(repeats):
        t0 = time.process_time()
        simulate([f"org.size={size}", f"weeks={weeks}", f"seed={s}"])
        ours.append((time.process_time() - t0) / (size * weeks))
        model = build_virus(size, s)
        t0 = time.process_time()
        for _ in range(virus_weeks):
            model.step()
        virus.append((time.process_time() - t0) / (size * virus_weeks))
    ours_s, virus_s = statistics.median(ours), statistics.median(virus)
    return {
        "agents": size,
        "weeks": weeks,
        "virus_weeks": virus_weeks,
        "clock": "CPU time (time.process_time)",
        "ours_ns_per_agent_step": 1e9 * ours_s,
        "virus_ns_per_agent_step": 1e9 * virus_s,
        "ours_run_s": ours_s * size * weeks,
        "ratio": virus_s / ours_s,
        "ours": ours,
        "virus": virus,
    }


WORKERS = {
    "step": work_step,
    "build": work_build,
    "agents": work_agents,
    "oracle": work_oracle,
    "virus": work_virus,
    "profile": work_profile,
    "ensemble": work_ensemble,
    "bass": work_bass,
    "full": work_full,
}


def in_fresh_process(worker: str, **kwargs) -> dict:
    """Run ``WORKERS[worker](**kwargs)`` in a new interpreter; its result is its last line."""
    done = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--worker", worker, json.dumps(kwargs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {worker} {kwargs} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the suite ----------------------------------------------------------------------------


def _median_rows(rows: list[dict], keys: tuple[str, ...]) -> dict:
    return {k: statistics.median(r[k] for r in rows) for k in keys}


def measure_steps(sizes, repeats: int, weeks: int | None, say) -> list[dict]:
    say(
        f"\nFull weekly step (median of {repeats} runs, each in a fresh process, timed after "
        "the step's compiled passes were loaded once: see the last column)"
    )
    say(
        f"{'agents':>10} {'ties':>11} {'weeks':>6} {'build s':>8} {'run s':>8} "
        f"{'ms/step':>8} {'agent-steps/s':>14} {'per CPU s':>11} {'peak MiB':>9} {'load s':>7}"
    )
    table = []
    for size in sizes:
        w = weeks or default_weeks(size)
        runs = [in_fresh_process("step", size=size, weeks=w, seed=s) for s in range(repeats)]
        med = _median_rows(
            runs,
            (
                "load_s",
                "build_s",
                "run_s",
                "run_cpu_s",
                "first_year_step_ms",
                "first_year_step_cpu_ms",
                "peak_mib",
                "import_mib",
                "ties",
            ),
        )
        row = {
            "agents": size,
            "weeks": w,
            **med,
            "step_ms": 1e3 * med["run_s"] / w,
            "agent_steps_per_s": size * w / med["run_s"],
            "agent_steps_per_cpu_s": size * w / med["run_cpu_s"],
            "weekly_rows": runs[0]["weekly_rows"],
            "group_rows_per_week": runs[0]["group_rows_per_week"],
            "runs": runs,
        }
        table.append(row)
        say(
            f"{size:>10,} {int(med['ties']):>11,} {w:>6} {med['build_s']:>8.2f} "
            f"{med['run_s']:>8.3f} {row['step_ms']:>8.2f} {row['agent_steps_per_s']:>14,.0f} "
            f"{row['agent_steps_per_cpu_s']:>11,.0f} {med['peak_mib']:>9,.0f} "
            f"{med['load_s']:>7.2f}"
        )
    return table


def measure_ties(size: int, degrees, repeats: int, weeks: int, say) -> list[dict]:
    say(f"\nTies at {size:,} agents: informal ties per person varied ({weeks} weeks)")
    say(f"{'informal':>9} {'ties':>11} {'ms/step':>8} {'CPU ms/step':>12} {'active':>7}")
    table = []
    for degree in degrees:
        runs = [
            in_fresh_process("step", size=size, weeks=weeks, seed=s, informal_degree=degree)
            for s in range(repeats)
        ]
        med = _median_rows(runs, ("run_s", "run_cpu_s", "ties", "peak_mib", "final_active_share"))
        row = {"agents": size, "informal_degree": degree, "weeks": weeks, **med}
        row["step_ms"] = 1e3 * med["run_s"] / weeks
        row["step_cpu_ms"] = 1e3 * med["run_cpu_s"] / weeks
        row["runs"] = runs
        table.append(row)
        say(
            f"{degree:>9g} {int(med['ties']):>11,} {row['step_ms']:>8.2f} "
            f"{row['step_cpu_ms']:>12.2f} {med['final_active_share']:>7.0%}"
        )
    return table


def measure_oracle(sizes, weeks: int, every: int, say) -> list[dict]:
    say(
        f"\nPer-agent reference (tests/oracle.py), {weeks} weeks, oracle every {every} weeks "
        "(CPU time; medians over the sampled weeks)"
    )
    say(
        f"{'agents':>8} {'step ms':>8} {'oracle ms':>10} {'full step ×':>12} "
        f"{'advance ms':>11} {'oracle adv ms':>14} {'rules ×':>8} {'agree':>6}"
    )
    table = []
    for size in sizes:
        row = in_fresh_process("oracle", size=size, weeks=weeks, every=every)
        table.append(row)
        if "skipped" in row:
            say(f"{size:>8,} skipped: {row['skipped']}")
            continue
        say(
            f"{size:>8,} {row['step_ms']:>8.2f} {row['oracle_step_ms']:>10.1f} "
            f"{row['ratio_full_step']:>12.0f} {row['advance_ms']:>11.2f} "
            f"{row['oracle_advance_ms']:>14.1f} {row['ratio_rules']:>8.0f} "
            f"{row['agree_active']:>6.1%}"
        )
    return table


def measure_peer(sizes, repeats: int, weeks: int, say) -> list[dict]:
    say(f"\nPeer: Mesa's virus_on_network, same agents and steps ({weeks}), median of {repeats}")
    say(
        f"{'agents':>8} {'ours ms/step':>13} {'virus ms/step':>14} {'virus/ours':>11} "
        f"{'CPU ratio':>10} {'ours MiB':>9} {'virus MiB':>10}"
    )
    table = []
    for size in sizes:
        ours, virus = [], []
        for s in range(repeats):  # alternate, so contention falls on both alike
            ours.append(in_fresh_process("step", size=size, weeks=weeks, seed=s))
            virus.append(in_fresh_process("virus", size=size, weeks=weeks, seed=s))
        o = _median_rows(ours, ("run_s", "run_cpu_s", "peak_mib", "ties"))
        v = _median_rows(virus, ("run_s", "run_cpu_s", "peak_mib", "ties", "build_s"))
        row = {
            "agents": size,
            "weeks": weeks,
            "ours_step_ms": 1e3 * o["run_s"] / weeks,
            "virus_step_ms": 1e3 * v["run_s"] / weeks,
            "ratio": v["run_s"] / o["run_s"],
            "ratio_cpu": v["run_cpu_s"] / o["run_cpu_s"],
            "ours_step_cpu_ms": 1e3 * o["run_cpu_s"] / weeks,
            "virus_step_cpu_ms": 1e3 * v["run_cpu_s"] / weeks,
            "ours_ties": o["ties"],
            "virus_ties": v["ties"],
            "ours_peak_mib": o["peak_mib"],
            "virus_peak_mib": v["peak_mib"],
            "virus_build_s": v["build_s"],
            "virus_final_infected_share": [r["final_infected_share"] for r in virus],
            "ours_runs": ours,
            "virus_runs": virus,
        }
        table.append(row)
        say(
            f"{size:>8,} {row['ours_step_ms']:>13.2f} {row['virus_step_ms']:>14.2f} "
            f"{row['ratio']:>11.1f} {row['ratio_cpu']:>10.1f} {o['peak_mib']:>9,.0f} "
            f"{v['peak_mib']:>10,.0f}"
        )
    return table


def measure_profile(size: int, warmup: int, repeats: int, out: Path, say, runs: int = 1) -> dict:
    row = in_fresh_process(
        "profile", size=size, warmup=warmup, repeats=repeats, out=str(out), runs=runs
    )
    what = f"{size:,} agents" if runs == 1 else f"an ensemble of {runs} runs × {size:,} agents"
    say(
        f"\nOne step of {what} (CPU time; after {warmup} weeks, active share "
        f"{row['active_share']:.0%}): {row['step_ms']:.2f} ms"
        + ("" if runs == 1 else f", {row['step_per_run_ms']:.3f} ms per run")
    )
    for part, ms in sorted(row["parts_ms"].items(), key=lambda kv: -kv[1]):
        say(f"  {part:<34} {ms:>7.2f} ms  {ms / row['step_ms']:>5.0%}")
    advance_ms = sum(row["advance_parts_ms"].values()) or 1.0
    say("  advance's parts (its CPU time split by pyinstrument's samples; % of advance):")
    for part, ms in row["advance_parts_ms"].items():
        say(f"    {part:<32} {ms:>7.2f} ms  {ms / advance_ms:>5.0%}")
    say(
        f"  practical limit: sums over contacts {row['products_ms']:.2f} ms (as SciPy's full "
        f"products {row['full_products_ms']:.2f} ms) + draws {row['parts_ms']['draws']:.2f} ms "
        f"= {row['limit_ms']:.2f} ms; step / limit = {row['step_over_limit']:.1f}×"
    )
    say(f"  pyinstrument profile: {out}")
    return row


def measure_ensemble(sizes, weeks: int, repeats: int, say, runs: int | None = None) -> list[dict]:
    say(
        f"\nEnsembles: runs per CPU-second of baseline runs ({weeks} weeks), median of "
        f"{repeats}, the three measured in turn in one process (CPU time)"
    )
    say(
        f"{'agents':>8} {'runs':>5} {'model s/run':>12} {'simulate s/run':>15} "
        f"{'ensemble s/run':>15} {'runs/CPU s':>11} {'× model':>8} {'× simulate':>11} "
        f"{'× issue':>8}"
    )
    table = []
    for size in sizes:
        row = in_fresh_process("ensemble", size=size, weeks=weeks, repeats=repeats, runs=runs)
        today = ISSUE_13_TODAY_S.get(size) if weeks == 260 else None
        row["ensemble_over_issue"] = today / row["ensemble_s"] if today else None
        table.append(row)
        issue = "—" if today is None else f"{row['ensemble_over_issue']:.1f}"
        say(
            f"{size:>8,} {row['runs']:>5} {row['model_s']:>12.4f} {row['simulate_s']:>15.4f} "
            f"{row['ensemble_s']:>15.4f} {row['runs_per_cpu_s']['ensemble']:>11.1f} "
            f"{row['ensemble_over_model']:>8.1f} {row['ensemble_over_simulate']:>11.1f} "
            f"{issue:>8}"
        )
    return table


def measure_bass(size: int, weeks: int, repeats: int, say) -> dict:
    runs = [in_fresh_process("bass", size=size, weeks=weeks, seed=s) for s in range(repeats)]
    med = _median_rows(runs, ("run_s", "run_cpu_s", "peak_mib", "import_mib"))
    row = {**runs[0], **med, "runs": runs}
    row["speedup_over_issue"] = ISSUE_13_BASS_S / med["run_cpu_s"] if size == 5_000 else None
    say(
        f"\nBass validation run (complete organisation of {size:,}, mean field, {weeks} weeks, "
        f"median of {repeats}): {med['run_cpu_s']:.2f} s CPU ({med['run_s']:.2f} s wall), "
        f"peak {med['peak_mib']:,.0f} MiB of which imports {med['import_mib']:,.0f} MiB "
        f"(its ties as a sparse matrix would take {row['n2_ties_mib']:,.0f} MiB)"
        + (
            ""
            if row["speedup_over_issue"] is None
            else f"; {row['speedup_over_issue']:,.0f}× the issue's {ISSUE_13_BASS_S:.0f} s"
        )
    )
    # memory O(N): the same run at ten times the people (a year of it), memory above imports
    large = in_fresh_process("bass", size=10 * size, weeks=min(weeks, 52))
    row["memory_growth_mib"] = {
        size: med["peak_mib"] - med["import_mib"],
        10 * size: large["peak_mib"] - large["import_mib"],
    }
    say(
        f"  memory above imports: {row['memory_growth_mib'][size]:,.0f} MiB at {size:,} people, "
        f"{row['memory_growth_mib'][10 * size]:,.0f} MiB at {10 * size:,} (N² ties there: "
        f"{large['n2_ties_mib']:,.0f} MiB)"
    )
    return row


def measure_full(size: int, weeks: int, virus_weeks: int, repeats: int, say) -> dict:
    row = in_fresh_process("full", size=size, weeks=weeks, virus_weeks=virus_weeks, repeats=repeats)
    say(
        f"\nFull run through sim.simulate ({size:,} agents, {weeks} weeks: compose, build, run, "
        f"records, summary; {row['ours_run_s']:.2f} s CPU) against Mesa's virus_on_network "
        f"({virus_weeks} steps), per agent-step, median of {repeats}: ours "
        f"{row['ours_ns_per_agent_step']:.0f} ns, virus {row['virus_ns_per_agent_step']:.0f} ns, "
        f"{row['ratio']:.1f}× (CPU time, one process)"
    )
    return row


def measure_memory_build(size: int, say) -> dict:
    build = in_fresh_process("build", size=size)
    agents = in_fresh_process("agents", size=size)
    say(
        f"\nBuild at {size:,} agents: organisation {build['org_s']:.1f} s / "
        f"{build['org_mib']:,.0f} MiB; model {build['model_s']:.1f} s / "
        f"{build['model_mib']:,.0f} MiB, of which Mesa agents alone {agents['create_s']:.1f} s / "
        f"{agents['mib']:,.0f} MiB ({agents['bytes_per_agent']:.0f} bytes per agent)"
    )
    return {"build": build, "mesa_agents": agents}


def _time_compare(tree: Path, python: str, overrides: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``python -m sim experiment=compare`` run in the checkout
    ``tree`` (CPU: the command and the worker processes it waited for)."""
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    # bytecode caches written: measured as every run after the first (``measure_compare``)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        command = [python, "-m", "sim", "experiment=compare", f"experiment.dir={tmp}", *overrides]
        c0, t0 = children_cpu(), time.perf_counter()
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, check=False
        )
        seconds, cpu = time.perf_counter() - t0, children_cpu() - c0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} in {tree} failed:\n{done.stderr}")
    return seconds, cpu


def measure_compare(overrides: list[str], say, against: Path | None = None, repeats: int = 1):
    """Part 6; with ``against``, that checkout's compare and this one's in turn.

    Each checkout's command runs once first, untimed, so that both are measured as they run
    every time after the first: Numba's compiled passes cached, and Python's bytecode caches
    of the project's modules written — also where ``PYTHONDONTWRITEBYTECODE`` is set (as on
    this project's machine), which would otherwise have each of the command's processes
    compile those modules again every time (about 0.3 s of CPU for the main process)."""
    trees = {"this": (ROOT, sys.executable)}
    if against is not None:
        trees = {"before": (against, str(against / ".venv" / "bin" / "python")), **trees}
    for tree, python in trees.values():
        _time_compare(tree, python, overrides)
    times: dict[str, list] = {name: [] for name in trees}
    for _ in range(repeats):
        for name, (tree, python) in trees.items():
            times[name].append(_time_compare(tree, python, overrides))
    wall = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    shown = " ".join(["python -m sim experiment=compare", *overrides])
    row = {"command": shown, "default": not overrides, "seconds": wall["this"],
           "cpu_seconds": cpu["this"], "times": times}  # fmt: skip
    line = f"\nComparison ({shown}): {wall['this']:.1f} s (CPU {cpu['this']:.1f} s)"
    if against is not None:
        row.update(against=str(against), before_seconds=wall["before"],
                   before_cpu_seconds=cpu["before"], speedup=wall["before"] / wall["this"],
                   speedup_cpu=cpu["before"] / cpu["this"])  # fmt: skip
        line += (
            f"; {against}: {wall['before']:.1f} s (CPU {cpu['before']:.1f} s); "
            f"{row['speedup']:.2f}× faster (CPU {row['speedup_cpu']:.2f}×), medians of {repeats}"
        )
    say(line)
    return row


def check_targets(results: dict) -> list[dict]:
    """Each target of the issue beside what was measured (None: not measured in this run)."""

    def at(table, size, key):
        return next((r[key] for r in table or () if r["agents"] == size and key in r), None)

    compare = results.get("compare") or {}
    measured = {
        "oracle_ratio_10k": at(results.get("oracle"), 10_000, "ratio_rules"),
        "agent_steps_per_s_100k": at(results.get("steps"), 100_000, "agent_steps_per_s"),
        "peak_mib_1m": at(results.get("steps"), 1_000_000, "peak_mib"),
        "compare_s": compare["seconds"] if compare.get("default") else None,
        "compare_over_before": compare.get("speedup") if compare.get("default") else None,
        "ensemble_over_issue_1k": at(results.get("ensemble"), 1_000, "ensemble_over_issue"),
        "bass_speedup_5k": (results.get("bass") or {}).get("speedup_over_issue"),
        "full_10k_over_mesa": at([results["full"]] if "full" in results else (), 10_000, "ratio"),
    }
    # the same in CPU time, which a busy shared machine disturbs less (for information)
    cpu = {
        "oracle_ratio_10k": measured["oracle_ratio_10k"],  # measured in CPU time already
        "agent_steps_per_s_100k": at(results.get("steps"), 100_000, "agent_steps_per_cpu_s"),
        **{name: measured[name] for name in TARGETS if name not in ISSUE_6_TARGETS},
        "compare_over_before": compare.get("speedup_cpu") if compare.get("default") else None,
    }
    rows = []
    for name, target in TARGETS.items():
        value = measured[name]
        met = None
        if value is not None:
            met = value < target if name in ("peak_mib_1m", "compare_s") else value >= target
        rows.append(
            {
                "target": name,
                "goal": target,
                "measured": value,
                "measured_cpu": cpu.get(name),
                "met": met,
            }
        )
    return rows


def plot(results: dict, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    steps, ties = results["steps"], results.get("ties") or []
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    n = np.array([r["agents"] for r in steps], float)
    e = np.array([r["ties"] for r in steps], float)
    cpu = np.array([r["first_year_step_cpu_ms"] for r in steps])
    wall = np.array([r["first_year_step_ms"] for r in steps])
    left.loglog(n, cpu, "o-", label="CPU time")
    left.loglog(n, wall, "o--", alpha=0.6, label="wall time")
    if n.size:
        left.loglog(n, cpu[-1] * n / n[-1], ":", color="grey", label="proportional to agents")
    left.set_xlabel("agents (default organisation)")
    left.set_ylabel("time per weekly step (ms)")
    left.set_title(f"Against agents (weeks 1–{FIRST_YEAR}, median)")
    right.loglog(e, cpu, "o-", label="1k–1M agents, default organisation")
    if e.size:
        right.loglog(e, cpu[-1] * e / e[-1], ":", color="grey", label="proportional to ties")
    if ties:
        te = np.array([r["ties"] for r in ties], float)
        tc = np.array([r["step_cpu_ms"] for r in ties])
        label = f"{ties[0]['agents']:,} agents, informal ties varied"
        if te.size >= 2:
            slope, intercept = np.polyfit(te, tc, 1)
            label += f"\n(fit: {intercept:.1f} ms + {1e6 * slope:.2f} ns per tie)"
        right.loglog(te, tc, "s-", label=label)
    right.set_xlabel("ties (undirected)")
    right.set_ylabel("CPU time per weekly step (ms)")
    right.set_title("Against ties")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(folder / "scaling.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    oracle = [r for r in results.get("oracle") or [] if "skipped" not in r]
    peer = results.get("peer") or []
    if oracle or peer:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        labels, ours, ref, vir = [], [], [], []
        for size in sorted({r["agents"] for r in oracle + peer}):
            o = next((r for r in oracle if r["agents"] == size), None)
            p = next((r for r in peer if r["agents"] == size), None)
            labels.append(f"{size:,}")
            ours.append(p["ours_step_cpu_ms"] if p else o["step_ms"])
            ref.append(o["oracle_step_ms"] if o else np.nan)
            vir.append(p["virus_step_cpu_ms"] if p else np.nan)
        x = np.arange(len(labels))
        ax.bar(x - 0.27, ours, 0.27, label="this model (vectorised)")
        ax.bar(x, vir, 0.27, label="Mesa virus_on_network")
        ax.bar(x + 0.27, ref, 0.27, label="per-agent reference (oracle)")
        ax.set_yscale("log")
        ax.set_xticks(x, labels)
        ax.set_xlabel("agents")
        ax.set_ylabel("CPU time per weekly step (ms)")
        ax.set_title("Side by side, same machine and run")
        ax.legend()
        ax.grid(True, axis="y", which="both", alpha=0.3)
        fig.tight_layout()
        paths.append(folder / "comparison.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


QUICK = {
    "sizes": [300, 1000],
    "repeats": 1,
    "weeks": 8,
    "oracle_sizes": [200],
    "oracle_weeks": 4,
    "oracle_every": 2,
    "peer_sizes": [300],
    "peer_weeks": 4,
    "tie_size": 1000,
    "tie_degrees": [0.0, 8.0],
    "profile_size": 1000,
    "profile_warmup": 4,
    "profile_repeats": 2,
    "build_size": 1000,
    "ensemble_sizes": [300],
    "ensemble_weeks": 8,
    "ensemble_runs": 4,
    "ensemble_repeats": 1,
    "ensemble_profile_size": 300,
    "ensemble_profile_runs": 4,
    "bass_size": 300,
    "bass_weeks": 20,
    "full_size": 300,
    "full_weeks": 8,
    "full_virus_weeks": 4,
    "compare_overrides": [
        "experiment.replications=2",
        "experiment.bootstrap=100",
        "experiment.jobs=1",
        "experiment.scenarios=[mandate]",
        "weeks=6",
        "org.size=60",
    ],
}


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m experiments.benchmark",
        description="Benchmark suite: speed, scaling and memory of the weekly step.",
    )
    p.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (for tests)")
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    p.add_argument("--repeats", type=int, default=5, help="runs per measurement (median)")
    p.add_argument("--weeks", type=int, default=None, help="default: 260, 52 at 1M agents")
    p.add_argument("--oracle-sizes", type=int, nargs="*", default=list(ORACLE_SIZES))
    p.add_argument("--oracle-weeks", type=int, default=260)
    p.add_argument("--oracle-every", type=int, default=26, help="oracle on every k-th week")
    p.add_argument("--peer-sizes", type=int, nargs="*", default=list(PEER_SIZES))
    p.add_argument("--peer-weeks", type=int, default=52)
    p.add_argument("--tie-size", type=int, default=100_000)
    p.add_argument("--tie-degrees", type=float, nargs="*", default=list(TIE_DEGREES))
    p.add_argument("--profile-size", type=int, default=PROFILE_SIZE)
    p.add_argument("--profile-warmup", type=int, default=52)
    p.add_argument("--profile-repeats", type=int, default=20)
    p.add_argument("--build-size", type=int, default=None, help="default: largest size")
    p.add_argument("--ensemble-sizes", type=int, nargs="*", default=list(ENSEMBLE_SIZES))
    p.add_argument("--ensemble-weeks", type=int, default=260)
    p.add_argument("--ensemble-runs", type=int, default=None, help="default: as BATCH_ROWS holds")
    p.add_argument("--ensemble-repeats", type=int, default=3)
    p.add_argument("--ensemble-profile-size", type=int, default=1000, help="0: no profile")
    p.add_argument("--ensemble-profile-runs", type=int, default=None)
    p.add_argument("--bass-size", type=int, default=5000, help="0: no Bass measurement")
    p.add_argument("--bass-weeks", type=int, default=None, help="default: the preset's")
    p.add_argument("--full-size", type=int, default=10_000, help="0: no full-run measurement")
    p.add_argument("--full-weeks", type=int, default=260)
    p.add_argument("--full-virus-weeks", type=int, default=52)
    p.add_argument("--no-compare", dest="compare", action="store_false")
    p.add_argument("--compare-against", type=Path, default=None, help="a checkout to compare with")
    p.add_argument("--compare-repeats", type=int, default=1)
    p.add_argument("--no-peer", dest="peer", action="store_false")
    p.add_argument("--no-oracle", dest="oracle", action="store_false")
    p.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        metavar="PART",
        help=f"run only these: {', '.join(PARTS)}",
    )
    p.add_argument("--out", type=Path, default=None, help="default: results/benchmarks/<time>")
    p.add_argument("--docs", action="store_true", help="copy scaling.png into docs/img/")
    p.add_argument("--replot", type=Path, help="redraw the figures of a results folder")
    p.add_argument("--worker", nargs=2, metavar=("NAME", "JSON"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.compare_overrides = []
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.worker:
        name, kwargs = args.worker
        print(json.dumps(WORKERS[name](**json.loads(kwargs))))
        return {}
    if args.replot:
        results = json.loads((args.replot / "benchmark.json").read_text())
        print(", ".join(str(p) for p in plot(results, args.replot)))
        return results
    folder = args.out or ROOT / "results" / "benchmarks" / datetime.now().strftime(
        "%Y-%m-%d_%H-%M-%S"
    )
    folder.mkdir(parents=True, exist_ok=True)

    def say(line: str = "") -> None:
        print(line, flush=True)

    started = time.perf_counter()
    results: dict = {
        "command": "python -m experiments.benchmark " + " ".join(argv or sys.argv[1:]),
        "started": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "repeats": args.repeats,
    }

    def wanted(part: str) -> bool:
        return args.only is None or part in args.only

    if wanted("steps"):
        results["steps"] = measure_steps(args.sizes, args.repeats, args.weeks, say)
        results["memory"] = measure_memory_build(args.build_size or max(args.sizes), say)
    if args.tie_degrees and wanted("ties"):
        results["ties"] = measure_ties(
            args.tie_size, args.tie_degrees, args.repeats, args.weeks or 52, say
        )
    if args.oracle and args.oracle_sizes and wanted("oracle"):
        results["oracle"] = measure_oracle(
            args.oracle_sizes, args.oracle_weeks, args.oracle_every, say
        )
    if args.peer and args.peer_sizes and wanted("peer"):
        results["peer"] = measure_peer(args.peer_sizes, args.repeats, args.peer_weeks, say)
    if args.ensemble_sizes and wanted("ensemble"):
        results["ensemble"] = measure_ensemble(
            args.ensemble_sizes, args.ensemble_weeks, args.ensemble_repeats, say, args.ensemble_runs
        )
    if args.bass_size and wanted("bass"):
        results["bass"] = measure_bass(
            args.bass_size, args.bass_weeks or bass_preset_weeks(), args.repeats, say
        )
    if args.full_size and wanted("full"):
        results["full"] = measure_full(
            args.full_size, args.full_weeks, args.full_virus_weeks, args.repeats, say
        )
    if wanted("profile"):
        results["profile"] = measure_profile(
            args.profile_size,
            args.profile_warmup,
            args.profile_repeats,
            folder / "profile.txt",
            say,
        )
    if args.ensemble_profile_size and wanted("profile"):
        from sim.replicate import BATCH_ROWS

        size = args.ensemble_profile_size
        results["ensemble_profile"] = measure_profile(
            size,
            args.profile_warmup,
            args.profile_repeats,
            folder / "profile_ensemble.txt",
            say,
            runs=args.ensemble_profile_runs or max(1, BATCH_ROWS // size),
        )
    if args.compare and wanted("compare"):
        results["compare"] = measure_compare(
            args.compare_overrides, say, args.compare_against, args.compare_repeats
        )
    results["targets"] = check_targets(results)
    results["seconds"] = time.perf_counter() - started

    say("\nTargets (issues 6 and 13)")
    for t in results["targets"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        value = "—" if t["measured"] is None else f"{t['measured']:,.4g}"
        extra = "" if t["measured_cpu"] is None else f" (CPU time: {t['measured_cpu']:,.4g})"
        say(f"  {t['target']:<24} goal {t['goal']:>12,.4g}  measured {value:>12}  {verdict}{extra}")
    (folder / "benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    figures = plot(results, folder) if "steps" in results else []
    if args.docs and figures:
        shutil.copyfile(folder / "scaling.png", ROOT / "docs" / "img" / "benchmark_scaling.png")
    say(f"\nWrote {folder / 'benchmark.json'}, " + ", ".join(p.name for p in figures))
    return results


if __name__ == "__main__":
    main()
