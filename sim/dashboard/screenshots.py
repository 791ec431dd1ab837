"""Drive the real workshop page in headless Chromium: the browser test and the guide's
screenshots use these helpers.

    python -m sim.dashboard.screenshots            # rewrite docs/img/workshop/*.png

Chromium is Debian's ``chromium`` package (``apt-get install chromium``), driven by the
``playwright`` Python package through ``executable_path``; nothing is downloaded (never
``playwright install``). The flags keep it from trying to reach Google's services, which on a
machine without internet makes it hang. The server is the one ``make dashboard`` starts
(``python -m sim.dashboard``), on a free port, stopped with its whole process group; its CPU
time and memory are read from ``/proc`` (Linux), for the measurements the browser test makes.
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
from dataclasses import dataclass
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
PROJECTOR = {"width": 1280, "height": 720}
WIDE = {"width": 1920, "height": 1080}


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


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu(self) -> float:
        """CPU seconds the server process has used (all its threads), from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        """The server's resident memory, MiB, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def serve(timeout: float = 90.0, cwd: Path | None = None) -> Iterator[Server]:
    """Start the dashboard server on a free localhost port (in ``cwd``, where it saves
    scenario files); yield it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tempfile.TemporaryFile("w+")  # the server's output, shown if it dies
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.dashboard", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
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
        yield Server(url, server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


@contextmanager
def browser(headless: bool = True) -> Iterator:
    """A headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=headless
        )
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(context, url: str):
    """A new page on ``url``, once the network has been drawn."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_drawn(page)
    return page


def wait_drawn(page) -> None:
    """Wait until the network canvas has been sized and drawn."""
    page.wait_for_function(
        "() => { const c = document.querySelector('.ba-network canvas');"
        " return c && c.width > 100 && c.clientWidth > 100; }"
    )


# --- reading the page ------------------------------------------------------------------------


def week(page) -> int:
    """The week the page shows."""
    return int(page.inner_text(".ba-week").split()[1])


def serial(page) -> int:
    """How many frames the page has received (the player's data-serial)."""
    return int(page.get_attribute(".ba-player", "data-serial"))


def tally(page) -> str:
    return page.inner_text(".ba-tally")


def wait_for_week(page, target: int) -> None:
    """Wait until the bar and the caption (which arrive separately) both show week
    ``target``."""
    page.wait_for_function(
        """w => Number(document.querySelector('.ba-week')?.innerText.split(' ')[1]) === w
               && (document.querySelector('.ba-caption')?.innerText || '').toLowerCase()
                    .includes(`week ${w}`)""",
        arg=target,
    )


# --- acting on it ------------------------------------------------------------------------------


def click(page, name: str) -> None:
    """Press the bar's button ``step``, ``play`` or ``reset`` (by its class ``ba-<name>``)."""
    page.locator(f".ba-{name}").click()


def step(page, times: int = 1) -> None:
    """Press Step ``times`` times, waiting each time for the page to show the next week."""
    for _ in range(times):
        before = week(page)
        click(page, "step")
        wait_for_week(page, before + 1)


def step_to(page, target: int) -> None:
    """Press +13 (a quarter) and Step until the page shows week ``target``."""
    while week(page) + 13 <= target:
        before = week(page)
        click(page, "quarter")
        wait_for_week(page, before + 13)
    while week(page) < target:
        step(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the drop-down labelled ``label``."""
    page.locator(f".v-select:has(label:text-is('{label}')) .v-select__slot").click()
    page.locator(".v-menu__content.menuable__content__active .v-list-item").filter(
        has_text=option
    ).get_by_text(option, exact=True).click()
    page.wait_for_timeout(300)


def speed(page, weeks_per_second: int) -> None:
    page.locator(".ba-speed .v-btn").filter(has_text=str(weeks_per_second)).get_by_text(
        str(weeks_per_second), exact=True
    ).click()
    page.wait_for_timeout(300)


def slide(page, label: str, key: str, presses: int = 1) -> None:
    """Press ``key`` (``ArrowRight``, ``End``, …) on the slider whose label starts with
    ``label``."""
    thumb = page.locator(f".v-input:has(label:text-matches('^{label}')) [role=slider]")
    thumb.focus()
    for _ in range(presses):
        thumb.press(key)
    page.wait_for_timeout(600)


def type_text(page, label: str, text: str) -> None:
    """Type ``text`` into the text field labelled ``label`` (and press Enter)."""
    field = page.locator(f".v-text-field:has(label:text-is('{label}')) input")
    field.fill(text)
    field.press("Enter")
    page.wait_for_timeout(300)


def tick(page, label: str) -> None:
    """Toggle the checkbox labelled ``label``."""
    page.locator(
        f".v-input--checkbox:has(label:text-is('{label}')) .v-input--selection-controls__ripple"
    ).click()
    page.wait_for_timeout(300)


def reset(page) -> None:
    """Press Reset and wait for week 0 with no pending changes."""
    click(page, "reset")
    wait_for_week(page, 0)
    page.wait_for_function("() => !document.querySelector('.ba-pending')")


# --- the guide's screenshots -----------------------------------------------------------------


def take_screenshots(folder: Path = DOCS_IMAGES) -> list[Path]:
    """The guide's screenshots, from the real page."""
    folder.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(page, name: str) -> None:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        shots.append(path)

    with serve() as server, browser() as chromium:
        page = open_page(chromium.new_context(viewport=PROJECTOR), server.url)
        shot(page, "start")
        step_to(page, 52)
        shot(page, "baseline_year1")
        choose(page, "programme", "mandate")
        choose(page, "compare with", "sense_making")
        shot(page, "pending")
        reset(page)
        step_to(page, 52)
        shot(page, "mandate_vs_sense_making_year1")
        step_to(page, 156)
        shot(page, "mandate_vs_sense_making_year3")
        page.locator(".ba-shown .v-btn").filter(has_text="sense_making").click()
        page.wait_for_timeout(500)
        box = page.locator(".ba-network canvas").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator(".ba-inspector").wait_for()
        shot(page, "inspect_a_person")
        choose(page, "programme", "incentives")
        choose(page, "compare with", "baseline")
        choose(page, "seeds for a band", "10")
        reset(page)
        page.locator(".ba-band").filter(has_text="10 seeds").wait_for()
        step_to(page, 104)
        shot(page, "incentives_vs_baseline_year2_band")
        tick(page, "presenter mode")
        shot(page, "presenter")
        tick(page, "presenter mode")
        page.locator(".ba-config").evaluate("el => el.scrollTop = 700")
        page.wait_for_timeout(300)
        shot(page, "controls")
        page.close()
        page = open_page(chromium.new_context(viewport=WIDE), server.url)
        slide(page, "people", "End")
        reset(page)
        step_to(page, 26)
        shot(page, "groups_5000_people")
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
