"""Resuming interrupted studies: a comparison or a sweep that is run again finishes the runs
still missing and reuses the ones already complete and valid.

Comparisons (``experiments.compare``). Each completed ensemble of replications is saved at
once, by the worker process that ran it, to one file ``<experiment.dir>/.partial/<name>.parquet``:
its runs' weekly records one run after another, with their keys, their summaries' scalars
and their per-department outcomes in the file's metadata, written to a temporary name and
renamed, so a file there is always whole. (A file a run cost 2–3 ms a run, a tenth of the
run's own time; a file an ensemble, a few tenths of a millisecond.)
A run's key is a SHA-256 of everything the run's numbers depend on (:func:`run_key`): the
scenario's spec (organisation, behaviour, champions, interventions, horizon), the replication
and its seed, the contents of any network file the organisation is loaded from, the model's
source code and the versions of the numerical packages; a file's name is a SHA-256 of the
keys it holds (:func:`batch_name`). A re-run of the same command computes the same keys and
loads those runs instead of simulating them, from whichever files hold them (however the
runs were batched before); since every run is a pure function of its spec and seed, the
comparison's tables are the same, byte for byte, as those of an uninterrupted run. A file
that cannot be read, or is not whole, is deleted and its runs simulated again; a file not
named by the keys it holds was not written here and is left alone. When the comparison folder
has been written, the files holding its runs are deleted (and ``.partial/`` with them, if
empty). Files of a study that is never re-run stay in ``.partial/`` until removed by hand;
nothing else reads them.

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
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import InputError
from sim.provenance import package_versions

if TYPE_CHECKING:
    from sim.replicate import Tables

REPO = Path(__file__).resolve().parent.parent
#: The source files a run's numbers depend on (the model, and how a replication is run).
CODE = ("models", "sim/replicate.py")
#: Packages whose version can change a run's numbers.
NUMERICAL = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "networkx")
PARTIAL = ".partial"
#: What a saved ensemble's file keeps in its metadata, besides its weekly records.
_KEYS = b"beyond_adoption.keys"
_SUMMARIES = b"beyond_adoption.summaries"
_DEPARTMENTS = b"beyond_adoption.departments"  # an Arrow stream of the table
_DEPARTMENT_ROWS = b"beyond_adoption.department_rows"


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


def batch_name(keys: Sequence[str]) -> str:
    """The name of the file that holds the runs ``keys``, in that order."""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


class RunCache:
    """Completed replications of a comparison, a file per ensemble, in ``folder``
    (``<experiment.dir>/.partial``); see the module docstring."""

    def __init__(self, folder: str | Path, key: str = "experiment.dir") -> None:
        self.folder = Path(folder)
        self._config_key = key
        #: file name → the keys it holds, for the files this process has read or sent to be
        #: written: ``discard`` reads only the others
        self._known: dict[str, list[str]] = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_known": {}}  # a worker saves runs: it needs none of it

    def expect(self, keys: Sequence[str]) -> None:
        """Note that the runs ``keys`` are being saved together (``save``, in a worker)."""
        self._known[batch_name(keys)] = list(keys)

    def load(
        self, keys: Sequence[str], weeks: Sequence[int], departments: bool = False
    ) -> list["Tables"]:
        """The runs saved here among a study's jobs (job i's key is ``keys[i]``; it runs
        ``weeks[i]`` weeks), as ``Tables`` of the jobs they are, a piece per file that holds
        any. With ``departments``, only runs saved with their per-department outcomes. A file
        that cannot be read or is not whole is deleted: its runs are simulated again."""
        wanted: dict[str, int | None] = {}
        for i, key in enumerate(keys):
            wanted.setdefault(key, i)
        pieces = []
        for path in sorted(self.folder.glob("*.parquet")) if self.folder.is_dir() else ():
            meta = self._metadata(path)
            held = self._known[path.stem] = _held(meta, path)
            hits = [  # a run held twice is taken once
                k
                for k, key in enumerate(held)
                if wanted.get(key) is not None and held.index(key) == k
            ]
            if not hits:
                continue
            try:
                piece = _piece(path, meta, held, hits, [wanted[held[k]] for k in hits], weeks)
            except Exception:  # unreadable, truncated, not whole: simulate its runs again
                path.unlink(missing_ok=True)
                continue
            if departments and piece.departments is None:
                continue  # saved without its departments: run them again
            for k in hits:
                wanted[held[k]] = None
            pieces.append(piece)
        return pieces

    @staticmethod
    def _metadata(path: Path) -> dict:
        """A file's metadata; a file that cannot be read is deleted (empty metadata)."""
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(path).metadata or {}
        except Exception:
            path.unlink(missing_ok=True)
            return {}

    def save(self, keys: Sequence[str], tables: "Tables") -> None:
        """Save an ensemble's runs (their keys, ``tables``) whole or not at all (temporary
        name, then rename)."""
        import pyarrow.parquet as pq

        meta = {
            _KEYS: json.dumps(list(keys)).encode(),
            _SUMMARIES: json.dumps(tables.summaries, allow_nan=True).encode(),
        }
        if tables.departments is not None:
            meta[_DEPARTMENTS] = _arrow_stream(tables.departments)
            meta[_DEPARTMENT_ROWS] = json.dumps(tables.department_rows).encode()
        name = batch_name(keys)
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(_arrow_table(tables.weekly, meta), tmp)
            os.replace(tmp, self.folder / f"{name}.parquet")
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise InputError(
                f"{self._config_key}: cannot save a completed run in {self.folder}: "
                f"{e.strerror or e}"
            ) from e

    def discard(self, keys) -> None:
        """Delete the files holding any of the runs ``keys`` (a study that has been
        written), stray temporary files, and the folder if nothing else is left in it."""
        if not self.folder.is_dir():
            return
        keys = set(keys)
        for path in self.folder.glob("*.parquet"):
            held = self._known.get(path.stem)
            if held is None:  # not read or written here: read what it holds
                held = _held(self._metadata(path), path)
            if keys.intersection(held):
                path.unlink(missing_ok=True)
        for stray in self.folder.glob(".*.tmp"):
            stray.unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass  # runs of another study are still there


def _held(meta: dict, path: Path) -> list[str]:
    """The keys of the runs a file holds; none if it was not written by ``RunCache.save``
    (no keys, or a name that is not theirs)."""
    try:
        keys = json.loads(meta[_KEYS])
    except (KeyError, ValueError):
        return []
    return keys if path.stem == batch_name(keys) else []


def _piece(path: Path, meta: dict, held: list[str], hits: list[int], jobs: list[int], weeks):
    """The runs ``hits`` (places among the file's ``held`` keys) of a saved file, as the
    ``Tables`` of ``jobs``; ValueError if the file is not whole."""
    import pyarrow.parquet as pq

    from sim.replicate import Tables, rows_of_runs

    summaries = json.loads(meta[_SUMMARIES])
    weekly = pq.read_table(path).to_pandas()
    length = len(weekly) // len(held)
    if len(summaries) != len(held) or len(weekly) != length * len(held):
        raise ValueError("not whole runs")
    if any(weeks[i] != length for i in jobs):
        raise ValueError("runs of another horizon")
    weekly = rows_of_runs(weekly, [length] * len(held), hits)
    piece = Tables(jobs, weekly, [summaries[k] for k in hits])
    if _DEPARTMENTS in meta:
        import pyarrow as pa

        rows = json.loads(meta[_DEPARTMENT_ROWS])
        table = pa.ipc.open_stream(pa.py_buffer(meta[_DEPARTMENTS])).read_all().to_pandas()
        if len(rows) != len(held) or sum(rows) != len(table):
            raise ValueError("not whole runs")
        piece.departments = rows_of_runs(table, rows, hits)
        piece.department_rows = [rows[k] for k in hits]
    return piece


def _arrow_table(frame, metadata: dict | None = None):
    """A table's columns as an Arrow table, without pandas' own metadata (a third of the time
    of a save): read back, the same columns, types and values."""
    import pyarrow as pa

    return pa.table({name: frame[name].to_numpy() for name in frame.columns}, metadata=metadata)


def _arrow_stream(frame) -> bytes:
    """A table as the bytes of an Arrow stream (the per-department outcomes of a saved file)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    table = _arrow_table(frame)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


# --- sweeps ------------------------------------------------------------------------------------


def completed_job(folder: Path, overrides: list[str], config: dict) -> bool:
    """Whether a sweep job's folder already holds this job's complete, valid result: written
    by the same overrides, the same resolved config and the same model code, with every result
    file readable."""
    import pyarrow.parquet as pq
    from omegaconf import OmegaConf

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
