"""The figures of a calibration (experiments/calibrate.py): how ABC-SMC converged, the
posterior's marginals and pairs, and the posterior predictive check."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: Pairs are drawn for at most this many parameters: those the data narrowed most.
PAIRS = 6


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_diagnostics(table: pd.DataFrame, path: Path) -> Path:
    """Tolerance (epsilon), acceptance rate and effective sample size per generation."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    columns = (
        ("epsilon", "distance schedule (ε, tolerances)"),
        ("acceptance_rate", "acceptance rate"),
        ("ess", "effective sample size"),
    )
    for ax, (col, title) in zip(axes, columns, strict=True):
        ax.plot(table["generation"], table[col], "o-")
        ax.set(xlabel="generation", title=title)
    axes[0].axhline(1, color="k", ls=":", lw=1)
    axes[1].set_yscale("log")
    return _save(fig, path)


def contraction(posterior, ranges: dict) -> pd.Series:
    """Posterior standard deviation over that of the uniform prior, per parameter (1: the
    fit learnt nothing about it; small: the patterns pin it down)."""
    w = posterior.weights
    out = {}
    for name, (lo, hi) in ranges.items():
        x = posterior.table[name].to_numpy(float)
        mean = np.average(x, weights=w)
        sd = np.sqrt(np.average((x - mean) ** 2, weights=w))
        out[name] = sd / ((hi - lo) / np.sqrt(12))
    return pd.Series(out).sort_values()


def plot_marginals(posterior, ranges: dict, path: Path) -> Path:
    """A weighted histogram of each parameter over its prior range."""
    names = list(ranges)
    cols = 4
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        lo, hi = ranges[name]
        ax.hist(posterior.table[name], bins=20, range=(lo, hi), weights=posterior.weights)
        ax.axhline(1 / 20, color="k", ls=":", lw=1)  # the uniform prior
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    return _save(fig, path)


def plot_pairs(posterior, ranges: dict, path: Path) -> Path:
    """Weighted scatter of every pair of the ``PAIRS`` most narrowed parameters."""
    names = list(contraction(posterior, ranges).index[:PAIRS])
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.1 * k, 2.1 * k), squeeze=False)
    size = 40 * posterior.weights / posterior.weights.max()
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i, j]
            if i == j:
                ax.hist(posterior.table[a], bins=20, range=ranges[a], weights=posterior.weights)
            else:
                ax.scatter(posterior.table[b], posterior.table[a], s=size, alpha=0.4, lw=0)
                ax.set(xlim=ranges[b], ylim=ranges[a])
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(b, fontsize=8)
            if j == 0:
                ax.set_ylabel(a, fontsize=8)
    return _save(fig, path)


def plot_predictive(check: pd.DataFrame, goals, path: Path) -> Path:
    """Each target's statistic over the posterior predictive simulations, with the target's
    value and tolerance band."""
    fig, axes = plt.subplots(1, len(goals), figsize=(2.6 * len(goals), 2.8), squeeze=False)
    for ax, t in zip(axes[0], goals, strict=True):
        ax.hist(check[t.name], bins=20, color="C0")
        lo, hi = t.band
        ax.axvspan(
            lo,
            hi if np.isfinite(hi) else max(check[t.name].max(), lo) * 1.05,
            color="C2",
            alpha=0.2,
        )
        ax.axvline(t.value, color="C2", lw=1.5)
        within = np.mean([t.deviation(v) <= 1 for v in check[t.name]])
        ax.set_title(f"{t.name}\n{within:.0%} within tolerance", fontsize=8)
        ax.tick_params(labelsize=7)
    return _save(fig, path)


def plot_fit(predicted: list[dict], problem, path: Path) -> Path:
    """Each observed weekly series against the posterior predictive median and 90% band."""
    keys = list(problem.observed)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    weeks = np.arange(problem.first_week, problem.spec.weeks + 1)
    for ax, key in zip(axes[0], keys, strict=True):
        sims = np.array([p[key] for p in predicted])
        lo, mid, hi = np.quantile(sims, [0.05, 0.5, 0.95], axis=0)
        ax.fill_between(weeks, lo, hi, color="C0", alpha=0.25, label="model, 90%")
        ax.plot(weeks, mid, "C0-", label="model, median")
        ax.plot(weeks, problem.observed[key], "k.", label="observed")
        ax.set(xlabel="week since the rollout", ylabel="share of everyone", title=key)
        ax.legend(fontsize=7)
    return _save(fig, path)
