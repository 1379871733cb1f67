"""Personal data typed into free text (titles, descriptions, timeline notes): phone numbers, 18-digit ID
numbers and the case's parties' names are masked by the database for roles without clearance, in every
output; cleared roles read them as written, and that read is audited."""

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from tests.auth_helpers import bearer
from tests.dispatch_tiny import add_event
from tests.security.conftest import client_from, scalar

PHONE, ID_NUMBER, PARTY = "13912345678", "62012119900101123X", "王小明"
TITLE = f"{PARTY}与邻居纠纷，电话{PHONE}"
DESCRIPTION = f"身份证{ID_NUMBER}，另一号码 139-1234-5678，座机 0931-8123456"
SECRETS = (PHONE, "139-1234-5678", ID_NUMBER, "8123456", PARTY)


@pytest.fixture(scope="module")
def case(sec):
    with sec.engine.begin() as conn:
        eid = add_event(conn, 103.006, 36.006)
        conn.execute(
            text("UPDATE events SET title = :t, description = :d WHERE id = :id"),
            {"t": TITLE, "d": DESCRIPTION, "id": eid},
        )
        conn.execute(
            text("INSERT INTO parties (event_id, role, name, phone) VALUES (:e, 'applicant', :n, :p)"),
            {"e": eid, "n": PARTY, "p": PHONE},
        )
        conn.execute(
            text(
                "INSERT INTO event_log (event_id, at, actor, action, note) VALUES (:e, now(), 'cli:t', 'register', :n)"
            ),
            {"e": eid, "n": f"已联系{PARTY}（{PHONE}）"},
        )
    return eid


def _outputs(client, eid: int) -> dict[str, bytes]:
    get = lambda path: client.get(path).content  # noqa: E731
    return {
        "case": get(f"/api/events/{eid}"),
        "timeline": get(f"/api/events/{eid}/timeline"),
        "board": get("/api/board"),
        "parties": get(f"/api/events/{eid}/parties"),
        "export csv": get("/api/exports/disputes.csv"),
        "export geojson": get("/api/exports/disputes.geojson"),
        "ogc items": get("/ogc/collections/disputes/items"),
        "county map": get("/maps/county"),
        "report": get("/api/reports/daily?format=html"),
        "tile": get("/tiles/disputes/16/51519/25733.mvt"),
    }


def test_uncleared_roles_see_free_text_masked_everywhere(sec, sec_app, case):
    with client_from(sec_app) as client:
        client.headers.update(bearer(sec.url, "planner", "620121", name="masked_reader"))
        outputs = _outputs(client, case)
        event = client.get(f"/api/events/{case}").json()
    leaks = {name: s for name, body in outputs.items() for s in SECRETS if s.encode() in body}
    assert leaks == {}
    assert event["title"] == "王某某与邻居纠纷，电话139****5678"
    assert event["description"] == "身份证620121********123X，另一号码 139****5678，座机 0931-****3456"
    assert "139****5678" in outputs["timeline"].decode() and "王某某" in outputs["timeline"].decode()
    assert "139****5678" in outputs["export csv"].decode("utf-8-sig")


def test_the_tile_of_the_case_was_drawn(sec, sec_app, case):
    """The tile of the masking test holds the case (so that its check means something)."""
    with client_from(sec_app) as client:
        client.headers.update(bearer(sec.url, "planner", "620121", name="tile_reader"))
        tile = mapbox_vector_tile.decode(client.get("/tiles/disputes/16/51519/25733.mvt").content)
    assert case in [f["id"] for f in tile["disputes"]["features"]]


def test_a_new_report_sees_its_possible_duplicates_masked(sec, sec_app, case):
    with client_from(sec_app) as client:
        client.headers.update(
            bearer(sec.url, "grid_worker", "620121", name="reporting_worker", worker_id=sec.ids["owner"])
        )
        body = {
            "category": "neighbour",
            "severity": 1,
            "lon": 103.0061,
            "lat": 36.0061,
            "title": "又吵起来了",
        }
        resp = client.post("/api/events", json=body)
    assert resp.status_code == 201, resp.text
    titles = [d["title"] for d in resp.json()["possible_duplicates"] if d["id"] == case]
    assert titles == ["王某某与邻居纠纷，电话139****5678"]


def test_cleared_roles_read_it_as_written_and_the_read_is_audited(sec, sec_app, case):
    with client_from(sec_app) as client:
        client.headers.update(bearer(sec.url, "dispatcher", "620121", name="cleared_reader"))
        event = client.get(f"/api/events/{case}").json()
    assert (event["title"], event["description"]) == (TITLE, DESCRIPTION)
    read = scalar(
        sec,
        "SELECT string_agg(detail->>'what' || ' ' || (detail->>'request'), ',') FROM audit_log "
        "WHERE actor = 'cleared_reader' AND action = 'read_personal'",
    )
    assert read == f"text GET /api/events/{case}"


def test_a_text_without_personal_data_is_no_personal_read(sec, sec_app):
    with sec.engine.begin() as conn:
        plain = add_event(conn, 103.007, 36.007)
    with client_from(sec_app) as client:
        client.headers.update(bearer(sec.url, "dispatcher", "620121", name="plain_reader"))
        assert client.get(f"/api/events/{plain}").status_code == 200
    assert (
        scalar(
            sec, "SELECT count(*) FROM audit_log WHERE actor = 'plain_reader' AND action = 'read_personal'"
        )
        == 0
    )


def test_a_names_only_read_by_a_cleared_role_is_audited(sec, sec_app):
    with client_from(sec_app) as client:
        client.headers.update(bearer(sec.url, "commander", "620121", name="names_reader"))
        names = [w["name"] for w in client.get("/api/summary/on-duty").json()]
    assert "owner" in names  # unmasked
    rows = scalar(
        sec,
        "SELECT string_agg(detail->>'what' || ' ' || (detail->>'request'), ',') FROM audit_log WHERE actor = 'names_reader'",
    )
    assert rows == "name GET /api/summary/on-duty"


def _tile_at(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_a_cleared_tile_read_is_audited_also_when_the_tile_comes_from_the_cache(sec, sec_app):
    z, x, y = _tile_at(103.005, 36.005, 14)  # small grid ...001001001, its worker 'owner'
    path = f"/tiles/grids/{z}/{x}/{y}.mvt"
    with client_from(sec_app) as client:
        client.headers.update(bearer(sec.url, "commander", "620121", name="tile_reader"))
        first, second = client.get(path), client.get(path)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    workers = {
        f["properties"].get("worker") for f in mapbox_vector_tile.decode(first.content)["grids"]["features"]
    }
    assert "owner" in workers  # unmasked
    rows = scalar(
        sec,
        "SELECT string_agg(detail->>'what' || ' ' || (detail->>'request'), ',' ORDER BY seq) FROM audit_log "
        "WHERE actor = 'tile_reader' AND action = 'read_personal'",
    )
    # The first read runs the tile's statement (the database notes the names it hands out); the second
    # is served from the tile cache, which the route notes itself, sent with the commit.
    assert rows == f"name GET {path},tiles:grids GET {path}"
