"""Working-day and working-hour arithmetic for time limits (限期办结), with a holiday calendar.

Pure functions: the calendar is a value (`HolidayCalendar`), loaded from the `holidays` and
`calendar_years` tables by geo.queries.timelimits. Days count in the county's zone (geo.clock.zone()).
A time limit in working days ends at the close of business of the N-th working day after the day of
registration (that day does not count, as in statutory periods); working hours count only office hours
of working days; plain hours run day and night (emergencies). Saturdays and Sundays are off unless the
calendar makes them working days (调休 adjusted working weekends); listed holidays are off even on weekdays.

A year that no calendar covers (`HolidayCalendar.years`: neither the chinesecalendar package nor an
imported State Council notice) is counted with weekends only, and the result says so: `Deadline.uncovered`
names those years and `Deadline.provisional` is true. A deadline carries its `basis`, the steps that made
it (the time limit, each extension, each pause), so that `replay` can count it again once the missing
year's calendar arrives. Steps are plain JSON-able dicts:

    {"step": "limit", "start": "2026-12-28T10:00:00+08:00", "amount": 5, "unit": "working_days"}
    {"step": "extend_days", "days": 3}      {"step": "extend_hours", "hours": 4.0}
    {"step": "pause", "seconds": 7200.0}    (挂账: the clock stood still that long)
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from geo import clock

UNITS = ("working_days", "working_hours", "hours")
_MAX_DAYS = 3660  # a limit longer than ten years is a data error, not a deadline

Step = dict[str, Any]


@dataclass(frozen=True)
class HolidayCalendar:
    """Days off beyond weekends, weekends that are worked, and the years whose arrangement is known."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    years: frozenset[int] = field(default_factory=frozenset)
    office_open: time = time(8, 30)
    office_close: time = time(17, 30)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[date, bool]], years: Iterable[int] = (), **hours: time
    ) -> "HolidayCalendar":
        """Build from (day, workday) pairs of `holidays` and the covered years of `calendar_years`."""
        off: set[date] = set()
        work: set[date] = set()
        for day, workday in rows:
            (work if workday else off).add(day)
        return cls(days_off=frozenset(off), workdays=frozenset(work), years=frozenset(years), **hours)

    def is_workday(self, day: date) -> bool:
        """True for a working day: a weekday that is no holiday, or an adjusted working weekend."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def uncovered(self, first: date, last: date) -> frozenset[int]:
        """The years from `first` to `last` (inclusive) whose holidays are unknown: weekends only there."""
        return frozenset(range(first.year, last.year + 1)) - self.years


@dataclass(frozen=True)
class Deadline:
    """A deadline, the years it counted with weekends only, and the steps that made it (None: unknown)."""

    at: datetime
    uncovered: frozenset[int] = field(default_factory=frozenset)
    basis: tuple[Step, ...] | None = ()

    @property
    def provisional(self) -> bool:
        """True when some year it counted through has no holiday calendar yet."""
        return bool(self.uncovered)


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("deadline arithmetic needs timezone-aware datetimes")
    return moment.astimezone(clock.zone())


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, clock.zone())


def next_workday(day: date, calendar: HolidayCalendar) -> date:
    """The first working day strictly after `day`."""
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        if calendar.is_workday(day):
            return day
    raise ValueError("no working day within ten years: check the holiday calendar")


def count_working_days(start: datetime, days: int, calendar: HolidayCalendar) -> Deadline:
    """Close of business on the `days`-th working day after the day of `start` (the days after it count)."""
    if days < 1 or days > _MAX_DAYS:
        raise ValueError(f"working days must be 1..{_MAX_DAYS}; got {days}")
    first = day = _local(start).date()
    for _ in range(days):
        day = next_workday(day, calendar)
    return Deadline(_at(day, calendar.office_close), calendar.uncovered(first + timedelta(days=1), day))


def count_working_hours(start: datetime, hours: float, calendar: HolidayCalendar) -> Deadline:
    """The moment when `hours` of office time on working days have passed since `start`."""
    if not 0 < hours <= 24 * _MAX_DAYS:
        raise ValueError(f"working hours must be positive; got {hours}")
    remaining = timedelta(hours=hours)
    now = _local(start)
    for _ in range(_MAX_DAYS):
        opens, closes = _at(now.date(), calendar.office_open), _at(now.date(), calendar.office_close)
        if calendar.is_workday(now.date()) and now < closes:
            now = max(now, opens)
            if now + remaining <= closes:
                end = now + remaining
                return Deadline(end, calendar.uncovered(_local(start).date(), end.date()))
            remaining -= closes - now
        now = _at(next_workday(now.date(), calendar), calendar.office_open)
    raise ValueError("working hours run past ten years: check the holiday calendar")


def add_working_days(start: datetime, days: int, calendar: HolidayCalendar) -> datetime:
    """Close of business on the `days`-th working day after the day of `start`."""
    return count_working_days(start, days, calendar).at


def add_working_hours(start: datetime, hours: float, calendar: HolidayCalendar) -> datetime:
    """The moment when `hours` of office time on working days have passed since `start`."""
    return count_working_hours(start, hours, calendar).at


def _count(start: datetime, amount: float, unit: str, calendar: HolidayCalendar) -> Deadline:
    if unit == "working_days":
        return count_working_days(start, int(amount), calendar)
    if unit == "working_hours":
        return count_working_hours(start, amount, calendar)
    if unit == "hours":
        return Deadline(_local(start) + timedelta(hours=amount))
    raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")


def time_limit(start: datetime, amount: float, unit: str, calendar: HolidayCalendar) -> Deadline:
    """The deadline of a time limit of `amount` `unit`s starting at `start`, with its basis."""
    step = {"step": "limit", "start": _local(start).isoformat(), "amount": amount, "unit": unit}
    return _apply(None, step, calendar)


def compute_deadline(start: datetime, amount: float, unit: str, calendar: HolidayCalendar) -> datetime:
    """The deadline of a time limit of `amount` `unit`s starting at `start`."""
    return time_limit(start, amount, unit, calendar).at


def extend(
    deadline: Deadline, calendar: HolidayCalendar, *, hours: float | None = None, days: int | None = None
) -> Deadline:
    """延期: the deadline moved on by clock hours or by working days (exactly one of them)."""
    if (hours is None) == (days is None):
        raise ValueError("an extension is either hours or working days")
    step = (
        {"step": "extend_days", "days": days}
        if days is not None
        else {"step": "extend_hours", "hours": hours}
    )
    return _apply(deadline, step, calendar)


def pause(deadline: Deadline, paused: timedelta) -> Deadline:
    """挂账 ended: the deadline moved on by the time the clock stood still."""
    return _apply(deadline, {"step": "pause", "seconds": paused.total_seconds()}, HolidayCalendar())


def replay(basis: Sequence[Mapping[str, Any]], calendar: HolidayCalendar) -> Deadline:
    """Count a deadline again from its steps, on `calendar` (e.g. once a missing year was imported)."""
    deadline = None
    for step in basis:
        deadline = _apply(deadline, step, calendar)
    if deadline is None:
        raise ValueError("a deadline basis needs at least its time limit")
    return deadline


def _apply(current: Deadline | None, step: Mapping[str, Any], calendar: HolidayCalendar) -> Deadline:
    """One step on from `current`: the new instant, the uncovered years so far, the basis so far."""
    kind = step.get("step")
    if kind == "limit":
        if current is not None:
            raise ValueError("a deadline basis has one time limit, as its first step")
        moved = _count(datetime.fromisoformat(step["start"]), step["amount"], step["unit"], calendar)
        return Deadline(moved.at, moved.uncovered, (dict(step),))
    if current is None:
        raise ValueError(f"a deadline basis starts with its time limit; got {kind!r} first")
    if kind == "extend_days":
        moved = count_working_days(current.at, int(step["days"]), calendar)
    elif kind == "extend_hours":
        moved = Deadline(_local(current.at) + timedelta(hours=float(step["hours"])))
    elif kind == "pause":
        moved = Deadline(_local(current.at) + timedelta(seconds=max(float(step["seconds"]), 0.0)))
    else:
        raise ValueError(f"unknown deadline step {kind!r}")
    basis = None if current.basis is None else (*current.basis, dict(step))
    return Deadline(moved.at, current.uncovered | moved.uncovered, basis)


def resume_deadline(deadline: datetime, suspended_at: datetime, resumed_at: datetime) -> datetime:
    """挂账: the clock stood still while suspended, so the deadline moves by the paused time."""
    return deadline + max(resumed_at - suspended_at, timedelta(0))
