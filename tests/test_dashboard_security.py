"""The dashboard against a hostile web page or WebSocket client (issue 18, item 4): control
values checked against their options and never interpolated, other origins refused, pages
admitted and released so that memory stays bounded, each page within its memory budget.

Memory across 20 real page loads, and tab close, are measured in tests/test_browser.py.
"""

import asyncio
import base64
import os
import socket
import tracemalloc
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.api
from sim.dashboard import controls, screenshots, session
from sim.dashboard.controls import ControlError
from sim.dashboard.model import WorkshopModel
from sim.dashboard.server import SameOrigin, allowed_hosts

HOME = os.path.expanduser("~")
INTERPOLATIONS = ["${oc.env:HOME}", "${oc.env:HOME,x}", "mandate${oc.env:HOME}", "${weeks}",
                  "${oc.decode:'1'}", "${now:%Y}"]  # fmt: skip


@pytest.fixture
def composed(monkeypatch):
    """Every override list that reaches Hydra."""
    seen = []
    original = sim.api.compose

    def spy(overrides=(), *args, **kwargs):
        seen.append(list(overrides))
        return original(overrides, *args, **kwargs)

    monkeypatch.setattr("sim.dashboard.compare.compose", spy)
    monkeypatch.setattr("sim.dashboard.controls.compose", spy)
    return seen


TEXT_CONTROLS = ["programme", "compare_with", "organisation", "mandate", "champion_rule",
                 "mandate_target", "size", "band_seeds"]  # fmt: skip


@pytest.mark.parametrize("text", INTERPOLATIONS)
@pytest.mark.parametrize("control", TEXT_CONTROLS)
def test_interpolations_in_any_control_are_refused_never_resolved(control, text, composed):
    with pytest.raises(ControlError, match=f"control {control}=") as e:
        controls.check_value(control, text)
    assert HOME not in str(e.value)
    model = WorkshopModel(**{control: text})
    assert model.error and model.runs == [] and HOME not in model.error
    assert not any("${" in o for overrides in composed for o in overrides)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(list(controls.model_params())),
    value=st.one_of(
        st.text(max_size=30),
        st.integers(-(10**9), 10**9),
        st.floats(),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=2),
    ),  # fmt: skip
)
def test_a_control_takes_only_its_allowed_values(name, value):
    """Whatever a WebSocket client sends as a control's value is either one of its allowed
    values (a drop-down's option, a number in a slider's range, a boolean for a tick box)
    or refused with a message naming the control."""
    spec = controls.model_params()[name]
    try:
        checked = controls.check_value(name, value)
    except ControlError as e:
        assert str(e).startswith(f"control {name}=") or "unknown" in str(e)
        return
    if spec["type"] == "Select":
        assert checked in spec["values"] and type(checked) is type(spec["value"])
    elif spec["type"] == "Checkbox":
        assert isinstance(checked, bool)
    else:
        assert spec["min"] <= checked <= spec["max"]
        assert type(checked) is (int if spec["type"] == "SliderInt" else float)


def test_speeds_are_the_pages_only():
    assert session.check_speed(20) == 20
    for bad in (0, 3, 1000, "5", True, None, 5.5):
        with pytest.raises(ControlError, match="speed"):
            session.check_speed(bad)


# --- one page's memory, and how many pages ----------------------------------------------------


@pytest.mark.parametrize("organisation", ["hierarchy", "complete"])
def test_a_page_at_the_largest_settings_stays_within_its_memory_budget(organisation):
    """The largest organisation of its type the page allows, two programmes compared over the
    longest horizon, stepped and drawn: its traced allocations (numpy arrays included) peak
    below ``controls.SESSION_BUDGET_MIB``. (A hierarchy is the largest of the sparse types;
    a complete network is the densest.)"""
    values = controls.with_programme_values(
        {
            **controls.defaults(),
            "organisation": organisation,
            "programme": "connect_basf",
            "compare_with": "terry_five_elements",
            "weeks": controls.MAX_WEEKS,
            "size": controls.MAX_SIZE[organisation],
        }  # fmt: skip
    )
    tracemalloc.start()
    try:
        page = session.Workshop(values)
        for _ in range(5):
            page.tick(20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.frame().error is None
    assert peak / 2**20 < controls.SESSION_BUDGET_MIB, f"{peak / 2**20:.0f} MiB"


def test_sizes_beyond_the_pages_limits_are_refused_with_the_budget():
    with pytest.raises(ControlError, match=r"at most 1,000 people .* 256 MiB"):
        controls.check({"organisation": "complete", "size": 5000})
    with pytest.raises(ControlError, match="size=99999"):
        controls.check({"size": 99999})
    assert controls.check({"organisation": "small_world", "size": 5000})["size"] == 5000


def test_the_server_admits_a_bounded_number_of_pages():
    pages = session.Pages(limit=2)
    assert pages.open("a") and pages.open("b") and pages.open("a")
    assert not pages.open("c") and len(pages) == 2
    pages.close("a")
    assert pages.open("c")


def test_what_survives_a_reload_is_small_checked_and_bounded():
    saved = session.SavedPages(limit=3)
    good = controls.with_programme_values(controls.defaults())
    for key in "abcd":
        saved.save(key, {"draft": good, "applied": good, "week": 5, "speed": 5,
                         "presenter": False})  # fmt: skip
    assert saved.load("a") is None and saved.load("d")["week"] == 5  # the oldest dropped
    saved.save("e", {"draft": {**good, "programme": "${oc.env:HOME}"}, "applied": good,
                     "week": 0, "speed": 5, "presenter": False})  # fmt: skip
    assert saved.load("e") is None


# --- origins ----------------------------------------------------------------------------------


def _asgi(scope_type: str, headers: dict) -> tuple[list, bool]:
    """Run one request through ``SameOrigin`` around a dummy app: the messages sent, and
    whether the app was reached."""
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": scope_type, "path": "/",
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}  # fmt: skip
    asyncio.run(SameOrigin(app, allowed_hosts("127.0.0.1", 8765))(scope, receive, send))
    return sent, bool(reached)


OWN = {"host": "127.0.0.1:8765"}


@pytest.mark.parametrize(
    "headers",
    [
        {**OWN, "origin": "http://evil.example"},
        {**OWN, "origin": "http://127.0.0.1:9999"},  # another port is another origin
        {**OWN, "origin": "null"},
        {"host": "evil.example:8765"},  # DNS rebinding: another name for this address
        {**OWN, "sec-fetch-site": "cross-site"},  # an <img> or <script> on another site
        {**OWN, "sec-fetch-site": "same-site"},
    ],
)
@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_requests_from_other_origins_are_refused(kind, headers):
    sent, reached = _asgi(kind, headers)
    assert not reached
    if kind == "http":
        assert sent[0]["status"] == 403 and b"refused" in sent[1]["body"]
    else:
        assert sent == [{"type": "websocket.close", "code": 1008}]


@pytest.mark.parametrize(
    "headers",
    [
        OWN,
        {**OWN, "origin": "http://127.0.0.1:8765", "sec-fetch-site": "same-origin"},
        {"host": "localhost:8765", "origin": "http://localhost:8765"},
        {**OWN, "sec-fetch-site": "none"},
    ],  # fmt: skip
)
def test_the_pages_own_requests_pass_with_a_content_security_policy(headers):
    sent, reached = _asgi("http", headers)
    assert reached and sent[0]["status"] == 200
    policy = dict(sent[0]["headers"])[b"content-security-policy"].decode()
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "http" not in policy.replace(f"ws://{headers['host']}", "")  # no other site


@pytest.fixture(scope="module")
def server():
    with screenshots.serve() as running:
        yield running.url


def _raw(url: str, request: str) -> str:
    host, port = url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request.encode())
        return s.recv(4096).decode("latin-1")


def _websocket(url: str, origin: str) -> str:
    host = url.split("//")[1].rstrip("/")
    key = base64.b64encode(os.urandom(16)).decode()
    return _raw(url, (
        f"GET /jupyter/api/kernels/{uuid.uuid4()}/channels?session_id={uuid.uuid4()} HTTP/1.1\r\n"
        f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    ))  # fmt: skip


def test_the_running_server_refuses_other_origins(server):
    host = server.split("//")[1].rstrip("/")
    evil = _raw(server, f"GET / HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example\r\n\r\n")
    assert evil.startswith("HTTP/1.1 403")
    own = _raw(server, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    assert own.startswith("HTTP/1.1 200") and "content-security-policy" in own.lower()
    rebound = _raw(server, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    assert rebound.startswith("HTTP/1.1 403")
    assert _websocket(server, "http://evil.example").startswith("HTTP/1.1 403")
    assert _websocket(server, f"http://{host}").startswith("HTTP/1.1 101")
