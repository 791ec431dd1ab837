"""``python -m sim.dashboard [--port N] [--host H]``: start the workshop page on localhost.

Runs ``solara run sim.dashboard.app`` with settings for a room without internet: Solara's
JavaScript comes from the installed ``solara-assets`` package through Solara's own asset
proxy (no CDN), telemetry is off, and no browser window is opened on the server.
"""

from __future__ import annotations

import argparse
import os
import sys

#: Environment for an offline Solara server.
OFFLINE = {
    "SOLARA_ASSETS_PROXY": "true",  # serve /_solara/cdn from the solara-assets files
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
}


def server_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "solara", "run", "sim.dashboard.app",
        "--host", host, "--port", str(port),
        "--no-open", "--no-check-version", "--theme-variant", "light",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sim.dashboard", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    args = p.parse_args(argv)
    print(f"workshop dashboard: open http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    os.execve(sys.executable, server_command(args.host, args.port), {**os.environ, **OFFLINE})


if __name__ == "__main__":
    main()
