"""The holiday calendar in the database: whole years written from a source, listed, and the deadlines
they change counted again.

`store_calendar` replaces every day of the source's years in `holidays`, records each year in
`calendar_years` (source, detail, when, by whom), and replays in the same transaction every deadline
whose counting went through one of those years: the provisional ones (counted with weekends only) and
those a corrected year now counts differently. `sync_library` does this for the years of the
chinesecalendar package that the database does not yet hold from it; `gridgov migrate` runs it. A year
imported from a notice file is never overwritten by the package. Nothing here commits.
"""

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.deadlines import HolidayCalendar, replay
from geo.errors import InvalidInputError
from geo.io.holidays import LIBRARY, CalendarSource, library_source, read_notice
from geo.queries.events import log_step
from geo.queries.timelimits import deadline_columns, load_calendar

_LIST = text("""
SELECT y.year, y.source, y.detail, y.imported_at, y.imported_by,
       count(h.day) FILTER (WHERE NOT h.workday) AS days_off,
       count(h.day) FILTER (WHERE h.workday) AS workdays
FROM calendar_years y
LEFT JOIN holidays h ON h.day >= make_date(y.year, 1, 1) AND h.day < make_date(y.year + 1, 1, 1)
GROUP BY y.year ORDER BY y.year
""")
_RECORD = text("""
INSERT INTO calendar_years (year, source, detail, imported_at, imported_by)
VALUES (:year, :source, :detail, :at, :actor)
ON CONFLICT (year) DO UPDATE SET source = excluded.source, detail = excluded.detail,
    imported_at = excluded.imported_at, imported_by = excluded.imported_by
""")
_PUT_DAY = text("""
INSERT INTO holidays (day, workday, name) VALUES (:day, :workday, :name)
ON CONFLICT (day) DO UPDATE SET workday = excluded.workday, name = excluded.name
""")
# Deadlines whose counting may have gone through one of :years: those provisional for one of them
# (the GIN index), and, for a year that was already known and is corrected, any deadline counted from
# a start up to its instant spanning it (a scan: an import happens a few times a year).
_TOUCHED = text("""
SELECT id, status, deadline_at, deadline_basis, deadline_uncovered_years FROM events
WHERE deadline_basis IS NOT NULL
  AND (deadline_uncovered_years && CAST(:years AS smallint[])
       OR EXISTS (
           SELECT 1 FROM unnest(CAST(:corrected AS smallint[])) AS y(year)
           WHERE y.year BETWEEN
                 extract(year FROM CAST(deadline_basis->0->>'start' AS timestamptz) AT TIME ZONE :tz)
             AND extract(year FROM deadline_at AT TIME ZONE :tz)))
ORDER BY id
FOR UPDATE
""")
_DROP_YEAR = text("DELETE FROM holidays WHERE day >= :first AND day < :after")
_SET_DEADLINE = text(
    "UPDATE events SET deadline_at = :deadline_at, "
    "deadline_uncovered_years = CAST(:deadline_uncovered_years AS smallint[]) WHERE id = :id"
)


def list_calendar_years(session: Session) -> list[dict[str, Any]]:
    """Every covered year: its source, detail, import time and actor, and how many days off and worked."""
    return [dict(r) for r in session.execute(_LIST).mappings()]


def _covered(session: Session) -> dict[int, tuple[str, str]]:
    rows = session.execute(text("SELECT year, source, detail FROM calendar_years"))
    return {r.year: (r.source, r.detail) for r in rows}


def _check_spill(session: Session, source: CalendarSource) -> None:
    """December days of a year outside the file go into a year the database already covers, or nowhere."""
    covered = _covered(session)
    for day in source.days:
        if day.day.year in source.years or day.day.year in covered:
            continue
        line = source.lines.get(day.day)
        raise InvalidInputError(
            f"第 {line} 行：{day.day} 属于 {day.day.year} 年，数据库中还没有 {day.day.year} 年的日历；"
            f"请先导入 {day.day.year} 年的全部安排，或把这几天并入 {day.day.year} 年的文件",
            where=f"row {line}, date",
        )


def store_calendar(session: Session, source: CalendarSource, *, actor: str) -> dict[str, Any]:
    """Write the source's whole years (and its December days of the year before), then replay deadlines."""
    _check_spill(session, source)
    before = _covered(session)
    years = sorted(source.years)
    _replace_days(session, source, years)
    _record_years(session, source, years, actor)
    touched = sorted(source.years | source.spill_years())
    corrected = [y for y in touched if y in before]
    recomputed = recompute_deadlines(session, touched, corrected=corrected, actor=actor)
    return {
        "years": years,
        "spill_years": sorted(source.spill_years()),
        "days_off": sum(not d.workday for d in source.days),
        "workdays": sum(d.workday for d in source.days),
        "recomputed": recomputed,
        "source": source.source,
        "detail": source.detail,
    }


def _replace_days(session: Session, source: CalendarSource, years: list[int]) -> None:
    """Delete every day of the years, then write the source's days (its December spill among them)."""
    for year in years:
        session.execute(_DROP_YEAR, {"first": date(year, 1, 1), "after": date(year + 1, 1, 1)})
    rows = [{"day": d.day, "workday": d.workday, "name": d.name} for d in source.days]
    if rows:
        session.execute(_PUT_DAY, rows)


def _record_years(session: Session, source: CalendarSource, years: list[int], actor: str) -> None:
    """Note where each year now comes from, when and by whom (calendar_years)."""
    at = clock.now()
    session.execute(
        _RECORD,
        [
            {"year": y, "source": source.source, "detail": source.detail, "at": at, "actor": actor}
            for y in years
        ],
    )


def import_notice(session: Session, path: str | Path, *, actor: str) -> dict[str, Any]:
    """`gridgov calendar import`: check a notice file whole, then store its years (see store_calendar)."""
    return store_calendar(session, read_notice(path), actor=actor)


def _library_due(held: tuple[str, str] | None, detail: str) -> bool:
    """A package year is written when the database lacks it or holds it from another package version."""
    return held is None or (held[0] == LIBRARY and held[1] != detail)


def sync_library(session: Session, *, actor: str = "gridgov migrate") -> dict[str, Any] | None:
    """Store the package's years not yet held from this version of it (notice years stay); idempotent."""
    source = library_source()
    covered = _covered(session)
    todo = frozenset(y for y in source.years if _library_due(covered.get(y), source.detail))
    if not todo:
        return None
    days = tuple(d for d in source.days if d.day.year in todo)
    return store_calendar(session, CalendarSource(todo, days, LIBRARY, source.detail), actor=actor)


def recompute_deadlines(
    session: Session, years: Iterable[int], *, corrected: Iterable[int] = (), actor: str
) -> int:
    """Replay the deadlines counted through `years` on the calendar as it now is; how many changed."""
    calendar = load_calendar(session)
    params = {"years": sorted(years), "corrected": sorted(corrected), "tz": str(clock.zone())}
    rows = session.execute(_TOUCHED, params).all()
    return sum(_replay_deadline(session, row, calendar, actor) for row in rows)


def _replay_deadline(session: Session, row: Any, calendar: HolidayCalendar, actor: str) -> bool:
    """Count one case's deadline again; store and log it when it moved (True)."""
    new = replay(row.deadline_basis, calendar)
    if new.at == row.deadline_at and new.uncovered == frozenset(row.deadline_uncovered_years):
        return False
    columns = deadline_columns(new)
    session.execute(_SET_DEADLINE, {"id": row.id, **columns})
    data = {
        "from_deadline": row.deadline_at,
        "to_deadline": new.at,
        "from_uncovered_years": list(row.deadline_uncovered_years),
        "deadline_uncovered_years": columns["deadline_uncovered_years"],
    }
    log_step(
        session, row, actor, "recompute_deadline", note="节假日日历更新，按新日历重算办理时限", data=data
    )
    return True
