"""Who becomes a champion: a share of the non-managers, picked by a targeting rule.

The rules are the ones the essays argue about — does it matter *who* the champions are, or
only how many? "random" is the baseline; "degree" picks the best connected, "betweenness" the
people on many shortest paths, and "bridging" the people with most ties outside their own
team (DESIGN §3: "a small share of users can be enough if they are well connected into the
larger organisation"). Every rule ranks candidates and breaks ties at random, so equally good
candidates are not chosen by their index.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp

from models.errors import InputError
from models.organisation import CHAMPION, Organisation

RULES: tuple[str, ...] = ("random", "degree", "betweenness", "bridging")

#: Sources sampled for approximate betweenness (Brandes & Pich 2007 pivot sampling).
BETWEENNESS_PIVOTS = 100
_BATCH = 25


def _layered_bfs(a: sp.csr_array, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """Breadth-first search from a batch of sources at once, counting shortest paths.

    Returns depth (n × batch, -1 unreached), sigma (number of shortest paths from each source)
    and, per level, the people at that level for at least one source. Each level touches
    only the ties of its frontier, so long chains cost many cheap levels, not many full passes.
    """
    n, batch = a.shape[0], sources.size
    depth = np.full((n, batch), -1, dtype=np.int32)
    sigma = np.zeros((n, batch))
    depth[sources, np.arange(batch)] = 0
    sigma[sources, np.arange(batch)] = 1.0
    levels = [np.unique(sources)]
    while True:
        rows = levels[-1]
        level = len(levels) - 1
        weights = np.where(depth[rows] == level, sigma[rows], 0.0)
        reached, paths = _push(a, rows, weights)
        new = (depth[reached] < 0) & (paths > 0)
        if not new.any():
            return depth, sigma, levels
        found = new.any(axis=1)
        depth[reached[found]] = np.where(new[found], level + 1, depth[reached[found]])
        sigma[reached[found]] = np.where(new[found], paths[found], sigma[reached[found]])
        levels.append(reached[found])


def _push(a: sp.csr_array, rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum ``weights`` of ``rows`` over their ties: for every neighbour v of a row, the total
    weight of its neighbours among ``rows``. Returns the neighbours and their sums."""
    sub = a[rows]
    reached, local = np.unique(sub.indices, return_inverse=True)
    spread = sp.csr_array(
        (sub.data, (local, np.repeat(np.arange(rows.size), np.diff(sub.indptr)))),
        shape=(reached.size, rows.size),
    )
    return reached, spread @ weights


def betweenness(
    org: Organisation, rng: np.random.Generator, pivots: int = BETWEENNESS_PIVOTS
) -> np.ndarray:
    """Approximate betweenness: Brandes' dependency accumulation from ``pivots`` sampled sources
    (all sources when ``pivots >= n``, which gives exact betweenness × 2 for an undirected
    graph). Unscaled, because targeting only needs the ranking.

    Written with sparse matrix products over breadth-first levels instead of networkx, whose
    pure-Python search takes about 90 s at 100,000 people with 100 pivots (this takes 3-4 s).
    """
    a, n = org.adjacency, org.n
    sources = rng.permutation(n)[: min(n, pivots)]
    score = np.zeros(n)
    for start in range(0, sources.size, _BATCH):
        batch = sources[start : start + _BATCH]
        depth, sigma, levels = _layered_bfs(a, batch)
        delta = np.zeros_like(sigma)
        for level in range(len(levels) - 1, 0, -1):
            rows = levels[level]
            weights = np.divide(
                1.0 + delta[rows],
                sigma[rows],
                out=np.zeros_like(delta[rows]),
                where=depth[rows] == level,
            )
            parents, pulled = _push(a, rows, weights)
            on_level = depth[parents] == level - 1
            delta[parents] += np.where(on_level, sigma[parents] * pulled, 0.0)
        delta[batch, np.arange(batch.size)] = 0.0
        score += delta.sum(axis=1)
    return score


def choose(
    org: Organisation,
    share: float | None,
    rule: str,
    rng: np.random.Generator,
    key: str = "champions",
) -> np.ndarray:
    """Boolean mask of champions: round(share × non-managers) of the non-managers, best first
    by ``rule`` (halves round up).

    With ``share=None`` the champions are the ones a file marked (``org.role_hint``), which
    is only possible for organisations loaded with roles; a given share overrides the file.
    ``key`` is the config node the share and rule came from, so messages name what the user
    wrote.
    """
    if share is None:
        if org.role_hint is None:
            raise InputError(
                f"{key}.share: not given, and the organisation has no roles from a file; "
                "give a share between 0 and 1"
            )
        return (org.role_hint == CHAMPION) & ~org.is_manager
    return pick(org, ~org.is_manager, share, rule, rng, key)


def pick(
    org: Organisation,
    eligible: np.ndarray,
    share: float,
    rule: str,
    rng: np.random.Generator,
    key: str,
) -> np.ndarray:
    """Boolean mask of round(share × eligible) of the ``eligible`` people, best first by
    ``rule`` (ties broken at random). Used for champions and for intervention targets."""
    if rule not in RULES:
        raise InputError(f"{key}.rule: unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    if isinstance(share, bool) or not isinstance(share, Real) or not 0.0 <= share <= 1.0:
        raise InputError(
            f"{key}.share: {share!r} is not allowed; it must be a number between 0 and 1"
        )
    eligible = np.flatnonzero(eligible)
    count = int(np.floor(share * eligible.size + 0.5))
    chosen = np.zeros(org.n, dtype=bool)
    if rule == "random":
        chosen[rng.choice(eligible, size=count, replace=False)] = True
        return chosen
    score = {
        "degree": lambda: org.degree,
        "betweenness": lambda: betweenness(org, rng),
        "bridging": lambda: np.diff(org.cross_team.indptr),
    }[rule]()[eligible]
    best_first = np.lexsort((rng.random(eligible.size), -score))
    chosen[eligible[best_first[:count]]] = True
    return chosen
