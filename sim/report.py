"""The written side of a scenario comparison: ``summary.md`` and the strategist's report
(``report.md``, ``report.html``), and the Markdown-to-HTML converter the budget search's report
uses too.

Every number in them is read from the comparison's own tables (``summary.csv``, ``tests.csv``):
nothing is typed in. The report leads with what was assumed (every setting changed from the
defaults, the calibration), then ranks the programmes by net value — long-run value minus
everything the programme costs — with intervals and says which differences are distinguishable
from noise (and, with a calibration ensemble, from parameter uncertainty). Value per hour of cost
is never a ratio of a negative value: it is the value *gained over the baseline* per hour of
cost, given only where that gain is positive; elsewhere the report says the programme loses
value. With ``report.hour_value`` every amount in hours is also given in money.

The HTML is made from the Markdown by a small converter for the few constructs the reports use
(headings, paragraphs, lists, tables, images, emphasis, code, links), so there is no extra
dependency; images are embedded (base64), so the page is one file that can be mailed alone, and
its tables fit a 1,280-pixel screen (an interval goes on a second line of its cell).
"""

import base64
import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.stats import ALPHA, CONFIDENCE, HEADLINE, REFERENCE

NA = "n/a"
CI = f"{CONFIDENCE:.0%} CI"
TITLE = "What the programmes do to adoption, value and net value"

#: The figures of a comparison: file stem, title, what to read in it.
FIGURES = {
    "net_value": (
        "Net value by programme",
        "Mean net value (long-run value minus programme cost) with its interval, ranked; "
        "filled where the difference from the baseline is distinguishable, the dashed line is "
        "the baseline.",
    ),
    "adoption_value_over_time": (
        "Adoption and value over time",
        "One panel per programme against the baseline (grey): weekly-active share and "
        "cumulative adoption (top), weekly value with its interval band (bottom). Curves that "
        "rise together in the top panel can still part in the bottom one.",
    ),
    "adoption_vs_value": (
        "Adoption against value, one point per run",
        "Each point is one replication of one programme: weekly use in the last year against "
        "net value. Points far to the right but low down are 'lots of users, little value'.",
    ),
    "stage_composition": (
        "Maturity stages over time",
        "Share of everyone at none, Connect, Share, Solve and Innovate, mean of the replications.",
    ),
    "cost_and_gain": (
        "Costs beside value",
        "Left: programme cost against net value. Right: long-run value gained over the baseline "
        "per hour of programme cost, for the programmes whose gain is positive.",
    ),
}


# --- numbers as text ---------------------------------------------------------------------------


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x)


def hours(x) -> str:
    return NA if _missing(x) else f"{x:,.0f}"


def rate(x) -> str:
    return NA if _missing(x) else f"{x:,.1f}"


def share(x) -> str:
    return NA if _missing(x) else f"{x:.0%}"


def ratio(x) -> str:
    return NA if _missing(x) else f"{x:,.2f}"


def pvalue(p) -> str:
    if _missing(p):
        return NA
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclass(frozen=True)
class Money:
    """Hours as money: ``report.hour_value`` per hour, in ``report.currency``."""

    per_hour: float
    currency: str

    @classmethod
    def of(cls, settings) -> "Money | None":
        """From the ``report`` config node (None without an hourly value)."""
        if settings.hour_value is None:
            return None
        return cls(float(settings.hour_value), str(settings.currency or "money units"))

    def __call__(self, h) -> str:
        return NA if _missing(h) else f"{h * self.per_hour:,.0f} {self.currency}"


def amount(h, money: Money | None) -> str:
    """``"12,345 h"``, with its money value where an hourly value is set."""
    if _missing(h):
        return NA
    return f"{hours(h)} h" + (f" ({money(h)})" if money else "")


def interval_text(row, metric: str, fmt, unit: str = "", label: str = CI) -> str:
    """``"12,345 h (95% CI 10,100 to 14,500)"`` from a summary row's ``<metric>_mean``,
    ``_ci_low`` and ``_ci_high``."""
    mean, low, high = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
    if _missing(mean):
        return NA
    text = f"{fmt(mean)}{unit}"
    if not (_missing(low) or _missing(high) or fmt(low) == fmt(high)):  # all runs agree
        text += f" ({label} {fmt(low)} to {fmt(high)})"
    return text


def cell(row, metric: str, fmt) -> str:
    """A compact table cell: ``"12,345 [10,100 to 14,500]"``."""
    mean, low, high = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
    if _missing(mean):
        return NA
    if _missing(low) or _missing(high) or fmt(low) == fmt(high):
        return fmt(mean)
    return f"{fmt(mean)} [{fmt(low)} to {fmt(high)}]"


def interval_name(about: dict) -> str:
    """What the intervals are: bootstrap CIs over replications, or intervals over draws."""
    return "95% interval over parameter draws" if about.get("draws") else CI


def name_of(row) -> str:
    """A programme in text: its label, with its name in the tables."""
    label = row.get("label") or row["scenario"]
    return f"{label} (`{row['scenario']}`)" if label != row["scenario"] else f"`{label}`"


# --- summary.md --------------------------------------------------------------------------------

TABLE_COLUMNS = [
    ("net value, h", "net_value", hours),
    ("vs baseline, h", "net_value_gain", hours),
    ("long-run value, h", "long_run_value", hours),
    ("cost, h", "cost_total", hours),
    ("value after the programme vs baseline, h/week", "value_after_window_vs_baseline", rate),
    ("weekly active, last year", "active_share_last_year", share),
    ("adoption–value gap", "adoption_value_gap", ratio),
]


def summary_table_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table, ranked by net value: mean [interval] per programme."""
    head = "| programme | " + " | ".join(c[0] for c in TABLE_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(TABLE_COLUMNS)
    lines = [head, rule]
    for _, row in ranked(summary).iterrows():
        cells = [cell(row, metric, fmt) for _, metric, fmt in TABLE_COLUMNS]
        lines.append(f"| {name_of(row)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(summary: pd.DataFrame, about: dict) -> str:
    what = (
        f"Mean over {about['draws']} parameter draws × {about['replications']} seeds per "
        "programme, with the 95% interval over the draws in brackets"
        if about.get("draws")
        else f"Mean over {about['replications']} replications per programme, with the {CI} "
        "of the mean in brackets (percentile bootstrap)"
    )
    return (
        "# Summary\n\n"
        f"{what}, ranked by net value. All columns, with more outcomes, are in "
        "`summary.csv`; the definitions are in `report.md`.\n\n"
        f"{summary_table_markdown(summary)}\n"
    )


def ranked(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's rows from the most net value to the least."""
    return summary.sort_values(f"{HEADLINE}_mean", ascending=False, kind="stable")


# --- report.md ---------------------------------------------------------------------------------


def changed_text(changes: list[dict]) -> str:
    """The assumptions changed from the defaults, in a sentence (``nothing`` when none)."""
    return "; ".join(f"`{c['key']}` = {c['value']} (default {c['default']})" for c in changes) or (
        "nothing"
    )


def changed_line(changes: list[dict], extra: tuple[str, ...] = ()) -> str:
    """The same in a figure's footer: ``changed from the defaults: key=value, ...``."""
    items = [f"{c['key']}={c['value']}" for c in changes] + list(extra)
    return "changed from the defaults: " + ", ".join(items) if items else "all defaults"


def footer(about: dict) -> str:
    """The line under every figure: the study, the calibration, what was changed."""
    extra = []
    if about.get("equal_duration"):
        extra.append(f"equal duration {about['equal_duration']} weeks")
    if about.get("equal_cost"):
        extra.append(f"equal cost {about['equal_cost']:,.0f} h")
    calibration = about.get("calibration") or {}
    ensemble = (
        f"calibration {calibration['name']} ({about['draws']} draws)"
        if about.get("draws")
        else "no calibration ensemble (replication noise only)"
    )
    return (
        f"{about.get('agents', 0):,} people, {about.get('weeks', 0)} weeks, "
        f"{about['replications']} seeds, {ensemble}; "
        + changed_line(about.get("changes", []), tuple(extra))
    )


def _assumed(about: dict) -> list[str]:
    """The first section: what was assumed, and what was changed from the defaults."""
    weeks = int(about["weeks"])
    reps = int(about["replications"])
    draws = int(about.get("draws") or 0)
    runs = f"{draws} parameter draws × {reps} seeds" if draws else f"{reps} replications"
    out = [
        "## What was assumed",
        "",
        f"- **Organisation:** {about['organisation']} of {about['agents']:,} people, over "
        f"{weeks} weeks ({weeks / 52:.1f} years); {runs} per programme, root seed "
        f"{about['seed']}.",
    ]
    calibration = about.get("calibration") or {}
    if draws:
        fixed = calibration.get("fixed_by_command") or []
        out.append(
            f"- **Calibration:** `{calibration.get('name')}` ({calibration.get('path')}, "
            f"{calibration.get('parameter_sets')} weighted parameter sets); {draws} sets drawn "
            f"in proportion to their weights, varying {', '.join(calibration['parameters'])}."
            + (f" Fixed by the command in every draw: {', '.join(fixed)}." if fixed else "")
        )
    else:
        out.append(
            f"- **Calibration:** none (`calibration={calibration.get('name', 'none')}`): every "
            "run uses the same parameters, so the intervals below are **replication noise "
            "only** — they say nothing about how uncertain the parameters are. Give a "
            "calibration ensemble (`calibration.path=<file>`) to carry that uncertainty."
        )
    out.append(f"- **Changed from the defaults:** {changed_text(about.get('changes') or [])}.")
    if about.get("equal_duration"):
        out.append(
            f"- **Equal duration:** every intervention of every programme runs "
            f"{about['equal_duration']} weeks from its start (`experiment.equal_duration`)."
        )
    if about.get("equal_cost"):
        out.append(
            f"- **Equal cost:** each programme's intensities are scaled by one factor so that "
            f"its mean cost is {about['equal_cost']:,.0f} h (`experiment.equal_cost`; the "
            "factors were found by pilot runs on seeds of their own and are listed below)."
        )
    money = about.get("money")
    out.append(
        f"- **Money:** one hour of work is valued at {money(1)}; amounts in hours are also "
        "given in money."
        if money
        else "- **Money:** amounts are hours of work (`report.hour_value` and "
        "`report.currency` turn them into money)."
    )
    if about.get("baseline_added"):
        out.append(
            "- The baseline (deploy and wait) was not asked for; it was added as the reference "
            "every programme is compared with."
        )
    out += ["", "| programme | from | changed |", "|---|---|---|"]
    for p in about.get("programmes", []):
        changed = [f"`{k}` = {v}" for k, v in p["settings"].items()] + p["changes"]
        origin = Path(p["origin"]).name if p["base"] == p["name"] else f"variant of `{p['base']}`"
        out.append(f"| {p['label']} (`{p['name']}`) | {origin} | {'; '.join(changed) or '—'} |")
    return [*out, ""]


def _in_short(summary: pd.DataFrame, tests: pd.DataFrame, about: dict) -> list[str]:
    """The ranking by net value, with intervals; distinguishable differences; gain per cost."""
    money = about.get("money")
    draws = bool(about.get("draws"))
    by = _tests_by(tests)
    beats = "P(beats baseline)" if draws else "higher than baseline in"
    lines = [
        f"Ranked by **net value**: long-run value minus everything the programme costs, in "
        f"hours{' (money in the last column)' if money else ''}; mean [{interval_name(about)}].",
        "",
        f"| rank | programme | net value, h | vs baseline, h | {beats} | cost, h | value gained "
        "per hour of cost |" + (f" net value, {money.currency} |" if money else ""),
        "|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if money else ""),
    ]
    reps = about["draws"] if draws else about["replications"]
    for i, (_, row) in enumerate(ranked(summary).iterrows(), 1):
        is_base = row["scenario"] == REFERENCE
        if is_base:
            vs, p = "reference", "—"
        else:
            vs = cell(row, "net_value_gain", hours)
            p = (
                share(row["beats_baseline"])
                if draws
                else f"{round(row['beats_baseline'] * reps)} of {reps}"
            )
        cells = [
            str(i),
            name_of(row),
            cell(row, "net_value", hours),
            vs,
            p,
            hours(row["cost_total_mean"]),
            _gain_per_cost(row),
        ]
        if money:
            cells.append(money(row["net_value_mean"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    s = summary.set_index("scenario")
    leader = about["leader"]
    lead = s.loc[leader]
    runner = [n for n in ranked(summary)["scenario"] if n != leader]
    tied = [n for n in runner if _distinct(by.get((n, HEADLINE, leader))) is False]
    lines.append(
        f"- **Most net value:** {_named(s, leader)}, "
        f"{interval_text(lead, HEADLINE, hours, ' h', interval_name(about))}"
        + (f" ({money(lead[f'{HEADLINE}_mean'])})" if money else "")
        + "."
    )
    if runner:
        lines.append(
            "- **Not distinguishable from it:** "
            + (", ".join(_named(s, n) for n in tied) if tied else "none")
            + (
                "; every other programme has distinguishably less net value."
                if len(tied) < len(runner)
                else "."
            )
        )
    if not tests.empty:
        base_tests = tests[(tests["against"] == REFERENCE) & (tests["outcome"] == HEADLINE)]
        better = base_tests[base_tests["distinguishable"] & (base_tests["mean_difference"] > 0)]
        worse = base_tests[base_tests["distinguishable"] & (base_tests["mean_difference"] < 0)]
        unclear = base_tests[~base_tests["distinguishable"]]

        def names(x) -> str:
            return ", ".join(_named(s, n) for n in x["scenario"]) if len(x) else "none"

        lines += [
            f"- **More net value than the baseline, distinguishably:** {names(better)}.",
            f"- **Less net value than the baseline, distinguishably:** {names(worse)}.",
            f"- **Not distinguishable from the baseline:** {names(unclear)}.",
        ]
    costly = s[(s["cost_total_mean"] > 0) & (s.index != REFERENCE)]
    gaining = costly[costly["value_gain_mean"] > 0]
    losing = costly[~(costly["value_gain_mean"] > 0)]
    if len(gaining):
        top = gaining["gain_per_cost_mean"].idxmax()
        lines.append(
            f"- **Best return on its cost:** {_named(s, top)}: each hour spent on it bought "
            f"{ratio(gaining.loc[top, 'gain_per_cost_mean'])} hours of long-run value more than "
            "the baseline"
            + (
                " (more than it cost)."
                if gaining.loc[top, "gain_per_cost_mean"] > 1
                else " (less than it cost: its net value is below the baseline's)."
            )
        )
    if len(losing):
        lines.append(
            "- **Lose value** (less long-run value than the baseline, before their cost): "
            + ", ".join(_named(s, n) for n in losing.index)
            + "."
        )
    best_use = s["active_share_last_year_mean"].idxmax()
    if best_use != leader:
        lines.append(
            f"- **Most use is not most value:** {_named(s, best_use)} has the most people "
            f"active in a week in the last year "
            f"({share(s.loc[best_use, 'active_share_last_year_mean'])}, against "
            f"{share(lead['active_share_last_year_mean'])} for {_named(s, leader)}) but "
            f"{hours(s.loc[best_use, 'net_value_mean'])} h of net value against "
            f"{hours(lead['net_value_mean'])} h."
        )
    return [*lines, ""]


def _named(s: pd.DataFrame, name: str) -> str:
    """A programme's label with its name, from the summary indexed by scenario."""
    label = s.loc[name].get("label") if "label" in s.columns else None
    return f"{label} (`{name}`)" if label and label != name else f"`{name}`"


def _distinct(test) -> bool | None:
    return None if test is None else bool(test["distinguishable"])


def _gain_per_cost(row) -> str:
    """Value gained over the baseline per hour of cost, only where the gain is positive."""
    if row["scenario"] == REFERENCE or not row["cost_total_mean"] > 0:
        return "—"
    if not row["value_gain_mean"] > 0:
        return "loses value"
    return cell(row, "gain_per_cost", ratio)


def _tests_by(tests: pd.DataFrame) -> dict[tuple[str, str, str], pd.Series]:
    if tests.empty:
        return {}
    return {(r["scenario"], r["outcome"], r["against"]): r for _, r in tests.iterrows()}


def _verdict(test: pd.Series | None, fmt, unit: str, about: dict) -> str:
    """A plain-language sentence on a paired comparison with the baseline."""
    if test is None or test["pairs"] == 0:
        return "There is nothing to compare."
    diff = test["mean_difference"]
    direction = "more" if diff > 0 else "less"
    draws = bool(about.get("draws"))
    unit_name = "parameter draws" if draws else "replications"
    text = (
        f"That is {fmt(abs(diff))}{unit} {direction} than the baseline "
        f"({interval_name(about)} of the difference {fmt(test['difference_ci_low'])} to "
        f"{fmt(test['difference_ci_high'])}), higher in {test['higher_in']} of "
        f"{test['pairs']} {unit_name}"
    )
    if draws:
        if test["distinguishable"]:
            return f"{text}: **distinguishable** (the interval excludes zero)."
        return f"{text}: **not distinguishable** (the interval includes zero)."
    p = pvalue(test["p_holm"])
    p = f"p {p}" if p.startswith("<") else f"p = {p}"
    if test["distinguishable"]:
        return f"{text}: **beyond noise** (Holm-corrected {p})."
    return f"{text}: **not distinguishable from noise** (Holm-corrected {p})."


def _scenario_section(row, base, tests: dict, about: dict) -> list[str]:
    name = row["scenario"]
    weeks = int(about["weeks"])
    money = about.get("money")
    lines = [f"### {name_of(row)}", ""]
    if row["description"]:
        lines += [f"*{row['description'].strip()}*", ""]
    is_base = name == REFERENCE
    label = interval_name(about)
    net = f"- **Net value.** {interval_text(row, 'net_value', hours, ' h', label)}"
    net += f" ({money(row['net_value_mean'])})" if money else ""
    if is_base:
        lines.append(f"{net}. Every other programme is compared with this one.")
    else:
        lines.append(
            f"{net}, against {amount(base['net_value_mean'], money)} for the baseline. "
            + _verdict(tests.get((name, "net_value", REFERENCE)), hours, " h", about)
        )
        if about.get("draws"):
            lines.append(
                f"- **Probability it beats the baseline** on net value: "
                f"{share(row['beats_baseline'])} of the parameter draws."
            )
    against = "" if is_base else f" (baseline {share(base['active_share_last_year_mean'])})"
    peak_against = "" if is_base else f" (baseline {share(base['peak_active_share_mean'])})"
    lines.append(
        f"- **Adoption.** Weekly use peaks at {share(row['peak_active_share_mean'])} of "
        f"people{peak_against} and averages {share(row['active_share_last_year_mean'])} in the "
        f"last year{against}; {share(row['final_adopted_share_mean'])} have tried it by the end."
    )
    lines.append(
        f"- **Value.** Long-run value {interval_text(row, 'long_run_value', hours, ' h', label)}"
        + ("." if is_base else f" (baseline {hours(base['long_run_value_mean'])} h). ")
        + (
            ""
            if is_base
            else _verdict(tests.get((name, "long_run_value", REFERENCE)), hours, " h", about)
        )
    )
    if not is_base:
        end = int(row["window_end"])
        if end >= weeks:
            lines.append(
                "- **After the programme.** It runs to the end of the horizon, so there is no "
                "'after' to measure."
            )
        elif end > 0:
            t = tests.get((name, "value_after_window", REFERENCE))
            lines.append(
                f"- **After the programme** (it ends in week {end}): "
                f"{interval_text(row, 'value_after_window', rate, ' h/week', label)} in the year "
                f"after, against {rate(t['mean_reference'] if t is not None else None)} h/week "
                "for the baseline over the same weeks. " + _verdict(t, rate, " h/week", about)
            )
    lines.append(
        f"- **Adoption–value gap** (share who have adopted minus share creating net value in a "
        f"week, last year): {ratio(row['adoption_value_gap_mean'])}"
        + ("." if is_base else f" (baseline {ratio(base['adoption_value_gap_mean'])}).")
    )
    if row["cost_total_mean"] > 0:
        cost = f"- **Cost.** {interval_text(row, 'cost_total', hours, ' h', label)}"
        cost += f" ({money(row['cost_total_mean'])})" if money else ""
        cost += " of people's time and rewards. "
        if row["value_gain_mean"] > 0:
            cost += (
                "Against the baseline, each hour of cost bought "
                f"{interval_text(row, 'gain_per_cost', ratio, '', label)} hours of long-run value"
                + (" — less than it cost." if row["gain_per_cost_mean"] < 1 else ".")
            )
        else:
            cost += (
                "It **loses value**: less long-run value than the baseline "
                f"({hours(row['value_gain_mean'])} h), before its cost is counted."
            )
        lines.append(cost)
    else:
        lines.append("- **Cost.** None recorded.")
    return [*lines, ""]


def _departments(departments: pd.DataFrame, summary: pd.DataFrame, about: dict) -> list[str]:
    """Per department: each programme's net value gained over the baseline per person, for
    choosing a pilot department."""
    top = [n for n in ranked(summary)["scenario"] if n != REFERENCE][:5]
    if not top:
        return []
    table = departments.pivot(
        index="department", columns="scenario", values="net_value_gain_per_person_mean"
    )
    size = departments.groupby("department")["size_mean"].first()
    labels = dict(zip(summary["scenario"], summary.get("label", summary["scenario"]), strict=True))
    out = [
        "## Departments",
        "",
        "Net value gained over the baseline **per person** in each department (hours over the "
        "horizon; programme costs attributed to the people each programme reaches), for the "
        f"{len(top)} programmes with the most net value. A pilot department is where a "
        "programme gains most per person. Every outcome per department, with intervals, is in "
        "`departments.csv`.",
        "",
        "| department | people | " + " | ".join(labels[n] for n in top) + " |",
        "|---|---:|" + "---:|" * len(top),
    ]
    for dept in table.index:
        cells = [rate(table.loc[dept].get(n)) for n in top]
        out.append(f"| {dept} | {hours(size[dept])} | " + " | ".join(cells) + " |")
    return [*out, ""]


def report_markdown(
    summary: pd.DataFrame, tests: pd.DataFrame, about: dict, departments=None
) -> str:
    """The strategist's report.

    ``about``: ``replications``, ``draws`` (0 without an ensemble), ``agents``, ``weeks``,
    ``organisation`` (a phrase), ``seed``, ``baseline_added``, ``tests`` (how many tests the
    Holm correction covers), ``leader``, ``calibration``, ``changes``, ``programmes``,
    ``equal_duration``, ``equal_cost``, ``money`` (a ``Money`` or None).
    """
    reps = int(about["replications"])
    draws = int(about.get("draws") or 0)
    base = summary.set_index("scenario").loc[REFERENCE]
    by = _tests_by(tests)
    out = [f"# {TITLE}", "", *_assumed(about)]
    if not draws:
        smallest = 2 / 2**reps  # the exact signed-rank test's smallest two-sided p with R pairs
        if about["tests"] and smallest * about["tests"] >= ALPHA:
            out += [
                f"**Too few replications to tell.** With {reps} replications the smallest "
                f"p-value a paired signed-rank test can give is {smallest:.3g}, too large for any "
                f"difference to count as beyond noise after correcting for {about['tests']} "
                "tests. Run more replications (`experiment.replications`) before reading "
                "differences.",
                "",
            ]
    elif draws < 2:
        out += [
            "**One parameter draw gives no interval.** Draw more (`experiment.draws`) to see "
            "how much the parameters' uncertainty matters.",
            "",
        ]
    out += ["## In short", "", *_in_short(summary, tests, about)]
    out += ["## How to read the numbers", "", *_how_to_read(about), ""]
    out += ["## Programme by programme", ""]
    for _, row in ranked(summary).iterrows():
        out += _scenario_section(row, base, by, about)
    if departments is not None:
        out += _departments(departments, summary, about)
    out += [
        "## All programmes",
        "",
        f"Mean [{interval_name(about)}], ranked by net value. *Value after the programme vs "
        "baseline* is a programme's mean weekly value in the year after it ends, minus the "
        "baseline's over the same weeks of the same replication (n/a where it runs to the end, "
        "and for the baseline).",
        "",
        summary_table_markdown(summary),
        "",
        "## Figures",
        "",
    ]
    for stem, (title, caption) in FIGURES.items():
        out += [f"### {title}", "", f"![{title}]({stem}.png)", "", caption, ""]
        out += [f"*{footer(about)}.*", ""]
    out += _caveats(about)
    return "\n".join(out)


def _how_to_read(about: dict) -> list[str]:
    draws = int(about.get("draws") or 0)
    lines = [
        "**Net value** is long-run value minus the programme's cost, in hours: the outcome a "
        "decision is made on. **Long-run value** is hours of productive work the network "
        "creates, net of the time people spend using it, summed over the horizon. **Cost** is "
        "every hour the programme takes (people's time in conversations, events, training, "
        "champions' and coordinators' time, and the value of rewards). **Adoption** is the share "
        "of people active in a week.",
        "",
        "Replication *i* of every programme runs on the same organisation, with the same "
        "starting state and the same random draws (common random numbers; the seeds are in "
        "`seeds.csv`), so a difference between programmes is the programmes' doing, not luck "
        "of the draw.",
        "",
    ]
    if draws:
        lines.append(
            f"Each number is a mean over {draws} parameter sets drawn from the calibration "
            f"ensemble × {about['replications']} seeds each (every programme gets the same draws "
            "and seeds). A range is the 95% interval of the per-draw means (the 2.5th to 97.5th "
            "percentile over draws, each the mean of its seeds): it carries the uncertainty about "
            "the parameters as well as replication noise, and does not shrink with more draws. A "
            "programme *beats the baseline* in a draw when its mean net value over that draw's "
            "seeds is higher; the probability is the share of draws where it does. Two "
            "programmes are **distinguishable** when the 95% interval of their paired difference "
            "over draws excludes zero: one is ahead under nearly every plausible parameter set."
        )
    else:
        lines.append(
            "Each number is a mean over the replications; a range is the 95% CI of that mean "
            "(percentile bootstrap). Two programmes are **distinguishable** when a paired test "
            "(Wilcoxon signed-rank, replication *i* against replication *i*) is significant at "
            f"the {ALPHA:.0%} level after Holm's correction for the {about['tests']} tests "
            "against the baseline (and, separately, for those against the programme ranked "
            "first)."
        )
    return lines


def _caveats(about: dict) -> list[str]:
    draws = int(about.get("draws") or 0)
    intervals = (
        "- **What the intervals mean.** They carry the calibration's parameter uncertainty and "
        "the model's run-to-run randomness. They do not carry uncertainty about the model's "
        "structure, about parameters the calibration did not fit, or about your organisation."
        if draws
        else "- **What the intervals mean.** The intervals and tests measure the run-to-run "
        "randomness of the model with these parameters (replication noise only), not "
        "uncertainty about the parameters or about your organisation. *Beyond noise* means the "
        "model's own chance variation does not explain the difference; it does not mean the "
        "effect will appear in a real organisation. A calibration ensemble "
        "(`calibration.path=`) adds the parameters' uncertainty."
    )
    return [
        "## Caveats",
        "",
        "- **A model, not a forecast.** These are outcomes of a simulation under the "
        "assumptions listed first (docs/MODEL.md). Read the results as orderings under these "
        "assumptions, and check them with sensitivity analysis before acting on them.",
        intervals,
        f"- **Your organisation.** This organisation is {about['organisation']}. Run the "
        "comparison on your own org chart (`org=orgchart org.path=hr.csv`) and with your own "
        "costs.",
        "- **Value after the programme.** Programmes end at different times, so each one's "
        "'after' is compared with the baseline over the same weeks; "
        "`experiment.equal_duration=<weeks>` runs every programme for the same weeks.",
        "- **Files.** `summary.csv` (all outcomes with intervals), `tests.csv` (the paired "
        "comparisons), `programmes.csv` (what each programme is), `runs.csv` and `weekly.csv` "
        "(every run, every week), `config.yaml`, `scenarios.yaml`, `overrides.yaml`, "
        "`seeds.csv` and `provenance.json` (how to re-run it: `python -m sim scenario=<name> "
        "seed=<seed>` with the same overrides re-runs one replication of a shipped programme).",
        "",
    ]


# --- Markdown to HTML --------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; white-space: nowrap; }
td.num small { color: #555; }
div.table { max-width: 100%; overflow-x: auto; }
img { max-width: 100%; height: auto; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', text)


def _number_cell(text: str) -> str:
    """A number with its interval below it, so that wide tables fit the page."""
    m = re.fullmatch(r"(.*\S) \[(.+)\]", text)
    if not m:
        return _inline(text)
    return f"{_inline(m.group(1))}<br><small>{_inline(m.group(2))}</small>"


def _row(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _image(src: str, images: Path | None) -> str:
    """An image's source: embedded as base64 (``images``: the folder it is in), so the page is
    one file; linked by path without a folder."""
    if images is None:
        return html.escape(src)
    data = base64.b64encode((images / src).read_bytes()).decode("ascii")
    kind = "svg+xml" if src.endswith(".svg") else "png"
    return f"data:image/{kind};base64,{data}"


def markdown_to_html(markdown: str, title: str, images: Path | None = None) -> str:
    """A self-contained HTML page from the Markdown subset the reports use; images are read
    from ``images`` and embedded."""
    body: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := re.match(r"(#{1,6}) (.*)", line):
            level = len(m.group(1))
            body.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
            i += 1
        elif m := re.fullmatch(r"!\[([^\]]*)\]\(([^)]+)\)", line.strip()):
            alt = html.escape(m.group(1))
            body.append(f'<figure><img src="{_image(m.group(2), images)}" alt="{alt}"></figure>')
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_row(lines[i]))
                i += 1
            head, data = rows[0], rows[2:]
            body.append('<div class="table"><table>')
            body.append("<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>")
            for r in data:
                numeric = [re.match(r"[-−\d]", c) is not None for c in r]
                tds = [
                    f'<td class="num">{_number_cell(c)}</td>' if num else f"<td>{_inline(c)}</td>"
                    for c, num in zip(r, numeric, strict=True)
                ]
                body.append("<tr>" + "".join(tds) + "</tr>")
            body.append("</table></div>")
        elif line.startswith("- "):
            body.append("<ul>")
            while i < len(lines) and lines[i].startswith("- "):
                item = [lines[i][2:]]
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                    item.append(lines[i].strip())
                    i += 1
                body.append(f"<li>{_inline(' '.join(item))}</li>")
            body.append("</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not re.match(r"#|\||- |!\[", lines[i]):
                para.append(lines[i].strip())
                i += 1
            body.append(f"<p>{_inline(' '.join(para))}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
