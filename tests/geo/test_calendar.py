"""The holiday calendar in the database: the library's years, notice files, provisional deadlines and their
recount, on a real PostgreSQL (the tiny dispatch county in a rolled-back transaction).

The 2027 notice is tests/fixtures/calendar-2027-TEST-DATA.csv: invented test data (New Year 1-3 Jan,
Spring Festival 6-12 Feb, Saturday 13 Feb worked), not the State Council's 2027 arrangement.
"""

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from geo import clock
from geo.errors import InvalidInputError
from geo.io.holidays import read_notice
from geo.lifecycle import Actor
from geo.queries import casework
from geo.queries.events import get_event
from geo.queries.holidays import import_notice, list_calendar_years, sync_library
from geo.queries.timelimits import deadline_for
from geo.queries.timeline import get_timeline
from tests.dispatch_tiny import add_event, build

NOTICE_2027 = Path(__file__).resolve().parents[1] / "fixtures" / "calendar-2027-TEST-DATA.csv"
AREA = "620121"

BOB = Actor("bob", "dispatcher")  # a dispatcher extends, suspends and resumes


def _cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=clock.zone())


@pytest.fixture
def tiny(empty_session):
    """The tiny county; case E (neighbour, severity 2: ten working days) is reported."""
    ids = build(empty_session)
    return empty_session, ids


def _register(session, event_id: int, at: datetime) -> dict:
    with clock.pinned(at):
        return casework.transition_event(
            session, event_id, "registered", area=AREA, actor=Actor("alice", "dispatcher")
        )


def _csv(tmp_path, body: str, name: str = "notice.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


def test_migrate_stores_every_library_year_once(empty_session):
    years = list_calendar_years(empty_session)
    assert [y["year"] for y in years] == list(range(2004, 2027))
    assert {(y["source"], y["detail"]) for y in years} == {("library", "chinesecalendar 1.11.0")}
    y2026 = years[-1]
    assert (y2026["days_off"], y2026["workdays"]) == (33, 6)
    assert sync_library(empty_session) is None  # idempotent: nothing left to do


def test_sync_rewrites_a_year_from_an_older_package_but_never_a_notice_year(empty_session, tmp_path):
    empty_session.execute(
        text("UPDATE calendar_years SET detail = 'chinesecalendar 1.10.0' WHERE year = 2025")
    )
    import_notice(empty_session, _csv(tmp_path, "date,type,name\n2026-01-01,off,元旦\n"), actor="t")
    synced = sync_library(empty_session)
    assert synced["years"] == [2025]
    by_year = {y["year"]: y for y in list_calendar_years(empty_session)}
    assert by_year[2025]["detail"] == "chinesecalendar 1.11.0"
    assert by_year[2026]["source"] == "notice" and by_year[2026]["days_off"] == 1


def test_deadline_across_national_day_2026_from_the_library(tiny):
    session, _ = tiny
    # Tue 29 Sep + 5 working days (severity 3): 30 Sep, 8 Oct, 9 Oct, Sat 10 Oct (调休), Mon 12 Oct.
    deadline = deadline_for(session, "neighbour", 3, _cst(2026, 9, 29, 9))
    assert deadline.at == _cst(2026, 10, 12, 17, 30) and not deadline.provisional


def test_an_adjusted_working_saturday_counts(tiny):
    session, _ = tiny
    # Fri 9 Oct 2026: Saturday 10 Oct is worked (国庆节调休上班), so five working days end Thu 15 Oct ...
    assert deadline_for(session, "neighbour", 3, _cst(2026, 10, 9, 9)).at == _cst(2026, 10, 15, 17, 30)
    # ... and eight working hours from 16:00 are 1.5 h on Friday and 6.5 h on Saturday.
    assert deadline_for(session, "fire", 3, _cst(2026, 10, 9, 16)).at == _cst(2026, 10, 10, 15, 0)


def test_a_case_registered_before_the_spring_festival_2027_is_provisional_then_recounted(tiny):
    session, ids = tiny
    event = _register(session, ids["event"], _cst(2027, 2, 3, 10))
    # Weekends only: Thu 4, Fri 5, Mon 8 ... Wed 17 Feb is the tenth working day.
    assert event["deadline_at"] == _cst(2027, 2, 17, 17, 30)
    assert event["deadline_provisional"] is True and event["deadline_uncovered_years"] == [2027]

    with clock.pinned(_cst(2027, 2, 4, 9)):
        report = import_notice(session, NOTICE_2027, actor="cli:test")
    assert report["years"] == [2027] and report["recomputed"] == 1
    assert (report["days_off"], report["workdays"]) == (10, 1)
    event = get_event(session, ids["event"], AREA)
    # Thu 4, Fri 5, Sat 13 (worked), Mon 15 ... Tue 23 Feb is the tenth working day.
    assert event["deadline_at"] == _cst(2027, 2, 23, 17, 30)
    assert event["deadline_provisional"] is False and event["deadline_uncovered_years"] == []
    last = get_timeline(session, ids["event"], AREA)[-1]
    assert (last["action"], last["actor"]) == ("recompute_deadline", "cli:test")
    assert last["data"]["from_uncovered_years"] == [2027]
    year = {y["year"]: y for y in list_calendar_years(session)}[2027]
    assert year["source"] == "notice" and year["detail"].startswith("calendar-2027-TEST-DATA.csv sha256:")
    assert year["imported_at"] == _cst(2027, 2, 4, 9) and year["imported_by"] == "cli:test"


def test_importing_a_year_leaves_other_provisional_years_flagged(tiny):
    session, ids = tiny
    session.execute(text("UPDATE events SET severity = 1 WHERE id = :id"), {"id": ids["event"]})
    # Severity 1, made sixty working days here: from Mon 1 Nov 2027 they run into 2028.
    session.execute(text("UPDATE time_limits SET amount = 60 WHERE category = '*' AND severity = 1"))
    event = _register(session, ids["event"], _cst(2027, 11, 1, 10))
    assert event["deadline_uncovered_years"] == [2027, 2028]
    import_notice(session, NOTICE_2027, actor="t")
    event = get_event(session, ids["event"], AREA)
    assert event["deadline_provisional"] is True and event["deadline_uncovered_years"] == [2028]


def test_late_december_registration_is_provisional_only_when_it_reaches_the_new_year(tiny):
    session, ids = tiny
    other = add_event(session)
    inside = _register(session, ids["event"], _cst(2026, 12, 14, 10))  # ten working days: Mon 28 Dec
    across = _register(session, other, _cst(2026, 12, 24, 10))  # ... counts Fri 1 Jan 2027 as working
    assert inside["deadline_at"] == _cst(2026, 12, 28, 17, 30) and not inside["deadline_provisional"]
    assert across["deadline_at"] == _cst(2027, 1, 7, 17, 30) and across["deadline_uncovered_years"] == [2027]
    import_notice(session, NOTICE_2027, actor="t")
    assert get_event(session, other, AREA)["deadline_at"] == _cst(2027, 1, 8, 17, 30)  # 1 Jan is off
    assert get_event(session, ids["event"], AREA)["deadline_at"] == _cst(2026, 12, 28, 17, 30)


def test_extending_by_working_days_into_an_uncovered_year_is_provisional_and_recounted(tiny):
    session, ids = tiny
    _register(session, ids["event"], _cst(2026, 12, 14, 10))  # Mon 28 Dec 2026
    with clock.pinned(_cst(2026, 12, 28, 9)):
        event = casework.extend_deadline(session, ids["event"], area=AREA, actor=BOB, reason="x", days=4)
        # 29, 30, 31 Dec and Fri 1 Jan 2027 (weekends only).
        assert event["deadline_at"] == _cst(2027, 1, 1, 17, 30) and event["deadline_provisional"]
        event = casework.extend_deadline(session, ids["event"], area=AREA, actor=BOB, reason="y", hours=2)
    assert event["deadline_at"] == _cst(2027, 1, 1, 19, 30) and event["deadline_uncovered_years"] == [2027]
    import_notice(session, NOTICE_2027, actor="t")
    event = get_event(session, ids["event"], AREA)
    assert event["deadline_at"] == _cst(2027, 1, 4, 19, 30) and not event["deadline_provisional"]


def test_a_pause_is_kept_when_the_deadline_is_recounted(tiny):
    session, ids = tiny
    _register(session, ids["event"], _cst(2027, 2, 3, 10))
    casework.suspend_event(session, ids["event"], area=AREA, actor=BOB, reason="等待鉴定")
    session.execute(
        text("UPDATE events SET suspended_at = suspended_at - interval '3 hours' WHERE id = :id"),
        {"id": ids["event"]},
    )
    resumed = casework.resume_event(session, ids["event"], area=AREA, actor=BOB)
    paused = resumed["deadline_at"] - _cst(2027, 2, 17, 17, 30)
    assert timedelta(hours=3) <= paused < timedelta(hours=3, minutes=1)
    import_notice(session, NOTICE_2027, actor="t")
    assert get_event(session, ids["event"], AREA)["deadline_at"] == _cst(2027, 2, 23, 17, 30) + paused


def test_correcting_a_covered_year_recounts_the_deadlines_through_it(tiny, tmp_path):
    session, ids = tiny
    assert _register(session, ids["event"], _cst(2026, 9, 29, 9))["deadline_at"] == _cst(2026, 10, 19, 17, 30)
    # A corrected 2026 (test data): New Year only, no National Day break.
    import_notice(session, _csv(tmp_path, "date,type,name\n2026-01-01,off,元旦\n"), actor="t")
    assert get_event(session, ids["event"], AREA)["deadline_at"] == _cst(2026, 10, 13, 17, 30)


def test_december_days_of_a_next_year_notice_need_their_year_covered(tiny, tmp_path):
    session, _ = tiny
    body = "date,type,name\n2027-12-31,off,元旦\n2028-01-01,off,元旦\n"
    with pytest.raises(InvalidInputError) as err:
        import_notice(session, _csv(tmp_path, body), actor="t")
    assert err.value.where == "row 2, date" and "2027 年" in err.value.message
    assert session.execute(text("SELECT count(*) FROM calendar_years WHERE year >= 2027")).scalar() == 0
    import_notice(session, NOTICE_2027, actor="t")
    report = import_notice(session, _csv(tmp_path, body), actor="t")
    assert report["years"] == [2028] and report["spill_years"] == [2027]
    assert session.execute(text("SELECT name FROM holidays WHERE day = '2027-12-31'")).scalar() == "元旦"


def test_the_fixture_notice_reads_with_chinese_headers():
    source = read_notice(NOTICE_2027)
    assert source.years == frozenset({2027}) and source.source == "notice"
    assert [(d.day, d.workday, d.name) for d in source.days if d.workday] == [
        (date(2027, 2, 13), True, "春节调休上班")
    ]


@pytest.mark.parametrize(
    ("body", "where", "fragment"),
    [
        (
            "date,type,name\n2027-01-01,off,元旦\n2027-02-30,off,春节\n",
            "row 3, date",
            "第 3 行：日期 '2027-02-30'",
        ),
        ("date,type,name\n2027-01-01,off,元旦\n2027-02-06,holiday,春节\n", "row 3, type", "类型 'holiday'"),
        ("date,type,name\n2027-01-01,off,元旦\n2027-02-08,work,x\n", "row 3, type", "只能是周六或周日"),
        ("date,type,name\n2027-01-01,off,元旦\n2027-01-01,off,元旦\n", "row 3, date", "与第 2 行重复"),
        ("# c\ndate,kind,name\n2027-01-01,off,元旦\n", "row 2, header", "未知的列 'kind'"),
        ("日期,名称\n2027-01-01,元旦\n", "row 1, header", "缺少 type（类型）列"),
        ("date,type,name\n2027-01-01,off,元旦\n2026-06-01,off,x\n", "row 3, date", "没有 2026-01-01"),
        ("date,type,name\n2027-01-02,off,元旦\n", "row 2, date", "没有 2027-01-01"),
        ("date,type,name\n2027-01-01,off,元旦,extra\n", "row 2, row", "有 4 列"),
        ("date,type,name\n", "row 1, file", "没有数据行"),
    ],
)
def test_bad_notice_rows_are_refused_naming_the_line(tiny, tmp_path, body, where, fragment):
    session, _ = tiny
    before = session.execute(text("SELECT count(*) FROM holidays")).scalar()
    with pytest.raises(InvalidInputError) as err:
        import_notice(session, _csv(tmp_path, body), actor="t")
    assert err.value.where == where and fragment in err.value.message, err.value.message
    assert session.execute(text("SELECT count(*) FROM holidays")).scalar() == before


def test_all_bad_rows_are_listed_and_a_non_utf8_file_is_refused(tmp_path):
    body = "date,type,name\n2027-01-01,off,元旦\n2027-13-01,off,x\n2027-02-06,休息,春节\n"
    with pytest.raises(InvalidInputError) as err:
        read_notice(_csv(tmp_path, body))
    assert err.value.message.endswith("（另有 1 处问题）")
    assert [e["row"] for e in err.value.errors] == [3, 4]
    with pytest.raises(InvalidInputError, match="UTF-8") as err:
        read_notice(_csv(tmp_path, "日期,类型,名称\n2027-01-01,休,元旦\n", encoding="gbk"))
    assert err.value.where == "file"
