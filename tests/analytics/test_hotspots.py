"""Gi* hot spots on the demo county against esda run directly on the same data, weights and seed."""

from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pytest
from esda.getisord import G_Local
from esda.smoothing import Empirical_Bayes
from libpysal.weights import W
from sqlalchemy import select, text

from geo.analytics.cells import load_cells
from geo.analytics.emerging import emerging_source, refresh_emerging
from geo.analytics.hotspots import compute_hotspots, hotspots_source, refresh_hotspots
from geo.analytics.settings import AnalyticsSettings

AS_OF = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # the end of the demo year (midnight China time)
SETTINGS = AnalyticsSettings(_env_file=None, permutations=999, seed=620121)


@pytest.fixture(scope="module")
def county(engine):
    """The county Gi* computed once (999 permutations, seeded)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return compute_hotspots(session, "620121", "grid", SETTINGS, AS_OF)


@pytest.fixture(scope="module")
def direct(engine):
    """The same inputs fetched independently: counts by SQL, contiguity by shapely (geopandas sjoin)."""
    grids = gpd.read_postgis(
        "SELECT code, area_m2 / 1e6 AS km2, geom FROM grids WHERE level = 'grid' AND valid_to IS NULL "
        "ORDER BY code",
        engine,
        geom_col="geom",
    )
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                text(
                    "SELECT grid_code, count(*) FROM events WHERE kind IN ('dispute', 'hazard') "
                    "AND status NOT IN ('rejected', 'duplicate') AND reported_at >= :a AND reported_at < :b "
                    "GROUP BY 1"
                ),
                {"a": AS_OF.replace(year=2025), "b": AS_OF},
            ).all()
        )
    pairs = gpd.sjoin(grids, grids, predicate="intersects")
    pairs = pairs[pairs.code_left != pairs.code_right]
    nb = {c: sorted(pairs.code_right[pairs.code_left == c]) for c in grids.code}
    return grids, np.array([counts.get(c, 0) for c in grids.code], dtype=float), nb


def test_hotspot_counts_and_contiguity_match_an_independent_computation(county, direct):
    grids, events, nb = direct
    assert county.cells.keys == list(grids.code)
    np.testing.assert_array_equal(county.events, events)
    assert dict(county.cells.neighbours) == {k: v for k, v in nb.items() if v}


def test_gi_star_equals_esda_directly_with_the_same_weights_and_seed(county, direct):
    grids, events, nb = direct
    eb = Empirical_Bayes(events, grids.km2.to_numpy()).r.ravel()
    np.testing.assert_allclose(county.eb_rate, eb, rtol=0, atol=1e-9)
    g = G_Local(
        eb,
        W(nb, id_order=list(grids.code), silence_warnings=True),
        transform="B",
        star=True,
        permutations=999,
        seed=620121,
        n_jobs=1,
    )
    np.testing.assert_allclose(county.gi.z, g.Zs, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(county.gi.p, g.p_sim)


def test_county_has_hot_and_cold_spots_at_each_confidence(county):
    levels = set(county.gi.confidence.tolist())
    assert {3, -3} <= levels and 0 in levels
    assert ((county.gi.confidence > 0) == (county.gi.z > 0))[county.gi.confidence != 0].all()


def test_hexagons_cover_the_county_and_count_every_case(db_session):
    cells = load_cells(
        db_session,
        "620121",
        "hex",
        kinds=("dispute",),
        start=AS_OF.replace(year=2025),
        end=AS_OF,
        hex_size_m=3000,
    )
    total = db_session.execute(
        text(
            "SELECT count(*) FROM events WHERE kind = 'dispute' AND status NOT IN ('rejected', 'duplicate') "
            "AND reported_at >= :a AND reported_at < :b"
        ),
        {"a": AS_OF.replace(year=2025), "b": AS_OF},
    ).scalar()
    assert cells.n > 100 and cells.counts.sum() == total
    assert np.median([len(v) for v in cells.neighbours.values()]) == 6


def test_stored_run_serves_the_layer_and_is_reused(db_session):
    quick = AnalyticsSettings(_env_file=None, permutations=99)
    run = refresh_hotspots(db_session, "620121001", "grid", quick, AS_OF)
    assert refresh_hotspots(db_session, "620121001", "grid", quick, AS_OF) == run
    sub = hotspots_source("620121001").subquery()
    rows = db_session.execute(select(sub.c.grid_code, sub.c.events, sub.c.class_label)).all()
    n = db_session.execute(
        text(
            "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE '620121001%'"
        )
    ).scalar()
    assert len(rows) == n and all(r.grid_code.startswith("620121-001-") for r in rows)
    # The township's own cases only.
    own = db_session.execute(
        text(
            "SELECT count(*) FROM events WHERE kind IN ('dispute', 'hazard') AND grid_code LIKE '620121001%' "
            "AND status NOT IN ('rejected', 'duplicate') AND reported_at >= :a AND reported_at < :b"
        ),
        {"a": AS_OF.replace(year=2025), "b": AS_OF},
    ).scalar()
    assert sum(r.events for r in rows) == own
    # New data makes the run stale.
    db_session.execute(
        text(
            "UPDATE events SET updated_at = clock_timestamp() WHERE id = (SELECT min(id) "
            "FROM events WHERE grid_code LIKE '620121001%')"
        )
    )
    assert refresh_hotspots(db_session, "620121001", "grid", quick, AS_OF) != run


def test_emerging_run_classifies_every_grid_of_the_area(db_session):
    refresh_emerging(db_session, "620121001", AnalyticsSettings(_env_file=None, weeks=26), AS_OF)
    sub = emerging_source("620121001").subquery()
    rows = db_session.execute(select(sub.c.category, sub.c.category_label, sub.c.hot_bins)).all()
    assert rows and all(r.category_label for r in rows)
    assert {r.category for r in rows} - {"none"}, "some pattern in a busy township"
