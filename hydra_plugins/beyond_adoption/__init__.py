"""Hydra plugins of beyond-adoption (Hydra finds plugins in the ``hydra_plugins`` package)."""
