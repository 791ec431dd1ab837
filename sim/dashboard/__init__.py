"""The workshop dashboard: a live Solara page and slide exports (README, docs/WORKSHOP.md).

``python -m sim.dashboard`` starts the page; ``python -m sim.dashboard.export`` renders a run
to a GIF and PNG stills. Nothing here builds a model at import time.
"""
