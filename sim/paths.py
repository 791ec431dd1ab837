"""Where the Hydra config tree is: the one place that knows.

In a source checkout the config tree is the repository's top-level ``conf/`` (the project's
layout keeps it there, beside ``sim/`` and ``models/``). An installed package (``pip install
.``) carries the same files as package data at ``sim/conf`` (``setup.py`` maps ``conf/`` into
the package at build time), because nothing outside a package's folders is installed.
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def conf_dir() -> Path:
    """The config tree: ``sim/conf`` when installed, else the checkout's ``conf/``."""
    installed = _HERE / "conf"
    return installed if (installed / "config.yaml").is_file() else _HERE.parent / "conf"
