"""Shared helpers for the run-layer tests: running ``python -m sim``, small input files, and
the catalogue of bad inputs that the command line and the Python API must both refuse."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The shape of a run-folder name: ``<timestamp>`` (``_<n>`` when the second was taken).
RUN_FOLDER_NAME = r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(_\d+)?"

#: What ``python -m sim`` writes in a run folder (with output.plot=true).
RUN_FILES = {
    "weekly.parquet",
    "groups.parquet",
    "summary.json",
    "config.yaml",
    "provenance.json",
    "adoption_vs_value.png",
}

# --- small input files -----------------------------------------------------------------------

#: A tie list mixing string and whole-number ids ("04" is read as 4): 6 people.
EDGE_LIST = "source,target\nalice,bob\nbob,carol\ncarol,alice\n3,4\n04,alice\ndan,3\n"

#: An HR org chart of 7 people in three departments.
ORG_CHART = (
    "employee_id,manager_id,department\n"
    "1,,exec\n"
    "2,1,sales\n"
    "3,1,eng\n"
    "4,2,sales\n"
    "5,2,sales\n"
    "6,3,eng\n"
    "7,3,eng\n"
)

#: Malformed files, each wrong on a known line.
BAD_FILES = {
    "bad_header.csv": "src,dst\n1,2\n2,3\n",
    "blank_id.csv": "source,target\n1,2\n,3\n2,3\n",
    "ragged.csv": "source,target\n1,2\n2,3,4\n",
    "orgchart_bad.csv": "employee_id,manager_id,department\n1,,a\n2,1,a\n3,9,b\n",
    "a_file": "not a folder\n",
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_bad_files(folder: Path) -> Path:
    for name, text in BAD_FILES.items():
        write(folder / name, text)
    return folder


# --- bad inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """A bad input: its overrides (``{data}`` stands for the folder of ``BAD_FILES``) and
    regular expressions the message must match: the key with the bad value, and what is
    allowed."""

    name: str
    overrides: tuple[str, ...]
    patterns: tuple[str, ...]
    hydra: bool = False  # refused by Hydra while composing (sim.compose refuses it too)

    def args(self, data: Path) -> list[str]:
        args = [o.replace("{data}", str(data)) for o in self.overrides]
        if not any(a.startswith("weeks=") for a in args):
            args.append("weeks=10")  # if a bad input slipped through, the run stays short
        return args


BAD_INPUTS = [
    Bad("negative size", ("org.size=-5",), (r"org\.size: -5\b", r"whole number ≥ 2")),
    Bad(
        "density above 1",
        ("org.team_density=1.5",),
        (r"org\.team_density: 1\.5\b", r"between 0 and 1"),
    ),
    Bad(
        "probability above 1",
        ("population.stage_up=2",),
        (r"population\.stage_up=2(\.0)?\b", r"between 0 and 1"),
    ),
    Bad(
        "zero time cost",
        ("population.time_cost=0",),
        (r"population\.time_cost=0(\.0)?\b", r"greater than 0"),
    ),
    Bad(
        "champion share above 1",
        ("champions.share=1.5",),
        (r"champions\.share=1\.5\b", r"between 0 and 1"),
    ),
    Bad(
        "unknown targeting rule",
        ("champions.rule=loudest",),
        (r"champions\.rule='?loudest\b", r"random, degree, betweenness, bridging"),
    ),
    Bad("zero weeks", ("weeks=0",), (r"weeks=0\b", r"at least 1")),
    Bad("NaN discount rate", ("discount_rate=nan",), (r"discount_rate=nan\b", r"non-negative")),
    Bad(
        "unknown organisation",
        ("org=nonexistent",),
        (r"org/nonexistent", r"Available options in 'org'", r"small_world"),
        hydra=True,
    ),
    Bad(
        "weeks not a number",
        ("weeks=abc",),
        (r"weeks=abc\b", r"full_key: weeks", r"could not be converted to Integer"),
        hydra=True,
    ),
    Bad(
        "unknown organisation parameter",
        ("org.bogus=1",),
        (r"org\.bogus=1", r"Key 'bogus' not in"),
        hydra=True,
    ),
    Bad(
        "missing network file",
        ("org=file", "org.path=/no/such.csv"),
        (r"org\.path: /no/such\.csv", r"no such file"),
    ),
    Bad(
        "network file not given",
        ("org=file",),
        (r"org\.path is required but not given", r"org\.path=<value>"),
    ),
    Bad(
        "wrong header",
        ("org=file", "org.path={data}/bad_header.csv"),
        (
            r"org\.path: \S*bad_header\.csv line 1\b",
            r"'src', 'dst'",
            r"needs columns source, target",
        ),
    ),
    Bad(
        "blank id",
        ("org=file", "org.path={data}/blank_id.csv"),
        (r"org\.path: \S*blank_id\.csv line 3\b", r"source is blank; every row needs one"),
    ),
    Bad(
        "ragged row",
        ("org=file", "org.path={data}/ragged.csv"),
        (r"org\.path: \S*ragged\.csv line 3\b", r"3 fields but the header has 2"),
    ),
    Bad(
        "org chart with an unknown manager",
        ("org=orgchart", "org.path={data}/orgchart_bad.csv"),
        (r"org\.path: \S*orgchart_bad\.csv line 4\b", r"manager_id '9' is not a person"),
    ),
    Bad(
        "several population errors",
        ("population.stage_up=2", "population.time_cost=0", "population.abandon_rate=-1"),
        (
            r"population\.stage_up=2(\.0)?\b.*between 0 and 1",
            r"population\.time_cost=0(\.0)?\b.*greater than 0",
            r"population\.abandon_rate=-1(\.0)?\b.*between 0 and 1",
        ),
    ),
]


# --- the command line --------------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    cwd: Path  # the (initially empty) folder it ran in
    out: Path  # its output.dir

    @property
    def text(self) -> str:
        return self.stderr + self.stdout


def cli_env() -> dict[str, str]:
    """The environment for ``python -m sim``: this checkout first on the path, UTF-8 output,
    and no HYDRA_FULL_ERROR (which would turn Hydra's messages into tracebacks)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_cli(args: list[str], workdir: Path, out: Path | None = None) -> CliRun:
    """``python -m sim <args> output.dir=<out>`` with an empty ``workdir/cwd`` as the current
    directory (``out`` defaults to ``workdir/out``; it is left to ``args`` if they set it)."""
    cwd = workdir / "cwd"
    cwd.mkdir(parents=True)
    out = out or workdir / "out"
    if not any(a.startswith("output.dir=") for a in args):
        args = [*args, f"output.dir={out}"]
    proc = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        encoding="utf-8",
        timeout=300,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, cwd, out)


def run_cli_many(jobs: dict[str, tuple[list[str], Path, Path | None]]) -> dict[str, CliRun]:
    """Several ``run_cli`` calls at once (each is mostly start-up time)."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        futures = {name: pool.submit(run_cli, *job) for name, job in jobs.items()}
        return {name: f.result() for name, f in futures.items()}
