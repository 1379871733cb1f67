"""Working-day and working-hour arithmetic with the 2026 holiday calendar (pure, no database)."""

import importlib.util
from datetime import date, datetime, time
from pathlib import Path

import pytest

from geo.deadlines import (
    CHINA_TZ,
    HolidayCalendar,
    add_working_days,
    add_working_hours,
    compute_deadline,
    next_workday,
    resume_deadline,
)

MIGRATION = Path(__file__).resolve().parents[2] / "geo" / "migrations" / "versions" / "0003_dispatch.py"


def holiday_rows_2026() -> list[dict]:
    """The calendar rows exactly as migration 0003 seeds them."""
    spec = importlib.util.spec_from_file_location("dispatch_0003", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._holiday_rows()


def _cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.from_rows((r["day"], r["workday"]) for r in holiday_rows_2026())


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


def test_add_working_days_reads_utc_in_china_time(cal):
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
