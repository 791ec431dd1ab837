"""Writing a study's figures: each drawn once, in a worker process if there are any, and
saved as PNG, SVG and a page of the study's PDF.

Nothing here imports Matplotlib: the process that sends the figures to its workers names
what each draws (``figure``), and only the processes that draw load ``sim.plots`` (about
0.3 s of CPU a process, which the comparison's main process no longer spends).
"""

import gc
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

from joblib import Parallel, delayed


def figure(name: str, *args):
    """The figure ``sim.plots.<name>(*args)`` draws: what a figure of a ``Drawing`` is, sent
    to a worker by name."""
    from sim import plots

    return getattr(plots, name)(*args)


class Drawing:
    """Figures being drawn once each and written as PNG and SVG and, with ``pdf``, as one page
    of a PDF for slides (no creation date, so the file is the same every time): the page is
    the same figure object, laid out once for all three (``sim.plots.save_figure``).

    A study sends its figures (stem → function returning a figure) as soon as their data are
    ready, in one or several rounds (``send``): with ``n_jobs`` > 1 they are drawn at once in
    ``n_jobs`` worker processes (joblib), each whole in one process, while this process goes
    on (the analysis the next figures need, other files of the same folder); with one, here,
    at the end (``finish``). Either way each page is written as a
    one-page file and the pages are joined in the order ``finish`` is given (pypdf), so the
    PDF is the same bytes however many processes drew the figures, and in whatever order; the
    paths come in that order too."""

    def __init__(self, folder: Path, pdf: str | None = None, n_jobs: int = 1) -> None:
        self.folder, self.pdf, self.n_jobs = folder, pdf, n_jobs
        self._drawing: list[tuple[list[str], Iterable]] = []  # in workers: stems, their files
        self._here: list[tuple[str, Callable]] = []  # without workers: drawn by ``finish``
        self._written: dict[str, list[Path]] = {}

    def send(self, figures: dict[str, Callable]) -> None:
        """Start drawing ``figures``, in their order (a study sends the slower first, so that
        no worker is left drawing a large figure alone at the end)."""
        order = list(figures)
        calls = [partial(_save, figures[s], self.folder / s, self._page(s)) for s in order]
        if self.n_jobs < 2:
            self._here += zip(order, calls, strict=True)
            return
        parallel = Parallel(n_jobs=self.n_jobs, return_as="generator")
        self._drawing.append((order, parallel(delayed(call)() for call in calls)))

    def wait(self) -> None:
        """Wait until the workers have written every figure sent to them (or raise the first
        error): they are done with the folder before anything else happens to it."""
        while self._drawing:
            order, drawn = self._drawing.pop(0)
            self._written.update(zip(order, drawn, strict=True))

    def finish(self, order: Sequence[str]) -> list[Path]:
        """Wait for the figures (drawing here those sent without workers), join their pages
        into the PDF in ``order`` (the stems of every figure sent), and return the paths
        written: each figure's PNG and SVG in ``order``, then the PDF."""
        self.wait()
        for stem, call in self._here:
            self._written[stem] = call()
        self._here = []
        paths = [p for stem in order for p in self._written[stem]]
        if not self.pdf:
            return paths
        from pypdf import PdfWriter

        writer = PdfWriter()
        for stem in order:
            writer.append(self._page(stem))
        with open(self.folder / self.pdf, "wb") as out:
            writer.write(out)
        for stem in order:
            self._page(stem).unlink()
        return paths + [self.folder / self.pdf]

    def _page(self, stem: str) -> Path | None:
        return self.folder / f".{stem}.page.pdf" if self.pdf else None


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
