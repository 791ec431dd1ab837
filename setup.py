"""Packaging details pyproject.toml cannot express.

- The config tree ``conf/`` stays at the top of the repository (the project's layout) and is
  installed inside the ``sim`` package as ``sim/conf`` (``sim.paths.conf_dir`` finds it
  either way). Its sub-folders are listed as they are on disk, so a new config group is
  packaged without editing this file.
- setuptools builds in ``build/`` and ``*.egg-info/`` beside this file by default; a build
  here uses a temporary folder instead, removed when the build ends, so ``pip install .``
  leaves the checkout as it was.
"""

import atexit
import shutil
import tempfile
from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup

CONF = Path(__file__).resolve().parent / "conf"
conf_packages = ["sim.conf"] + [
    "sim.conf." + ".".join(d.relative_to(CONF).parts)
    for d in sorted(CONF.rglob("*"))
    if d.is_dir() and not d.name.startswith((".", "__"))
]
scratch = tempfile.mkdtemp(prefix="beyond-adoption-build-")
atexit.register(shutil.rmtree, scratch, ignore_errors=True)

setup(
    packages=find_packages(include=["sim", "sim.*", "models", "models.*", "experiments"])
    + find_namespace_packages(include=["hydra_plugins.*"])  # Hydra finds its plugins there
    + conf_packages,
    package_dir={"sim.conf": "conf"},
    options={"build": {"build_base": scratch}, "egg_info": {"egg_base": scratch}},
)
