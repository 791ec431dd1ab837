"""Property-based tests of whole configs (issue 8, item 6), through the same path as
``python -m sim``: overrides → ``sim.compose`` → ``sim.run.check`` → the model.

* Random valid configs — every organisation generator at small sizes, behavioural parameters
  drawn anywhere inside ``models.params.BOUNDS``, any champions' share and rule, any named
  programme plus a random extra intervention — keep the model numerically sound
  (``tests/invariants.py``: nothing NaN or infinite, 0..1 quantities in [0, 1], stages in
  range, the population conserved) after every week.
* Random invalid configs — values out of range, of the wrong type, unknown names, an
  intervention ending before it starts — are refused with an ``InputError`` whose message
  names the key; never another exception, never a run. Several invalid values found by the
  config check are all named in one message.
* Random network files and org charts — any ids, delimiters, headers, repeats, self-loops,
  blanks, unknown people, roles and reporting lines — either load into an organisation that
  satisfies every invariant the model relies on (``Organisation.validate``) or are refused
  with an ``InputError`` naming the key and the file.
* Random command lines (issue 18) — overrides over values, config groups, added and removed
  keys, with odd values and interpolations — run as ``python -m sim`` subprocesses: exit
  status 0 or 2, never a traceback, and a refusal is one message that writes nothing.

(tests/test_dynamics.py tests the weekly step itself under random parameters and levers.)
"""

import math
import re
import subprocess
import sys
import tempfile
from dataclasses import fields
from pathlib import Path

import numpy as np
from conftest import cli_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import assert_sound_model, assert_sound_state

import sim
from experiments.compare import available_scenarios
from models.errors import InputError
from models.interventions import CONTINGENCIES, GROUPS, KINDS
from models.params import BOUNDS, NON_NEGATIVE, Behaviour
from models.targeting import RULES
from sim.run import build_model

SCENARIOS = available_scenarios()
NUMERIC = [f.name for f in fields(Behaviour) if f.type is not bool]
INTEGER = {f.name for f in fields(Behaviour) if f.type is int}
#: Upper ends for drawing parameters bounded only below: large, but within reason.
CAP = 50.0


def number(value: float) -> str:
    """A float as an override value Hydra reads back exactly."""
    return repr(float(value))


def valid_value(name: str) -> st.SearchStrategy:
    low, high = BOUNDS.get(name, NON_NEGATIVE)
    if name in INTEGER:
        return st.integers(int(max(low, 0)), int(min(high, 20))).map(str)
    low, high = max(low, -CAP), min(high, CAP)
    return st.one_of(st.sampled_from([low, high]), st.floats(low, high)).map(number)


@st.composite
def organisations(draw) -> list[str]:
    kind = draw(st.sampled_from(["hierarchy", "small_world", "scale_free", "random", "complete"]))
    size = draw(st.integers(2 if kind in ("hierarchy", "complete") else 3, 60))
    out = [f"org={kind}", f"org.size={size}"]
    if kind == "hierarchy":
        out += [
            f"org.span={draw(st.integers(1, 8))}",
            f"org.team_density={number(draw(st.floats(0, 1)))}",
            f"org.informal_degree={number(draw(st.floats(0, 8)))}",
            f"org.department_bias={number(draw(st.floats(0, 1)))}",
        ]
    elif kind == "small_world":
        out += [f"org.k={2 * draw(st.integers(0, (size - 1) // 2))}"]
        out += [f"org.rewire={number(draw(st.floats(0, 1)))}"]
    elif kind == "scale_free":
        out += [f"org.m={draw(st.integers(1, min(5, size - 1)))}"]
    elif kind == "random":
        degree = st.floats(0.0, min(8.0, size - 1))
        out += [f"org.mean_degree={number(draw(degree))}"]
    return out


@st.composite
def extra_intervention(draw) -> list[str]:
    """A building block added to the programme, with random timing, reach and intensity."""
    kind = draw(st.sampled_from(KINDS))
    key = "scenario.interventions.probe"
    start = draw(st.integers(1, 30))
    top = 5.0 if kind in ("champions", "experiment") else 1.0
    return [
        f"+intervention@{key}={kind}",  # the building block conf/intervention/<kind>.yaml
        f"{key}.start={start}",
        f"{key}.end={draw(st.one_of(st.just('null'), st.integers(start, 40).map(str)))}",
        f"{key}.target={draw(st.sampled_from(GROUPS))}",
        f"{key}.share={number(draw(st.floats(0, 1)))}",
        f"{key}.rule={draw(st.sampled_from(RULES))}",
        f"{key}.intensity={number(draw(st.floats(0, top)))}",
        f"{key}.cadence={draw(st.integers(1, 8))}",
        f"{key}.contingency={draw(st.sampled_from(CONTINGENCIES))}",
        f"{key}.cost_per_person={number(draw(st.floats(0, 10)))}",
    ]


@st.composite
def valid_configs(draw) -> list[str]:
    out = draw(organisations())
    names = draw(st.lists(st.sampled_from(NUMERIC), max_size=8, unique=True))
    out += [f"population.{n}={draw(valid_value(n))}" for n in names]
    out += [f"champions.share={number(draw(st.floats(0, 0.99)))}"]
    out += [f"champions.rule={draw(st.sampled_from(RULES))}"]
    out += [f"scenario={draw(st.sampled_from(SCENARIOS))}"]
    if draw(st.booleans()):
        out += draw(extra_intervention())
    out += [f"weeks={draw(st.integers(1, 30))}", f"seed={draw(st.integers(0, 2**32 - 1))}"]
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides=valid_configs())
def test_any_valid_config_stays_sound_every_week(overrides):
    cfg = sim.compose(overrides)
    model = build_model(cfg)
    n = model.org.n
    assert_sound_state(model.state, n)
    with np.errstate(over="ignore"):  # extreme logits overflow exp() harmlessly
        for _ in range(cfg.weeks):
            model.step()
            assert_sound_state(model.state, n)
    assert_sound_model(model)
    assert len(model.weekly()) == cfg.weeks


# --- invalid configs ---------------------------------------------------------------------------


@st.composite
def out_of_range(draw) -> tuple[str, str]:
    """A behavioural parameter outside its range (or NaN, or infinite): (override, key)."""
    name = draw(st.sampled_from(NUMERIC))
    low, high = BOUNDS.get(name, NON_NEGATIVE)
    integer = name in INTEGER  # NaN and inf are not integers: Hydra refuses them (COMPOSED)
    options = [] if integer else [st.just(math.nan)]
    if low > -math.inf:
        step = 1 if name in INTEGER else draw(st.sampled_from([1e-6, 0.5, 1e6]))
        options.append(st.just(low - step))
    if high < math.inf:
        options.append(st.floats(high + 1e-6, high + 1e6))
    else:
        options.append(st.just(1e13) if integer else st.sampled_from([math.inf, 1e13]))
    value = draw(st.one_of(options))
    text = "nan" if math.isnan(value) else ("inf" if value == math.inf else number(value))
    if name in INTEGER and math.isfinite(value):
        text = str(int(math.floor(value)))
    return f"population.{name}={text}", f"population.{name}"


#: Invalid values the config check finds (so several are reported together): (override, key).
CHECKED = st.one_of(
    out_of_range(),
    st.integers(-100, 0).map(lambda w: (f"weeks={w}", "weeks")),
    st.integers(-(2**31), -1).map(lambda s: (f"seed={s}", "seed")),
    st.floats(1.0, 50.0).map(lambda v: (f"champions.share={number(v)}", "champions.share")),
    st.text("xyzq", min_size=1, max_size=6).map(
        lambda r: (f"champions.rule={r}", "champions.rule")
    ),
    st.floats(-10, -1e-6).map(lambda v: (f"discount_rate={number(v)}", "discount_rate")),
    st.integers(-50, 1).map(lambda s: (f"org.size={s}", "org.size")),
    st.integers(-5, 0).map(lambda s: (f"org.span={s}", "org.span")),
)

#: Invalid values Hydra refuses while composing (wrong type, unknown option or key).
COMPOSED = st.one_of(
    st.sampled_from(["abc", "1.5", "true", "[1]"]).map(lambda v: (f"weeks={v}", "weeks")),
    st.sampled_from(["abc", "1.5"]).map(lambda v: (f"seed={v}", "seed")),
    st.sampled_from(NUMERIC).map(lambda n: (f"population.{n}=lots", f"population.{n}")),
    st.sampled_from(["abc", "[0.1]"]).map(lambda v: (f"champions.share={v}", "champions.share")),
    st.sampled_from(["nowhere", "Hierarchy"]).map(lambda v: (f"org={v}", "org")),
    st.sampled_from(["nothing", "Mandate"]).map(lambda v: (f"scenario={v}", "scenario")),
    st.sampled_from(["bogus", "size_"]).map(lambda k: (f"org.{k}=1", f"org.{k}")),
)


@settings(max_examples=25, deadline=None)
@given(bad=st.lists(CHECKED, min_size=1, max_size=4, unique_by=lambda b: b[1]))
def test_invalid_values_are_all_refused_in_one_message(bad):
    overrides = [override for override, _ in bad]
    if not any(o.startswith("weeks=") for o in overrides):
        overrides.append("weeks=3")  # if something slipped through, the run is short
    try:
        sim.simulate(overrides)
    except InputError as e:
        message = str(e)
    else:
        raise AssertionError(f"not refused: {overrides}")
    for _, key in bad:
        assert re.search(rf"(^|\n){re.escape(key)}[=:]", message), (key, message)


@settings(max_examples=15, deadline=None)
@given(bad=COMPOSED)
def test_values_hydra_refuses_come_as_input_errors_naming_the_key(bad):
    override, key = bad
    try:
        sim.simulate([override, "weeks=3"] if not key == "weeks" else [override])
    except InputError as e:
        message = str(e)
    else:
        raise AssertionError(f"not refused: {override}")
    assert key.split(".")[-1] in message or override.split("=")[1] in message, message


@settings(max_examples=8, deadline=None)
@given(
    kind=st.sampled_from(["mandate", "incentive", "campaign", "sense_making"]),
    start=st.integers(2, 100),
    gap=st.integers(1, 50),
)
def test_an_intervention_that_ends_before_it_starts_is_refused(kind, start, gap):
    key = "scenario.interventions.probe"
    overrides = [f"+intervention@{key}={kind}", f"{key}.start={start}", f"{key}.end={start - gap}"]
    try:
        sim.simulate([*overrides, "weeks=3"])
    except InputError as e:
        assert f"{key}.end={start - gap} is not allowed" in str(e)
        assert f"not before start ({start})" in str(e)
    else:
        raise AssertionError("not refused")


# --- random network files ----------------------------------------------------------------------

IDS = st.sampled_from(["1", "2", "3", "007", "7", "ann", "bob", "x y", "", " 4 "])


@st.composite
def network_files(draw) -> tuple[str, str | None]:
    """An edge list (and maybe a nodes file) with random ids, delimiters, repeats, self-loops,
    blank cells, unknown people, roles and managers: valid or not."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    rows = draw(st.lists(st.tuples(IDS, IDS), max_size=12))
    header = draw(st.sampled_from(["source{d}target", "Source{d} TARGET", "from{d}to"]))
    edges = "\n".join([header.format(d=delimiter), *(delimiter.join(r) for r in rows)]) + "\n"
    if not draw(st.booleans()):
        return edges, None
    people = draw(st.lists(IDS, max_size=8))
    roles = st.sampled_from(["", "employee", "Champion", "MANAGER", "boss"])
    lines = ["id,role,manager"]
    for person in people:
        lines.append(f"{person},{draw(roles)},{draw(st.one_of(st.just(''), IDS))}")
    return edges, "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(files=network_files())
def test_any_network_file_loads_as_a_valid_organisation_or_is_refused_by_line(files):
    """Never a traceback: a file either loads (repairs come as warnings) into an organisation
    that satisfies every invariant the model relies on, or is refused with an InputError
    naming the config key and the file."""
    import tempfile
    import warnings
    from pathlib import Path

    from models.loaders import load_network

    edges, nodes = files
    with tempfile.TemporaryDirectory() as folder:
        edge_path = Path(folder) / "ties.csv"
        edge_path.write_text(edges, encoding="utf-8")
        nodes_path = None
        if nodes is not None:
            nodes_path = Path(folder) / "people.csv"
            nodes_path.write_text(nodes, encoding="utf-8")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                org = load_network(edge_path, nodes_path)
        except InputError as e:
            assert re.match(r"org\.(path|nodes_path): \S+(ties|people)\.csv", str(e)), str(e)
            return
    org.validate()
    assert org.n >= 1 and len(org.node_ids) == org.n


@st.composite
def org_charts(draw) -> str:
    """An HR org chart with random ids, managers (blank, unknown, themselves, cycles) and
    departments: valid or not."""
    people = draw(st.lists(IDS, max_size=10))
    lines = ["employee_id,manager_id,department"]
    for person in people:
        manager = draw(st.one_of(st.just(""), st.sampled_from(people or [""]), IDS))
        lines.append(f"{person},{manager},{draw(st.sampled_from(['', 'sales', 'it']))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(chart=org_charts(), seed=st.integers(0, 2**32 - 1))
def test_any_org_chart_loads_as_a_valid_organisation_or_is_refused_by_line(chart, seed):
    import tempfile
    from pathlib import Path

    from models.loaders import load_orgchart

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chart.csv"
        path.write_text(chart, encoding="utf-8")
        try:
            org = load_orgchart(path, rng=np.random.default_rng(seed))
        except InputError as e:
            assert re.match(r"org\.path: \S+chart\.csv", str(e)), str(e)
            return
    org.validate()
    assert org.has_hierarchy


# --- the command line, fuzzed (issue 18, item 7) -----------------------------------------------

#: Keys an override list is drawn over: values, config groups, keys no schema has (``+``),
#: a deletion (``~``); each with odd values besides sensible ones.
FUZZED_KEYS = [
    "weeks",
    "seed",
    "discount_rate",
    "org",
    "org.size",
    "org.k",
    "org.span",
    "org.path",
    "population",
    "population.stage_up",
    "population.time_cost",
    "champions.share",
    "champions.rule",
    "scenario",
    "calibration",
    "output.snapshots",
    "experiment.jobs",
    "+bogus",
    "+org.extra",
]
ODD_VALUES = [
    "",
    "abc",
    "null",
    "true",
    "nan",
    "-inf",
    "1e39",
    "[1,2]",
    "{a:1}",
    "'quoted'",
    "a,b",
    "${oc.env:HOME}",
    "${oc.env:BEYOND_ADOPTION_UNSET}",
    "${weeks}",
    "1000000000000",
    "/dev/zero",
    "small_world",
    "mandate",
]


@st.composite
def command_lines(draw) -> list[str]:
    """1-4 overrides over distinct keys (a small organisation and horizon unless drawn)."""
    keys = draw(st.lists(st.sampled_from(FUZZED_KEYS), min_size=1, max_size=4, unique=True))
    args = []
    for key in keys:
        value = draw(
            st.one_of(
                st.sampled_from(ODD_VALUES),
                st.integers(-3, 60 if key == "weeks" else 2000).map(str),
                st.floats(-2, 2, allow_nan=False).map(number),
                st.text(alphabet="ab01=,[]{}$:+'. _-", max_size=6),
            )
        )
        args.append(f"{key}={value}")
    if draw(st.integers(0, 5)) == 0:
        args.append("~weeks")  # a deletion: weeks is then required
    keys = {a.split("=", 1)[0].lstrip("+~") for a in args}
    args += [f"{k}={v}" for k, v in (("weeks", "6"), ("org.size", "40")) if k not in keys]
    return args


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=command_lines())
def test_the_command_line_accepts_or_refuses_cleanly_whatever_it_is_given(args):
    """``python -m sim`` with random override lists (as subprocesses): exit status 0 or 2,
    never a traceback; a refusal is one message on stderr and writes nothing at all."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd, out = Path(tmp) / "cwd", Path(tmp) / "out"
        cwd.mkdir()
        proc = subprocess.run(
            [sys.executable, "-m", "sim", *args, f"output.dir={out}", "output.plot=false"],
            cwd=cwd,
            env=cli_env(),
            capture_output=True,
            encoding="utf-8",
            timeout=300,
        )
        text = proc.stdout + proc.stderr
        assert proc.returncode in (0, 2), (args, text)
        assert "Traceback" not in text, (args, text)
        if proc.returncode == 2:
            assert proc.stderr.startswith("error: ") and proc.stderr.count("error: ") == 1, text
            assert proc.stdout == "", text
            assert not out.exists() and list(cwd.iterdir()) == [], (args, text)
        else:
            assert "error:" not in text and len(list(out.iterdir())) == 1, (args, text)
