"""Drive the real workshop page in headless Chromium: the browser test and the guide's
screenshots use these helpers.

    python -m sim.dashboard.screenshots            # rewrite docs/img/workshop/*.png

Chromium is Debian's ``chromium`` package (``apt-get install chromium``), driven by the
``playwright`` Python package through ``executable_path``; nothing is downloaded (never
``playwright install``). The flags keep it from trying to reach Google's services, which on a
machine without internet makes it hang. The server is the one ``make dashboard`` starts
(``python -m sim.dashboard``), on a free port, stopped with its whole process group.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "the browser test needs Chromium and Playwright's Python package: on Debian/Ubuntu "
    "`sudo apt-get install chromium` (or set CHROMIUM=/path/to/chromium) and "
    "`.venv/bin/pip install playwright` (no `playwright install` needed)"
)
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img" / "workshop"
#: The pictures on the page, by the CSS class suffix ``app.py`` gives them (``ba-<name>``).
PICTURES = ("network", "adoption", "value", "stages")
VIEWPORT = {"width": 1600, "height": 1300}  # tall enough for the stages chart


def missing() -> str | None:
    """Why the page cannot be driven here (no browser, no Playwright), or None."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}; {INSTALL_HINT}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the playwright package is not installed; {INSTALL_HINT}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(timeout: float = 90.0) -> Iterator[str]:
    """Start the dashboard server on a free localhost port; yield its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tempfile.TemporaryFile("w+")  # the server's output, shown if it dies
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.dashboard", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stopping it stops its children
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the dashboard server exited:\n{log.read()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dashboard server did not answer at {url}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@contextmanager
def browser_page(url: str) -> Iterator:
    """A headless Chromium page on ``url``, once the network picture is on it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(60_000)
            page.goto(url)
            page.wait_for_selector(".ba-network img")
            yield page
        finally:
            browser.close()


def picture(page, name: str) -> str:
    """The current image data of one picture (``network``, ``adoption``, ``value``,
    ``stages``): it changes when the picture is redrawn with new content."""
    return page.eval_on_selector(f".ba-{name} img", "img => img.src")


def tally(page) -> str:
    return page.inner_text(".ba-tally")


def wait_for_week(page, week: int) -> None:
    page.wait_for_function(
        "week => document.querySelector('.ba-tally')?.innerText.includes(`Week ${week} of`)",
        arg=week,
    )


def press(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def week(page) -> int:
    """The week the page shows."""
    return int(tally(page).split("Week ", 1)[1].split(" ", 1)[0])


def _redrawn(page, pictures: dict[str, str], timeout: float = 60_000) -> None:
    """Wait until every picture differs from ``pictures`` (src by name) and has loaded."""
    page.wait_for_function(
        """old => Object.entries(old).every(([name, src]) => {
            const img = document.querySelector(`.ba-${name} img`);
            return img && img.src !== src && img.complete;
        })""",
        arg=pictures,
        timeout=timeout,
    )


def step(page, times: int = 1) -> None:
    """Press Step ``times`` times, waiting each time for the page to show a later week and for
    every picture to be redrawn (the tally's text arrives before the images do)."""
    for _ in range(times):
        before = week(page)
        pictures = {name: picture(page, name) for name in PICTURES}
        press(page, "Step")
        page.wait_for_function(
            """before => {
                const m = document.querySelector('.ba-tally')?.innerText.match(/Week (\\d+) of/);
                return m && Number(m[1]) > before;
            }""",
            arg=before,
        )
        _redrawn(page, pictures)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the drop-down labelled ``label``."""
    page.locator(f".v-select:has(label:text-is('{label}')) .v-select__slot").click()
    page.locator(".v-menu__content.menuable__content__active .v-list-item").filter(
        has_text=option
    ).get_by_text(option, exact=True).click()
    page.wait_for_timeout(300)


def nudge(page, label: str, presses: int) -> None:
    """Move the slider labelled ``label`` by ``presses`` steps (negative: down), and give the
    server a moment to receive the new value before anything else is pressed."""
    thumb = page.locator(f".v-input:has(label:text-is('{label}')) [role=slider]")
    start = float(thumb.get_attribute("aria-valuenow"))
    thumb.focus()
    for _ in range(abs(presses)):
        thumb.press("ArrowRight" if presses > 0 else "ArrowLeft")
    if presses:
        page.wait_for_function(
            "([el, start]) => Number(el.getAttribute('aria-valuenow')) !== start",
            arg=[thumb.element_handle(), start],
        )
    page.wait_for_timeout(1000)


def tick(page, label: str) -> None:
    """Toggle the checkbox labelled ``label``."""
    page.locator(
        f".v-input--checkbox:has(label:text-is('{label}')) .v-input--selection-controls__ripple"
    ).click()
    page.wait_for_timeout(300)


def reset(page, expect: tuple[str, ...] = (), tries: int = 5) -> None:
    """Press Reset and wait for week 0 and its pictures. With ``expect``, press again (a
    second later) until the tally shows all of those strings: a control's new value reaches
    the server a moment after the browser shows it, and a Reset pressed before that rebuilds
    the old run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(tries):
        pictures = {name: picture(page, name) for name in PICTURES}
        press(page, "Reset")
        wait_for_week(page, 0)
        try:  # a Reset that changes nothing on a picture leaves it as it was
            _redrawn(page, pictures, timeout=10_000)
        except PlaywrightTimeout:
            pass
        if all(text in tally(page) for text in expect):
            return
        page.wait_for_timeout(1000)
    raise RuntimeError(f"after Reset the page does not show {expect}:\n{tally(page)}")


def set_stride(page, weeks: int, tries: int = 5) -> None:
    """Make each Step advance ``weeks`` weeks (SolaraViz's render interval: 1, 3, 5, ...),
    and leave the run reset to week 0.

    The slider's new value reaches the server a little after the key presses; a Step pressed
    too early advances by the old interval. So probe with one Step until it moves by
    ``weeks``, resetting after each probe."""
    nudge(page, "Render Interval (steps)", (weeks - 1) // 2)
    for _ in range(tries):
        step(page)
        moved = week(page)
        reset(page)
        if moved == weeks:
            return
        page.wait_for_timeout(1000)
    raise RuntimeError(f"Step still advances {moved} weeks, not {weeks}")


def step_to(page, target: int) -> None:
    """Press Step until the page shows week ``target``; refuse to overshoot it, so that a
    screenshot is never labelled with the wrong week."""
    while week(page) < target:
        step(page)
    if week(page) != target:
        raise RuntimeError(f"stepped past week {target} to week {week(page)}")


def take_screenshots(folder: Path = DOCS_IMAGES) -> list[Path]:
    """The guide's screenshots, from the real page."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(page, name: str) -> None:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        shots.append(path)

    with serve() as url, browser_page(url) as page:
        shot(page, "start")
        set_stride(page, 13)  # each Step a quarter
        step_to(page, 52)
        shot(page, "baseline_year1")
        choose(page, "programme", "mandate")
        choose(page, "compare with (same organisation and seed)", "sense_making")
        reset(page, expect=("scenario=mandate", "scenario=sense_making"))
        step_to(page, 52)
        shot(page, "mandate_vs_sense_making_year1")
        step_to(page, 156)
        shot(page, "mandate_vs_sense_making_year3")
        choose(page, "programme", "incentives")
        choose(page, "compare with (same organisation and seed)", "baseline")
        reset(page, expect=("scenario=incentives", "scenario=baseline"))
        step_to(page, 104)
        shot(page, "incentives_vs_baseline_year2")
        page.locator(".v-navigation-drawer__content").evaluate("el => el.scrollTop = 700")
        page.wait_for_timeout(300)
        shot(page, "controls")
    return shots


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.dashboard.screenshots", description=__doc__)
    p.add_argument("--out", type=Path, default=DOCS_IMAGES, help=f"folder (default {DOCS_IMAGES})")
    args = p.parse_args(argv)
    reason = missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    for path in take_screenshots(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
