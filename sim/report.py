"""The written side of a scenario comparison: ``summary.md`` and the strategist's report
(``report.md`` and ``report.html``).

Every number in them is read from the comparison's own tables (``summary.csv``,
``tests.csv``): nothing is typed in. The HTML is made from the Markdown by a small converter
for the few constructs the report uses (headings, paragraphs, lists, tables, images,
emphasis, code, links), so there is no extra dependency; figures are referenced by relative
path and the page carries its own style.
"""

import html
import math
import re

import pandas as pd

from sim.stats import ALPHA, CONFIDENCE, REFERENCE

NA = "n/a"
CI = f"{CONFIDENCE:.0%} CI"

#: The figures of a comparison: file stem, title, what to read in it.
FIGURES = {
    "adoption_value_over_time": (
        "Adoption and value over time",
        "Weekly-active share, cumulative adoption and weekly value, mean of the replications "
        f"with {CI} bands. Curves that rise together in the top panels can still part in the "
        "bottom one.",
    ),
    "long_run_value": (
        "Long-run value by programme",
        f"Mean long-run value with its {CI}; filled where the difference from the baseline is "
        "beyond noise, the dashed line is the baseline.",
    ),
    "adoption_vs_value": (
        "Adoption against value, one point per run",
        "Each point is one replication of one programme: weekly use in the last year against "
        "long-run value. Points far to the right but low down are 'lots of users, little value'.",
    ),
    "stage_composition": (
        "Maturity stages over time",
        "Share of everyone at none, Connect, Share, Solve and Innovate, mean of the replications.",
    ),
    "value_per_cost": (
        "Costs beside value",
        "Programme cost against long-run value, and long-run value per hour of programme cost.",
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


def with_ci(row, metric: str, fmt, unit: str = "") -> str:
    """``"12,345 h (95% CI 10,100 to 14,500)"`` from a summary row's ``<metric>_mean``,
    ``_ci_low`` and ``_ci_high``."""
    mean, low, high = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
    if _missing(mean):
        return NA
    text = f"{fmt(mean)}{unit}"
    if not (_missing(low) or _missing(high) or fmt(low) == fmt(high)):  # all runs agree
        text += f" ({CI} {fmt(low)} to {fmt(high)})"
    return text


def cell(row, metric: str, fmt) -> str:
    """A compact table cell: ``"12,345 [10,100 to 14,500]"``."""
    mean, low, high = (row[f"{metric}_{s}"] for s in ("mean", "ci_low", "ci_high"))
    if _missing(mean):
        return NA
    if _missing(low) or _missing(high) or fmt(low) == fmt(high):
        return fmt(mean)
    return f"{fmt(mean)} [{fmt(low)} to {fmt(high)}]"


# --- summary.md --------------------------------------------------------------------------------

TABLE_COLUMNS = [
    ("long-run value, h", "long_run_value", hours),
    ("value after the programme vs baseline, h/week", "value_after_window_vs_baseline", rate),
    ("peak weekly active", "peak_active_share", share),
    ("weekly active, last year", "active_share_last_year", share),
    ("adoption–value gap", "adoption_value_gap", ratio),
    ("cost, h", "cost_total", hours),
    ("value per hour of cost", "value_per_cost", ratio),
]


def summary_table_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table: mean [95% CI] per programme."""
    head = "| programme | " + " | ".join(c[0] for c in TABLE_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(TABLE_COLUMNS)
    lines = [head, rule]
    for _, row in summary.iterrows():
        cells = [cell(row, metric, fmt) for _, metric, fmt in TABLE_COLUMNS]
        lines.append(f"| `{row['scenario']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(summary: pd.DataFrame, replications: int) -> str:
    return (
        "# Summary\n\n"
        f"Mean over {replications} replications per programme, with the {CI} of the mean in "
        "brackets (percentile bootstrap). All columns, with more outcomes, are in "
        "`summary.csv`; the definitions are in `report.md`.\n\n"
        f"{summary_table_markdown(summary)}\n"
    )


# --- report.md ---------------------------------------------------------------------------------


def _tests_by(tests: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    if tests.empty:
        return {}
    return {(r["scenario"], r["outcome"]): r for _, r in tests.iterrows()}


def _verdict(test: pd.Series | None, fmt, unit: str) -> str:
    """A plain-language sentence on a paired test against the baseline."""
    if test is None or _missing(test["p_value"]):
        return "There is nothing to compare."
    diff = test["mean_difference"]
    direction = "more" if diff > 0 else "less"
    text = (
        f"That is {fmt(abs(diff))}{unit} {direction} than the baseline "
        f"({CI} of the difference {fmt(test['difference_ci_low'])} to "
        f"{fmt(test['difference_ci_high'])}), higher in {test['higher_in']} of "
        f"{test['pairs']} replications"
    )
    p = pvalue(test["p_holm"])
    p = f"p {p}" if p.startswith("<") else f"p = {p}"
    if test["beyond_noise"]:
        return f"{text}: **beyond noise** (Holm-corrected {p})."
    return f"{text}: **not distinguishable from noise** (Holm-corrected {p})."


def _scenario_section(row, base, tests: dict, weeks: int) -> list[str]:
    name = row["scenario"]
    lines = [f"### `{name}`", ""]
    if row["description"]:
        lines += [f"*{row['description'].strip()}*", ""]
    is_base = name == REFERENCE
    against = "" if is_base else f" (baseline {share(base['active_share_last_year_mean'])})"
    peak_against = "" if is_base else f" (baseline {share(base['peak_active_share_mean'])})"
    lines.append(
        f"- **Adoption.** Weekly use peaks at {share(row['peak_active_share_mean'])} of "
        f"people{peak_against} and averages {share(row['active_share_last_year_mean'])} in the "
        f"last year{against}; {share(row['final_adopted_share_mean'])} have tried it by the end."
    )
    value = f"- **Value.** Long-run value {with_ci(row, 'long_run_value', hours, ' h')}"
    if is_base:
        lines.append(
            f"{value}; {hours(row['value_last_year_mean'])} h in the last year. Every other "
            "programme is compared with this one."
        )
    else:
        lines.append(
            f"{value}, against {hours(base['long_run_value_mean'])} h for the baseline. "
            + _verdict(tests.get((name, "long_run_value")), hours, " h")
        )
        end = int(row["window_end"])
        if end >= weeks:
            lines.append(
                "- **After the programme.** It runs to the end of the horizon, so there is no "
                "'after' to measure."
            )
        elif end > 0:
            t = tests.get((name, "value_after_window"))
            lines.append(
                f"- **After the programme** (it ends in week {end}): "
                f"{with_ci(row, 'value_after_window', rate, ' h/week')} in the year after, "
                f"against {rate(t['mean_baseline'] if t is not None else None)} h/week for the "
                "baseline over the same weeks. " + _verdict(t, rate, " h/week")
            )
    lines.append(
        f"- **Adoption–value gap** (share who have adopted minus share creating net value in a "
        f"week, last year): {ratio(row['adoption_value_gap_mean'])}"
        + ("." if is_base else f" (baseline {ratio(base['adoption_value_gap_mean'])}).")
    )
    if row["cost_total_mean"] > 0:
        lines.append(
            f"- **Cost.** {with_ci(row, 'cost_total', hours, ' h')} of people's time and "
            f"rewards; {with_ci(row, 'value_per_cost', ratio)} hours of long-run value per hour "
            f"of cost; long-run value minus cost {with_ci(row, 'net_value', hours, ' h')}. "
            f"Against the baseline, each hour of cost bought "
            f"{with_ci(row, 'gain_per_cost', ratio)} hours of long-run value"
            + (" (negative: less than doing nothing)." if row["gain_per_cost_mean"] < 0 else ".")
        )
    else:
        lines.append("- **Cost.** None recorded, so there is no value per cost.")
    return [*lines, ""]


def _in_short(summary: pd.DataFrame, tests: pd.DataFrame) -> list[str]:
    s = summary.set_index("scenario")
    best_value = s["long_run_value_mean"].idxmax()
    best_use = s["active_share_last_year_mean"].idxmax()
    lines = [
        f"- **Most long-run value:** `{best_value}`, "
        f"{with_ci(s.loc[best_value], 'long_run_value', hours, ' h')}.",
    ]
    if best_use == best_value:
        lines.append(
            f"- **Most use:** `{best_use}` too "
            f"({share(s.loc[best_use, 'active_share_last_year_mean'])} active in a week in the "
            "last year): here the programme with the most use also creates the most value."
        )
    else:
        lines.append(
            f"- **Most use is not most value:** `{best_use}` has the most people active in a "
            f"week in the last year ({share(s.loc[best_use, 'active_share_last_year_mean'])}, "
            f"against {share(s.loc[best_value, 'active_share_last_year_mean'])} for "
            f"`{best_value}`) but {hours(s.loc[best_use, 'long_run_value_mean'])} h of long-run "
            f"value against {hours(s.loc[best_value, 'long_run_value_mean'])} h."
        )
    if not tests.empty:
        lrv = tests[tests["outcome"] == "long_run_value"]
        better = lrv[lrv["beyond_noise"] & (lrv["mean_difference"] > 0)]["scenario"]
        worse = lrv[lrv["beyond_noise"] & (lrv["mean_difference"] < 0)]["scenario"]
        unclear = lrv[~lrv["beyond_noise"]]["scenario"]

        def names(x) -> str:
            return ", ".join(f"`{n}`" for n in x) if len(x) else "none"

        lines += [
            f"- **More long-run value than the baseline, beyond noise:** {names(better)}.",
            f"- **Less long-run value than the baseline, beyond noise:** {names(worse)}.",
            f"- **Not distinguishable from the baseline:** {names(unclear)}.",
        ]
    costly = s[s["value_per_cost_mean"].notna()]
    if len(costly) and costly["value_per_cost_mean"].max() > 0:
        top = costly["value_per_cost_mean"].idxmax()
        lines.append(
            f"- **Most value per hour of cost:** `{top}`, "
            f"{ratio(costly.loc[top, 'value_per_cost_mean'])} hours of long-run value per hour "
            "spent on the programme."
        )
    elif len(costly):
        lines.append(
            "- **Value per hour of cost:** no programme that costs something creates positive "
            "long-run value here."
        )
    if len(costly) and costly["gain_per_cost_mean"].max() > 0:
        top = costly["gain_per_cost_mean"].idxmax()
        lines.append(
            f"- **Best return on its cost:** `{top}`: each hour spent on it bought "
            f"{ratio(costly.loc[top, 'gain_per_cost_mean'])} hours of long-run value more than "
            "the baseline."
        )
    return [*lines, ""]


def report_markdown(summary: pd.DataFrame, tests: pd.DataFrame, about: dict) -> str:
    """The strategist's report.

    ``about``: ``replications``, ``agents``, ``weeks``, ``organisation`` (a phrase),
    ``seed``, ``baseline_added`` (the baseline was not asked for but is the reference),
    ``tests`` (how many tests the Holm correction covers).
    """
    weeks, reps = int(about["weeks"]), int(about["replications"])
    base = summary.set_index("scenario").loc[REFERENCE]
    by = _tests_by(tests)
    out = [
        "# What the programmes do to adoption and to value",
        "",
        f"{len(summary)} programmes, each simulated {reps} times on {about['organisation']} "
        f"of {about['agents']:,} people over {weeks} weeks ({weeks / 52:.1f} years), root "
        f"seed {about['seed']}. Replication *i* of every programme runs on the same "
        "organisation, with the same starting state and the same random draws (common random "
        "numbers; the seeds are in `seeds.csv`), so a difference between programmes is the "
        "programmes' doing, not luck of the draw.",
        "",
        "How to read the numbers: each is a mean over the replications; where a range is "
        f"given it is the {CI} of that mean (percentile bootstrap). **Value** is hours of "
        "productive work the network creates, net of the time people spend on it, summed over "
        "the horizon (long-run value). **Adoption** is the share of people active in a week. "
        "**Costs** are the hours of people's time and reward value a programme takes; they are "
        "shown beside value and not subtracted from it. A difference from the baseline is "
        "called *beyond noise* when a paired test (Wilcoxon signed-rank, replication *i* "
        f"against replication *i*) is significant at the {ALPHA:.0%} level after Holm's "
        f"correction for the {about['tests']} tests in `tests.csv`.",
        "",
    ]
    if about.get("baseline_added"):
        out += [
            "The baseline (deploy and wait) was not in `experiment.scenarios`; it was added as "
            "the reference every programme is compared with.",
            "",
        ]
    smallest = 2 / 2**reps  # the exact signed-rank test's smallest two-sided p with R pairs
    if about["tests"] and smallest * about["tests"] >= ALPHA:
        out += [
            f"**Too few replications to tell.** With {reps} replications the smallest p-value "
            f"a paired signed-rank test can give is {smallest:.3g}, too large for any difference "
            f"to count as beyond noise after correcting for {about['tests']} tests. Run more "
            "replications (`experiment.replications`) before reading differences.",
            "",
        ]
    out += ["## In short", "", *_in_short(summary, tests)]
    out += ["## Programme by programme", ""]
    for _, row in summary.iterrows():
        out += _scenario_section(row, base, by, weeks)
    out += [
        "## All programmes",
        "",
        f"Mean [{CI}]. *Value after the programme vs baseline* is a programme's mean weekly "
        "value in the year after it ends, minus the baseline's over the same weeks of the same "
        "replication (n/a where it runs to the end, and for the baseline).",
        "",
        summary_table_markdown(summary),
        "",
        "## Figures",
        "",
    ]
    for stem, (title, caption) in FIGURES.items():
        out += [f"### {title}", "", f"![{title}]({stem}.png)", "", caption, ""]
    out += [
        "## Caveats",
        "",
        "- **A model, not a forecast.** These are outcomes of one calibration of a simulation "
        "(docs/MODEL.md §9). Most parameters are chosen so that the baseline shows the "
        "qualitative patterns reported for enterprise social networks, and the strengths and "
        "costs of the interventions are assumptions, calibrated to nothing. Read the results as "
        "orderings under these assumptions, and check them with sensitivity analysis before "
        "acting on them.",
        "- **What the intervals mean.** The confidence intervals and tests measure the "
        "run-to-run randomness of the model with these parameters (how many replications were "
        "run), not uncertainty about the parameters or about your organisation. *Beyond noise* "
        "means the model's own chance variation does not explain the difference; it does not "
        "mean the effect will appear in a real organisation.",
        "- **Your organisation.** This organisation is "
        f"{about['organisation']}. Run the comparison on your own org chart "
        "(`org=orgchart org.path=hr.csv`) and with your own costs.",
        "- **Value after the programme.** Programmes end at different times, so each one's "
        "'after' is compared with the baseline over the same weeks, not with the baseline's "
        "own first year.",
        "- **Files.** `summary.csv` (all outcomes with intervals), `tests.csv` (the paired "
        "tests), `runs.csv` and `weekly.csv` (every run, every week), `config.yaml`, "
        "`scenarios.yaml`, `overrides.yaml`, `seeds.csv` and `provenance.json` (how to re-run "
        "it: `python -m sim scenario=<name> seed=<seed>` with the same overrides re-runs one "
        "replication).",
        "",
    ]
    return "\n".join(out)


# --- Markdown to HTML --------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
th { background: #f3f3f3; }
td.num { text-align: right; white-space: nowrap; }
img { max-width: 100%; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', text)


def _row(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def markdown_to_html(markdown: str, title: str) -> str:
    """A self-contained HTML page from the Markdown subset the reports use."""
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
            alt, src = html.escape(m.group(1)), html.escape(m.group(2))
            body.append(f'<figure><img src="{src}" alt="{alt}"></figure>')
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_row(lines[i]))
                i += 1
            head, data = rows[0], [r for r in rows[2:]]
            body.append("<table>")
            body.append("<tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>")
            for r in data:
                tds = [f"<td>{_inline(r[0])}</td>"]
                tds += [f'<td class="num">{_inline(c)}</td>' for c in r[1:]]
                body.append("<tr>" + "".join(tds) + "</tr>")
            body.append("</table>")
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
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
