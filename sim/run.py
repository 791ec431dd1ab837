"""One run from a config: validate, build the model, simulate, and write the run folder.

The flow is one way: config → model → weekly records → run folder. Everything that can be
wrong with the input is found before the first week is simulated, and the folder is written
under a temporary name and renamed at the end, so a failed or interrupted run leaves
nothing that looks like a result.
"""

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from models import targeting
from models.errors import InputError
from models.model import AdoptionModel
from models.params import Behaviour, problems
from sim.provenance import provenance


@dataclass
class Result:
    """What a run produced: weekly records, per-group records, the summary and the config."""

    weekly: pd.DataFrame
    groups: pd.DataFrame
    summary: dict
    config: dict
    provenance: dict = field(default_factory=dict)
    model: AdoptionModel | None = field(default=None, repr=False)
    folder: Path | None = None  # set once the run folder is written

    def save(self, folder: str | Path, plot: bool = True) -> Path:
        """Write the run folder atomically: build it under a hidden temporary name beside
        ``folder``, then rename it into place."""
        folder = Path(folder)
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        except OSError as e:
            raise InputError(f"output.dir: cannot write to {folder.parent}: {e.strerror}") from e
        try:
            self.weekly.to_parquet(tmp / "weekly.parquet", index=False)
            self.groups.to_parquet(tmp / "groups.parquet", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
            (tmp / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(self.config)))
            (tmp / "provenance.json").write_text(json.dumps(self.provenance, indent=2) + "\n")
            if plot:
                from sim.plots import adoption_vs_value

                adoption_vs_value(self.weekly, tmp / "adoption_vs_value.png")
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.folder = folder
        return folder


def check(cfg: DictConfig) -> None:
    """Refuse a config with out-of-range values, naming every bad key at once."""
    errors = problems(cfg.population)
    if cfg.weeks < 1:
        errors.append(f"weeks={cfg.weeks} is not allowed: it must be at least 1")
    if cfg.seed < 0:
        errors.append(f"seed={cfg.seed} is not allowed: it must be a non-negative integer")
    if cfg.discount_rate < 0:
        errors.append(f"discount_rate={cfg.discount_rate} is not allowed: it must be non-negative")
    if not 0 <= cfg.champions.share <= 1:
        errors.append(
            f"champions.share={cfg.champions.share} is not allowed: it must be between 0 and 1"
        )
    if cfg.champions.rule not in targeting.RULES:
        errors.append(
            f"champions.rule={cfg.champions.rule!r} is not a targeting rule: "
            f"choose one of {', '.join(targeting.RULES)}"
        )
    if errors:
        raise InputError("\n".join(errors))


def build_model(cfg: DictConfig) -> AdoptionModel:
    """The model a config describes (the organisation is built, or loaded, here)."""
    check(cfg)
    return AdoptionModel(
        org=OmegaConf.to_container(cfg.org, resolve=True),
        behaviour=Behaviour.from_mapping(cfg.population),
        champion_share=cfg.champions.share,
        champion_rule=cfg.champions.rule,
        discount_rate=cfg.discount_rate,
        rng=int(cfg.seed),
    )


def run(cfg: DictConfig, overrides: list[str] = (), progress: bool = False) -> Result:
    """Simulate the config's horizon and collect the results (nothing is written)."""
    model = build_model(cfg)
    if progress:
        from tqdm import tqdm

        with tqdm(total=cfg.weeks, unit="week", desc="simulating", leave=False) as bar:
            model.run(cfg.weeks, bar.update)
    else:
        model.run(cfg.weeks)
    return Result(
        weekly=model.weekly(),
        groups=model.recorder.groups(),
        summary=model.summary(),
        config=OmegaConf.to_container(cfg, resolve=True),
        provenance=provenance(int(cfg.seed), list(overrides)),
        model=model,
    )


def new_run_folder(base: str | Path) -> Path:
    """``<base>/<timestamp>``, made unique if two runs start in the same second."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    folder = Path(base) / stamp
    i = 1
    while folder.exists():
        folder = Path(base) / f"{stamp}_{i}"
        i += 1
    return folder
