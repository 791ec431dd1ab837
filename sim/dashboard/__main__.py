"""``python -m sim.dashboard [--port N] [--host H]``: start the workshop page on localhost.

Serves the page with ``sim.dashboard.server`` (offline, production mode, and answering only
its own pages); Ctrl-C stops it.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sim.dashboard", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    args = p.parse_args(argv)
    print(f"workshop dashboard: open http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    from sim.dashboard.server import serve

    serve(args.host, args.port)


if __name__ == "__main__":
    main()
