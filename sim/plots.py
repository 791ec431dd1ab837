"""Figures of a run. Matplotlib with the Agg backend, so plots work with no display."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from models.state import STAGE_NAMES  # noqa: E402

STAGE_COLOURS = ("#d9d9d9", "#c6dbef", "#6baed6", "#2171b5", "#08306b")


def adoption_vs_value(weekly: pd.DataFrame, path: str | Path) -> Path:
    """Adoption (cumulative and weekly active), value per week, and the stage mix over time,
    on one time axis, so the gap between adoption and value is visible at a glance."""
    years = weekly["week"] / 52.0
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax1.plot(years, weekly["adopted_share"], label="ever adopted (cumulative)", color="#555")
    ax1.plot(years, weekly["active_share"], label="active this week", color="#e6550d")
    ax1.plot(
        years, weekly["value_creators_share"], label="creating net value this week", color="#31a354"
    )
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share of employees")
    ax1.set_title("Adoption is not value")
    ax1.legend(loc="upper left", fontsize=8)
    ax2.plot(years, weekly["value_total"], label="total (net of time spent)", color="#31a354")
    ax2.plot(years, weekly["value_personal"], label="personal", color="#74c476", lw=0.8)
    ax2.plot(years, weekly["value_strategic"], label="strategic", color="#006d2c", lw=0.8)
    ax2.axhline(0, color="black", lw=0.5)
    ax2.set_ylabel("value, hours per week")
    ax2.legend(loc="upper left", fontsize=8)
    stages = [weekly[f"stage_{name}"] for name in STAGE_NAMES]
    ax3.stackplot(years, stages, labels=STAGE_NAMES, colors=STAGE_COLOURS)
    ax3.set_ylim(0, 1)
    ax3.set_ylabel("share at each stage")
    ax3.set_xlabel("years since deployment")
    ax3.legend(loc="upper left", fontsize=8, ncol=5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
