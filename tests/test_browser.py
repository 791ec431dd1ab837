"""End to end: the workshop page in headless Chromium, as a facilitator uses it on a
projector (1280×720), held on ▶ at full speed, and loaded again and again.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``CHROMIUM=<path>``) and the
``playwright`` Python package; no browser is downloaded. Without them the tests are skipped
with a message saying how to install them — except in CI (``CI`` set, as ``.ci/run`` does),
where a missing browser is a failure, so CI always runs them.

Screenshots are kept as test artefacts in ``results/test-artifacts/browser/`` (and the
measurements in ``measurements.json`` there). Speeds and costs are measured as CPU time of
the server process (``/proc``), which a busy shared machine disturbs far less than wall time;
the thresholds are issue 17's: ≤ 0.15 s of server CPU per page update (median), first render
≤ 3 s, ▶ at least 5 weeks a second at 1,000 people.
"""

import json
import os
import re
import statistics
import time
from pathlib import Path

import pytest

from sim.dashboard import screenshots as ui
from sim.dashboard import session

ARTEFACTS = Path(__file__).resolve().parents[1] / "results" / "test-artifacts" / "browser"
MEASURED: dict = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = ui.missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {reason}")
        pytest.skip(reason)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with ui.serve(cwd=tmp_path_factory.mktemp("dashboard")) as running:
        yield running
    (ARTEFACTS / "measurements.json").write_text(json.dumps(MEASURED, indent=2) + "\n")


@pytest.fixture(scope="module")
def chromium(server):
    with ui.browser() as browser:
        yield browser


class Watch:
    """What a page does that it should not: script errors, tracebacks on the page, requests
    to anywhere but the dashboard."""

    def __init__(self, page, url: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("request", self._request)
        self.url = url

    def _request(self, request) -> None:
        if not request.url.startswith((self.url, "blob:", "data:")):
            self.outside.append(request.url)

    def check(self, page) -> None:
        assert not self.outside, f"requests outside the dashboard: {self.outside}"
        assert not self.errors, self.errors
        text = page.inner_text("body")
        assert "Traceback" not in text and "Error:" not in text, text[:2000]
        assert page.locator(".ba-problem").count() == 0


def shoot(page, name: str) -> None:
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


SMALL_TEXT = """() => {
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest('.v-icon, script, style, title')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.bottom < 0 || box.top > innerHeight
        || box.right < 0 || box.left > innerWidth) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let size = parseFloat(style.fontSize);
    const scale = style.transform.match(/^matrix\\(([^,]+)/);
    if (scale) size *= parseFloat(scale[1]);
    if (el instanceof SVGElement && el.getScreenCTM()) size *= el.getScreenCTM().a;
    if (size < 15.9) small.push(`${node.textContent.trim().slice(0, 40)}: ${size}px`);
  }
  return small;
}"""

ON_SCREEN = """sel => { const b = document.querySelector(sel).getBoundingClientRect();
  return b.width > 100 && b.height > 40 && b.top >= 0 && b.left >= 0
         && b.bottom <= innerHeight && b.right <= innerWidth; }"""


def first_render(chromium, server, viewport=ui.PROJECTOR):
    """A fresh page: wall time and server CPU from navigation to the network drawn."""
    context = chromium.new_context(viewport=viewport)
    cpu, wall = server.cpu(), time.perf_counter()
    page = context.new_page()
    watch = Watch(page, server.url)
    page.set_default_timeout(60_000)
    page.goto(server.url)
    ui.wait_drawn(page)
    return page, watch, time.perf_counter() - wall, server.cpu() - cpu


def test_a_facilitators_session_on_a_projector(server, chromium):
    page, watch, wall, cpu = first_render(chromium, server)
    MEASURED["first render"] = {"wall s": round(wall, 2), "server cpu s": round(cpu, 2)}
    assert cpu <= 3.0 and wall <= 15.0, MEASURED["first render"]  # wall: a shared machine
    shoot(page, "1_start")

    # presenter layout: network, adoption chart, value chart and tally on screen at once
    for part in (".ba-network", ".ba-adoption", ".ba-value", ".ba-tally"):
        assert page.evaluate(ON_SCREEN, part), f"{part} is not fully on screen at 1280×720"
    assert page.evaluate(SMALL_TEXT) == []
    canvas = page.evaluate("""() => { const c = document.querySelector('.ba-network canvas'),
        box = c.parentElement.getBoundingClientRect();
        return [c.width, c.clientWidth * devicePixelRatio, c.clientWidth, box.width,
                c.clientHeight, box.height]; }""")
    assert canvas[0] == round(canvas[1])  # drawn at the screen's full resolution
    assert abs(canvas[2] - canvas[3]) <= 1 and abs(canvas[4] - canvas[5]) <= 1  # fills its box

    ui.step(page, 3)
    page.wait_for_function(
        "() => document.querySelector('.ba-caption').innerText.includes('week 3')"
    )
    box = page.locator(".ba-network canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(".ba-network-tip").wait_for()
    assert "person 0 · manager" in page.inner_text(".ba-network-tip")  # hover
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    inspector = page.locator(".ba-inspector")
    inspector.wait_for()  # click: role, department, stage, motivations, sense, value
    for word in ("role", "department", "stage", "intrinsic motivation", "sense", "value so far"):
        assert word in inspector.inner_text()
    shoot(page, "2_inspect")
    page.locator(".ba-inspector-close").click()

    # a changed control waits for Reset, and says so; intervention controls show the programme
    ui.choose(page, "programme", "mandate")
    page.locator(".ba-pending").wait_for(timeout=10_000)
    assert "end week (0 = never): 104" in page.inner_text(".ba-config")
    ui.choose(page, "compare with", "sense_making")
    shoot(page, "3_pending")
    ui.reset(page)
    ui.step(page, 2)
    assert re.search(r"mandate\s+(\d+)%", ui.tally(page))
    # comparison: both networks, both curves, the difference in the tally, the bands
    assert page.locator(".ba-network-panel").count() == 2
    assert "difference" in ui.tally(page)
    assert page.locator(".ba-adoption .ba-chart-band rect").count() == 2
    assert "mandate running" in page.inner_text(".ba-adoption")
    assert page.evaluate(SMALL_TEXT) == []
    page.locator(".ba-shown .v-btn").filter(has_text="sense_making").click()
    page.wait_for_function("() => document.querySelectorAll('.ba-network-panel').length === 1")
    assert page.inner_text(".ba-network-title") == "sense_making"
    shoot(page, "4_compare")

    # a band of outcomes over five seeds
    ui.choose(page, "seeds for a band", "5")
    ui.reset(page)
    page.locator(".ba-band").filter(has_text="5 seeds").wait_for()
    ui.step(page, 4)
    assert page.locator(".ba-value path[fill-opacity='0.2']").count() == 2
    shoot(page, "5_band")

    # save the scenario; load it back; python -m sim runs it (tests/test_dashboard_files.py)
    name = f"browser-{os.getpid()}"
    ui.type_text(page, "file name", name)
    page.locator(".ba-save").click()
    page.locator(".ba-notice").filter(has_text=f"{name}.yaml").wait_for()
    ui.choose(page, "programme", "baseline")
    ui.choose(page, "saved scenarios", name)
    page.locator(".ba-load").click()
    page.locator(".ba-notice").filter(has_text=f"Loaded {name}").wait_for()
    assert not page.locator(".ba-pending").is_visible()  # the loaded controls are the run's

    # presenter mode: no configuration, Step/▶/Reset/speed still there, the pictures larger
    ui.speed(page, 10)
    ui.tick(page, "presenter mode")
    page.locator(".ba-config").wait_for(state="detached")
    for part in (".ba-step", ".ba-play", ".ba-reset", ".ba-speed"):
        assert page.locator(part).is_visible()
    assert page.evaluate(SMALL_TEXT) == []
    shoot(page, "6_presenter")

    # a reload keeps the programmes, the speed, presenter mode and the week
    before = ui.week(page)
    page.reload()
    ui.wait_drawn(page)
    assert ui.week(page) == before and "sense_making" in ui.tally(page)
    assert page.locator(".ba-speed .v-btn--active").inner_text() == "10"
    assert page.locator(".ba-config").count() == 0
    ui.tick(page, "presenter mode")
    page.locator(".ba-config").wait_for()
    assert page.locator(".ba-config .v-select__selection").first.inner_text() == "mandate"

    # a large organisation is drawn as groups, not a grey ring or a hairball
    ui.choose(page, "seeds for a band", "1")
    ui.slide(page, "people", "End")
    ui.reset(page)
    page.locator(".ba-legend").filter(has_text="each circle a group").wait_for()
    assert "people: 5000" in page.inner_text(".ba-config")
    shoot(page, "8_groups")
    watch.check(page)
    page.context.close()


def test_play_at_full_speed_for_thirty_seconds(server, chromium):
    """▶ at the fastest speed for 30 s at 1,000 people while controls are changed: no error,
    at least 5 weeks a second, and each update within 0.15 s of server CPU (median)."""
    page, watch, _, _ = first_render(chromium, server)
    ui.slide(page, "horizon", "End")  # 520 weeks: 26 s at 20 weeks a second
    ui.reset(page)
    ui.speed(page, max(session.SPEEDS))
    ui.click(page, "play")
    samples, weeks = [], 0
    toggles = [
        lambda: ui.choose(page, "programme", "mandate"),
        lambda: ui.slide(page, "seed", "ArrowRight"),
        lambda: ui.tick(page, "set champions here"),
        lambda: ui.choose(page, "compare with", "baseline"),
        lambda: ui.speed(page, max(session.SPEEDS)),
    ]
    started = time.perf_counter()
    last = (started, ui.week(page), ui.serial(page), server.cpu())
    k = 0
    while time.perf_counter() - started < 30:
        toggles[k % len(toggles)]()
        k += 1
        page.wait_for_timeout(1500)
        now = (time.perf_counter(), ui.week(page), ui.serial(page), server.cpu())
        if now[2] > last[2] and now[1] > last[1]:
            samples.append({"seconds": now[0] - last[0], "weeks": now[1] - last[1],
                            "updates": now[2] - last[2], "cpu": now[3] - last[3]})  # fmt: skip
            weeks += now[1] - last[1]
        if page.get_attribute(".ba-player", "data-playing") == "no":  # the horizon
            ui.reset(page)
            ui.click(page, "play")
            now = (time.perf_counter(), ui.week(page), ui.serial(page), server.cpu())
        last = now
    ui.click(page, "play")  # pause
    elapsed = time.perf_counter() - started
    per_update = statistics.median(s["cpu"] / s["updates"] for s in samples)
    rate = statistics.median(s["weeks"] / s["seconds"] for s in samples)
    MEASURED["play"] = {
        "seconds": round(elapsed, 1),
        "weeks": weeks,
        "weeks per second (median of 1.5-s windows)": round(rate, 1),
        "server cpu per update s (median)": round(per_update, 4),
        "updates per second": round(sum(s["updates"] for s in samples) / elapsed, 1),
        "control changes": k,
    }
    shoot(page, "7_after_play")
    watch.check(page)
    assert elapsed >= 30 and rate >= 5, MEASURED["play"]
    assert per_update <= 0.15, MEASURED["play"]
    page.context.close()


def test_twenty_page_loads_leave_the_servers_memory_bounded(server, chromium):
    """Each load makes a page with its run; a reload or a closed tab must free it (the old
    server kept every page a day). After 20 loads, the server's memory is where it was after
    the first few, and it still admits its full number of pages."""
    context = chromium.new_context(viewport=ui.PROJECTOR)
    page = ui.open_page(context, server.url)
    rss = []
    for _ in range(20):
        page.reload()
        ui.wait_drawn(page)
        rss.append(server.rss_mib())
    others = [
        ui.open_page(chromium.new_context(), server.url) for _ in range(session.MAX_PAGES - 1)
    ]
    assert all(p.locator(".ba-network canvas").count() == 1 for p in others)  # all admitted
    for other in others:
        other.close(run_before_unload=True)
    page.close(run_before_unload=True)
    time.sleep(2)
    again = ui.open_page(context, server.url)  # the closed tabs were released
    rss.append(server.rss_mib())
    MEASURED["page loads"] = {"server rss MiB after each": [round(r) for r in rss]}
    assert max(rss[5:]) - rss[4] < 120, MEASURED["page loads"]
    again.context.close()
