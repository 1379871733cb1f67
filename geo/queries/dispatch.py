"""Dispatch: candidate workers for a case, assignment that is safe under concurrency, the dispatch board.

Candidates are a UNION of a few small scans - the owning small grid's responsible worker; the village's
workers and the nearest (with and without the skill) among the township's, read once by the code
index; the nearest in the policy scope, a KNN walk (`<->` on the workers GiST index with a LIMIT) -
ranked in SQL by tier (属地: the owning grid first), skill, load and distance in metres.
Assignment is two conditional UPDATEs in one transaction: the case must still be assignable and the
worker must still have capacity, so of twenty dispatchers racing, one wins and nineteen get 409.
"""

import json
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from geo import clock, lifecycle
from geo.accounts import code_range
from geo.errors import ConflictError, NotFoundError, OutsideCountyError, TransitionError
from geo.queries import figures
from geo.queries.events import (
    area_like,
    count_overdue_by_grid,
    deadline_columns,
    deadline_for,
    get_event,
    lock_event,
    log_action,
)

TIER_REASONS = ("本网格责任网格员", "同村（社区）", "同乡镇（街道）", "县内就近")
SCOPE_DIGITS = {"village": 12, "township": 9, "county": 6}
# The reasons go into the statement as a constant (a parameter would be encoded on every request).
_TIER_REASONS_SQL = "ARRAY[" + ", ".join("'" + r.replace("'", "''") + "'" for r in TIER_REASONS) + "]"

_FRESH = "w.on_duty AND w.available AND w.open_tasks < w.capacity AND w.located_at >= :fresh_after"
_POOL_COLUMNS = (
    "w.id, w.name, w.phone, w.home_grid_code, w.open_tasks, w.capacity, w.located_at, w.skills, w.geom"
)
# Code prefixes are compared as a [lo, hi) range with the text_pattern_ops operators, not as LIKE: a
# prepared (generic) plan cannot turn LIKE $1 into an index range, but it can use ~>=~ / ~<~. The
# bounds come from the case row (the `ev` CTE) as InitPlan parameters, so they drive the index too.
_IN_RANGE = "w.home_grid_code ~>=~ (SELECT {0}_lo FROM ev) AND w.home_grid_code ~<~ (SELECT {0}_hi FROM ev)"
# A KNN walk whose filter rejects most rows (nobody nearby has the skill, or most fixes are stale)
# would otherwise run through the whole province; the unit's bounding box (plus ~2 km) caps the walk
# at the workers of that township or county, so the cost stays flat as the data grows. box2d() reads
# the stored bounding box without decompressing a large county polygon.
# Under row-level security only a qual of leakproof parts can be an index condition: the box is one
# InitPlan parameter (the coalesce inside it), so `&&` (marked leakproof, migration 0006) qualifies.
_IN_BOX = (
    "w.geom && (SELECT coalesce((SELECT ST_Expand(box2d(g.geom), 0.02)::geometry FROM grids g "
    "WHERE g.code = (SELECT {0}_unit FROM ev) AND g.valid_to IS NULL), "
    "ST_MakeEnvelope(-180, -90, 180, 90, 4326)))"
)
_HERE = "(SELECT geom FROM ev)"
# In the KNN walks the unit is a filter, deliberately not indexable: the walk must follow the GiST
# distance order and stop after k rows. (An indexable code range, with the row-level-security range
# beside it, leads the planner to read the whole unit through the code index and sort it.)
_IN_UNIT = "left(w.home_grid_code, length((SELECT {0}_lo FROM ev))) = (SELECT {0}_lo FROM ev)"


def _knn(unit: str) -> str:
    """One small KNN scan: the nearest fresh, free workers whose home grid lies in a unit (code range)."""
    return (
        f"(SELECT {_POOL_COLUMNS} FROM workers w WHERE {_IN_UNIT.format(unit)} AND {_IN_BOX.format(unit)} "
        f"AND {_FRESH} ORDER BY w.geom <-> {_HERE} LIMIT :k)"
    )


# The township unit's fresh, free workers, read once through the code index and ranked three ways:
# the village's (all of them: a handful), the k nearest and the k nearest with the skill. A township
# holds ~80 workers (at most ~500 in the province data); walking the GiST index in distance order
# instead is quicker only while the first k rows pass the filters (a skill few have sends it through
# hundreds of rows, one random heap page each), and three walks cost three scans' set-up besides.
# `near` is the planar distance the KNN walks order by; the id breaks ties so the answer is stable.
_TOWNSHIP = f"""SELECT {_POOL_COLUMNS}, w.geom <-> {_HERE} AS near FROM workers w
    WHERE {_IN_RANGE.format("township")} AND {_FRESH}"""
_PICK = "id, name, phone, home_grid_code, open_tasks, capacity, located_at, skills, geom"
# The audit row of a cleared read, written by the same statement (no extra round trip). A read changes
# nothing but this row, so its commit need not wait for the WAL flush (see geo.audit).
_AUDIT = """, audit AS (
    INSERT INTO audit_log (actor, action, target_table, target_id, detail)
    SELECT :actor, 'read_unmasked', 'workers', ev.id::text,
           jsonb_build_object('what', 'candidates', 'event_id', ev.id, 'worker_ids',
               (SELECT coalesce(jsonb_agg(b.worker_id ORDER BY b.tier, b.skill_match DESC, b.open_tasks,
                                          b.distance_m, b.worker_id), '[]') FROM best b))
    FROM ev, (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
)"""


def _unit_columns(name: str, digits: int, area_digits: int) -> str:
    """The `ev` columns of a unit's code range at `digits`, never wider than the requester's area."""
    prefix = f"left(e.grid_code, {digits})" if digits >= area_digits else "CAST(:area AS text)"
    return (
        f"{prefix} AS {name}_lo, "
        f"lpad((CAST({prefix} AS numeric) + 1)::text, length({prefix}), '0') AS {name}_hi, "
        f"rpad({prefix}, 15, '0') AS {name}_unit"
    )


@lru_cache
def _candidates_sql(area_digits: int, widest: int, audited: bool) -> TextClause:
    """The whole candidates answer in one round trip (the statement text depends only on the digits).

    `ev`: the case, its category label, its grid's responsible worker and the code ranges of its
    village, township and policy scope. `township`: its fresh, free workers (see _TOWNSHIP). The pool:
    the owner; every one of them in the village (a handful, so the village tier is ranked exactly);
    the k nearest of them plus the k nearest with the skill; in the policy scope the k nearest (a
    county-wide skill search would walk thousands of rows when nobody has the skill, so out there the
    skill only reorders the nearest), a KNN walk that stops after k rows. DISTINCT ON drops a
    worker found twice; the tier comes from the codes, whichever scan found it. Mediation committees
    of the category come along for disputes. No row: the case does not exist in the area. `audited`:
    the statement also writes the audit row of the read (actor :actor).
    """
    return text(f"""
WITH ev AS MATERIALIZED (
    SELECT e.id, e.kind, e.category, e.grid_code, e.geom, c.label_zh, g.worker_id AS owner_id,
           {_unit_columns("village", 12, area_digits)},
           {_unit_columns("township", max(9, widest), area_digits)},
           {_unit_columns("scope", widest, area_digits)}
    FROM events e
    JOIN categories c ON c.code = e.category
    LEFT JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
    WHERE e.id = :id AND e.grid_code ~>=~ :area_lo AND e.grid_code ~<~ :area_hi
), township AS MATERIALIZED (
    {_TOWNSHIP}
), pool AS (
    (SELECT {_POOL_COLUMNS} FROM workers w
     WHERE w.id = (SELECT owner_id FROM ev) AND {_FRESH}
       AND w.home_grid_code ~>=~ :area_lo AND w.home_grid_code ~<~ :area_hi)
    UNION ALL (SELECT {_PICK} FROM township t
               WHERE t.home_grid_code ~>=~ (SELECT village_lo FROM ev)
                 AND t.home_grid_code ~<~ (SELECT village_hi FROM ev))
    UNION ALL (SELECT {_PICK} FROM township t ORDER BY t.near, t.id LIMIT :k)
    UNION ALL (SELECT {_PICK} FROM township t WHERE (SELECT category FROM ev) = ANY(t.skills)
               ORDER BY t.near, t.id LIMIT :k)
    UNION ALL {_knn("scope")}
), ranked AS (
    SELECT DISTINCT ON (p.id) p.id AS worker_id, p.name, p.phone, p.home_grid_code AS grid_code,
           p.open_tasks, p.capacity, p.located_at,
           CASE WHEN p.id = ev.owner_id THEN 0 WHEN left(p.home_grid_code, 12) = left(ev.grid_code, 12) THEN 1
                WHEN left(p.home_grid_code, 9) = left(ev.grid_code, 9) THEN 2 ELSE 3 END AS tier,
           ev.category = ANY(p.skills) AS skill_match,
           ST_Distance(p.geom::geography, ev.geom::geography) AS distance_m
    FROM pool p CROSS JOIN ev ORDER BY p.id
), best AS (
    SELECT * FROM ranked ORDER BY tier, skill_match DESC, open_tasks, distance_m, worker_id LIMIT :k
){_AUDIT if audited else ""}
SELECT json_build_object(
    'event_id', ev.id,
    'grid_code', ev.grid_code,
    'candidates', (SELECT coalesce(json_agg(json_build_object(
            'worker_id', b.worker_id, 'name', gridgov_person_name(b.name),
            'phone', gridgov_person_phone(b.phone), 'grid_code', b.grid_code,
            'distance_m', round(b.distance_m::numeric, 1), 'open_tasks', b.open_tasks,
            'capacity', b.capacity, 'tier', b.tier, 'skill_match', b.skill_match,
            'located_at', b.located_at,
            'reasons', array_remove(ARRAY[
                ({_TIER_REASONS_SQL})[b.tier + 1],
                CASE WHEN b.skill_match THEN '技能匹配（' || ev.label_zh || '）' END,
                '当前任务' || b.open_tasks || '件（容量' || b.capacity || '）',
                '距离约' || to_char(round(b.distance_m), 'FM999,999,999,990') || '米'], NULL))
        ORDER BY b.tier, b.skill_match DESC, b.open_tasks, b.distance_m, b.worker_id), '[]') FROM best b),
    'mediation_committees', CASE WHEN ev.kind = 'dispute' THEN (
        SELECT coalesce(json_agg(m ORDER BY m.id), '[]') FROM (
            SELECT d.id, d.code, d.name, d.phone,
                   coalesce(json_agg(json_build_object('id', md.id, 'name', gridgov_person_name(md.name),
                                                       'phone', gridgov_person_phone(md.phone))
                                     ORDER BY md.id) FILTER (WHERE md.id IS NOT NULL), '[]') AS mediators
            FROM departments d LEFT JOIN mediators md ON md.department_id = d.id AND md.on_call
            WHERE d.kind = 'mediation_committee' AND d.county_code = left(ev.grid_code, 6)
              AND ev.category = ANY(d.categories)
            GROUP BY d.id ORDER BY d.id LIMIT 5) m)
    ELSE '[]' END)::text AS answer
FROM ev
""")


def candidates_query(
    event_id: int,
    *,
    area: str,
    k: int,
    max_age_s: int,
    scope: str = "county",
    audit_actor: str | None = None,
) -> tuple[TextClause, dict[str, Any]]:
    """The candidates statement and its parameters; with `audit_actor` it also writes the audit row of
    that actor's unmasked read. Its row goes to `candidates_answer`."""
    lo, hi = code_range(area)
    params = {
        "id": event_id,
        "area": area,
        "area_lo": lo,
        "area_hi": hi,
        "k": k,
        "fresh_after": clock.now() - timedelta(seconds=max_age_s),
    }
    if audit_actor is not None:
        params["actor"] = audit_actor
    return _candidates_sql(len(area), SCOPE_DIGITS[scope], audit_actor is not None), params


def candidates_answer(event_id: int, row: Any) -> str:
    """The answer's JSON text from the statement's row (None: the case is not in the area, 404)."""
    if row is None:
        raise NotFoundError(f"案件 {event_id} 不存在", where="event_id")
    return row[0]


def list_candidates(
    session: Session, event_id: int, *, area: str, k: int, max_age_s: int, scope: str = "county"
) -> dict[str, Any]:
    """Ranked candidate workers for a case and, for disputes, the matching mediation committees."""
    stmt, params = candidates_query(event_id, area=area, k=k, max_age_s=max_age_s, scope=scope)
    return json.loads(candidates_answer(event_id, session.execute(stmt, params).first()))


def adjust_open_tasks(session: Session, worker_id: int, delta: int) -> None:
    """Move a worker's open-task count by delta; adding needs free capacity (ConflictError otherwise)."""
    if delta > 0:
        done = session.execute(
            text(
                "UPDATE workers SET open_tasks = open_tasks + 1 WHERE id = :w AND open_tasks < capacity "
                "RETURNING id"
            ),
            {"w": worker_id},
        ).first()
        if done is None:
            raise ConflictError(f"网格员 {worker_id} 已满负荷，请改派", where="worker_id")
    elif delta < 0:
        session.execute(
            text("UPDATE workers SET open_tasks = greatest(open_tasks - 1, 0) WHERE id = :w"),
            {"w": worker_id},
        )


# The worker takes the case only if, at this instant, they are available, on duty and below capacity.
_TAKE = text("""
UPDATE workers SET open_tasks = open_tasks + 1
WHERE id = :w AND open_tasks < capacity AND available AND on_duty AND home_grid_code LIKE :area
RETURNING id
""")


def _take_worker(session: Session, worker_id: int, area: str) -> None:
    if session.execute(_TAKE, {"w": worker_id, "area": area_like(area)}).first() is not None:
        return
    worker = find_worker(session, worker_id, area)
    if worker is None:
        raise NotFoundError(f"网格员 {worker_id} 不存在", where="worker_id")
    state = "不在岗" if not worker["on_duty"] else "不可派" if not worker["available"] else "已满负荷"
    raise ConflictError(f"网格员 {worker['name']}（{worker_id}）{state}，请选择其他人员", where="worker_id")


def _move_task(session: Session, old: int | None, new: int, area: str, status: str) -> None:
    """Give the new worker the task and take it from the old one, locking worker rows in id order
    so that two crossed reassignments cannot deadlock."""
    if old is not None and old < new:
        adjust_open_tasks(session, old, lifecycle.task_delta(status, "registered"))
    _take_worker(session, new, area)
    if old is not None and old > new:
        adjust_open_tasks(session, old, lifecycle.task_delta(status, "registered"))


# Lock the case first: racing dispatchers queue here and then see the winner's status.
# A case without a deadline gets one (with its basis); one that has a deadline keeps it.
_ASSIGN = text("""
UPDATE events SET assignee_id = :w, status = 'dispatched', deadline_at = coalesce(deadline_at, :deadline_at),
    deadline_basis = CASE WHEN deadline_at IS NULL
        THEN CAST(:deadline_basis AS jsonb) ELSE deadline_basis END,
    deadline_uncovered_years = CASE WHEN deadline_at IS NULL
        THEN CAST(:deadline_uncovered_years AS smallint[]) ELSE deadline_uncovered_years END
WHERE id = :id AND status = ANY(:from_statuses) RETURNING id
""")


def assign_event(
    session: Session,
    event_id: int,
    worker_id: int,
    *,
    area: str,
    actor: str,
    note: str = "",
    reassign: bool = False,
) -> dict[str, Any]:
    """Dispatch a case to a worker (or re-dispatch it with `reassign`); 409 if someone was faster."""
    ev = lock_event(session, event_id, area)
    allowed = lifecycle.REASSIGNABLE if reassign else lifecycle.ASSIGNABLE
    if ev.status not in allowed:
        what = (
            "改派（只有已派遣或处置中的案件可以改派）"
            if reassign
            else "派遣（已派遣的案件请用 reassign 改派）"
        )
        raise TransitionError(
            f"案件状态为“{lifecycle.STATUS_LABELS[ev.status]}”({ev.status})，不能{what}",
            allowed=lifecycle.allowed_next(ev.status),
            where="status",
        )
    if reassign and ev.assignee_id == worker_id:
        raise ConflictError("案件已派给该网格员", where="worker_id")
    deadline = None if ev.deadline_at else deadline_for(session, ev.category, ev.severity, clock.now())
    if (
        session.execute(
            _ASSIGN,
            {"w": worker_id, "id": event_id, **deadline_columns(deadline), "from_statuses": list(allowed)},
        ).first()
        is None
    ):
        raise ConflictError("案件状态已变化，请刷新后重试", where="status")
    _move_task(session, ev.assignee_id if reassign else None, worker_id, area, ev.status)
    log_action(
        session,
        event_id,
        actor,
        "reassign" if reassign else "assign",
        from_status=ev.status,
        to_status="dispatched",
        note=note,
        data={
            "worker_id": worker_id,
            "previous_worker_id": ev.assignee_id,
            "deadline_at": deadline and deadline.at,
            "deadline_uncovered_years": sorted(deadline.uncovered) if deadline else [],
        },
    )
    return get_event(session, event_id, area)


_WORKER_COLUMNS = (
    "w.id, w.name, w.phone, w.home_grid_code AS grid_code, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat, "
    "w.located_at, w.on_duty, w.available, w.skills, w.open_tasks, w.capacity"
)


def find_worker(session: Session, worker_id: int, area: str) -> dict[str, Any] | None:
    """A worker whose home grid lies in the area, if any."""
    row = (
        session.execute(
            text(f"SELECT {_WORKER_COLUMNS} FROM workers w WHERE w.id = :id AND w.home_grid_code LIKE :area"),
            {"id": worker_id, "area": area_like(area)},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def get_worker(session: Session, worker_id: int, area: str) -> dict[str, Any]:
    """A worker in the area; NotFoundError otherwise."""
    worker = find_worker(session, worker_id, area)
    if worker is None:
        raise NotFoundError(f"网格员 {worker_id} 不存在", where="worker_id")
    return worker


def set_worker_status(
    session: Session, worker_id: int, *, area: str, on_duty: bool | None = None, available: bool | None = None
) -> dict[str, Any]:
    """Set a worker's on-duty and availability flags (a missing flag keeps its value)."""
    get_worker(session, worker_id, area)
    session.execute(
        text(
            "UPDATE workers SET on_duty = coalesce(:d, on_duty), available = coalesce(:a, available) "
            "WHERE id = :id"
        ),
        {"d": on_duty, "a": available, "id": worker_id},
    )
    return get_worker(session, worker_id, area)


# How far outside its county boundary a fix is; 0 inside. Geography gives metres.
_OUTSIDE_M = text("""
SELECT CASE WHEN ST_Covers(g.geom, p.pt) THEN 0 ELSE ST_Distance(g.geom::geography, p.pt::geography) END
FROM grids g, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
WHERE g.code = :county AND g.valid_to IS NULL
""")


def set_worker_location(
    session: Session,
    worker_id: int,
    lon: float,
    lat: float,
    *,
    area: str,
    at: datetime | None,
    max_outside_m: float,
) -> dict[str, Any]:
    """Record a worker's WGS84 position; refuse one far outside the county; ignore an older fix."""
    now = clock.now()
    worker = get_worker(session, worker_id, area)
    county = (worker["grid_code"] or area)[:6] + "000000000"
    outside = session.execute(_OUTSIDE_M, {"lon": lon, "lat": lat, "county": county}).scalar()
    if outside is not None and outside > max_outside_m:
        raise OutsideCountyError(
            f"位置 lon {lon}, lat {lat}（WGS84）在县界外约 {outside / 1000:,.1f} 公里，超过允许的 "
            f"{max_outside_m / 1000:,.1f} 公里",
            where="lon,lat",
        )
    applied = session.execute(
        text(
            "UPDATE workers SET geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
            "located_at = :at "
            "WHERE id = :id AND (located_at IS NULL OR located_at > :now OR located_at <= :at) "
            "RETURNING id"
        ),
        {"lon": lon, "lat": lat, "at": at or now, "now": now, "id": worker_id},
    ).first()
    return {**get_worker(session, worker_id, area), "applied": applied is not None}


_QUEUE = text(f"""
SELECT e.id, e.kind, e.category, e.severity, e.status, e.title, e.grid_code, e.reported_at, e.deadline_at,
       e.deadline_provisional, {figures.overdue_at("e", ":at")} AS overdue,
       e.escalation_level, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat
FROM events e
WHERE e.status IN ('reported', 'registered') AND e.assignee_id IS NULL AND e.grid_code LIKE :area
ORDER BY e.severity DESC, e.deadline_at ASC NULLS LAST, e.reported_at ASC, e.id
LIMIT :limit
""")
_WORKER_TASKS = text("""
SELECT w.id AS worker_id, w.name, w.home_grid_code AS grid_code, w.open_tasks, w.capacity, w.on_duty,
       w.available,
       json_agg(json_build_object('id', e.id, 'title', e.title, 'status', e.status, 'severity', e.severity,
                                  'deadline_at', e.deadline_at,
                                  'deadline_provisional', e.deadline_provisional)
                ORDER BY e.deadline_at NULLS LAST, e.id) AS tasks
FROM events e JOIN workers w ON w.id = e.assignee_id
WHERE e.status IN ('dispatched', 'in_progress') AND e.grid_code LIKE :area
GROUP BY w.id ORDER BY w.open_tasks DESC, w.id
LIMIT :limit
""")
_DEPARTMENT_REQUESTS = text("""
SELECT d.id AS department_id, d.name, d.kind,
       json_agg(json_build_object('id', wh.id, 'event_id', wh.event_id, 'requested_at', wh.requested_at,
                                  'respond_by', wh.respond_by, 'late', wh.respond_by < :now)
                ORDER BY wh.respond_by, wh.id) AS requests
FROM whistles wh JOIN departments d ON d.id = wh.department_id JOIN events e ON e.id = wh.event_id
WHERE wh.responded_at IS NULL AND e.grid_code LIKE :area
GROUP BY d.id ORDER BY min(wh.respond_by), d.id
LIMIT :limit
""")


def get_board(session: Session, area: str, limit: int = 100) -> dict[str, Any]:
    """The dispatch board: unassigned queue (with 超期 now), workers' open tasks, open requests, overdue
    per grid."""
    params = {"area": area_like(area), "limit": limit, "now": clock.now()}
    return {
        "queue": [dict(r) for r in session.execute(_QUEUE, {**params, "at": clock.now()}).mappings()],
        "workers": [dict(r) for r in session.execute(_WORKER_TASKS, params).mappings()],
        "departments": [dict(r) for r in session.execute(_DEPARTMENT_REQUESTS, params).mappings()],
        "overdue_by_grid": count_overdue_by_grid(session, area, limit),
    }
