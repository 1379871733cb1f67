"""Working-day and working-hour arithmetic with the chinesecalendar years (pure, no database).

The calendar is the package's (2004-2026, as `gridgov migrate` stores it); its 2026 must be exactly the
State Council arrangement migration 0003 used to seed. Years it does not cover count with weekends only,
and such deadlines are provisional and can be replayed from their basis once the year is known.
"""

import importlib.util
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from geo import clock
from geo.deadlines import (
    Deadline,
    HolidayCalendar,
    add_working_days,
    add_working_hours,
    compute_deadline,
    count_working_hours,
    extend,
    next_workday,
    pause,
    replay,
    resume_deadline,
    time_limit,
)
from geo.io.holidays import library_source

MIGRATION = Path(__file__).resolve().parents[2] / "geo" / "migrations" / "versions" / "0003_dispatch.py"


def holiday_rows_2026() -> list[dict]:
    """The calendar rows exactly as migration 0003 seeds them."""
    spec = importlib.util.spec_from_file_location("dispatch_0003", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._holiday_rows()


def _cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=clock.zone())


def _calendar(days, years) -> HolidayCalendar:
    return HolidayCalendar.from_rows(((d.day, d.workday) for d in days), years=years)


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    source = library_source()
    return _calendar(source.days, source.years)


def test_library_2026_is_the_arrangement_migration_0003_seeded():
    seeded = {(r["day"], r["workday"]) for r in holiday_rows_2026()}
    library = {(d.day, d.workday) for d in library_source().days if d.day.year == 2026}
    assert library == seeded
    assert library_source().years == frozenset(range(2004, 2027))


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2026, 11, 27), True),  # a Friday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 10, 1), False),  # National Day, a Thursday
        (date(2026, 10, 10), True),  # Saturday worked (调休)
        (date(2026, 9, 20), True),  # Sunday worked (调休)
        (date(2026, 2, 23), False),  # Monday inside the Spring Festival
        (date(2026, 2, 14), True),  # Saturday worked before the Spring Festival
        (date(2026, 1, 4), True),  # Sunday worked after New Year
    ],
)
def test_is_workday_follows_weekends_holidays_and_adjusted_weekends(cal, day, workday):
    assert cal.is_workday(day) is workday


def test_add_working_days_skips_the_weekend(cal):
    # Friday 27 Nov + 1 working day = Monday 30 Nov, at close of business.
    assert add_working_days(_cst(2026, 11, 27, 10), 1, cal) == _cst(2026, 11, 30, 17, 30)
    assert add_working_days(_cst(2026, 11, 27, 10), 5, cal) == _cst(2026, 12, 4, 17, 30)


def test_add_working_days_skips_national_day_and_counts_the_adjusted_saturday(cal):
    # Tue 29 Sep: 30 Sep (1), then 1-7 Oct off, Thu 8 (2), Fri 9 (3), Sat 10 worked (4), Mon 12 (5).
    assert add_working_days(_cst(2026, 9, 29, 9), 5, cal) == _cst(2026, 10, 12, 17, 30)


def test_add_working_days_counts_an_adjusted_sunday(cal):
    # Sat 19 Sep registered: Sun 20 Sep is a working day (调休).
    assert add_working_days(_cst(2026, 9, 19, 9), 1, cal) == _cst(2026, 9, 20, 17, 30)


def test_add_working_days_over_spring_festival(cal):
    # Fri 13 Feb: Sat 14 worked (1), 15-23 off, Tue 24 (2).
    assert add_working_days(_cst(2026, 2, 13, 16), 2, cal) == _cst(2026, 2, 24, 17, 30)


def test_add_working_days_reads_utc_in_the_county_zone(cal):
    # 2026-11-27 17:00 UTC is already Saturday 01:00 in Beijing: +1 working day is Monday.
    start = datetime.fromisoformat("2026-11-27T17:00:00+00:00")
    assert add_working_days(start, 1, cal) == _cst(2026, 11, 30, 17, 30)


def test_add_working_hours_stays_inside_office_hours(cal):
    assert add_working_hours(_cst(2026, 11, 27, 9, 0), 2, cal) == _cst(2026, 11, 27, 11, 0)
    # Friday 16:30 + 8 h: 1 h on Friday, 7 h from Monday 08:30 -> 15:30.
    assert add_working_hours(_cst(2026, 11, 27, 16, 30), 8, cal) == _cst(2026, 11, 30, 15, 30)
    # Before opening counts from opening; at night counts from the next working morning.
    assert add_working_hours(_cst(2026, 11, 26, 6, 0), 1, cal) == _cst(2026, 11, 26, 9, 30)
    assert add_working_hours(_cst(2026, 11, 26, 22, 0), 1, cal) == _cst(2026, 11, 27, 9, 30)


def test_add_working_hours_skips_holidays(cal):
    # Wed 30 Sep 17:00 + 1 h: half an hour that day, then Thu 8 Oct 08:30 + 0.5 h.
    assert add_working_hours(_cst(2026, 9, 30, 17, 0), 1, cal) == _cst(2026, 10, 8, 9, 0)


def test_compute_deadline_hours_run_day_and_night(cal):
    assert compute_deadline(_cst(2026, 10, 1, 22), 24, "hours", cal) == _cst(2026, 10, 2, 22)


def test_compute_deadline_rejects_unknown_unit_and_naive_datetimes(cal):
    with pytest.raises(ValueError, match="unit"):
        compute_deadline(_cst(2026, 1, 5), 1, "weeks", cal)
    with pytest.raises(ValueError, match="timezone"):
        add_working_days(datetime(2026, 1, 5), 1, cal)
    with pytest.raises(ValueError):
        add_working_days(_cst(2026, 1, 5), 0, cal)


def test_next_workday_and_resume_deadline(cal):
    assert next_workday(date(2026, 4, 3), cal) == date(2026, 4, 7)  # Qingming 4-6 April
    deadline = _cst(2026, 12, 1, 17, 30)
    assert resume_deadline(deadline, _cst(2026, 11, 27, 9), _cst(2026, 11, 27, 12)) == _cst(
        2026, 12, 1, 20, 30
    )


def test_custom_office_hours():
    cal = HolidayCalendar.from_rows([], office_open=time(9), office_close=time(17))
    assert add_working_days(_cst(2026, 3, 2, 12), 1, cal) == _cst(2026, 3, 3, 17)


def test_a_deadline_inside_covered_years_is_final(cal):
    # Tue 22 Dec 2026 + 5 working days = Tue 29 Dec: only 2026 is counted.
    deadline = time_limit(_cst(2026, 12, 22, 10), 5, "working_days", cal)
    assert deadline.at == _cst(2026, 12, 29, 17, 30)
    assert not deadline.provisional and deadline.uncovered == frozenset()
    assert deadline.basis == (
        {"step": "limit", "start": "2026-12-22T10:00:00+08:00", "amount": 5, "unit": "working_days"},
    )


@pytest.mark.parametrize(
    ("start", "days", "due", "provisional"),
    [
        ((2026, 12, 30, 10), 1, (2026, 12, 31), False),  # Thursday 31 Dec: 2026 only
        ((2026, 12, 31, 10), 1, (2027, 1, 1), True),  # Friday 1 Jan 2027 counted as a working day
        ((2026, 12, 31, 23, 59), 5, (2027, 1, 7), True),
        ((2026, 12, 25, 10), 4, (2026, 12, 31), False),
    ],
)
def test_late_december_into_an_uncovered_year_is_provisional(cal, start, days, due, provisional):
    deadline = time_limit(_cst(*start), days, "working_days", cal)
    assert deadline.at == _cst(*due, 17, 30)
    assert deadline.provisional is provisional
    assert deadline.uncovered == (frozenset({2027}) if provisional else frozenset())


def test_working_hours_into_an_uncovered_year_are_provisional(cal):
    # Thu 31 Dec 16:00 + 4 h: 1.5 h that day, 2.5 h on Fri 1 Jan 2027 (weekends only there).
    deadline = count_working_hours(_cst(2026, 12, 31, 16), 4, cal)
    assert deadline.at == _cst(2027, 1, 1, 11) and deadline.uncovered == frozenset({2027})
    assert not count_working_hours(_cst(2026, 12, 31, 9), 4, cal).provisional


def test_clock_hours_never_need_a_calendar(cal):
    deadline = time_limit(_cst(2026, 12, 31, 22), 24, "hours", cal)
    assert deadline.at == _cst(2027, 1, 1, 22) and not deadline.provisional


def test_replay_counts_a_provisional_deadline_again_once_the_year_is_known(cal):
    deadline = time_limit(_cst(2026, 12, 31, 10), 5, "working_days", cal)
    assert deadline.at == _cst(2027, 1, 7, 17, 30) and deadline.provisional
    # Test data, not an official schedule: 1-3 Jan 2027 off.
    known = HolidayCalendar(
        days_off=cal.days_off | {date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)},
        workdays=cal.workdays,
        years=cal.years | {2027},
    )
    again = replay(deadline.basis, known)
    assert again.at == _cst(2027, 1, 8, 17, 30) and not again.provisional
    assert again.basis == deadline.basis


def test_extensions_and_pauses_replay_in_their_order(cal):
    registered = time_limit(_cst(2026, 12, 21, 9), 5, "working_days", cal)  # Mon 28 Dec 17:30
    paused = pause(registered, timedelta(hours=3))  # the clock stood still 3 h: 20:30
    longer = extend(paused, cal, days=3)  # Tue 29, Wed 30, Thu 31: still 2026
    assert longer.at == _cst(2026, 12, 31, 17, 30) and not longer.provisional
    further = extend(longer, cal, days=1)  # Fri 1 Jan 2027: weekends only
    assert further.at == _cst(2027, 1, 1, 17, 30) and further.uncovered == frozenset({2027})
    assert [s["step"] for s in further.basis] == ["limit", "pause", "extend_days", "extend_days"]
    assert replay(further.basis, cal) == further
    by_hours = extend(further, cal, hours=2.5)
    assert by_hours.at == _cst(2027, 1, 1, 20) and by_hours.uncovered == frozenset({2027})


def test_extending_a_deadline_without_basis_keeps_it_unreplayable(cal):
    legacy = Deadline(_cst(2026, 11, 27, 17, 30), basis=None)
    moved = extend(legacy, cal, days=1)
    assert moved.at == _cst(2026, 11, 30, 17, 30) and moved.basis is None


def test_replay_refuses_a_basis_without_its_time_limit(cal):
    with pytest.raises(ValueError, match="time limit"):
        replay([{"step": "pause", "seconds": 60}], cal)
    with pytest.raises(ValueError, match="time limit"):
        replay([], cal)
    with pytest.raises(ValueError):
        extend(Deadline(_cst(2026, 1, 5)), cal)


def test_deadlines_count_in_the_configured_zone(cal, monkeypatch):
    # A county in another zone (GRID_TIME_ZONE): days and close of business are its own.
    from zoneinfo import ZoneInfo

    monkeypatch.setattr(clock, "zone", lambda: ZoneInfo("Asia/Urumqi"))
    start = datetime(2026, 11, 24, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # Monday 23:00 in Urumqi
    assert add_working_days(start, 1, cal) == datetime(2026, 11, 24, 17, 30, tzinfo=ZoneInfo("Asia/Urumqi"))
    monkeypatch.undo()
    assert add_working_days(start, 1, cal) == _cst(2026, 11, 25, 17, 30)
