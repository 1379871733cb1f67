"""Which events a heatmap counts: the filter (kind, local dates, categories, statuses), checked, and its SQL.

Every query is restricted to the requester's area: rows whose grid_code starts with `area`.
The heat cells themselves are in geo.queries.heat.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from geo import clock
from geo.errors import InvalidInputError
from geo.models import EVENT_STATUSES
from geo.queries.area import area_range

EVENT_LAYERS = {"disputes": "dispute", "hazards": "hazard", "appeals": "appeal"}


@dataclass(frozen=True)
class EventFilter:
    """Which events a heatmap counts: one kind, a local-date range (inclusive), categories, statuses."""

    kind: str
    since: date | None = None
    until: date | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def params(self, area: str) -> dict[str, Any]:
        """Bound parameters of the filter; dates become [since 00:00, until+1 00:00) in the county's zone."""
        start = clock.midnight(self.since) if self.since else None
        end = clock.midnight(self.until + timedelta(days=1)) if self.until else None
        return {
            "tz": clock.zone().key,
            "kind": self.kind,
            **area_range(area),
            "since": start,
            "until": end,
            "cats": list(self.categories) or None,
            "sts": list(self.statuses) or None,
        }


def _parse_date(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{name} must be a date YYYY-MM-DD; got {value!r}", where=name) from None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def parse_event_filter(
    session: Session,
    layer: str,
    since: str | None = None,
    until: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> EventFilter:
    """Check heatmap parameters (raising InvalidInputError naming the field) and build the filter."""
    if layer not in EVENT_LAYERS:
        raise InvalidInputError(
            f"layer must be one of {', '.join(EVENT_LAYERS)}; got {layer!r}", where="layer"
        )
    kind = EVENT_LAYERS[layer]
    start, end = _parse_date(since, "from"), _parse_date(until, "to")
    if start and end and start > end:
        raise InvalidInputError(f"from ({start}) is after to ({end})", where="from")
    cats, sts = _split(category), _split(status)
    _check_codes(session, kind, cats, sts)
    return EventFilter(kind, start, end, cats, sts)


def _check_codes(session: Session, kind: str, cats: tuple[str, ...], sts: tuple[str, ...]) -> None:
    """Every category is one of the kind's and every status a known one (InvalidInputError naming it)."""
    known = set(list_category_codes(session, kind))
    if bad := [c for c in cats if c not in known]:
        raise InvalidInputError(
            f"unknown {kind} category {bad[0]!r}; known: {', '.join(sorted(known))}", where="category"
        )
    if bad := [s for s in sts if s not in EVENT_STATUSES]:
        raise InvalidInputError(
            f"unknown status {bad[0]!r}; known: {', '.join(EVENT_STATUSES)}", where="status"
        )


def list_category_codes(session: Session, kind: str) -> list[str]:
    """Category codes of one event kind."""
    rows = session.execute(
        text("SELECT code FROM categories WHERE kind = :k ORDER BY sort_order"), {"k": kind}
    )
    return [r[0] for r in rows]


def list_category_labels(session: Session) -> dict[str, str]:
    """Chinese label of every category code."""
    return dict(session.execute(text("SELECT code, label_zh FROM categories")).all())


# The WHERE clause of a filtered event query over `events e`, and the array types of its parameters.
FILTER_WHERE = """
WHERE e.kind = :kind AND e.grid_code ~>=~ :lo AND e.grid_code ~<~ :hi
  AND (CAST(:since AS timestamptz) IS NULL OR e.reported_at >= CAST(:since AS timestamptz))
  AND (CAST(:until AS timestamptz) IS NULL OR e.reported_at < CAST(:until AS timestamptz))
  AND (CAST(:cats AS text[]) IS NULL OR e.category = ANY(CAST(:cats AS text[])))
  AND (CAST(:sts AS text[]) IS NULL OR e.status = ANY(CAST(:sts AS text[])))
"""
FILTER_ARRAYS = (bindparam("cats", type_=ARRAY(Text)), bindparam("sts", type_=ARRAY(Text)))

_COUNT = text("SELECT count(*) FROM events e" + FILTER_WHERE).bindparams(*FILTER_ARRAYS)


def count_events(session: Session, area: str, flt: EventFilter) -> int:
    """Number of events matching the filter in the area."""
    return int(session.execute(_COUNT, flt.params(area)).scalar_one())
