"""The statistics of the analytics, on plain arrays: empirical Bayes rates, Gi*, FDR classes, Mann-Kendall.

Counting happens in PostGIS; these functions only see vectors (one column per time bin) and one sparse
binary weights matrix per area (`Weights`, the cell itself included, as Gi* wants), built once and
reused for every bin. Gi* is computed analytically, as ArcGIS's Hot Spot Analysis does: the z-score of
Getis and Ord's statistic under the randomisation null, equal to esda.G_Local's `Zs` (star, binary
weights), with two-sided normal p-values and a Benjamini-Hochberg FDR correction; a whole province
(120,000 cells) takes milliseconds. Permutation inference (esda's conditional randomisation, seeded) is
an option for small areas only: it costs a Python loop per cell and permutation.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import erfc

# Confidence levels of the hot/cold classes: 3 = 99 %, 2 = 95 %, 1 = 90 % (negative = cold).
LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))


def eb_rates(events: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Global empirical Bayes rates (Marshall 1991): small bases shrink toward the overall rate.

    `events` is one vector or one column per time bin (each column smoothed on its own). Equals
    esda.smoothing.Empirical_Bayes when the between-cell variance is positive; when it is not (all the
    spread is Poisson noise) every cell gets the overall rate instead of a negative weight.
    """
    e = np.asarray(events, dtype=float)
    b = np.asarray(base, dtype=float)
    if e.size == 0 or b.sum() <= 0:
        return np.zeros_like(e)
    bb = b if e.ndim == 1 else b[:, None]
    mean = e.sum(axis=0) / b.sum()
    rate = e / bb
    var = (bb * (rate - mean) ** 2).sum(axis=0) / b.sum() - mean / b.mean()
    safe = np.where(var > 0, var, 1.0)
    weight = np.where(var > 0, safe / (safe + mean / bb), 0.0)
    return weight * rate + (1.0 - weight) * mean


@dataclass(frozen=True)
class Weights:
    """Binary contiguity of cells in key order, each cell its own neighbour (a CSR matrix, built once)."""

    keys: list[str]
    matrix: sparse.csr_array

    @property
    def n(self) -> int:
        """How many cells."""
        return len(self.keys)

    def neighbours(self) -> dict[str, list[str]]:
        """Each cell's neighbours without itself, sorted (cells without any are left out)."""
        m = self.matrix
        out = {}
        for i, key in enumerate(self.keys):
            row = m.indices[m.indptr[i] : m.indptr[i + 1]]
            others = sorted(self.keys[j] for j in row if j != i)
            if others:
                out[key] = others
        return out

    def to_pysal(self):  # noqa: ANN201
        """The same weights as a libpysal W (for esda's permutation inference)."""
        from libpysal.weights import W

        nb = {k: [k, *v] for k, v in self.neighbours().items()}
        nb.update({k: [k] for k in self.keys if k not in nb})
        w = W(nb, id_order=list(self.keys), silence_warnings=True)
        w.transform = "B"
        return w


def weights_from_pairs(keys: Sequence[str], a: np.ndarray, b: np.ndarray) -> Weights:
    """Weights over `keys` from index pairs (a[k], b[k]) of neighbours, either order, repeats allowed."""
    n = len(keys)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    diag = np.arange(n, dtype=np.int64)
    rows = np.concatenate([a, b, diag])
    cols = np.concatenate([b, a, diag])
    m = sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    m.data[:] = 1.0  # duplicates summed: back to binary
    m.sort_indices()
    return Weights(list(keys), m)


def weights_from(neighbours: Mapping[str, Sequence[str]], ids: Sequence[str]) -> Weights:
    """Weights over `ids` (order kept) from a neighbour mapping (symmetry is enforced)."""
    index = {k: i for i, k in enumerate(ids)}
    pairs = [(index[i], index[j]) for i, js in neighbours.items() if i in index for j in js if j in index]
    a, b = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True)) if pairs else (np.zeros(0),) * 2
    return weights_from_pairs(list(ids), a, b)


@dataclass(frozen=True)
class GiStar:
    """Gi* per cell (and per bin): z-score, p-value (two-sided normal, or permutation), classes."""

    z: np.ndarray
    p: np.ndarray
    confidence: np.ndarray
    inference: str = "normal"


def gi_star_z(y: np.ndarray, w: Weights) -> np.ndarray:
    """Analytical Gi* z-scores of `y` (one column per bin) under binary weights with the diagonal set.

    z = (G - E[G]) / sqrt(V[G]) with G_i = sum_j w_ij y_j / sum_j y_j, E[G_i] = W_i / n and
    V[G_i] = W_i (n - W_i) / (n - 1) / n^2 * s^2 / ybar^2 (Getis & Ord 1992; esda.G_Local.calc, star).
    A column with no variance, or a cell neighbouring every other, has z = 0.
    """
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    if n < 3:
        return np.zeros_like(y)
    total, mean, var = _moments(y)
    card = _cardinality(w, y.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (w.matrix @ y) / total
        ev = card * (n - card) / (n - 1) / n**2 * var / mean**2
        z = (g - card / n) / np.sqrt(ev)
    z = np.where(var <= 1e-12 * np.maximum(mean**2, 1e-300), 0.0, z)  # no variance: nothing stands out
    return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)


def _moments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sum, mean and (population) variance of each column of `y` (or of `y`)."""
    n = y.shape[0]
    total = y.sum(axis=0)
    mean = total / n
    return total, mean, (y**2).sum(axis=0) / n - mean**2


def _cardinality(w: Weights, ndim: int) -> np.ndarray:
    """Each cell's number of neighbours, itself included (W_i), as a column when `y` has bins."""
    card = np.asarray(w.matrix.sum(axis=1)).ravel()
    return card[:, None] if ndim == 2 else card


def normal_p(z: np.ndarray) -> np.ndarray:
    """Two-sided p-values of standard normal z-scores (ArcGIS's Hot Spot Analysis p)."""
    return erfc(np.abs(np.asarray(z, dtype=float)) / math.sqrt(2.0))


def gi_star(
    y: np.ndarray,
    w: Weights,
    permutations: int = 0,
    seed: int | None = 620121,
    max_permutation_cells: int = 5000,
) -> GiStar:
    """Getis-Ord Gi* of `y` under `w`, with FDR classes: analytical (two-sided normal p), or with
    esda's permutation pseudo p-values when `permutations` > 0 and the area has at most
    `max_permutation_cells` cells."""
    y = np.asarray(y, dtype=float)
    if y.size < 3 or np.allclose(y, y[0]):
        zeros = np.zeros_like(y)
        return GiStar(zeros, np.ones_like(y), zeros.astype(int))
    z = gi_star_z(y, w)
    if permutations and w.n <= max_permutation_cells:
        p = _permutation_p(y, w, permutations, seed)
        return GiStar(z, p, classify(z, p), "permutation")
    p = normal_p(z)
    return GiStar(z, p, classify(z, p))


def _permutation_p(y: np.ndarray, w: Weights, permutations: int, seed: int | None) -> np.ndarray:
    """esda's folded pseudo p-values of Gi* (conditional randomisation, seeded)."""
    from esda.getisord import G_Local

    g = G_Local(
        y,
        w.to_pysal(),
        transform="B",
        star=True,
        permutations=permutations,
        seed=seed,
        n_jobs=1,
        keep_simulations=False,
    )
    return np.asarray(g.p_sim, dtype=float)


def fdr_thresholds(p: np.ndarray, alphas: Sequence[float]) -> list[float]:
    """The Benjamini-Hochberg p cut-off at each alpha, from one sort (esda.fdr's rule: the largest
    k alpha / n above which the k-th smallest p lies below it; Bonferroni alpha / n when none does)."""
    p_sorted = np.sort(np.asarray(p, dtype=float).ravel())
    n = p_sorted.size
    if n == 0:
        return [float(a) for a in alphas]
    ranks = np.arange(1, n + 1)
    out = []
    for alpha in alphas:
        cut = ranks * alpha / n
        passing = np.flatnonzero(p_sorted < cut)
        out.append(float(cut[passing[-1]]) if passing.size else alpha / n)
    return out


def fdr_threshold(p: np.ndarray, alpha: float) -> float:
    """The Benjamini-Hochberg p cut-off at `alpha` (see fdr_thresholds)."""
    return fdr_thresholds(p, [alpha])[0]


def classify(z: np.ndarray, p: np.ndarray, fdr: bool = True) -> np.ndarray:
    """Confidence class per cell: ±3/±2/±1 for hot/cold at 99/95/90 % (FDR-corrected), else 0."""
    z, p = np.asarray(z, dtype=float), np.asarray(p, dtype=float)
    alphas = [alpha for _, alpha in LEVELS]
    cuts = fdr_thresholds(p, alphas) if fdr else alphas
    out = np.zeros(z.shape, dtype=int)
    for (level, _), cut in reversed(list(zip(LEVELS, cuts, strict=True))):
        out[p <= cut] = level
    return np.where(z > 0, out, -out)


@dataclass(frozen=True)
class Trend:
    """A Mann-Kendall trend test: S, its normal z (continuity corrected), two-sided p, direction."""

    s: float
    z: float
    p: float
    direction: int  # +1 rising, -1 falling, 0 no significant trend


@dataclass(frozen=True)
class Trends:
    """Mann-Kendall trends of many series at once (one per row)."""

    s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    direction: np.ndarray

    def __getitem__(self, i: int) -> Trend:
        """The trend of row i."""
        return Trend(float(self.s[i]), float(self.z[i]), float(self.p[i]), int(self.direction[i]))


def _tie_terms(x: np.ndarray) -> np.ndarray:
    """Per row, the sum over groups of tied values of t (t - 1) (2t + 5)."""
    n, t = x.shape
    s = np.sort(x, axis=1)
    starts = np.ones((n, t), dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    group = np.cumsum(starts, axis=1) - 1 + (np.arange(n) * t)[:, None]
    sizes = np.bincount(group.ravel(), minlength=n * t).reshape(n, t).astype(float)
    return (sizes * (sizes - 1) * (2 * sizes + 5)).sum(axis=1)


def mann_kendall_rows(x: np.ndarray, alpha: float = 0.05) -> Trends:
    """Mann-Kendall trend of every row of `x` (time along the columns), with the tie correction."""
    x = np.asarray(x, dtype=float)
    n, t = x.shape
    if t < 3 or n == 0:
        zeros = np.zeros(n)
        return Trends(zeros, zeros, np.ones(n), zeros.astype(int))
    s = np.zeros(n)
    for lag in range(1, t):  # S = sum over i < j of sign(x_j - x_i), one lag at a time
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)
    var = (t * (t - 1) * (2 * t + 5) - _tie_terms(x)) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where((var > 0) & (s != 0), (s - np.sign(s)) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = np.where(var > 0, normal_p(z), 1.0)
    direction = np.where(p < alpha, np.sign(z), 0).astype(int)
    return Trends(s, z, p, direction)


def mann_kendall(x: Sequence[float] | np.ndarray, alpha: float = 0.05) -> Trend:
    """Mann-Kendall trend of a series in time order, with the tie correction of the variance."""
    return mann_kendall_rows(np.asarray(x, dtype=float)[None, :], alpha)[0]
