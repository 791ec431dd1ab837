"""Slides from a workshop run: an animated GIF of the network and the curves, and PNG stills.

    python -m sim.dashboard.export --scenario mandate --weeks 104 --stills 13 52 104
    python -m sim.dashboard.export --scenario mandate --compare sense_making --size 500
    python -m sim.dashboard.export --scenario baseline --control stories=on --control seed=3

Every option is a dashboard control (``--control NAME=VALUE`` sets any of them, with the
names the page uses), so an export shows the run the page would show for the same controls.
The run is stepped once; a frame is drawn every ``--every`` weeks and at each still, so a
still at week 52 is exactly the GIF's frame at week 52. Writes ``run.gif``,
``week_<NNN>.png`` for each still and ``command.txt`` (the ``python -m sim`` command of each
run) into ``--out`` (default ``results/exports/<programme>[_vs_<other>]_<time>``).

Every GIF frame is mapped to one fixed palette that holds the stage colours exactly
(``gif_palette``): a GIF has 256 colours a frame, and a palette chosen per frame shifted the
stages' colours from frame to frame, away from the legend.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import matplotlib.colors
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from models.errors import InputError
from sim.dashboard import controls, draw, views
from sim.dashboard.layout import MAX_TIES
from sim.dashboard.model import WorkshopModel
from sim.palette import STAGE_COLOURS


@dataclass
class Exported:
    gif: Path
    stills: list[Path] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0


def frame_figure() -> tuple[Figure, dict]:
    """A 16:9 slide: the network on the left; adoption, value and stages on the right; the
    tally underneath."""
    fig = Figure(figsize=(13.33, 7.5))
    FigureCanvasAgg(fig)  # frames are read back as pixels
    grid = fig.add_gridspec(4, 2, width_ratios=(1.15, 1), height_ratios=(1, 1, 1, 0.38))
    axes = {
        "network": fig.add_subplot(grid[:3, 0]),
        "adoption": fig.add_subplot(grid[0, 1]),
        "value": fig.add_subplot(grid[1, 1]),
        "stages": fig.add_subplot(grid[2, 1]),
        "tally": fig.add_subplot(grid[3, :]),
    }
    fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.03, hspace=0.55, wspace=0.28)
    return fig, axes


def _wipe(ax) -> None:
    """Remove what was drawn but keep the axes themselves: ``ax.clear()`` would rebuild every
    tick and label, which costs more than drawing a frame."""
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.artists]:
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()


def draw_frame(fig: Figure, axes: dict, model: WorkshopModel, limits=None) -> None:
    """Draw the run's current week on the slide (replacing what was there); ``limits`` of
    the net-value axis (the page's, which only grow)."""
    for ax in axes.values():
        _wipe(ax)
    weekly = views.weekly(model)
    bands = views.intervention_bands(model)
    draw.draw_network(axes["network"], model.main.model, model.layout)
    draw.draw_adoption(axes["adoption"], weekly, model.weeks, bands)
    draw.draw_value(axes["value"], weekly, model.weeks, bands, limits)
    draw.draw_stages(axes["stages"], weekly[model.main.label], model.weeks, model.main.label,
                     bands)  # fmt: skip
    draw.draw_tally(axes["tally"], weekly)
    title = " vs ".join(run.label for run in model.runs)
    fig.suptitle(f"{title}: adoption and value, week {model.steps}", fontsize=12)


def gif_palette() -> Image.Image:
    """The one palette of every GIF frame: the stage colours, the runs' and interventions'
    colours and the chart greys exactly, then an even grey ramp and a colour cube for
    everything else (anti-aliased edges, text)."""
    exact = [*STAGE_COLOURS, *views.RUN_COLOURS, "#000000", "#ffffff", "#252525", "#525252",
             "#8c8c8c", "#9e9e9e", "#737373"]  # fmt: skip
    exact += [views.intervention_colour(kind) for kind in controls.kinds()]
    rgb = [tuple(round(255 * c) for c in matplotlib.colors.to_rgb(h)) for h in exact]
    rgb = list(dict.fromkeys(rgb))
    rgb += [(g, g, g) for g in range(0, 256, 8)]
    levels = (0, 64, 128, 192, 255)
    rgb += [(r, g, b) for r in levels for g in levels for b in levels]
    rgb = list(dict.fromkeys(rgb))[:256]
    palette = Image.new("P", (1, 1))
    palette.putpalette([v for colour in rgb for v in colour] + [0, 0, 0] * (256 - len(rgb)))
    return palette


def _frame_image(fig: Figure, dpi: int, palette: Image.Image) -> Image.Image:
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    return rgb.quantize(palette=palette, dither=Image.Dither.NONE)


def export(
    model: WorkshopModel,
    out: Path,
    stills: list[int] = (),
    every: int = 2,
    fps: int = 8,
    dpi: int = 72,
) -> Exported:
    """Run ``model`` to its horizon, writing the GIF and the stills into ``out``."""
    if model.error:
        raise InputError(model.error)
    bad = [w for w in stills if not 0 <= w <= model.weeks]
    if bad:
        raise InputError(f"--stills: week {bad[0]} is outside the run (0..{model.weeks})")
    if every < 1:
        raise InputError(f"--every: {every} is not allowed; it must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    result = Exported(gif=out / "run.gif")
    started = time.perf_counter()
    fig, axes = frame_figure()
    palette = gif_palette()
    frames: list[Image.Image] = []
    limits = (0.0, 0.0)
    while True:
        week = model.steps
        still = week in stills
        if still or week % every == 0 or not model.running:
            nets = [views.net_so_far(df) for df in views.weekly(model).values()]
            low = min([0.0, *(float(n.min()) for n in nets if len(n))])
            high = max([0.0, *(float(n.max()) for n in nets if len(n))])
            limits = views.grow_limits(limits, low, high)
            draw_frame(fig, axes, model, limits)
            frames.append(_frame_image(fig, dpi, palette))
        if still:
            path = out / f"week_{week:03d}.png"
            fig.savefig(path, dpi=150)
            result.stills.append(path)
        if not model.running:
            break
        model.step()
    frames[0].save(
        result.gif,
        save_all=True,
        append_images=frames[1:],
        duration=round(1000 / fps),
        loop=0,
        optimize=False,
        palette=palette.getpalette(),  # one global colour table, no table per frame
    )
    result.frames = len(frames)
    (out / "command.txt").write_text("\n".join(run.command for run in model.runs) + "\n")
    result.seconds = time.perf_counter() - started
    return result


def _control(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` for a dashboard control, typed as the control's and checked as the page
    checks it (``controls.check_value``)."""
    name, sep, raw = text.partition("=")
    params = controls.model_params()
    if not sep or name not in params:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=VALUE with NAME one of {', '.join(params)}"
        )
    spec = params[name]
    try:
        if spec["type"] == "SliderInt":
            value = int(raw)
        elif spec["type"] == "SliderFloat":
            value = float(raw)
        elif spec["type"] == "Checkbox":
            value = raw.lower() in ("1", "true", "yes", "on")
        else:  # a drop-down: its option with this spelling (numbers too)
            value = next((v for v in spec["values"] if str(v) == raw), raw)
        return name, controls.check_value(name, value)
    except (ValueError, controls.ControlError) as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from e


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sim.dashboard.export",
        description="Render a workshop run to an animated GIF and PNG stills for slides.",
    )
    p.add_argument(
        "--scenario",
        "--programme",
        dest="programme",
        default="baseline",
        choices=controls.programmes(),
        help="named programme (conf/scenario)",
    )
    p.add_argument(
        "--compare",
        dest="compare_with",
        default=controls.NO_COMPARISON,
        choices=(controls.NO_COMPARISON, *controls.programmes()),
        help="a second programme on the same organisation and seed",
    )
    p.add_argument("--organisation", "--org", default="hierarchy", choices=controls.ORGANISATIONS)
    p.add_argument("--size", type=int, default=1000, help="people (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weeks", type=int, default=104, help="horizon (default 104)")
    p.add_argument(
        "--stills",
        type=int,
        nargs="*",
        default=[],
        metavar="WEEK",
        help="weeks to save as PNG stills (0 = before the first week)",
    )
    p.add_argument("--every", type=int, default=2, help="weeks between GIF frames (default 2)")
    p.add_argument("--fps", type=int, default=8, help="GIF frames per second (default 8)")
    p.add_argument("--dpi", type=int, default=72, help="GIF resolution (stills use 150)")
    p.add_argument(
        "--control",
        type=_control,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any dashboard control, e.g. mandate=on, mandate_end=52",
    )
    p.add_argument("--out", type=Path, help="output folder")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    values = {
        "programme": args.programme,
        "compare_with": args.compare_with,
        "organisation": args.organisation,
        "size": args.size,
        "weeks": args.weeks,
        **dict(args.control),
    }
    seed = int(values.pop("seed", args.seed))
    name = values["programme"]
    if values["compare_with"] != controls.NO_COMPARISON:
        name += f"_vs_{values['compare_with']}"
    out = args.out or Path("results/exports") / f"{name}_{datetime.now():%Y-%m-%d_%H-%M-%S}"
    try:
        result = export(
            WorkshopModel(seed=seed, max_ties=MAX_TIES, **values),
            out,
            args.stills,
            args.every,
            args.fps,
            args.dpi,
        )
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {result.gif} ({result.frames} frames, {result.seconds:.1f} s)")
    for path in result.stills:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
