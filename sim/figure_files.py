"""Writing a study's figures: each drawn once, in a worker process if there are any, and
saved as PNG, SVG and a page of the study's PDF.

Nothing here imports Matplotlib: the process that sends the figures to its workers names
what each draws (``figure``), and only the processes that draw load ``sim.plots`` (about
0.3 s of CPU a process, which the comparison's main process no longer spends).
"""

import gc
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from joblib import Parallel, delayed


def figure(name: str, *args):
    """The figure ``sim.plots.<name>(*args)`` draws: what a figure of ``save_all`` is, sent
    to a worker by name."""
    from sim import plots

    return getattr(plots, name)(*args)


def save_all(
    figures: dict,
    folder: Path,
    pdf: str | None = None,
    n_jobs: int = 1,
    meanwhile: Callable[[], None] | None = None,
    first: Sequence[str] = (),
) -> list[Path]:
    """Draw each figure (stem → function returning a figure) once and write it as PNG and SVG
    and, with ``pdf``, as one page of a PDF for slides (no creation date, so the file is the
    same every time): the page is the same figure object, laid out once for all three
    (``sim.plots.save_figure``).

    With ``n_jobs`` > 1 the figures are drawn at the same time in ``n_jobs`` worker processes
    (joblib), each whole in one process, while this process calls ``meanwhile`` (other files
    of the same folder); with one, here, after ``meanwhile``. The figures named in ``first``
    (the slowest to draw) are started first, so that no worker is left drawing a large
    figure alone at the end. Either way each page is written as a one-page file and the pages
    are joined in the order of ``figures`` (pypdf), so the PDF is the same bytes however many
    processes drew them, and in whatever order; the paths come in that order too."""
    pages = {stem: folder / f".{stem}.page.pdf" if pdf else None for stem in figures}
    order = [s for s in first if s in figures] + [s for s in figures if s not in first]
    calls = [partial(_save, figures[stem], folder / stem, pages[stem]) for stem in order]
    drawing = (
        Parallel(n_jobs=n_jobs, return_as="generator")(delayed(call)() for call in calls)
        if n_jobs > 1
        else None
    )
    try:
        if meanwhile is not None:
            meanwhile()
    finally:  # the workers are done with the folder before anything else happens to it
        drawn = list(drawing) if drawing is not None else None
    if drawn is None:  # no workers: drawn here
        drawn = [call() for call in calls]
    written = dict(zip(order, drawn, strict=True))
    paths = [p for stem in figures for p in written[stem]]
    if not pdf:
        return paths
    from pypdf import PdfWriter

    writer = PdfWriter()
    for page in pages.values():
        writer.append(page)
    with open(folder / pdf, "wb") as out:
        writer.write(out)
    for page in pages.values():
        page.unlink()
    return paths + [folder / pdf]


def ready() -> None:
    """What a worker about to draw figures is sent first, so that it imports Matplotlib
    (``sim.plots``, about 0.3 s) while there is nothing yet to draw."""
    import sim.plots  # noqa: F401


def _save(draw, stem: Path, page: Path | None) -> list[Path]:
    """Draw one figure and write its PNG, SVG and, given ``page``, its one-page PDF.

    The garbage collector is paused meanwhile: a figure is tens of thousands of objects that
    all live until it is closed, which the collector would otherwise walk again and again
    while they are made (5% of the drawing time); it collects them once afterwards."""
    from sim.plots import save_figure

    paused = gc.isenabled()
    gc.disable()
    try:
        fig = draw()
        paths = save_figure(fig, stem)
        if page is not None:  # closed by pyplot, still whole
            fig.savefig(page, format="pdf", metadata={"CreationDate": None})
    finally:
        if paused:
            gc.enable()
    return paths
