"""The statistics of the analytics, on plain arrays: empirical Bayes rates, Gi*, FDR classes, Mann-Kendall.

Counting happens in PostGIS; these functions only see the resulting vectors. Gi* and its permutation
inference are PySAL's (esda.G_Local with binary weights and the focal cell included, i.e. Gi*), so the
values equal a direct esda run on the same data, weights and seed.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Confidence levels of the hot/cold classes: 3 = 99 %, 2 = 95 %, 1 = 90 % (negative = cold).
LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))


def eb_rates(events: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Global empirical Bayes rates (Marshall 1991): small bases shrink toward the overall rate.

    Equals esda.smoothing.Empirical_Bayes when the between-cell variance is positive; when it is
    not (all the spread is Poisson noise) every cell gets the overall rate instead of a negative weight.
    """
    e = np.asarray(events, dtype=float)
    b = np.asarray(base, dtype=float)
    if e.size == 0 or b.sum() <= 0:
        return np.zeros_like(e)
    mean = e.sum() / b.sum()
    rate = e / b
    var = (b * (rate - mean) ** 2).sum() / b.sum() - mean / b.mean()
    if var <= 0:
        return np.full_like(e, mean)
    weight = var / (var + mean / b)
    return weight * rate + (1.0 - weight) * mean


def weights_from(neighbours: Mapping[str, Sequence[str]], ids: Sequence[str]):  # noqa: ANN201
    """A binary libpysal W over `ids` (order kept) with each cell its own neighbour, as Gi* wants.

    Building it once with the diagonal set saves esda a copy per call (emerging runs 52 of them); the
    statistics equal esda's own `star=True` filling of a W without diagonal.
    """
    from libpysal.weights import W

    nb = {i: [i, *(j for j in neighbours.get(i, ()) if j != i)] for i in ids}
    w = W(nb, id_order=list(ids), silence_warnings=True)
    w.transform = "B"
    return w


@dataclass(frozen=True)
class GiStar:
    """Gi* per cell: z-score, pseudo p-value of the permutations (or the normal p when none), classes."""

    z: np.ndarray
    p: np.ndarray
    confidence: np.ndarray


def gi_star(y: np.ndarray, w, permutations: int = 999, seed: int | None = 620121) -> GiStar:  # noqa: ANN001
    """Getis-Ord Gi* of `y` under binary weights `w`, with permutation inference and FDR classes."""
    from esda.getisord import G_Local

    y = np.asarray(y, dtype=float)
    if y.size < 3 or np.allclose(y, y[0]):
        zeros = np.zeros_like(y)
        return GiStar(zeros, np.ones_like(y), zeros.astype(int))
    g = G_Local(
        y, w, transform="B", star=True, permutations=permutations, seed=seed, n_jobs=1, keep_simulations=False
    )
    p = g.p_sim if permutations else g.p_norm
    z = np.nan_to_num(np.asarray(g.Zs, dtype=float))
    return GiStar(z, np.asarray(p, dtype=float), classify(z, p))


def fdr_threshold(p: np.ndarray, alpha: float) -> float:
    """The Benjamini-Hochberg p cut-off at `alpha` (esda.fdr: Bonferroni alpha/n when nothing passes)."""
    from esda import fdr

    return float(fdr(np.asarray(p, dtype=float), alpha))


def classify(z: np.ndarray, p: np.ndarray, fdr: bool = True) -> np.ndarray:
    """Confidence class per cell: ±3/±2/±1 for hot/cold at 99/95/90 % (FDR-corrected), else 0."""
    z, p = np.asarray(z, dtype=float), np.asarray(p, dtype=float)
    out = np.zeros(z.shape, dtype=int)
    for level, alpha in reversed(LEVELS):
        cut = fdr_threshold(p, alpha) if fdr else alpha
        out[p <= cut] = level
    return np.where(z > 0, out, -out)


@dataclass(frozen=True)
class Trend:
    """A Mann-Kendall trend test: S, its normal z (continuity corrected), two-sided p, direction."""

    s: float
    z: float
    p: float
    direction: int  # +1 rising, -1 falling, 0 no significant trend


def mann_kendall(x: Sequence[float] | np.ndarray, alpha: float = 0.05) -> Trend:
    """Mann-Kendall trend of a series in time order, with the tie correction of the variance."""
    v = np.asarray(x, dtype=float)
    n = v.size
    if n < 3:
        return Trend(0.0, 0.0, 1.0, 0)
    diff = np.sign(v[None, :] - v[:, None])
    s = float(np.triu(diff, 1).sum())
    _, counts = np.unique(v, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - (counts * (counts - 1) * (2 * counts + 5)).sum()) / 18.0
    if var <= 0:
        return Trend(s, 0.0, 1.0, 0)
    z = (s - math.copysign(1.0, s)) / math.sqrt(var) if s != 0 else 0.0
    p = math.erfc(abs(z) / math.sqrt(2.0))  # two-sided normal p, without scipy's per-call overhead
    return Trend(s, z, p, (1 if z > 0 else -1) if p < alpha else 0)
