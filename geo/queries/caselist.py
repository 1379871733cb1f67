"""The dispatcher's case lists: one query with server-side filters, search, sort and pages.

    list_cases(session, area, CaseQuery(view="queue", deadline="overdue", page=2)) -> {total, items, ...}

Views: `queue` (待派遣: reported or registered, nobody assigned, not referred out), `open` (在办),
`referred` (移交在外), `all`. Deadline filters use the one definition of 超期 (geo.queries.figures) and
the desk's "due soon" window. The WHERE clause is put together from the fixed fragments below; every
value is a bound parameter. The total comes with the page (count(*) OVER ()).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo import clock
from geo.errors import InvalidInputError
from geo.models import EVENT_STATUSES
from geo.queries import figures as f
from geo.queries.area import area_range, in_area

VIEWS = {
    "queue": "e.status IN ('reported', 'registered') AND e.assignee_id IS NULL "
    "AND e.referral_status IS DISTINCT FROM 'referred'",
    "open": f.open_now("e", ":at"),
    "referred": f"e.referral_status = 'referred' AND {f.open_now('e', ':at')}",
    "all": "true",
}
DEADLINES = {
    "overdue": f.overdue_at("e", ":at"),
    "due_soon": "e.status IN ('registered', 'dispatched', 'in_progress') AND e.suspended_at IS NULL "
    "AND e.deadline_at >= :at AND e.deadline_at < :soon",
    "suspended": f"e.suspended_at IS NOT NULL AND {f.open_now('e', ':at')}",
    "none": "e.deadline_at IS NULL",
}
SORTS = {
    "priority": "e.severity DESC, e.deadline_at ASC NULLS LAST, e.reported_at, e.id",
    "newest": "e.reported_at DESC, e.id DESC",
    "oldest": "e.reported_at, e.id",
    "deadline": "e.deadline_at ASC NULLS LAST, e.severity DESC, e.id",
}
_FILTERS = {
    "statuses": "e.status = ANY(:statuses)",
    "category": "e.category = :category",
    "township": in_area("e.grid_code", "township", "township_hi"),
    "q": "(e.title ILIKE :pattern ESCAPE '\\' OR CAST(e.id AS text) = :q)",
}
_SELECT = f"""
SELECT e.id, e.kind, e.category, e.severity, e.status, e.title, e.grid_code, t.name AS township,
       e.reported_at, e.deadline_at, e.deadline_provisional, {f.overdue_at("e", ":at")} AS overdue,
       e.suspended_at, e.referral, e.referral_status, e.escalation_level, e.assignee_id,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, count(*) OVER () AS total
FROM events e
LEFT JOIN grids t ON t.code = left(e.grid_code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
"""
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class CaseQuery:
    """What the desk asks for: a view, filters, a search text, a sort and a page (1-based)."""

    view: str = "queue"
    statuses: tuple[str, ...] = ()
    category: str | None = None
    township: str | None = None
    deadline: str | None = None
    q: str = ""
    sort: str = "priority"
    page: int = 1
    per_page: int = 20
    due_soon_h: float = 24.0

    def check(self, area: str) -> None:
        """InvalidInputError naming the parameter that is not one of the choices."""
        for name, value, allowed in (
            ("view", self.view, VIEWS),
            ("deadline", self.deadline or "none", DEADLINES),
            ("sort", self.sort, SORTS),
        ):
            if value not in allowed:
                raise InvalidInputError(f"{name} 须为 {'、'.join(allowed)} 之一；收到 {value!r}", where=name)
        if bad := [s for s in self.statuses if s not in EVENT_STATUSES]:
            raise InvalidInputError(
                f"未知的状态 {bad[0]!r}；可选：{'、'.join(EVENT_STATUSES)}", where="status"
            )
        if self.township and not (self.township.isdigit() and len(self.township) == 9):
            raise InvalidInputError(f"township 须为 9 位乡镇编码；收到 {self.township!r}", where="township")
        if not 1 <= self.per_page <= MAX_PER_PAGE or self.page < 1:
            raise InvalidInputError(f"page ≥ 1，per_page 在 1..{MAX_PER_PAGE} 之间", where="per_page")


def _where(query: CaseQuery) -> list[str]:
    parts = [in_area("e.grid_code"), VIEWS[query.view]]
    if query.deadline:
        parts.append(DEADLINES[query.deadline])
    given = {"statuses": query.statuses, "category": query.category, "township": query.township, "q": query.q}
    return parts + [_FILTERS[name] for name, value in given.items() if value]


def _pattern(q: str) -> str:
    """An ILIKE pattern matching q anywhere, its own %, _ and \\ taken literally."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_cases(session: Session, area: str, query: CaseQuery) -> dict[str, Any]:
    """One page of the area's cases as the desk asked (see CaseQuery), with the total and the page."""
    query.check(area)
    sql = _page_sql(query)
    params = _page_params(area, query, clock.now())
    rows = [dict(r) for r in session.execute(sql, params).mappings()]
    total = rows[0].pop("total") if rows else _count(session, sql, params, query)
    for row in rows:
        row.pop("total", None)
    pages = max(1, -(-total // query.per_page))
    return {"total": total, "page": query.page, "per_page": query.per_page, "pages": pages, "items": rows}


def _page_sql(query: CaseQuery) -> Any:
    """The page's statement, from the fixed fragments of what the query asks."""
    sql = text(
        _SELECT + "WHERE " + " AND ".join(f"({p})" for p in _where(query)) + f"\nORDER BY {SORTS[query.sort]}"
        "\nLIMIT :limit OFFSET :offset"
    )
    if query.statuses:
        sql = sql.bindparams(bindparam("statuses", type_=ARRAY(Text)))
    return sql


def _page_params(area: str, query: CaseQuery, now: datetime) -> dict[str, Any]:
    """The values the page's statement binds (every fragment's, used or not), at `now`."""
    return {
        **area_range(area),
        "at": now,
        "soon": now + timedelta(hours=query.due_soon_h),
        "statuses": list(query.statuses),
        "category": query.category,
        "township": query.township or "",
        "township_hi": (query.township or "") + ":",
        "q": query.q.strip(),
        "pattern": _pattern(query.q.strip()),
        "limit": query.per_page,
        "offset": (query.page - 1) * query.per_page,
    }


def _count(session: Session, sql: Any, params: dict[str, Any], query: CaseQuery) -> int:
    """The total when the page asked for lies past the end (the first page then says it)."""
    if query.page == 1:
        return 0
    first = session.execute(sql, {**params, "limit": 1, "offset": 0}).mappings().first()
    return int(first["total"]) if first else 0
