"""The look every figure of a study shares — the stages' and programmes' colours, labels,
footer, money axis — without Matplotlib: the process that sends a comparison's figures to its
workers chooses their colours and styles, and only the workers draw (``sim.figure_files``).
"""

import textwrap
import zlib
from dataclasses import dataclass

#: Colours of the maturity stages, from "never used" (near-white grey) through Connect
#: (yellow), Share (green), Solve (blue) to Innovate (deep purple). Their lightness falls
#: with every stage (CIELAB L* 95, 82, 61, 44, 18), so they stay apart in greyscale and for
#: colour-vision deficiencies, whose simulations keep lightness (tests/test_dashboard.py
#: checks both). The one palette of every figure, page and export.
STAGE_COLOURS = ("#f2f2f2", "#f6c445", "#3fa85b", "#2a6f97", "#3b0f70")

REFERENCE = "baseline"
REFERENCE_COLOUR = "#444444"
#: The programmes' palette: Matplotlib's tab10 and Dark2 colour maps, strong colours only and
#: no greys (grey is the baseline's); tests/test_compare.py checks them against the maps.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
)  # fmt: skip


def programme_colours(names) -> dict[str, str]:
    """One colour per programme, the same in every figure of a study and, as far as the
    palette allows, in every study: each name has a preferred colour (from a checksum of the
    name, not its position), taken in alphabetical order; a name whose colour is taken gets
    the next free one. The baseline is always dark grey."""
    taken: dict[str, str] = {}
    used: set[int] = set()
    for name in sorted(n for n in set(names) if n != REFERENCE):
        slot = zlib.crc32(name.encode("utf-8")) % len(PALETTE)
        while slot in used and len(used) < len(PALETTE):
            slot = (slot + 1) % len(PALETTE)
        used.add(slot)
        taken[name] = PALETTE[slot]
    return {n: REFERENCE_COLOUR if n == REFERENCE else taken[n] for n in names}


def thousands(x, _=None) -> str:
    """A number of hours or money as a tick label: whole, with thousands separators."""
    return f"{x:,.0f}"


@dataclass(frozen=True)
class Style:
    """What every figure of a study shares: programme labels, colours, the footer line (the
    study and what was changed from the defaults), and money for a second axis."""

    labels: dict[str, str]
    colours: dict[str, str]
    footer: str = ""
    money: object = None  # sim.report.Money or None

    def label(self, name: str) -> str:
        return self.labels.get(name) or name

    def finish(self, fig) -> None:
        """Put the footer under the figure (its layout is constrained, so it makes room)."""
        if self.footer:
            fig.supxlabel(textwrap.fill(self.footer, 160), fontsize=7, x=0.01, ha="left")

    def money_axis(self, ax, which: str = "x") -> None:
        """A second axis in money on the opposite side, where an hourly value is set."""
        if not self.money:
            return
        from sim.plots import THOUSANDS  # drawn where Matplotlib is loaded

        v = self.money.per_hour
        functions = (lambda h: h * v, lambda m: m / v)
        second = (
            ax.secondary_xaxis("top", functions=functions)
            if which == "x"
            else ax.secondary_yaxis("right", functions=functions)
        )
        second.set_xlabel(self.money.currency) if which == "x" else second.set_ylabel(
            self.money.currency
        )
        (second.xaxis if which == "x" else second.yaxis).set_major_formatter(THOUSANDS)
