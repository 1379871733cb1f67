"""Account areas: grid-code prefixes from the whole province down to one village."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from geo.accounts import check_area
from geo.errors import InvalidInputError
from tests.apps import app_for
from tests.auth_helpers import authed


@pytest.mark.parametrize("area", ["62", "6201", "620121", "620121001", "620121001001"])
def test_province_city_county_township_and_village_areas_are_accepted(area):
    assert check_area(area) == area


@pytest.mark.parametrize(
    "area", ["", "6", "620", "62012", "62012100", "620121001001001", "62012a", " 620121"]
)
def test_other_areas_are_refused_naming_the_field(area):
    with pytest.raises(InvalidInputError) as err:
        check_area(area)
    assert err.value.where == "area"


@pytest.mark.parametrize("area, sees", [("62", True), ("6201", True), ("6202", False)])
def test_a_province_or_city_account_sees_the_cases_inside_it(demo_db_url, area, sees):
    app = app_for(demo_db_url)
    with TestClient(app) as client:
        authed(client, demo_db_url, "commander", area)
        with create_engine(demo_db_url).connect() as conn:  # the owner's: the app's login sees nothing alone
            event_id = conn.execute(text("SELECT min(id) FROM events")).scalar_one()
        assert client.get(f"/api/events/{event_id}").status_code == (200 if sees else 404)


def _estimated_rows(conn, area: str | None) -> float:
    """The planner's row estimate for the disputes, as the app role with `area` (None: as the owner)."""
    with conn.begin():
        if area is not None:
            conn.execute(text("SELECT set_config('gridgov.area', :a, true)"), {"a": area})
            conn.execute(text("SET LOCAL ROLE gridgov_app"))
        plan = conn.execute(
            text("EXPLAIN (FORMAT JSON) SELECT id FROM events WHERE kind = 'dispute'")
        ).scalar()
        conn.rollback()
    return plan[0]["Plan"]["Plan Rows"]


@pytest.mark.parametrize("area", ["62", "620121"])
def test_the_area_filter_does_not_make_the_planner_expect_a_sliver_of_the_rows(demo_db_url, area):
    # The demo is one county: every dispute is in the area. Planned as 0.5 % of them, a province
    # commander's pages were 7x slower (migration 0019).
    engine = create_engine(demo_db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        owner, account = _estimated_rows(conn, None), _estimated_rows(conn, area)
    engine.dispose()
    assert account >= 0.4 * owner
