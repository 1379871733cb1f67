"""Candidates never lose the owning grid: on the demo county, a case in a grid whose worker's last fix is
hours old still lists that worker first; and an empty list says why (tiny county)."""

import pytest
from sqlalchemy import text

from geo.queries.dispatch import list_candidates
from tests.dispatch_client import make_tiny

# A small grid of the demo whose responsible worker could take a case now but was last located hours ago.
_OWNER_HOURS_AGO = text("""
SELECT g.code, w.id AS worker_id, ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat,
       extract(epoch FROM CAST(:now AS timestamptz) - w.located_at) / 3600 AS hours
FROM grids g JOIN workers w ON w.id = g.worker_id
WHERE g.level = 'grid' AND g.valid_to IS NULL AND w.on_duty AND w.available AND w.open_tasks < w.capacity
  AND w.located_at < CAST(:now AS timestamptz) - interval '3 hours'
ORDER BY g.code LIMIT 1
""")
_CASE = text("""
INSERT INTO events (kind, category, severity, source, title, geom, reported_at, created_at)
VALUES ('dispute', 'neighbour', 2, 'patrol', '候选测试', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :now, :now)
RETURNING id, grid_code
""")


def test_a_grid_whose_worker_was_located_hours_ago_still_gets_that_worker_first(db_session, test_clock):
    now = test_clock.now()
    grid = db_session.execute(_OWNER_HOURS_AGO, {"now": now}).mappings().first()
    assert grid is not None and grid["hours"] >= 3
    case = db_session.execute(_CASE, {"lon": grid["lon"], "lat": grid["lat"], "now": now}).mappings().one()
    assert case["grid_code"] == grid["code"]
    body = list_candidates(db_session, case["id"], area="620121", k=5, max_age_s=1800)
    first = body["candidates"][0]
    assert first["worker_id"] == grid["worker_id"] and first["tier"] == 0 and first["stale"] is True
    assert first["reasons"][0] == "本网格责任网格员"
    assert f"位置{int(grid['hours'])} 小时前" in first["reasons"]
    assert body["empty_reason"] is None and len(body["candidates"]) == 5


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


def _reason(tiny) -> str:
    body = tiny.client.get(f"/api/events/{tiny.ids['event']}/candidates").json()
    assert body["candidates"] == []
    return body["empty_reason"]


def test_an_empty_list_says_nobody_is_on_duty(tiny):
    tiny.session.execute(text("UPDATE workers SET on_duty = false"))
    assert _reason(tiny) == "调度范围内 8 名网格员均不在岗"


def test_an_empty_list_says_the_rest_have_no_fresh_fix(tiny):
    tiny.session.execute(
        text(
            "UPDATE workers SET on_duty = home_grid_code NOT LIKE '620121001001%', "
            "located_at = located_at - interval '3 hours'"
        )
    )
    assert _reason(tiny) == "本网格及同村（社区）无可派网格员；其余 2 名可派网格员均无30 分钟内的定位"
