"""The report of a sensitivity study, and the generated part of docs/VALIDATION.md's section:

    python -m experiments.sensitivity_report results/sensitivity/<timestamp>          # report
    python -m experiments.sensitivity_report results/sensitivity/<timestamp> --docs   # + docs

``write_report`` writes ``report.md`` and a self-contained ``report.html`` (figures embedded)
into the study's folder from its files: for each claim, in how much of the explored space it
holds (the share of the Latin-hypercube points, with a 95% interval), which factors decide it
(Morris μ*, Sobol ST with intervals, and a warning where the sample is too small for stable
indices), and where it fails (the PRIM box and the best rules). ``--docs`` also puts the
study's settings and its claims table between the markers in docs/VALIDATION.md and copies
the charts to docs/img/; the reading around them stays hand-written.
"""

import argparse
import base64
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd

from experiments.docs_blocks import replace_block
from sim.report import markdown_to_html

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "VALIDATION.md"
IMG = ROOT / "docs" / "img"
BEGIN = "<!-- sensitivity:begin (python -m experiments.sensitivity_report <run> --docs) -->"
END = "<!-- sensitivity:end -->"
#: Below these, indices and boxes are flagged as unstable: Morris trajectories (Saltelli et
#: al. 2008 advise 10 or more), the widest Sobol interval, and discovery points.
MIN_TRAJECTORIES = 10
MAX_SOBOL_CONF = 0.1
MIN_POINTS = 100


class Study:
    """A finished study folder's files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.record = json.loads((folder / "provenance.json").read_text())
        self.problem = json.loads((folder / "problem.json").read_text())
        self.experiments = pd.read_csv(folder / "experiments.csv")
        path = folder / "indices.csv"
        self.indices = pd.read_csv(path) if path.exists() else pd.DataFrame()
        self.boxes = pd.read_csv(folder / "boxes.csv")
        self.rules = pd.read_csv(folder / "rules.csv")

    def indices_of(self, method: str, outcomes: list[str]) -> pd.DataFrame:
        if self.indices.empty:
            return self.indices
        i = self.indices
        return i[(i["method"] == method) & i["outcome"].isin(outcomes)]


def _short(factor: str) -> str:
    return factor.removeprefix("population.")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a share k/n."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def holds_share(study: Study, claim: str) -> str:
    """``"85% of 128 points (78–90%)"``, over the points where the claim could be judged."""
    column = study.experiments[claim]
    judged = column.dropna().astype(bool)
    k, n = int(judged.sum()), len(judged)
    if n == 0:
        return "could not be judged at any point"
    lo, hi = wilson(k, n)
    text = f"{k / n:.0%} of {n} points ({lo:.0%}–{hi:.0%})"
    missing = len(column) - n
    return text + (f"; not judged at {missing}" if missing else "")


def deciding(study: Study, outcomes: list[str], top: int = 3) -> str:
    """The factors with the largest Morris μ* on the claim's outcomes (relative to each
    outcome's largest), with Sobol's total index where it ran."""
    morris = study.indices_of("morris", outcomes)
    sobol = study.indices_of("sobol", outcomes)
    if morris.empty and sobol.empty:
        return "— (no Morris or Sobol run)"
    if not morris.empty:
        relative = morris["mu_star"] / morris.groupby("outcome")["mu_star"].transform("max")
        score = relative.fillna(0).groupby(morris["factor"]).max()
    else:
        score = sobol.groupby("factor")["ST"].max()
    best = score.sort_values(ascending=False, kind="stable")
    best = best[best > 0.1].index[:top]
    total = sobol.groupby("factor")["ST"].max() if not sobol.empty else pd.Series(dtype=float)
    parts = [f"`{_short(f)}`" + (f" (ST {total[f]:.2f})" if f in total.index else "") for f in best]
    return ", ".join(parts) or "no factor stands out"


def box_text(study: Study, claim: str, most: int = 3) -> str:
    """The PRIM box where a claim fails, in words — its ``most`` strongest restrictions (the
    rest are in boxes.csv) — with its density and coverage."""
    rows = study.boxes[study.boxes["claim"] == claim]
    if rows.empty:
        return "never fails in this sample"
    r = rows.iloc[0]
    limits = []
    for b in rows.itertuples():
        if not isinstance(b.factor, str) or not b.factor:
            continue
        if pd.notna(b.low) and pd.notna(b.high):
            limits.append(f"{b.low:.3g} ≤ `{_short(b.factor)}` ≤ {b.high:.3g}")
        elif pd.notna(b.low):
            limits.append(f"`{_short(b.factor)}` ≥ {b.low:.3g}")
        else:
            limits.append(f"`{_short(b.factor)}` ≤ {b.high:.3g}")
    where = " and ".join(limits[:most]) or "no box denser than the whole space"
    if len(limits) > most:
        where += f" (and {len(limits) - most} weaker restrictions, boxes.csv)"
    return (
        f"{where}: {r['failure_density']:.0%} of its {int(r['samples'])} points fail, "
        f"{r['coverage']:.0%} of all failures"
    )


def warnings(study: Study, outcomes: list[str]) -> list[str]:
    """Why the indices or boxes of these outcomes may not be stable."""
    settings = study.problem["settings"]
    out = []
    samples = study.record["samples"]
    if "morris" in samples and settings["morris_trajectories"] < MIN_TRAJECTORIES:
        out.append(
            f"Morris ran {settings['morris_trajectories']} trajectories, fewer than the "
            f"{MIN_TRAJECTORIES} usually advised: the ranking is indicative "
            "(experiment.params.morris_trajectories)."
        )
    sobol = study.indices_of("sobol", outcomes)
    if not sobol.empty:
        widest = float(sobol[["S1_conf", "ST_conf"]].max().max())
        if widest > MAX_SOBOL_CONF:
            out.append(
                f"Sobol's intervals reach ±{widest:.2f} (N = {settings['sobol_n']}): the sample "
                "is too small for stable indices; raise experiment.params.sobol_n."
            )
    n = len(study.experiments)
    if n < MIN_POINTS:
        out.append(
            f"{n} discovery points: the share where a claim holds and its boxes are pointers, "
            f"not estimates (experiment.params.discovery_n ≥ {MIN_POINTS})."
        )
    return out


def _number(x: float) -> str:
    """A number for a table: thousands separated above 100, three figures below."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _signed(x: float) -> str:
    return ("+" if x > 0 else "") + _number(x)


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def settings_line(study: Study) -> str:
    r, s = study.record, study.problem["settings"]
    samples = ", ".join(f"{m} {n:,}" for m, n in r["samples"].items())
    size = study.problem["factors"].get("org.size")  # varied: the config's size is not run
    people = f"{size['low']:g}–{size['high']:g} (a factor)" if size else f"{r['agents']}"
    return (
        f"{people} people, {r['weeks']} weeks, seed {r['seed']}, {r['replications']} "
        f"replications per point and programme (common random numbers), "
        f"{len(study.problem['factor_columns'])} factors; points: {samples}; "
        f"{r['runs']:,} model runs in {r['seconds']['total']:,.0f} s; methods "
        f"{', '.join(s['methods'])}; command: `python -m sim {' '.join(r['overrides'])}`."
    )


def claims_summary(study: Study) -> list[str]:
    rows = []
    for name, c in study.problem["claims"].items():
        outcomes = _outcomes(c["holds_when"])
        rows.append(
            [
                f"`{name}`",
                holds_share(study, name),
                deciding(study, outcomes),
                box_text(study, name),
            ]
        )
    return _table(["claim", "holds in", "decided most by", "fails in (PRIM box)"], rows)


def _outcomes(predicate: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"[A-Za-z_]\w*(?=\s*[<>])", predicate)))


def _claim_section(study: Study, name: str, claim: dict) -> list[str]:
    outcomes = _outcomes(claim["holds_when"])
    lines = [
        f"## `{name}`",
        "",
        f"*{claim['essay']}.* Holds when `{claim['holds_when']}`. {claim['reasoning']}",
        "",
        f"**Holds in** {holds_share(study, name)}. **Where it fails**: {box_text(study, name)}.",
        "",
    ]
    described = study.problem["outcomes"]
    lines += _table(
        ["outcome", "unit", "what", "mean over the points", "range"],
        [
            [
                f"`{o}`",
                described[o]["unit"],
                described[o]["description"],
                _number(study.experiments[o].mean()),
                f"{_number(study.experiments[o].min())} to {_number(study.experiments[o].max())}",
            ]
            for o in outcomes
        ],
    )
    morris = study.indices_of("morris", outcomes)
    sobol = study.indices_of("sobol", outcomes)
    if not morris.empty or not sobol.empty:
        lines += ["", "Which factors decide it (the 8 largest; Sobol ± its interval):", ""]
        keyed = (sobol if morris.empty else morris).copy()
        order_by = "ST" if morris.empty else "mu_star"
        head = ["factor"]
        cells: dict[str, list[str]] = {}
        for o in outcomes:
            d = keyed[keyed["outcome"] == o].sort_values(order_by, ascending=False).head(8)
            for f in d["factor"]:
                cells.setdefault(f, [])
        for o in outcomes:
            if not morris.empty:
                head += [f"{o} μ*", f"{o} μ"]
            if not sobol.empty:
                head += [f"{o} ST"]
        rows = []
        for f in cells:
            row = [f"`{_short(f)}`"]
            for o in outcomes:
                if not morris.empty:
                    m = morris[(morris["outcome"] == o) & (morris["factor"] == f)]
                    row += (
                        [_number(m["mu_star"].iloc[0]), _signed(m["mu"].iloc[0])]
                        if len(m)
                        else ["", ""]
                    )
                if not sobol.empty:
                    s = sobol[(sobol["outcome"] == o) & (sobol["factor"] == f)]
                    row += [
                        f"{s['ST'].iloc[0]:.2f} ± {s['ST_conf'].iloc[0]:.2f}" if len(s) else "—"
                    ]
            rows.append(row)
        lines += _table(head, rows)
    rules = study.rules[study.rules["claim"] == name]
    if len(rules):
        lines += ["", "Rules where it fails (one and two conditions):", ""]
        lines += _table(
            ["rule", "points", "failures inside", "share of all failures"],
            [
                [
                    " and ".join(f"`{_short(part.strip())}`" for part in r.region.split(" and ")),
                    str(r.samples),
                    f"{r.failure_density:.0%}",
                    f"{r.coverage:.0%}",
                ]
                for r in rules.itertuples()
            ],
        )
    notes = warnings(study, outcomes)
    if notes:
        lines += ["", *(f"- **Warning**: {w}" for w in notes)]
    return lines + [""]


def report_markdown(folder: Path) -> str:
    """The study's report (Markdown, figures linked by file name)."""
    study = Study(folder)
    lines = [
        "# Where the essays' claims hold: a sensitivity study",
        "",
        settings_line(study),
        "",
        "Each point of the explored space is a set of factor values, uniformly drawn from the "
        "ranges below; a claim holds at a point when its predicate holds for the outcomes' "
        "means over the replications. *Holds in* is the share of the Latin-hypercube points "
        "(the share of the explored space, with a 95% interval); *decided most by* ranks "
        "factors by Morris μ* relative to each outcome's largest (by Sobol's total index ST "
        "when Morris did not run); the PRIM box is the region where failures concentrate.",
        "",
        *claims_summary(study),
        "",
    ]
    for figure in ("sensitivity_morris.png", "sensitivity_sobol.png"):
        if (folder / figure).exists():
            lines += [f"![{figure.removesuffix('.png')}]({figure})", ""]
    for name, claim in study.problem["claims"].items():
        lines += _claim_section(study, name, claim)
    factors = study.problem["factors"]
    lines += ["## Factors", ""]
    lines += _table(
        ["factor", "range", "unit", "source"],
        [
            [f"`{k}`", f"{f['low']:g} – {f['high']:g}", f["unit"], f["source"]]
            for k, f in factors.items()
        ],
    )
    lines += [
        "",
        "## Files",
        "",
        "`experiments.csv` holds one row per discovery point: the factor columns, the "
        "outcomes and one boolean column per claim; `problem.json` says which columns are "
        "which (`factor_columns`, `outcome_columns`, `claim_columns`); an empty claim cell "
        "was not judged. With the EMA workbench (3.x; 2.x also wants `threshold=0.8`): "
        "`d = df.dropna(subset=[claim])`, "
        "`prim.Prim(d[problem['factor_columns']], ~d[claim].astype(bool).to_numpy()).find_box()`. "
        "`samples.csv` has every point of every method, `indices.csv` the Morris and Sobol "
        "indices, `boxes.csv` the PRIM boxes and `rules.csv` the rules above.",
        "",
    ]
    return "\n".join(lines)


def _embedded(markdown: str, folder: Path) -> str:
    """The Markdown with each figure's file replaced by its data, for a self-contained page."""

    def inline(m: re.Match) -> str:
        data = base64.b64encode((folder / m.group(2)).read_bytes()).decode()
        return f"![{m.group(1)}](data:image/png;base64,{data})"

    return re.sub(r"!\[([^\]]*)\]\(([^)]+\.png)\)", inline, markdown)


def write_report(folder: Path) -> Path:
    """Write ``report.md`` and ``report.html`` into the study's folder."""
    markdown = report_markdown(folder)
    (folder / "report.md").write_text(markdown, encoding="utf-8")
    page = markdown_to_html(_embedded(markdown, folder), "Where the essays' claims hold")
    (folder / "report.html").write_text(page, encoding="utf-8")
    return folder / "report.md"


def block(folder: Path, img: str = "img") -> str:
    """What goes between the markers of docs/VALIDATION.md for the study in ``folder``."""
    study = Study(folder)
    figures = [
        f"![{f.removesuffix('.png')}]({img}/{f})"
        for f in ("sensitivity_morris.png", "sensitivity_sobol.png")
        if (folder / f).exists()
    ]
    return "\n".join(
        [
            f"**The run below** (`{folder.name}`): {settings_line(study)}",
            "",
            *claims_summary(study),
            "",
            *figures,
        ]
    )


def update(folder: Path, docs: Path = DOCS, img: Path = IMG) -> Path:
    """Replace the generated block in ``docs`` and copy the charts to ``img``."""
    replace_block(docs, BEGIN, END, block(folder))
    img.mkdir(parents=True, exist_ok=True)
    for png in folder.glob("sensitivity_*.png"):
        shutil.copyfile(png, img / png.name)
    return docs


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a results/sensitivity/<timestamp> folder")
    parser.add_argument("--docs", action="store_true", help="also rewrite docs/VALIDATION.md")
    args = parser.parse_args(argv)
    print(f"wrote {write_report(args.folder)}")
    if args.docs:
        print(f"wrote {update(args.folder)}")


if __name__ == "__main__":
    cli()
