"""The perturbation kernel of the calibration's ABC-SMC (docs/CALIBRATION.md §3).

pyabc's default kernel is a multivariate normal around each particle whose covariance is the
last generation's weighted covariance shrunk by Silverman's rule of thumb (×0.43 at fourteen
parameters and 500 particles). A particle's importance weight is the prior over the kernel
mixture's density at it; in fourteen dimensions a narrow kernel makes that density differ by
orders of magnitude between a particle drawn near its parent and one drawn from the kernel's
tail, so a few particles carry most of the weight. The covariance here is ``kernel_scale`` ×
the weighted covariance, 2 × being the choice of Beaumont et al. (2009), which Filippi et al.
(2013) show balances acceptance against the spread of the weights.

A kernel that wide puts most proposals outside the priors' box in fourteen dimensions. pyabc
re-draws each rejected proposal one at a time, in the main process (a parent, a perturbation
and fourteen prior densities: about half a millisecond), which left the workers idle; here
the proposals are drawn in vectorised blocks and only those inside the box are handed out.
Each is still a new parent with a new perturbation, so they are draws from the kernel mixture
truncated to the box, as pyabc's own rejection loop makes them, and pyabc's weights (the
untruncated mixture's density, whose mass in the box is the same for every particle) stay
right.

Imported only when a fit runs: pyabc takes seconds to import.
"""

import threading

import numpy as np
import pandas as pd
import pyabc
from pyabc.parameters import Parameter

#: proposals drawn at once; the inside ones are kept until used (a generation needs thousands)
BLOCK = 512
#: blocks drawn without a single proposal inside the box before giving up
ATTEMPTS = 2000


def _whole_covariance(ess: float, dim: int) -> float:  # noqa: ARG001 (pyabc's signature)
    """Bandwidth factor 1: the kernel's covariance is ``scaling`` × the weighted covariance,
    not Silverman's shrunken one."""
    return 1.0


class BoxedNormalTransition(pyabc.MultivariateNormalTransition):
    """pyabc's multivariate normal kernel with covariance ``scaling`` × the last generation's
    weighted covariance, whose proposals are drawn in blocks and kept only inside ``bounds``
    (name → (low, high): the uniform priors' box)."""

    def __init__(self, bounds: dict[str, tuple[float, float]], scaling: float):
        super().__init__(scaling=scaling, bandwidth_selector=_whole_covariance)
        self.bounds = bounds
        self._ready: list[Parameter] = []
        self._lock = threading.Lock()  # pyabc's sampler threads ask for proposals at once

    def __getstate__(self) -> dict:  # pyabc copies its kernels; a lock cannot be copied
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_ready")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _ready=[], _lock=threading.Lock())

    def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
        super().fit(X, w)
        with self._lock:
            self._ready = []  # drawn around the generation before

    def rvs_single(self) -> Parameter:
        with self._lock:
            for _ in range(ATTEMPTS):
                if self._ready:
                    return self._ready.pop()
                self._ready = self._inside(BLOCK)
        raise RuntimeError(
            f"no proposal fell inside the priors' ranges in {ATTEMPTS * BLOCK:,} draws: "
            "lower experiment.params.kernel_scale"
        )

    def _inside(self, size: int) -> list[Parameter]:
        """``size`` proposals (a parent drawn by weight, then perturbed), those inside the box.
        NumPy's global generator, as pyabc draws (it is seeded for a reproducible fit)."""
        parents = np.random.choice(self._range, size=size, p=self.w)  # noqa: NPY002
        shift = np.random.multivariate_normal(np.zeros(len(self.cov)), self.cov, size)  # noqa: NPY002
        drawn = self._X_arr[parents] + shift
        names = list(self.X.columns)
        low = np.array([self.bounds[k][0] for k in names])
        high = np.array([self.bounds[k][1] for k in names])
        keep = drawn[((drawn >= low) & (drawn <= high)).all(axis=1)]
        return [Parameter(dict(zip(names, row.tolist(), strict=True))) for row in keep]


def transition(
    kernel_scale: float | None, bounds: dict[str, tuple[float, float]]
) -> pyabc.MultivariateNormalTransition:
    """The kernel for ``experiment.params.kernel_scale``: ``BoxedNormalTransition``, or
    pyabc's default kernel (Silverman's rule) when it is None."""
    if kernel_scale is None:
        return pyabc.MultivariateNormalTransition()
    return BoxedNormalTransition(bounds, float(kernel_scale))
