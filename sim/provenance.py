"""What a result folder records about how it was made: versions, git revision, machine."""

import functools
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "beyond-adoption",
    "mesa",
    "numpy",
    "scipy",
    "numba",
    "pandas",
    "pyarrow",
    "networkx",
    "hydra-core",
    "omegaconf",
    "matplotlib",
)
REPO = Path(__file__).resolve().parent.parent


@functools.cache
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = [("python", sys.version.split()[0])]
    for name in names:
        try:
            out.append((name, version(name)))
        except PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Python's version and the installed versions of ``names`` (by default the packages
    that decide a run's numbers). Read once per process (a few milliseconds of package
    metadata): the modules a running process has imported do not change under it."""
    return dict(_versions(tuple(names)))


def git_revision() -> dict[str, str | bool]:
    """The checkout's commit and whether it had uncommitted changes ("unknown" outside git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            # no optional locks: ``git status`` would otherwise take the index lock to refresh
            # it, and a run killed meanwhile would leave .git/index.lock in the user's checkout
            ["git", "--no-optional-locks", *args],
            cwd=REPO, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": False}


def provenance(seed: int, overrides: list[str]) -> dict:
    """Everything needed to re-run: seed, overrides, versions, git revision, machine."""
    return {
        "seed": seed,
        "overrides": list(overrides),
        "versions": package_versions(),
        "git": git_revision(),
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
    }
