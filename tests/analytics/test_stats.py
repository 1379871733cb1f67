"""The statistics on hand-made data: empirical Bayes, FDR classes, Mann-Kendall, emerging categories."""

import numpy as np
import pytest
from esda.smoothing import Empirical_Bayes

from geo.analytics import stats
from geo.analytics.emerging import classify_series


def test_eb_rates_equals_esda_empirical_bayes():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 30, 200)
    events = rng.poisson(base * rng.gamma(2, 1.5, 200)).astype(float)
    ours = stats.eb_rates(events, base)
    theirs = Empirical_Bayes(events, base).r.ravel()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_eb_rates_by_hand_and_shrinks_small_bases():
    e, b = np.array([0.0, 2.0, 10.0]), np.array([1.0, 1.0, 2.0])
    m = 12 / 4
    var = (1 * (0 - m) ** 2 + 1 * (2 - m) ** 2 + 2 * (5 - m) ** 2) / 4 - m / (4 / 3)
    w = var / (var + m / b)
    np.testing.assert_allclose(stats.eb_rates(e, b), w * e / b + (1 - w) * m, atol=1e-12)


def test_eb_rates_without_extra_variance_gives_the_overall_rate():
    assert stats.eb_rates(np.array([1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0])).tolist() == [1.0, 1.0, 1.0]


def test_classify_uses_fdr_thresholds_and_signs():
    p = np.array([0.001] * 30 + [0.5] * 70)
    z = np.array([3.0] * 15 + [-3.0] * 15 + [0.1] * 70)
    c = stats.classify(z, p)
    assert set(c[:15]) == {3} and set(c[15:30]) == {-3} and set(c[30:]) == {0}
    # Without FDR one p of 0.04 among many nulls is 95 %; with FDR it is not significant.
    p2, z2 = np.array([0.04] + [0.9] * 99), np.ones(100)
    assert stats.classify(z2, p2, fdr=False)[0] == 2 and stats.classify(z2, p2)[0] == 0


@pytest.mark.parametrize(
    ("series", "direction", "s"),
    [
        (list(range(10)), 1, 45),
        (list(range(10, 0, -1)), -1, -45),
        ([1, 3, 2, 3, 1, 2, 3, 1, 2, 1], 0, None),
        ([5, 5, 5, 5, 5], 0, 0),
    ],
)
def test_mann_kendall_on_known_series(series, direction, s):
    t = stats.mann_kendall(series)
    assert t.direction == direction
    if s is not None:
        assert t.s == s


def test_mann_kendall_variance_and_p_by_hand():
    t = stats.mann_kendall([1, 2, 3, 4, 5])  # S = 10, var = 5*4*15/18 = 16.667
    assert t.s == 10 and t.z == pytest.approx(9 / np.sqrt(50 / 3)) and t.p == pytest.approx(0.0275, abs=1e-3)


def _series(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """'H' hot, 'C' cold, '.' nothing, per week; z grows with the index for 'H' (for trends)."""
    z = np.array([{"H": 3.0, "C": -3.0, ".": 0.2}[ch] for ch in pattern])
    p = np.array([0.01 if ch in "HC" else 0.6 for ch in pattern])
    return z, p


@pytest.mark.parametrize(
    ("pattern", "category"),
    [
        ("." * 19 + "H", "new_hot"),
        ("." * 16 + "HHHH", "consecutive_hot"),
        ("H" * 20, "persistent_hot"),
        ("H" * 19 + ".", "historical_hot"),
        ("..H..H...H.....H..H", "sporadic_hot"),
        ("..C..H...H.....H..H", "oscillating_hot"),
        ("." * 19 + "C", "new_cold"),
        ("C" * 20, "persistent_cold"),
        ("." * 20, "none"),
    ],
)
def test_emerging_categories_on_hand_made_series(pattern, category):
    assert classify_series(*_series(pattern)) == category


def test_emerging_intensifying_and_diminishing():
    p = np.full(20, 0.01)
    assert classify_series(np.linspace(2, 6, 20), p) == "intensifying_hot"
    assert classify_series(np.linspace(6, 2, 20), p) == "diminishing_hot"
    assert classify_series(-np.linspace(2, 6, 20), p) == "intensifying_cold"
