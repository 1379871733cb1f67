"""The case API shows a provisional deadline (a year without holiday calendar) and its recount after import.

The 2027 notice is invented test data (tests/fixtures/calendar-2027-TEST-DATA.csv)."""

from datetime import datetime

import pytest

from geo import clock
from geo.queries.holidays import import_notice
from tests.dispatch_client import make_tiny
from tests.geo.test_calendar import NOTICE_2027


@pytest.fixture
def tiny(empty_session):
    return make_tiny(empty_session)


def _cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=clock.zone())


def test_case_model_flags_a_provisional_deadline_until_its_year_is_imported(tiny):
    case = f"/api/events/{tiny.ids['event']}"
    assert tiny.client.get(case).json()["deadline_provisional"] is False  # no deadline yet
    with clock.pinned(_cst(2027, 2, 3, 10)):
        body = tiny.client.post(f"{case}/transition", json={"to": "registered"}).json()
        queue = tiny.client.get("/api/board").json()["queue"]
    assert datetime.fromisoformat(body["deadline_at"]) == _cst(2027, 2, 17, 17, 30)
    assert body["deadline_provisional"] is True and body["deadline_uncovered_years"] == [2027]
    assert [q["deadline_provisional"] for q in queue if q["id"] == tiny.ids["event"]] == [True]

    with clock.pinned(_cst(2027, 2, 4, 9)):  # the notice arrives the day after registration
        import_notice(tiny.session, NOTICE_2027, actor="cli:test")
    tiny.session.commit()
    body = tiny.client.get(case).json()
    assert datetime.fromisoformat(body["deadline_at"]) == _cst(2027, 2, 23, 17, 30)
    assert body["deadline_provisional"] is False and body["deadline_uncovered_years"] == []
    timeline = tiny.client.get(f"{case}/timeline").json()
    assert timeline[-1]["action"] == "recompute_deadline" and timeline[-1]["actor"] == "cli:test"


def test_openapi_documents_the_provisional_fields(tiny):
    schema = tiny.client.get("/openapi.json").json()["components"]["schemas"]["EventPublic"]["properties"]
    assert "暂定期限" in schema["deadline_provisional"]["description"]
    assert schema["deadline_uncovered_years"]["items"]["type"] == "integer"
