"""Write demo plans with COPY (psycopg 3), in the caller's transaction.

Ids come from each table's identity sequence, reserved in blocks up front, so children can name
their parent and events their small grid without a round trip per row. Events carry the grid the
builder computed with the database's own rule, so the per-row trigger is switched off for the COPY
(`gridgov.grid_assigned = 'on'`) and one set-based query checks (and would fix) the result.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import WGS84
from geo.demo.build import CountyPlan, CountySpec, Level, as_multi

LEVEL_ORDER = ("county", "township", "village", "grid")
_GRID_COLUMNS = ["id", "code", "name", "level", "parent_id", "geom", "valid_from", "synthetic"]


@contextmanager
def bulk_settings(session: Session) -> Iterator[None]:
    """No statement timeout while loading; restore the caller's settings afterwards (same transaction)."""
    get = "SELECT current_setting(:name, true)"
    saved = {
        n: session.execute(text(get), {"name": n}).scalar()
        for n in ("statement_timeout", "gridgov.grid_assigned", "gridgov.cores_deferred")
    }
    _set(session, "statement_timeout", "0")
    _set(session, "gridgov.cores_deferred", "on")  # the loader refreshes every core at the end
    try:
        yield
    finally:
        for name, value in saved.items():
            _set(session, name, value or ("0" if name == "statement_timeout" else ""))


# Secondary indexes and foreign keys of a table, as the catalog states them (so that later
# migrations are honoured): dropping them for a bulk load and re-creating them after is several
# times faster than maintaining them row by row. Primary and unique keys stay.
_INDEXES = text("""
SELECT quote_ident(i.indexname), i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = :t
  AND i.indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))
ORDER BY i.indexname
""")
_FOREIGN_KEYS = text("""
SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname
""")


@contextmanager
def without_indexes(session: Session, tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the secondary indexes and foreign keys of (empty) tables, and re-create them on exit."""
    saved = []
    for table in tables:
        fks = session.execute(_FOREIGN_KEYS, {"t": table}).all()
        indexes = session.execute(_INDEXES, {"t": table}).all()
        for name, _ in fks:
            session.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        for name, _ in indexes:
            session.execute(text(f"DROP INDEX {name}"))
        saved += [f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for name, definition in fks]
        saved += [definition for _, definition in indexes]
    yield
    for statement in saved:  # on error the caller rolls back, which restores them anyway
        session.execute(text(statement))


def _set(session: Session, name: str, value: str) -> None:
    session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})


def _driver(session: Session):
    """The psycopg 3 connection under the session (same transaction)."""
    return session.connection().connection.driver_connection


def _reserve(session: Session, table: str, n: int) -> int:
    """Reserve `n` consecutive ids of `table`'s identity sequence; return the first."""
    if n == 0:
        return 0
    last = session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
            "nextval(pg_get_serial_sequence(:t, 'id')) + :n - 1)"
        ),
        {"t": table, "n": n},
    ).scalar_one()
    return int(last) - n + 1


def _copy(session: Session, table: str, columns: list[str], rows) -> None:
    """COPY rows (iterables of Python values, None for NULL) into table(columns)."""
    with (
        _driver(session).cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _copy_columns(session: Session, table: str, columns: dict) -> None:
    """COPY parallel columns (name -> values, all of one length) into table, in the dict's order."""
    _copy(session, table, list(columns), zip(*columns.values(), strict=True))


def _ewkb(geoms) -> list[str]:
    """Hex EWKB (SRID 4326) of shapely geometries, which PostGIS reads as text."""
    return shapely.to_wkb(shapely.set_srid(np.asarray(geoms), WGS84), hex=True, include_srid=True).tolist()


def _points(xy: np.ndarray) -> list[str]:
    return _ewkb(shapely.points(xy))


def _stamps(seconds: np.ndarray) -> list[str | None]:
    """ISO timestamps (UTC) of epoch seconds; negative means NULL."""
    text_ = np.datetime_as_string(np.asarray(seconds).astype("datetime64[s]"), timezone="UTC").astype(object)
    text_[np.asarray(seconds) < 0] = None
    return text_.tolist()


def write_regions(session: Session, specs: list[CountySpec], end: int) -> dict[str, int]:
    """Province and city grids (unions of their counties); return the parent grid id of each county."""
    cities = _cities(specs)
    first = _reserve(session, "grids", 1 + len(cities))
    province = as_multi(shapely.union_all([s.outline for s in specs]))
    rows = [(first, specs[0].adcode[:2] + "0" * 13, "甘肃省", "province", None, _ewkb([province])[0])]
    parent_of = {}
    for i, (code, members) in enumerate(sorted(cities.items()), start=1):
        geom = as_multi(shapely.union_all([s.outline for s in members]))
        rows.append((first + i, code + "0" * 9, members[0].city or code, "city", first, _ewkb([geom])[0]))
        parent_of.update({s.adcode: first + i for s in members})
    since = _valid_from(end)
    _copy(session, "grids", _GRID_COLUMNS, [(*r, since, False) for r in rows])
    return parent_of


def _cities(specs: list[CountySpec]) -> dict[str, list[CountySpec]]:
    """The counties of each city, by the city's 6-digit code."""
    cities: dict[str, list[CountySpec]] = {}
    for spec in specs:
        cities.setdefault(spec.adcode[:4] + "00", []).append(spec)
    # A city whose only county carries the city's own code (嘉峪关市) would clash with it: no city row.
    return {c: s for c, s in cities.items() if not any(x.adcode == c for x in s)}


def _valid_from(end: int) -> str | None:
    """The grids' valid_from: a year before the end of the demo."""
    return _stamps([end - 365 * 86_400])[0]


def write_plan(session: Session, plan: CountyPlan, end: int, parent_id: int | None) -> dict[str, int]:
    """COPY one county plan: grids, workers, events, parties, facilities, departments; return counts."""
    grid_ids = _write_grids(session, plan, end, parent_id)
    worker_first = _write_workers(session, plan, grid_ids["grid"])
    _set_responsible(session, grid_ids["grid"], worker_first)
    _write_events(session, plan, grid_ids["grid"], worker_first)
    facility_first = _write_facilities(session, plan)
    _write_departments(session, plan, facility_first)
    return _plan_counts(plan)


def _plan_counts(plan: CountyPlan) -> dict[str, int]:
    """How many grids of each level, workers, cases of each kind, parties, facilities and departments."""
    kinds = plan.events["kind"]
    return {
        "townships": len(plan.levels["township"].codes),
        "villages": len(plan.levels["village"].codes),
        "grids": len(plan.levels["grid"].codes),
        "workers": len(plan.workers["name"]),
        "disputes": int((kinds == "dispute").sum()),
        "hazards": int((kinds == "hazard").sum()),
        "appeals": int((kinds == "appeal").sum()),
        "parties": len(plan.parties["name"]),
        "facilities": len(plan.facilities["name"]),
        "departments": len(plan.departments),
    }


def _write_grids(
    session: Session, plan: CountyPlan, end: int, parent_id: int | None
) -> dict[str, np.ndarray]:
    """All four levels with consecutive ids (small grids last, in index order); return ids per level."""
    sizes = [len(plan.levels[lv].codes) for lv in LEVEL_ORDER]
    ids = _level_ids(_reserve(session, "grids", sum(sizes)), sizes)
    since = _valid_from(end)
    rows = []
    for up, lv in zip((None, *LEVEL_ORDER), LEVEL_ORDER, strict=False):
        level = plan.levels[lv]
        parents = [parent_id] * len(level.codes) if up is None else ids[up][level.parents].tolist()
        rows += _level_rows(lv, level, ids[lv], parents, since)
    _copy(session, "grids", _GRID_COLUMNS, rows)
    return ids


def _level_ids(first: int, sizes: list[int]) -> dict[str, np.ndarray]:
    """Consecutive ids from `first`, level after level in LEVEL_ORDER, `sizes` of them each."""
    ids, offset = {}, first
    for lv, size in zip(LEVEL_ORDER, sizes, strict=True):
        ids[lv] = np.arange(offset, offset + size)
        offset += size
    return ids


def _level_rows(lv: str, level: Level, ids: np.ndarray, parents: list, since: str | None):
    """The rows of one level's grids, in _GRID_COLUMNS order."""
    n = len(level.codes)
    synthetic = lv != "county"  # the county outline is real; everything inside it is generated
    return zip(
        ids.tolist(),
        level.codes,
        level.names,
        [lv] * n,
        parents,
        _ewkb(level.geoms),
        [since] * n,
        [synthetic] * n,
        strict=True,
    )


def _set_responsible(session: Session, grid_ids: np.ndarray, worker_first: int) -> None:
    """Small grid i is the responsibility of worker i. Arrays, not a join: statistics are stale mid-load."""
    session.execute(
        text(
            "UPDATE grids g SET worker_id = u.worker_id "
            "FROM unnest(CAST(:g AS bigint[]), CAST(:w AS bigint[])) AS u(grid_id, worker_id) "
            "WHERE g.id = u.grid_id"
        ),
        {"g": grid_ids.tolist(), "w": list(range(worker_first, worker_first + len(grid_ids)))},
    )


def _write_workers(session: Session, plan: CountyPlan, grid_ids: np.ndarray) -> int:
    """Workers with explicit ids (home grid code comes from the trigger); return the first id.

    Their last fixes are as old, at the end of the demo year, as the plan makes them (a few minutes to
    some hours for workers on duty): the demo is data of its `until`, the same whenever it is loaded.
    """
    first = _reserve(session, "workers", len(plan.workers["name"]))
    _copy_columns(session, "workers", _worker_columns(plan.workers, grid_ids, first))
    return first


def _worker_columns(w: dict, grid_ids: np.ndarray, first: int) -> dict:
    """The workers' columns, their ids counted from `first`."""
    return {
        "id": range(first, first + len(w["name"])),
        "name": w["name"],
        "phone": w["phone"],
        "home_grid_id": grid_ids[w["grid"]].tolist(),
        "geom": _points(w["xy"]),
        "located_at": _stamps(w["located_at"]),
        "on_duty": w["on_duty"].tolist(),
        "available": w["available"].tolist(),
        "skills": w["skills"],
        "open_tasks": w["open_tasks"].tolist(),
        "capacity": w["capacity"].tolist(),
    }


def _money(cents: np.ndarray) -> list[str | None]:
    return [None if c < 0 else f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def _write_events(session: Session, plan: CountyPlan, grid_ids: np.ndarray, worker_first: int) -> None:
    """Events with their small grid already set (trigger off for this COPY), then their parties. Cases
    found on patrol (source patrol) were reported by their grid's worker (worker i looks after grid i)."""
    first = _reserve(session, "events", len(plan.events["kind"]))
    columns = _event_columns(plan, grid_ids, worker_first, first)
    _set(session, "gridgov.grid_assigned", "on")
    _copy_columns(session, "events", columns)
    _set(session, "gridgov.grid_assigned", "")
    _write_parties(session, plan, first)


def _event_columns(plan: CountyPlan, grid_ids: np.ndarray, worker_first: int, first: int) -> dict:
    """The events' columns, their ids counted from `first`."""
    ev = plan.events
    reported, closed = _stamps(ev["reported"]), _stamps(ev["closed"])
    return {
        "id": range(first, first + len(ev["kind"])),
        **_event_texts(ev),
        "reported_at": reported,
        "closed_at": closed,
        "geom": _points(ev["xy"]),
        **_event_grids(plan, grid_ids),
        **_event_wages(ev),
        "created_at": reported,
        "updated_at": [c or r for r, c in zip(reported, closed, strict=True)],
        "reporter_worker_id": _reporters(ev, worker_first),
    }


def _event_texts(ev: dict) -> dict:
    """The kind, category, severity, status, title, description and source columns of the events."""
    return {
        "kind": ev["kind"],
        "category": ev["category"],
        "severity": ev["severity"].tolist(),
        "status": ev["status"],
        "title": ev["title"],
        "description": ev["description"],
        "source": ev["source"],
    }


def _event_grids(plan: CountyPlan, grid_ids: np.ndarray) -> dict:
    """The grid_id and grid_code columns of the events (None for an event in no small grid)."""
    grid, codes = plan.events["grid"], np.array(plan.levels["grid"].codes, dtype=object)
    gid = np.where(grid >= 0, grid_ids[grid], -1)
    return {
        "grid_id": [None if g < 0 else g for g in gid.tolist()],
        "grid_code": np.where(grid >= 0, codes[grid], None).tolist(),
    }


def _event_wages(ev: dict) -> dict:
    """The wage columns of the events: yuan as text, NULL outside labour cases."""
    return {
        "wage_owed": _money(ev["wage_owed"]),
        "wage_recovered": _money(ev["wage_recovered"]),
        "wage_workers": [None if x <= 0 else x for x in ev["wage_workers"].tolist()],
    }


def _reporters(ev: dict, worker_first: int) -> list[int | None]:
    """The reporter_worker_id column: a case found on patrol was reported by its grid's worker."""
    grid = ev["grid"]
    patrol = (ev["source"] == "patrol") & (grid >= 0)
    return [worker_first + g if p else None for g, p in zip(grid.tolist(), patrol.tolist(), strict=True)]


def _write_parties(session: Session, plan: CountyPlan, first: int) -> None:
    """The parties of the events, whose ids count from `first` in plan order."""
    p = plan.parties
    _copy(
        session,
        "parties",
        ["event_id", "role", "name", "phone", "id_number"],
        zip((p["event"] + first).tolist(), p["role"], p["name"], p["phone"], p["id_number"], strict=True),
    )


def _write_facilities(session: Session, plan: CountyPlan) -> int:
    """Facilities (their grid comes from the trigger); return the first id."""
    f = plan.facilities
    first = _reserve(session, "facilities", len(f["name"]))
    _copy(
        session,
        "facilities",
        ["id", "kind", "name", "phone", "geom"],
        zip(
            range(first, first + len(f["name"])),
            f["kind"],
            f["name"],
            f["phone"],
            _points(f["xy"]),
            strict=True,
        ),
    )
    return first


def _write_departments(session: Session, plan: CountyPlan, facility_first: int) -> None:
    rows = [
        (
            d["code"],
            d["name"],
            d["kind"],
            plan.spec.adcode,
            d["categories"],
            d["phone"],
            None if d["facility"] is None else facility_first + d["facility"],
        )
        for d in plan.departments
    ]
    _copy(
        session,
        "departments",
        ["code", "name", "kind", "county_code", "categories", "phone", "facility_id"],
        rows,
    )


_ANALYZED = "grids, workers, events, event_cells, parties, facilities, departments, grid_days, grid_totals"


def analyze(session: Session) -> None:
    """Refresh planner statistics after the bulk load (the roll-ups' too: their triggers filled them)."""
    session.execute(text(f"ANALYZE {_ANALYZED}"))
