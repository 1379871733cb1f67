"""The statistics that scale: analytical Gi* against esda, one sort for every FDR cut, every grid's trend
and category at once against the rule for one, hexagons and their neighbours from lattice indices
against PostGIS geometry."""

from datetime import UTC, datetime

import numpy as np
import pytest
from esda import fdr
from esda.getisord import G_Local
from libpysal.weights import lat2W
from sqlalchemy import text

from geo.analytics import stats
from geo.analytics.cells import hex_of, load_cells
from geo.analytics.emerging import classify_rows, classify_series
from geo.analytics.hotspots import compute_hotspots
from geo.analytics.settings import AnalyticsSettings

AS_OF = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lattice():
    w = lat2W(30, 30, rook=False)
    keys = [f"{k:04d}" for k in w.id_order]
    nb = {f"{k:04d}": [f"{j:04d}" for j in v] for k, v in w.neighbors.items()}
    return w, stats.weights_from(nb, keys)


def test_analytical_gi_star_equals_esda_z_for_every_column(lattice):
    w, ours = lattice
    y = np.random.default_rng(7).gamma(2.0, 1.5, (900, 6))
    z = stats.gi_star_z(y, ours)
    for col in range(6):
        g = G_Local(y[:, col], w, transform="B", star=True, permutations=0)
        np.testing.assert_allclose(z[:, col], g.Zs, rtol=0, atol=1e-10)


def test_gi_star_p_is_two_sided_normal_and_classes_use_fdr(lattice):
    _, w = lattice
    y = np.zeros(900)
    y[:30] = 50.0  # one hot corner
    gi = stats.gi_star(y, w)
    assert gi.inference == "normal"
    np.testing.assert_allclose(gi.p, 2 * (1 - _phi(np.abs(gi.z))), atol=1e-12)
    assert (gi.confidence[:10] == 3).all() and (gi.confidence[-100:] <= 0).all()


def _phi(x):
    from scipy.stats import norm

    return norm.cdf(x)


def test_permutations_only_for_small_areas(lattice):
    _, w = lattice
    y = np.random.default_rng(1).poisson(3, 900).astype(float)
    assert stats.gi_star(y, w, permutations=99, max_permutation_cells=1000).inference == "permutation"
    assert stats.gi_star(y, w, permutations=99, max_permutation_cells=500).inference == "normal"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fdr_thresholds_from_one_sort_equal_esda(seed):
    p = np.random.default_rng(seed).uniform(0, 1, 700) ** 4
    assert stats.fdr_thresholds(p, [0.01, 0.05, 0.10]) == [fdr(p, a) for a in (0.01, 0.05, 0.10)]


def test_mann_kendall_rows_equal_the_series_one_at_a_time():
    x = np.random.default_rng(4).integers(0, 5, (200, 15)).astype(float)  # many ties
    rows = stats.mann_kendall_rows(x)
    for i in range(200):
        v = x[i]
        s = sum(np.sign(v[j] - v[k]) for k in range(15) for j in range(k + 1, 15))
        assert rows.s[i] == s
    assert rows[0] == stats.mann_kendall(x[0])


def test_every_grid_classified_at_once_as_the_rule_for_one_says():
    rng = np.random.default_rng(5)
    z = rng.normal(0, 1, (3000, 20)) * rng.uniform(0, 3, (3000, 1)) + np.linspace(0, 1.5, 20)
    z[:300] = np.where(rng.uniform(size=(300, 20)) < 0.95, 3.0, 0.1)
    p = stats.normal_p(z)
    trends = stats.mann_kendall_rows(z, 0.05)
    fast = classify_rows(z, p, 0.10, trends.direction)
    assert fast == [classify_series(z[i], p[i], 0.10, 0.05, trends[i]) for i in range(3000)]
    assert len(set(fast)) >= 8


def test_a_case_lies_in_the_hexagon_postgis_draws_around_it(db_session):
    """hex_of (nearest lattice centre) against ST_HexagonGrid + ST_Intersects on 2,000 case points."""
    size = 1234.5
    rows = db_session.execute(
        text("""
        WITH p AS (SELECT ST_Transform(geom, 3857) AS g FROM events ORDER BY id LIMIT 2000)
        SELECT ST_X(p.g), ST_Y(p.g), h.i, h.j FROM p
        CROSS JOIN LATERAL ST_HexagonGrid(:s, ST_Expand(p.g, 1)) h WHERE ST_Intersects(h.geom, p.g)
        """),
        {"s": size},
    ).all()
    pts = np.array([(r[0], r[1]) for r in rows])
    i, j = hex_of(pts[:, 0], pts[:, 1], size)
    assert len(rows) >= 2000
    assert (i == np.array([r[2] for r in rows])).all() and (j == np.array([r[3] for r in rows])).all()


def test_hexagon_neighbours_from_indices_are_the_hexagons_that_touch(db_session):
    cells = load_cells(
        db_session, "620121003", "hex", kinds=("dispute",), start=AS_OF.replace(year=2025), end=AS_OF
    )
    touching = db_session.execute(
        text("""
        WITH h AS (SELECT k, ST_GeomFromWKB(w, 4326) AS g FROM unnest(CAST(:k AS text[]), CAST(:w AS bytea[])) AS u(k, w))
        SELECT a.k, b.k FROM h a JOIN h b ON a.k < b.k AND ST_DWithin(a.g, b.g, 1e-7)
        """),
        {"k": cells.keys, "w": cells.wkb},
    ).all()
    expected: dict[str, set[str]] = {}
    for a, b in touching:
        expected.setdefault(a, set()).add(b)
        expected.setdefault(b, set()).add(a)
    assert {k: set(v) for k, v in cells.neighbours.items()} == expected
    assert cells.n > 20


def test_a_province_sized_area_is_analysed_without_permutations(db_session):
    settings = AnalyticsSettings(_env_file=None, permutations=999, permutation_max_cells=100)
    res = compute_hotspots(db_session, "620121", "grid", settings, AS_OF)
    assert res.gi.inference == "normal" and res.cells.n > 100
