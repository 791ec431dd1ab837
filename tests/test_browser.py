"""End to end: start the dashboard server, open the page in headless Chromium, step, change a
control, reset, and save a screenshot.

Needs Debian's ``chromium`` (``/usr/bin/chromium``, or ``CHROMIUM=<path>``) and the
``playwright`` Python package; no browser is downloaded. Without them the test is skipped with
a message saying how to install them — except in CI (``CI`` set, as ``.ci/run`` does), where a
missing browser is a failure, so CI always runs it.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from sim.dashboard import screenshots as ui

PICTURES = ui.PICTURES


@pytest.fixture
def page():
    reason = ui.missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {reason}")
        pytest.skip(reason)
    with ui.serve() as url, ui.browser_page(url) as page:
        yield page


def test_dashboard_steps_changes_a_control_resets_and_screenshots(page, tmp_path):
    text = ui.tally(page)
    assert "Week 0 of 260" in text and "baseline" in text
    before = {name: ui.picture(page, name) for name in PICTURES}

    ui.step(page, 3)
    assert "Week 3 of 260" in ui.tally(page)
    after = {name: ui.picture(page, name) for name in PICTURES}
    for name in PICTURES:
        assert after[name] != before[name], f"the {name} picture did not change after stepping"

    ui.choose(page, "programme", "mandate")
    ui.nudge(page, "seed", 2)
    ui.reset(page, expect=("scenario=mandate", "seed=2"))
    assert "Week 0 of 260" in ui.tally(page)
    ui.step(page, 2)
    text = ui.tally(page)
    active = re.search(r"mandate\s+2\s+(\d+)%", text)
    assert active and int(active.group(1)) > 30, text  # the mandate pushes people on at once

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one
    keep = os.environ.get("BROWSER_TEST_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)

    # controls that cannot run (a mandate starting after it ends) give a message, not a crash
    ui.choose(page, "mandate: as programme / on / off", "on")
    ui.nudge(page, "mandate: start week", 150)
    ui.press(page, "Reset")
    message = page.get_by_text("This combination of controls cannot run").first
    message.wait_for()
    assert "mandate.end=104 is not allowed" in message.inner_text()
