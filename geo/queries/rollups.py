"""Headline figures from the roll-ups (grid_days, grid_totals: migration 0061), exactly as figures.py counts.

The roll-ups hold every case as if the instant asked were now and everything were known: grid_totals
the cases open now, grid_days what was reported, accepted, closed and fell due on each county day. A
figure at instant T (and a report's cut-off C) is the roll-up sum plus, for the few cases whose answer
differs (reported or closed after T, entered after C, or falling due on T's own day), the definition of
figures.py minus what the roll-up counted for them. Those cases are found by index (events_kind_time,
events_closed_time, events_created_time, events_deadline_open), so a province's figures at now read
grids, not 1.5 million events; for an instant long past the correction grows with what happened since.

Groups: None (the area's total), or "kind", "category" ((kind, category)), "grid", "village",
"township", "county", "city" (the code prefix of that level).
"""

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.queries import figures as f
from geo.queries.area import area_range

FAR_FUTURE = datetime.fromisoformat("9999-12-31T00:00:00+00:00")
PREFIX = {"grid": 15, "village": 12, "township": 9, "county": 6, "city": 4, "province": 2}
_RUNS = f.CLOCK_RUNS
INSTANT = ("open", "overdue")
WINDOW = ("new", "accepted", "resolved", "closed", "wage_recovered", "wage_workers", "wage_paid_workers")


def _group(col: str, group: str | None, kind: str = "kind", category: str = "category") -> str:
    """The SELECT expression(s) of a group, over a grid-code column `col`."""
    if group is None:
        return "''"
    if group == "kind":
        return kind
    if group == "category":
        return f"{kind} || '|' || {category}"
    return f"left({col}, {PREFIX[group]})"


def _rows(session: Session, sql: str, params: dict, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(names, 0))
    for row in session.execute(text(sql), params):
        acc = out[row[0]]
        for name, value in zip(names, row[1:], strict=True):
            acc[name] += value or 0
    return out


def _merge(*parts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for part in parts:
        for key, values in part.items():
            acc = out.setdefault(key, dict.fromkeys(values, 0))
            for name, value in values.items():
                acc[name] = acc.get(name, 0) + value
    return out


# What grid_days/grid_totals count for one case (the trigger of 0061, restated).
_ROLLED_OPEN = "(e.status NOT IN ('rejected', 'duplicate') AND e.closed_at IS NULL)"
_ROLLED_DUE = (
    f"(e.status IN {_RUNS} AND e.deadline_at IS NOT NULL AND e.deadline_at < :day_start "
    "AND (e.suspended_at IS NULL OR e.deadline_at < e.suspended_at))"
)


_KNOWN = "e.created_at <= :cutoff"


def _instant_rolled(group: str | None) -> str:
    """What the roll-ups count open (grid_totals) and fallen due before the day (grid_days)."""
    g = _group("grid_code", group)
    return f"""
SELECT {g}, sum(open), 0 FROM grid_totals
WHERE grid_code ~>=~ :lo AND grid_code ~<~ :hi GROUP BY 1
UNION ALL
SELECT {g}, 0, sum(falls_due) FROM grid_days
WHERE falls_due <> 0 AND day < :day AND grid_code ~>=~ :lo AND grid_code ~<~ :hi GROUP BY 1"""


def _instant_correction(group: str | None, open_now: bool) -> str:
    """The correction for cases whose answer at :at differs from the roll-ups' (figures.py - roll-ups)."""
    g_events = _group("e.grid_code", group, "e.kind", "e.category")
    is_open = f.open_now("e", ":at") if open_now else f.open_at("e", ":at")
    return f"""
SELECT {g_events},
    sum(({_KNOWN} AND {is_open})::int - {_ROLLED_OPEN}::int),
    sum(({_KNOWN} AND {f.overdue_at("e", ":at")})::int - {_ROLLED_DUE}::int)
FROM events e
WHERE e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
  AND (e.kind = ANY(:kinds) AND e.reported_at > :at OR e.closed_at > :at OR e.created_at > :cutoff
       OR e.status IN {_RUNS} AND e.deadline_at >= :day_start AND e.deadline_at < :day_end)
GROUP BY 1"""


def instant(
    session: Session,
    area: str,
    at: datetime,
    *,
    group: str | None = None,
    cutoff: datetime | None = None,
    open_now: bool = False,
) -> dict[str, dict[str, int]]:
    """在办 (open) and 超期 (overdue) of the area at `at`, per group, counting only cases entered by
    `cutoff` (default: all). `open_now` counts open as the present-instant figure (figures.open_now)."""
    params = _instant_params(area, clock.local(at), cutoff)
    rolled, correction = _instant_rolled(group), _instant_correction(group, open_now)
    return _merge(_rows(session, rolled, params, INSTANT), _rows(session, correction, params, INSTANT))


def _instant_params(area: str, at: datetime, cutoff: datetime | None) -> dict[str, Any]:
    """The values the instant queries bind: `at` (in the county's zone), its county day and the cut-off."""
    day = at.date()
    return {
        **area_range(area),
        "at": at,
        "day": day,
        "day_start": clock.midnight(day),
        "day_end": clock.midnight(date.fromordinal(day.toordinal() + 1)),
        "cutoff": cutoff or FAR_FUTURE,
        "kinds": ["dispute", "hazard", "appeal"],
    }


def _grouping(
    groups: tuple[str | None, ...], col: str, kind: str = "kind", category: str = "category"
) -> tuple[str, str]:
    """(the SELECT's leading columns, its GROUP BY) of several groups in one scan: GROUPING SETS, the
    set's GROUPING() bitmask first (`_split` reads it), then each group's key (NULL outside its set)."""
    exprs = [_group(col, g, kind, category) for g in groups]
    keys = [e for g, e in zip(groups, exprs, strict=True) if g is not None]
    sets = ", ".join("()" if g is None else f"({e})" for g, e in zip(groups, exprs, strict=True))
    mask = f"GROUPING({', '.join(keys)})" if keys else "0"
    return ", ".join((mask, *keys)), f"GROUP BY GROUPING SETS ({sets})"


def _split(
    rows: Any, groups: tuple[str | None, ...], names: tuple[str, ...]
) -> dict[str | None, dict[str, dict[str, Any]]]:
    """Rows of a `_grouping` query, per group: {group: {key: {name: value}}} ('' the key of None)."""
    keyed = [g for g in groups if g is not None]
    full = (1 << len(keyed)) - 1
    which = {full & ~(1 << (len(keyed) - 1 - i)): g for i, g in enumerate(keyed)} | {full: None}
    out: dict[str | None, dict[str, dict[str, Any]]] = {
        g: defaultdict(lambda: dict.fromkeys(names, 0)) for g in groups
    }
    for row in rows:
        group = which[row[0]]
        key = "" if group is None else row[1 + keyed.index(group)]
        acc = out[group][key]
        for name, value in zip(names, row[1 + len(keyed) :], strict=True):
            acc[name] += value or 0
    return out


# The parts of a window's correction: entered by the cut-off, reported or closed in [a, b), resolved.
_REPORTED = "(e.reported_at >= :a AND e.reported_at < :b)"
_CLOSED = "(e.status = 'closed' AND e.closed_at >= :a AND e.closed_at < :b)"
_CLOSED_KNOWN = f"({_KNOWN} AND {_CLOSED} AND e.closed_at <= :closed_by)"
_RESOLVED = f"({f.accepted('e')} AND {_REPORTED} AND e.status = 'closed')"
_PAID = "CASE WHEN e.wage_recovered > 0 THEN coalesce(e.wage_workers, 0) ELSE 0 END"


def _window_rolled(groups: tuple[str | None, ...], wages_only: bool) -> str:
    """The window's figures as grid_days counts them, per group (one scan: _grouping)."""
    g_days, by_days = _grouping(groups, "grid_code")
    wages = "AND (wage_recovered <> 0 OR wage_workers <> 0)" if wages_only else ""  # grid_days_wages
    return f"""
SELECT {g_days}, sum(opened), sum(accepted), sum(resolved), sum(closed), sum(wage_recovered),
       sum(wage_workers), sum(wage_paid_workers)
FROM grid_days WHERE day >= :day_a AND day < :day_b AND grid_code ~>=~ :lo AND grid_code ~<~ :hi {wages}
{by_days}"""


def _window_correction(groups: tuple[str | None, ...]) -> str:
    """The correction for cases entered after the cut-off or closed after a limit (figures.py - roll-ups)."""
    g_events, by_events = _grouping(groups, "e.grid_code", "e.kind", "e.category")
    return f"""
SELECT {g_events},
    -sum(({f.new_in("e", ":a", ":b")} AND NOT {_KNOWN})::int),
    -sum(({f.accepted("e")} AND {_REPORTED} AND NOT {_KNOWN})::int),
    sum(({_RESOLVED} AND {_KNOWN} AND e.closed_at <= :resolved_by)::int - {_RESOLVED}::int),
    sum({_CLOSED_KNOWN}::int - {_CLOSED}::int),
    sum(CASE WHEN {_CLOSED_KNOWN} THEN 0 WHEN {_CLOSED} THEN -coalesce(e.wage_recovered, 0) ELSE 0 END),
    sum(CASE WHEN {_CLOSED_KNOWN} THEN 0 WHEN {_CLOSED} THEN -coalesce(e.wage_workers, 0) ELSE 0 END),
    sum(CASE WHEN {_CLOSED_KNOWN} THEN 0 WHEN {_CLOSED} THEN -{_PAID} ELSE 0 END)
FROM events e
WHERE e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
  AND (e.created_at > :cutoff OR e.closed_at > least(:resolved_by, :closed_by))
  AND ({_REPORTED} OR e.closed_at >= :a AND e.closed_at < :b)
{by_events}"""


def windows(
    session: Session,
    area: str,
    start: date,
    end: date,
    groups: tuple[str | None, ...],
    *,
    resolved_by: datetime | None = None,
    closed_by: datetime | None = None,
    cutoff: datetime | None = None,
    wages_only: bool = False,
) -> dict[str | None, dict[str, dict[str, Any]]]:
    """`window` for several groups at once, in one scan of the roll-ups (and one of the corrections):
    {group: its window}. A province's quarter is millions of roll-up rows; a report wants three groups."""
    if len(set(groups)) != len(groups):
        raise ValueError(f"groups must differ; got {groups!r}")
    params = _window_params(area, start, end, resolved_by=resolved_by, closed_by=closed_by, cutoff=cutoff)
    queries = (_window_rolled(groups, wages_only), _window_correction(groups))
    parts = [_split(session.execute(text(sql), params), groups, WINDOW) for sql in queries]
    return {g: _merge(parts[0][g], parts[1][g]) for g in groups}


def _window_params(
    area: str,
    start: date,
    end: date,
    *,
    resolved_by: datetime | None,
    closed_by: datetime | None,
    cutoff: datetime | None,
) -> dict[str, Any]:
    """The values the window queries bind: the county days [start, end), their instants, the limits."""
    return {
        **area_range(area),
        "day_a": start,
        "day_b": end,
        "a": clock.midnight(start),
        "b": clock.midnight(end),
        "resolved_by": resolved_by or FAR_FUTURE,
        "closed_by": closed_by or FAR_FUTURE,
        "cutoff": cutoff or FAR_FUTURE,
    }


def window(
    session: Session,
    area: str,
    start: date,
    end: date,
    *,
    group: str | None = None,
    resolved_by: datetime | None = None,
    closed_by: datetime | None = None,
    cutoff: datetime | None = None,
    wages_only: bool = False,
) -> dict[str, dict[str, Any]]:
    """Figures of the county days [start, end) per group: 新增 (new), accepted, resolved (accepted
    and 结案 by `resolved_by`), closed in the window (by `closed_by`), wages of those closed; only
    cases entered by `cutoff` count (defaults: no limit). `wages_only`: only the wage sums are wanted
    (the other figures come out short), read from the few rows that hold wages."""
    limits = {"resolved_by": resolved_by, "closed_by": closed_by, "cutoff": cutoff, "wages_only": wages_only}
    return windows(session, area, start, end, (group,), **limits)[group]


def total(groups: dict[str, dict[str, Any]], name: str) -> Any:
    """The sum of one figure over all groups."""
    return sum(g.get(name, 0) for g in groups.values())
