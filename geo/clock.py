"""The one "now" of the product, and the county's time zone.

Every business time comes from here: "today" on the big screen, report periods and their cut-off,
deadlines, overdue, "as of" of every analysis, the demo year. SQL never asks PostgreSQL for the time
of a business fact: statements take `now` as a bound parameter. PostgreSQL's own `now()` and
`clock_timestamp()` stamp only technical rows (audit log, row versions), which say when the database
wrote something, not when it happened.

The clock is process-wide and injectable: `pinned(at)` freezes it (tests), `advance(...)` moves a pinned
clock on, and `use(clock)` installs any object with `now()`. Times are aware datetimes in the county's
zone (`zone()`, the setting GRID_TIME_ZONE, Asia/Shanghai by default), so `.date()` is the county's day.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from geo.settings import get_time_settings


class Clock(Protocol):
    """Anything that tells the current instant (timezone-aware)."""

    def now(self) -> datetime:
        """The current instant."""
        ...


class SystemClock:
    """The machine's clock (what production runs on)."""

    def now(self) -> datetime:
        """The system time, timezone-aware."""
        return datetime.now(UTC)


class PinnedClock:
    """A clock that stands still at one instant until told to move (tests, reproducible runs)."""

    def __init__(self, at: datetime) -> None:
        """Pin the clock at `at` (must be timezone-aware)."""
        self.at = _aware(at)

    def now(self) -> datetime:
        """The pinned instant."""
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        """Move the pinned instant on by `delta`; returns the new instant."""
        self.at = self.at + delta
        return self.at


_current: list[Clock] = [SystemClock()]


@lru_cache
def zone() -> ZoneInfo:
    """The county's time zone: every day, week, month and quarter boundary, and every time shown."""
    return ZoneInfo(get_time_settings().zone)


def now() -> datetime:
    """The product's current instant, in the county's zone."""
    return _current[-1].now().astimezone(zone())


def today() -> date:
    """The county's current day."""
    return now().date()


def local(moment: datetime) -> datetime:
    """An aware instant shown in the county's zone."""
    return _aware(moment).astimezone(zone())


def midnight(day: date) -> datetime:
    """The start of a county day (00:00 in the county's zone)."""
    return datetime.combine(day, time(), zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a county day."""
    return midnight(day), midnight(day + timedelta(days=1))


def zone_label() -> str:
    """How the county's zone is named next to a time: 北京时间 for China's, else the zone's name."""
    return "北京时间" if zone().key in ("Asia/Shanghai", "Asia/Chongqing", "PRC") else zone().key


def show(moment: datetime | str | None) -> str:
    """A time as people in the county read it: 2026-11-27 09:30（北京时间）."""
    if moment is None or moment == "":
        return ""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return f"{local(value):%Y-%m-%d %H:%M}（{zone_label()}）"


def current() -> Clock:
    """The clock in use."""
    return _current[-1]


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Run the block on another clock (restored afterwards)."""
    _current.append(clock)
    try:
        yield clock
    finally:
        _current.remove(clock)


@contextmanager
def pinned(at: datetime) -> Iterator[PinnedClock]:
    """Run the block with the clock pinned at `at` (see PinnedClock.advance)."""
    with use(PinnedClock(at)) as clock:
        yield clock  # type: ignore[misc]


def advance(delta: timedelta) -> datetime:
    """Move the pinned clock in use on by `delta` (the system clock cannot be moved)."""
    clock = current()
    if not isinstance(clock, PinnedClock):
        raise RuntimeError("only a pinned clock can be advanced")
    return clock.advance(delta)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"times must be timezone-aware; got {moment!r}")
    return moment
