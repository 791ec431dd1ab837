"""Calibration ensembles: weighted parameter sets, read, written and drawn from.

A calibration (``python -m sim experiment=calibrate``) ends in a *posterior ensemble*: many
parameter sets, each with a weight, that together say how sure we are of the behavioural
parameters. Studies that compare or search programmes draw K sets from it and run each with
R seeds, so that their intervals carry parameter uncertainty as well as replication noise.

File format (Parquet): one column per behavioural parameter that was fitted (a field of
``models.params.Behaviour``; parameters not in the file keep the config's values), and a
``weight`` column (non-negative, not all zero; normalised on reading). The file's schema
metadata holds a JSON ``calibration`` record: its name, what it was fitted to, when, and
with which code (``Posterior.info``).

Selected in a config as ``calibration=<name>`` (``conf/calibration/<name>.yaml``, with
``path`` relative to that folder or absolute) or ``calibration.path=<file>``;
``calibration=none`` (the default) means no ensemble.
"""

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.errors import InputError
from models.loaders import file_problem
from models.params import Behaviour
from sim.paths import conf_dir

CALIBRATION_DIR = conf_dir() / "calibration"
WEIGHT = "weight"


@dataclass
class Posterior:
    """A weighted ensemble of parameter sets (rows of ``table``; ``weights`` sum to 1)."""

    table: pd.DataFrame  # one column per fitted parameter
    weights: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def parameters(self) -> list[str]:
        return list(self.table.columns)

    def __len__(self) -> int:
        return len(self.table)

    def median(self) -> dict[str, float]:
        """The weighted median of each parameter, one by one (the point calibration is the
        ``medoid``)."""
        out = {}
        for name in self.parameters:
            values = self.table[name].to_numpy(float)
            order = np.argsort(values, kind="stable")
            cumulative = np.cumsum(self.weights[order])
            out[name] = float(values[order][np.searchsorted(cumulative, 0.5)])
        return out

    def medoid(self, ranges: dict[str, tuple[float, float]]) -> dict[str, float]:
        """The multivariate weighted median over the parameters of ``ranges``: the ensemble's
        parameter set whose weighted distance to all the others is least, each parameter's
        distance measured in its range (L1). Unlike the coordinate-wise ``median``, it is a
        set the posterior holds — one simulated and accepted — so its parameters' dependence
        on each other is kept (a fit trades one parameter against another)."""
        return self.central(ranges, 1)[0]

    def central(self, ranges: dict[str, tuple[float, float]], k: int) -> list[dict[str, float]]:
        """The ``k`` sets of least weighted distance to all the others (as ``medoid``: the
        medoid first), from which the point calibration is chosen."""
        cost = np.zeros(len(self.table))
        for name, (low, high) in ranges.items():
            values = self.table[name].to_numpy(float) / (high - low)
            order = np.argsort(values, kind="stable")
            v, w = values[order], self.weights[order]
            below_w, below_wv = np.cumsum(w), np.cumsum(w * v)
            # sum_j w_j |v_i - v_j|: v_i times the weight below, less the weighted values
            # below, plus the weighted values above, less v_i times the weight above
            spread = v * below_w - below_wv + (below_wv[-1] - below_wv) - v * (1 - below_w)
            cost[order] += spread
        rows = self.table.iloc[np.argsort(cost, kind="stable")[: int(k)]]
        return [{name: float(row[name]) for name in ranges} for _, row in rows.iterrows()]

    def draw(self, k: int, seed: int) -> list[dict[str, float]]:
        """``k`` parameter sets drawn with replacement in proportion to their weights, from a
        generator seeded with ``seed`` (the same seed gives the same draws)."""
        rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
        rows = rng.choice(len(self.table), size=int(k), replace=True, p=self.weights)
        records = self.table.iloc[rows].to_dict("records")
        return [{name: float(v) for name, v in r.items()} for r in records]

    def save(self, path: str | Path) -> Path:
        """Write the ensemble as Parquet, with ``info`` in the schema metadata."""
        path = Path(path)
        table = self.table.assign(**{WEIGHT: self.weights})
        arrow = pa.Table.from_pandas(table, preserve_index=False)
        meta = dict(arrow.schema.metadata or {})
        meta[b"calibration"] = json.dumps(self.info, default=str).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow.replace_schema_metadata(meta), path)
        return path


def load(path: str | Path, key: str = "calibration.path") -> Posterior:
    """Read and check an ensemble: every column a behavioural parameter or ``weight``, finite
    values, weights non-negative and not all zero. ``key`` names the config key in messages."""
    path = resolve(path)
    problem = file_problem(f"{key}={str(path)!r}", path, "a calibration ensemble (Parquet)")
    if problem:
        raise InputError(problem)
    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"{key}={str(path)!r}: not a readable Parquet file: {e}") from e
    table = arrow.to_pandas()
    known = {f.name for f in fields(Behaviour)}
    if WEIGHT not in table.columns:
        raise InputError(f"{key}={str(path)!r}: no {WEIGHT!r} column")
    unknown = sorted(set(table.columns) - known - {WEIGHT})
    if unknown:
        raise InputError(
            f"{key}={str(path)!r}: columns {unknown} are not behavioural parameters "
            "(population.<name>)"
        )
    if table.empty:
        raise InputError(f"{key}={str(path)!r}: the ensemble has no parameter sets")
    values = table.to_numpy(float)
    if not np.isfinite(values).all():
        raise InputError(f"{key}={str(path)!r}: holds values that are not finite numbers")
    weights = table.pop(WEIGHT).to_numpy(float)
    if (weights < 0).any() or weights.sum() <= 0:
        raise InputError(f"{key}={str(path)!r}: weights must be non-negative and not all zero")
    meta = arrow.schema.metadata or {}
    info = json.loads(meta[b"calibration"]) if b"calibration" in meta else {}
    return Posterior(table.reset_index(drop=True), weights / weights.sum(), info)


def resolve(path: str | Path) -> Path:
    """A calibration file: as given if it exists, else relative to ``conf/calibration/``."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return CALIBRATION_DIR / path


def from_config(cfg) -> Posterior | None:
    """The ensemble a run config selects (``calibration.path``), or None for ``none``."""
    node = getattr(cfg, "calibration", None)
    if node is None or node.get("path") in (None, ""):
        return None
    return load(node.path)
