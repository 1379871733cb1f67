"""Working-day and working-hour arithmetic for time limits (限期办结), with a holiday calendar.

Pure functions: the calendar is a value (`HolidayCalendar`), loaded from the `holidays` table by
geo.queries.events. Days count in China Standard Time. A time limit in working days ends at the
close of business of the N-th working day after the day of registration (that day does not count,
as in statutory periods); working hours count only office hours of working days; plain hours run day
and night (emergencies). Saturdays and Sundays are off unless the calendar makes them working days
(调休 adjusted working weekends); listed holidays are off even on weekdays.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")
UNITS = ("working_days", "working_hours", "hours")
_MAX_DAYS = 3660  # a limit longer than ten years is a data error, not a deadline


@dataclass(frozen=True)
class HolidayCalendar:
    """Days off beyond weekends and weekends that are worked."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    office_open: time = time(8, 30)
    office_close: time = time(17, 30)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[date, bool]], **hours: time) -> "HolidayCalendar":
        """Build from (day, workday) pairs as stored in the `holidays` table."""
        off, work = set(), set()
        for day, workday in rows:
            (work if workday else off).add(day)
        return cls(days_off=frozenset(off), workdays=frozenset(work), **hours)

    def is_workday(self, day: date) -> bool:
        """True for a working day: a weekday that is no holiday, or an adjusted working weekend."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.days_off


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("deadline arithmetic needs timezone-aware datetimes")
    return moment.astimezone(CHINA_TZ)


def next_workday(day: date, calendar: HolidayCalendar) -> date:
    """The first working day strictly after `day`."""
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        if calendar.is_workday(day):
            return day
    raise ValueError("no working day within ten years: check the holiday calendar")


def add_working_days(start: datetime, days: int, calendar: HolidayCalendar) -> datetime:
    """Close of business on the `days`-th working day after the day of `start`."""
    if days < 1 or days > _MAX_DAYS:
        raise ValueError(f"working days must be 1..{_MAX_DAYS}; got {days}")
    day = _local(start).date()
    for _ in range(days):
        day = next_workday(day, calendar)
    return datetime.combine(day, calendar.office_close, CHINA_TZ)


def add_working_hours(start: datetime, hours: float, calendar: HolidayCalendar) -> datetime:
    """The moment when `hours` of office time on working days have passed since `start`."""
    if not 0 < hours <= 24 * _MAX_DAYS:
        raise ValueError(f"working hours must be positive; got {hours}")
    remaining = timedelta(hours=hours)
    now = _local(start)
    for _ in range(_MAX_DAYS):
        opens = datetime.combine(now.date(), calendar.office_open, CHINA_TZ)
        closes = datetime.combine(now.date(), calendar.office_close, CHINA_TZ)
        if calendar.is_workday(now.date()) and now < closes:
            now = max(now, opens)
            if now + remaining <= closes:
                return now + remaining
            remaining -= closes - now
        now = datetime.combine(next_workday(now.date(), calendar), calendar.office_open, CHINA_TZ)
    raise ValueError("working hours run past ten years: check the holiday calendar")


def compute_deadline(start: datetime, amount: float, unit: str, calendar: HolidayCalendar) -> datetime:
    """The deadline of a time limit of `amount` `unit`s starting at `start`."""
    if unit == "working_days":
        return add_working_days(start, int(amount), calendar)
    if unit == "working_hours":
        return add_working_hours(start, amount, calendar)
    if unit == "hours":
        return _local(start) + timedelta(hours=amount)
    raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")


def resume_deadline(deadline: datetime, suspended_at: datetime, resumed_at: datetime) -> datetime:
    """挂账: the clock stood still while suspended, so the deadline moves by the paused time."""
    return deadline + max(resumed_at - suspended_at, timedelta(0))
