"""One browser page's run, stepped and drawn one update at a time; what survives a reload;
how many pages the server holds.

``Workshop`` owns a page's ``WorkshopModel``. Every change to it — a Step, a tick of ▶, a
Reset — and the ``Frame`` drawn from it happen under one lock, so a week is never stepped
while a picture of the previous one is being drawn (the old page replaced itself with a
traceback when Play's timer and the drawing overlapped). The page renders only frames, which
are immutable snapshots. A failure while stepping becomes a message in the frame; the run
stays where it was and can continue or be reset.

``SAVED`` keeps, for each browser (by Solara's session cookie), the few values a reload needs
to rebuild the page as it was: the controls, the applied run, its week, the speed and
presenter mode. A reload rebuilds the run from its controls and steps it to the same week
(same controls and seed, same run), so nothing as large as a model is kept for a closed page.

``PAGES`` admits at most ``MAX_PAGES`` pages at once; a page is released when its tab closes
(Solara's unload beacon), or when its connection has been gone for ``CULL_AFTER`` (the
server's kernel cull timeout). With ``controls.SESSION_BUDGET_MIB`` per page, the server's
memory stays bounded however many times pages are loaded.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from sim.dashboard import controls, views
from sim.dashboard.model import WorkshopModel

#: Pages the server holds at once (each within ``controls.SESSION_BUDGET_MIB``).
MAX_PAGES = 4
#: A page whose connection is gone is released after this long (``SOLARA_KERNEL_CULL_TIMEOUT``).
CULL_AFTER = "30s"
#: ▶ speeds, weeks per second; the page's ticks come at most ``1000 / MAX_TICKS_PER_SECOND`` ms
#: apart and step as many weeks as the speed asks for.
SPEEDS = (1, 2, 5, 10, 20)
DEFAULT_SPEED = 5
MAX_TICKS_PER_SECOND = 8
#: One tick never steps more than this many seconds' worth of weeks (after a stall).
MAX_CATCH_UP = 0.5


@dataclass(frozen=True)
class Frame:
    """What the page shows at one moment; ``serial`` grows with every update, so the page's
    player knows its last tick has been answered."""

    serial: int
    week: int
    weeks: int
    running: bool
    error: str | None = None  # the run could not be built: why (shown instead of charts)
    problem: str | None = None  # stepping failed: what happened (the run can go on or reset)
    network: list = field(default_factory=list)
    legend: list = field(default_factory=list)
    adoption: dict = field(default_factory=dict)
    value: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)
    tally: str = ""
    band: str = ""  # the band over several seeds, in words
    caption: list = field(default_factory=list)
    programmes: list = field(default_factory=list)
    commands: list = field(default_factory=list)
    comparing: bool = False
    same_organisation: bool = True


@dataclass(frozen=True)
class Band:
    """Outcomes over several seeds, per run label: weeks, and the 10th and 90th percentiles
    of the weekly-active share and of net value so far; ``summary`` in words."""

    seeds: int
    weeks: dict
    active: dict
    net: dict
    summary: str


class Workshop:
    """A page's run: built from checked control values, stepped and drawn under one lock."""

    def __init__(self, values: dict, week: int = 0) -> None:
        self.lock = threading.RLock()
        self.serial = 0
        self.generation = 0
        self.band: Band | None = None
        self._build(values)
        self.step(week)

    # --- changing the run (each under the lock, each returning the new frame) --------------

    def _build(self, values: dict) -> None:
        """The run of ``values``; ``values`` then holds them as the page's controls show
        them (``controls.with_programme_values``), to tell when the controls have changed."""
        values = dict(values)
        self.generation += 1
        self.model = WorkshopModel(seed=values.pop("seed", 0), **values)
        self.values = controls.with_programme_values(self.model.values)
        self.layout = None if self.model.error else views.network_layout(self.model)
        self.limits = (0.0, 0.0)
        self.band = None
        self.problem: str | None = None
        self._last_tick: float | None = None
        self._carry = 0.0

    def reset(self, values: dict) -> Frame:
        """A new run from ``values`` (unchecked: a bad value becomes the frame's error)."""
        with self.lock:
            self._build(values)
            return self.frame()

    def step(self, weeks: int = 1) -> Frame:
        """``weeks`` more weeks (fewer at the horizon). A week that fails leaves the run as it
        was before that week (``_restore``) and a message in the frame."""
        with self.lock:
            done = self.model.steps
            try:
                for _ in range(weeks):
                    if not self.model.running:
                        break
                    self.model.step()
                    done = self.model.steps
            except Exception as e:  # a page must never turn into a traceback
                traceback.print_exc(file=sys.stderr)
                self.problem = f"week {done + 1} could not be simulated: {e}"
                self._restore(done)
            return self.frame()

    def _restore(self, week: int) -> None:
        """Rebuild the run as it was at the end of ``week``: a failed week may have changed
        part of the agents' state, and the same controls and seed give the same run."""
        values = dict(self.values)
        try:
            model = WorkshopModel(seed=values.pop("seed"), **values)
            for _ in range(week):
                model.step()
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            self.problem += f"; the run could not be rebuilt ({e}): press Reset"
            self.model.running = False
            return
        self.model = model

    def tick(self, speed: float, now: float | None = None) -> Frame:
        """One tick of ▶: the weeks due at ``speed`` weeks a second since the last tick (one
        on the first tick after a pause; at most ``MAX_CATCH_UP`` seconds' worth)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            if self._last_tick is None:
                due = 1.0
            else:
                due = self._carry + speed * (now - self._last_tick)
                due = min(due, max(1.0, speed * MAX_CATCH_UP))
            weeks = int(due + 1e-9)  # 20 weeks/s × 0.05 s is one week, not 0.999…
            self._carry = max(due - weeks, 0.0)
            self._last_tick = now
            return self.step(weeks)

    def pause(self) -> None:
        with self.lock:
            self._last_tick = None
            self._carry = 0.0

    def set_band(self, band: Band | None) -> Frame:
        with self.lock:
            self.band = band
            return self.frame()

    def dismiss(self) -> Frame:
        """Clear the message of a failed week (the run goes on from the week before it)."""
        with self.lock:
            self.problem = None
            return self.frame()

    # --- reading it -------------------------------------------------------------------------

    def inspect(self, index: int) -> dict | None:
        with self.lock:
            if self.model.error:
                return None
            try:
                return views.inspect(self.model, int(index))
            except (IndexError, ValueError, TypeError):
                return None

    def frame(self) -> Frame:
        """The page's picture of the run now (never raises: a failure is the frame's
        ``problem``)."""
        with self.lock:
            self.serial += 1
            m = self.model
            base = {"serial": self.serial, "week": m.steps, "weeks": m.weeks}
            if m.error:
                return Frame(**base, running=False, error=m.error)
            try:
                return self._frame(base)
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                return Frame(**base, running=False, problem=f"the page could not be drawn: {e}")

    def _frame(self, base: dict) -> Frame:
        m = self.model
        weekly = views.weekly(m)
        bands = views.intervention_bands(m)
        spread = self._spread(m.steps)
        adoption = views.adoption_chart(weekly)
        value = views.value_chart(weekly)
        low = high = 0.0
        for line in value["lines"]:
            low, high = min(low, *line["y"], 0.0), max(high, *line["y"], 0.0)
        for area in spread["net"]:
            low, high = min(low, *area["lo"], 0.0), max(high, *area["hi"], 0.0)
        self.limits = views.grow_limits(self.limits, low, high)
        seeds = (
            [{"kind": "area", "colour": "#777", "label": spread["label"]}]
            if spread["label"]
            else []
        )
        main_bands = [b for b in bands if b["run"] == 0]
        return Frame(
            **base,
            running=bool(m.running) and self.problem is None,
            problem=self.problem,
            network=views.network_state(m),
            legend=views.stage_legend(m),
            adoption={
                **adoption,
                "areas": spread["active"],
                "bands": bands,
                "legend": adoption["legend"] + seeds + views.band_legend(bands),
                "ylim": [0.0, 1.0],
            },
            value={
                **value,
                "areas": spread["net"],
                "bands": bands,
                "ylim": list(self.limits),
                "legend": value["legend"] + seeds,
            },  # fmt: skip
            stages={**views.stage_chart(weekly[m.main.label]), "bands": main_bands, "ylim": [0, 1]},
            tally=views.tally_html(weekly),
            band=self.band.summary if self.band else "",
            caption=views.caption(m, weekly),
            programmes=views.programme_lines(m),
            commands=[run.command for run in m.runs],
            comparing=m.comparing,
            same_organisation=m.same_organisation,
        )

    def _spread(self, week: int) -> dict:
        """The band's areas up to ``week`` (the room sees the spread of what has happened so
        far, not the future), and their legend label."""
        out = {"active": [], "net": [], "label": ""}
        if self.band is None:
            return out
        out["label"] = f"{self.band.seeds} seeds, 10–90%"
        for i, run in enumerate(self.model.runs):
            weeks = self.band.weeks.get(run.label)
            if weeks is None:
                continue
            upto = int(np.searchsorted(weeks, week, side="right"))
            for key, source in (("active", self.band.active), ("net", self.band.net)):
                lo, hi = source[run.label]
                out[key].append(
                    {
                        "colour": views.RUN_COLOURS[i],
                        "opacity": 0.2,
                        "x0": int(weeks[0]) if len(weeks) else 1,
                        "lo": views.rounded(lo[:upto], 3),
                        "hi": views.rounded(hi[:upto], 3),
                    }
                )
        return out


def check_speed(value) -> int:
    """A ▶ speed the page offers (anything else is refused)."""
    if isinstance(value, bool) or value not in SPEEDS:
        raise controls.ControlError(
            f"speed {value!r} is not allowed: choose one of {', '.join(map(str, SPEEDS))}"
        )
    return int(value)


# --- what survives a reload -------------------------------------------------------------------


class SavedPages:
    """The last state of each browser's page, by session cookie: small dicts, the oldest
    dropped beyond ``limit`` (a browser that never comes back costs a few hundred bytes)."""

    def __init__(self, limit: int = 256) -> None:
        self._items: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def save(self, key: str, state: dict) -> None:
        with self._lock:
            self._items[key] = dict(state)
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def load(self, key: str) -> dict | None:
        """The saved state, its control values checked again (None if absent or not valid)."""
        with self._lock:
            state = self._items.get(key)
        if state is None:
            return None
        try:
            return {
                **state,
                "draft": controls.check(state["draft"]),
                "applied": controls.check(state["applied"]),
            }
        except (controls.ControlError, KeyError):
            return None


class Pages:
    """The pages the server holds now, at most ``limit``."""

    def __init__(self, limit: int = MAX_PAGES) -> None:
        self._open: set[str] = set()
        self._lock = threading.Lock()
        self.limit = limit

    def open(self, key: str) -> bool:
        """Admit page ``key`` (True), or refuse it when ``limit`` pages are open (False)."""
        with self._lock:
            if key not in self._open and len(self._open) >= self.limit:
                return False
            self._open.add(key)
            return True

    def close(self, key: str) -> None:
        with self._lock:
            self._open.discard(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)


SAVED = SavedPages()
PAGES = Pages()
