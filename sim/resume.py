"""Resuming interrupted studies: a comparison or a sweep that is run again finishes the runs
still missing and reuses the ones already complete and valid.

Comparisons (``experiments.compare``). Each completed replication is saved at once, by the
worker process that ran it, to ``<experiment.dir>/.partial/<key>.parquet``: its weekly
records, with the summary's scalars in the file's metadata, written to a temporary name and
renamed, so a file there is always whole.
``key`` is a SHA-256 of everything the run's numbers depend on (:func:`run_key`): the
scenario's spec (organisation, behaviour, champions, interventions, horizon), the replication
and its seed, the contents of any network file the organisation is loaded from, the model's
source code and the versions of the numerical packages. A re-run of the same command computes
the same keys and loads those runs instead of simulating them; since every run is a pure
function of its spec and seed, the comparison's tables are the same, byte for byte, as those of
an uninterrupted run. A file that cannot be read, or whose contents do not match its key, is
deleted and its run simulated again. When the comparison folder has been written, the files it
used are deleted (and ``.partial/`` with them, if empty). Files of a study that is never
re-run stay in ``.partial/`` until removed by hand; nothing else reads them.

Sweeps (``python -m sim -m ...``). Each job writes its own run folder ``<sweep dir>/<n>/``
atomically, so a job folder holding ``summary.json`` is complete. Re-running the same sweep into
the same ``hydra.sweep.dir`` (``SweepCallback`` checks that ``sweep.json`` records the same
overrides) skips every job whose folder :func:`completed_job` accepts: the same overrides, the
same resolved config, the same model code, and readable result files.
"""

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from models.errors import InputError
from sim.provenance import package_versions

REPO = Path(__file__).resolve().parent.parent
#: The source files a run's numbers depend on (the model, and how a replication is run).
CODE = ("models", "sim/replicate.py")
#: Packages whose version can change a run's numbers.
NUMERICAL = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "networkx")
PARTIAL = ".partial"
_SUMMARY = b"beyond_adoption.summary"
_KEY = b"beyond_adoption.key"


@cache
def code_fingerprint() -> str:
    """SHA-256 of the model's source code and the numerical packages' versions: two runs with
    the same config, seed and fingerprint give the same numbers."""
    digest = hashlib.sha256()
    for entry in CODE:
        path = REPO / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(REPO).as_posix().encode())
            digest.update(file.read_bytes())
    digest.update(json.dumps(package_versions(NUMERICAL), sort_keys=True).encode())
    return digest.hexdigest()


def _file_digest(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _plain(value):
    """Dataclasses, mappings and sequences as JSON-able plain data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def run_key(spec, replication: int, seed: int) -> str:
    """The key of one replication of a scenario (``sim.replicate.Spec``): a SHA-256 of the spec,
    the replication and seed, the contents of the organisation's files, and the code."""
    org = spec.org if isinstance(spec.org, Mapping) else {}
    files = {
        name: _file_digest(value)
        for name, value in sorted(org.items())
        if name.endswith("path") and isinstance(value, str)
    }
    record = {
        "spec": _plain(spec),
        "replication": int(replication),
        "seed": int(seed),
        "files": files,
        "code": code_fingerprint(),
    }
    text = json.dumps(record, sort_keys=True, default=repr, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


class RunCache:
    """Completed replications of a comparison, one file each, in ``folder``
    (``<experiment.dir>/.partial``); see the module docstring."""

    def __init__(self, folder: str | Path, key: str = "experiment.dir") -> None:
        self.folder = Path(folder)
        self._config_key = key

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.parquet"

    def load(self, key: str, weeks: int) -> tuple[pd.DataFrame, dict] | None:
        """The run saved under ``key`` (weekly records, summary scalars), or None if there is
        none, or it is unreadable or not a whole run of ``weeks`` weeks (then it is deleted)."""
        import pyarrow.parquet as pq

        path = self.path(key)
        if not path.exists():
            return None
        try:
            table = pq.read_table(path)
            meta = table.schema.metadata or {}
            if meta.get(_KEY) != key.encode():
                raise ValueError("the file's key does not match its name")
            summary = json.loads(meta[_SUMMARY])
            weekly = table.to_pandas()
            if len(weekly) != weeks or not isinstance(summary, dict):
                raise ValueError("not a whole run")
        except Exception:  # unreadable, truncated, from elsewhere: simulate it again
            path.unlink(missing_ok=True)
            return None
        return weekly, summary

    def save(self, key: str, weekly: pd.DataFrame, summary: dict) -> None:
        """Save one run whole or not at all (temporary name, then rename)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        # from the columns' arrays, without pandas' own metadata (a third of the time of a
        # save): the frame read back is the same, columns, types and values
        meta = {_KEY: key.encode(), _SUMMARY: json.dumps(summary, allow_nan=True).encode()}
        table = pa.table({name: weekly[name].to_numpy() for name in weekly.columns}, metadata=meta)
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, tmp)
            os.replace(tmp, self.path(key))
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise InputError(
                f"{self._config_key}: cannot save a completed run in {self.folder}: "
                f"{e.strerror or e}"
            ) from e

    def discard(self, keys) -> None:
        """Delete the runs saved under ``keys`` (a study that has been written), stray
        temporary files, and the folder if nothing else is left in it."""
        for key in keys:
            self.path(key).unlink(missing_ok=True)
        if not self.folder.is_dir():
            return
        for stray in self.folder.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass  # runs of another study are still there


# --- sweeps ------------------------------------------------------------------------------------


def completed_job(folder: Path, overrides: list[str], config: dict) -> bool:
    """Whether a sweep job's folder already holds this job's complete, valid result: written
    by the same overrides, the same resolved config and the same model code, with every result
    file readable."""
    import pyarrow.parquet as pq

    try:
        provenance = json.loads((folder / "provenance.json").read_text())
        summary = json.loads((folder / "summary.json").read_text())
        written = OmegaConf.to_container(OmegaConf.load(folder / "config.yaml"), resolve=True)
        for name in ("weekly.parquet", "groups.parquet"):
            pq.read_metadata(folder / name)
    except Exception:
        return False
    return (
        isinstance(summary, dict)
        and provenance.get("overrides") == list(overrides)
        and provenance.get("code") == code_fingerprint()
        and written == config
    )
