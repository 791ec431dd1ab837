"""The dashboard's web server: Solara's app behind a guard that answers only its own pages.

A page in the facilitator's browser from any other site could otherwise talk to the
dashboard on localhost — fetch its pages, or open the kernel's WebSocket and drive it. The
guard (``SameOrigin``) refuses, with 403:

- any request whose ``Host`` is not this server's own name (``127.0.0.1``/``localhost`` and
  the port; this also defeats DNS rebinding, where another site's name points at 127.0.0.1);
- any request or WebSocket whose ``Origin`` is not this server's own origin (browsers send
  ``Origin`` with every WebSocket and every cross-origin request);
- any request a browser marks as made by another site (``Sec-Fetch-Site`` other than
  ``same-origin`` or ``none``): images, scripts and frames embedded by other pages.

Every response carries a Content-Security-Policy that lets the page load and connect only to
this server, so even a stray link in a dependency cannot reach the internet from a room
without it (the first load used to try solara.dev), and no other site may frame the page.

Solara runs in production mode (no developer checks or tracebacks on the page), its JavaScript
comes from the installed ``solara-assets`` package (no CDN), telemetry is off, and a page
whose connection is gone is released after ``session.CULL_AFTER`` (Solara keeps it 24 hours by
default).
"""

from __future__ import annotations

import os
import warnings

from sim.dashboard.session import CULL_AFTER

#: Environment for an offline, production Solara server of the workshop page.
SOLARA_ENV = {
    "SOLARA_APP": "sim.dashboard.app",
    "SOLARA_MODE": "production",
    "SOLARA_THEME_VARIANT": "light",
    "SOLARA_THEME_SHOW_BANNER": "false",
    "SOLARA_ASSETS_PROXY": "true",  # serve /_solara/cdn from the solara-assets files
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    "SOLARA_KERNEL_CULL_TIMEOUT": CULL_AFTER,
}
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "")
FETCH_SITES = (b"same-origin", b"none")


def policy(host: str) -> bytes:
    """The Content-Security-Policy of every response: this server only."""
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        f"connect-src 'self' ws://{host} blob: data:; worker-src 'self' blob:; "
        "frame-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ).encode()


class SameOrigin:
    """ASGI middleware: refuse HTTP requests and WebSockets from other origins (module
    docstring); add the Content-Security-Policy to every response.

    ``hosts`` are the ``host:port`` names the server answers to; None accepts any name (a
    server bound to every interface, reached by the machine's address), and then only the
    ``Origin`` must match the ``Host`` the request was sent to.
    """

    def __init__(self, app, hosts: set[str] | None) -> None:
        self.app = app
        self.hosts = hosts

    def refusal(self, scope) -> str | None:
        """Why a request or WebSocket is refused, or None."""
        headers = dict(scope.get("headers") or ())
        host = headers.get(b"host", b"").decode("latin-1")
        if self.hosts is not None and host not in self.hosts:
            return f"host {host!r} is not this dashboard"
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1") != f"http://{host}":
            return f"origin {origin.decode('latin-1')!r} is not this dashboard"
        site = headers.get(b"sec-fetch-site")
        if site is not None and site not in FETCH_SITES:
            return f"a request made by another site ({site.decode('latin-1')})"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        reason = self.refusal(scope)
        if reason is not None:
            return await self._refuse(scope, send, reason)
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        host = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")

        async def with_policy(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"content-security-policy"]  # fmt: skip
                headers.append((b"content-security-policy", policy(host)))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, with_policy)

    @staticmethod
    async def _refuse(scope, send, reason: str) -> None:
        body = f"refused: {reason}; this dashboard answers only its own pages\n".encode()
        if scope["type"] == "websocket":
            # closing before accepting: the server answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],  # fmt: skip
            }
        )
        await send({"type": "http.response.body", "body": body})


def allowed_hosts(host: str, port: int) -> set[str] | None:
    """The ``host:port`` names a server bound to ``host`` answers to (None: any)."""
    if host in WILDCARDS:
        return None
    names = {host, *LOCAL_NAMES} if host in LOCAL_NAMES else {host}
    return {f"{name}:{port}" for name in names}


def serve(host: str, port: int) -> None:
    """Run the workshop page's server until interrupted."""
    os.environ.update(SOLARA_ENV)
    os.environ.update({"SERVER_NAME": host, "SERVER_PORT": str(port)})
    # Solara warns on every page load over plain http that its cookie falls back to
    # SameSite=Lax: that is what a localhost page wants (the guard refuses other sites anyway)
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    import uvicorn
    from solara.server.starlette import app

    uvicorn.run(
        SameOrigin(app, allowed_hosts(host, port)),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
    )
