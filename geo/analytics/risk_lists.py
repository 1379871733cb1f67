"""Three colours and three lists (三色三单): the stored risk grade of every small grid (geo.analytics.risk),
and for every red or yellow grid its problem list (问题清单), responsibility list (责任清单) and task list
(任务清单). The grades are read, never recomputed, so the lists show the colours of the map. Workers'
names and phones come masked for roles without clearance, by the database (gridgov_person_name).

`list_sheets` lays the same lists out as the sheets of the planner's XLSX export.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.io.workbook import Sheet
from geo.queries import figures as f
from geo.queries.area import area_range
from geo.queries.layers import display_code, township_of

GRADE_LABELS = {k: f"{vocabulary.GRADE_NAMES[k]}（{v}）" for k, v in vocabulary.zh(vocabulary.GRADES).items()}

_BBOX = "(CAST(:minx AS float8) IS NULL OR g.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326))"

_GRADES = text(f"""
SELECT r.grid_code AS code, {display_code("r.grid_code")} AS display_code, g.name,
       {township_of("tw.name", "r.grid_code")} AS township,
       r.open_events, r.weighted_severity, r.overdue, r.repeat_places, r.recent, r.earlier, r.score,
       r.grade, r.as_of
FROM risk_grades r
JOIN grids g ON g.code = r.grid_code AND g.level = 'grid' AND g.valid_to IS NULL
WHERE r.grid_code ~>=~ :lo AND r.grid_code ~<~ :hi AND r.grade = ANY(:grades) AND {_BBOX}
ORDER BY r.score DESC, r.grid_code
LIMIT :limit OFFSET :offset
""")

_COUNTS = text(f"""
SELECT r.grade, count(*) AS n, max(r.as_of) AS as_of, max(r.computed_at) AS computed_at FROM risk_grades r
JOIN grids g ON g.code = r.grid_code AND g.level = 'grid' AND g.valid_to IS NULL
WHERE r.grid_code ~>=~ :lo AND r.grid_code ~<~ :hi AND {_BBOX}
GROUP BY 1
""")


def _params(area: str, bbox: tuple[float, float, float, float] | None) -> dict:
    minx, miny, maxx, maxy = bbox or (None, None, None, None)
    return {**area_range(area), "minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def grade_grids(
    session: Session,
    area: str,
    *,
    grades: tuple[str, ...] = ("red", "yellow", "green"),
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 1_000_000,
    offset: int = 0,
) -> list[dict]:
    """The graded small grids of the area with their figures, score and grade, riskiest first."""
    out = []
    params = {**_params(area, bbox), "grades": list(grades), "limit": limit, "offset": offset}
    for r in session.execute(_GRADES, params):
        row = r._asdict()
        row["grid_code"], row["code"] = row["code"], row.pop("display_code")
        row["grade_label"] = GRADE_LABELS[row["grade"]]
        out.append(row)
    return out


# The open cases of the flagged grids now, with the one overdue rule.
_PROBLEMS = text(f"""
SELECT e.id, e.grid_code, gridgov_person_text(e.title, e.id) AS title, c.label_zh AS category,
       e.category AS category_code, e.severity, e.status,
       e.reported_at, e.deadline_at, {f.overdue_at("e")} AS is_overdue
FROM events e JOIN categories c ON c.code = e.category
WHERE e.grid_code = ANY(:codes) AND {f.open_now("e")}
ORDER BY e.grid_code, e.severity DESC, e.reported_at
""")

# Who answers for a grid: its worker, its township's and village's names, and the departments whose
# categories match its open cases (parties' personal data is never part of the lists). The names are
# scalar subqueries, one index probe each: as joins they hashed every village of the province (35 ms).
_RESPONSIBLE = text(f"""
SELECT g.code, gridgov_person_name(w.name) AS worker, gridgov_person_phone(w.phone) AS worker_phone,
       (SELECT v.name FROM grids v
        WHERE v.code = left(g.code, 12) || '000' AND v.level = 'village' AND v.valid_to IS NULL) AS village,
       {township_of("tw.name", "g.code")} AS township,
       (SELECT f.name FROM facilities f
        WHERE f.kind = 'township_centre' AND f.grid_code LIKE left(g.code, 9) || '%'
        ORDER BY f.id LIMIT 1) AS township_centre
FROM grids g
LEFT JOIN workers w ON w.id = g.worker_id
WHERE g.code = ANY(:codes) AND g.valid_to IS NULL
""")

_DEPARTMENTS = text(
    "SELECT name, phone, categories FROM departments WHERE county_code = left(:area, 6) ORDER BY code"
)


def _tasks(grid: dict, problems: list[dict]) -> list[str]:
    """The task list of one grid, derived from its figures and problems (Chinese)."""
    tasks = [
        f"督办超期案件（编号{p['id']}，{p['category']}），限期办结并说明超期原因"
        for p in problems
        if p["is_overdue"]
    ]
    tasks += [f"领导包案：特别重大案件（编号{p['id']}）" for p in problems if p["severity"] == 4]
    if grid["repeat_places"]:
        tasks.append(f"对{grid['repeat_places']}处重复发生点位开展排查，化解源头矛盾")
    if grid["recent"] > grid["earlier"]:
        tasks.append(f"近期案件上升（{grid['earlier']}→{grid['recent']}），加密网格巡查频次")
    if not tasks:
        tasks.append("跟踪未结案件办理进度，按期回访")
    return tasks


def risk_lists(
    session: Session,
    area: str,
    at: datetime | None = None,
    *,
    grades: tuple[str, ...] = ("red", "yellow"),
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 1_000_000,
    offset: int = 0,
) -> dict:
    """The stored grades of the area's grids (counts of every colour) with the three lists of each grid
    of `grades` (red and yellow by default), riskiest first (a page of them: `limit`, `offset`, in `bbox`)."""
    grades = tuple(g for g in grades if g != "green")
    flagged = grade_grids(session, area, grades=grades, bbox=bbox, limit=limit, offset=offset)
    _add_lists(session, area, flagged, at)
    head = _grade_counts(session, area, bbox)
    more = offset + len(flagged) < sum(head["counts"][g] for g in grades)
    return {"area": area, **head, "grids": flagged, "next_offset": offset + len(flagged) if more else None}


def _add_lists(session: Session, area: str, flagged: list[dict], at: datetime | None) -> None:
    """Give each flagged grid its problem, responsibility and task lists (one query of each for all)."""
    codes = [g["grid_code"] for g in flagged]
    probs = _problems(session, codes, at)
    resp = {r.code: r._asdict() for r in session.execute(_RESPONSIBLE, {"codes": codes})}
    depts = session.execute(_DEPARTMENTS, {"area": area}).all()
    for g in flagged:
        g["problems"] = probs[g["grid_code"]]
        g["responsibility"] = _responsibility(resp.get(g["grid_code"], {}), depts, g["problems"])
        g["tasks"] = _tasks(g, g["problems"])


def _problems(session: Session, codes: list[str], at: datetime | None) -> dict[str, list[dict]]:
    """The open cases of each grid at `at` (default now), by grid code (every code present)."""
    probs: dict[str, list[dict]] = {c: [] for c in codes}
    for r in session.execute(_PROBLEMS, {"codes": codes, "at": at or clock.now()}):
        probs[r.grid_code].append({k: v for k, v in r._asdict().items() if k != "grid_code"})
    return probs


def _responsibility(rp: dict, depts: Sequence[Any], problems: list[dict]) -> dict:
    """Who answers for a grid: its worker, village, township and centre, and the departments whose
    categories match its open cases."""
    cats = {p["category_code"] for p in problems}
    return {
        "grid_worker": rp.get("worker"),
        "worker_phone": rp.get("worker_phone"),
        "village": rp.get("village"),
        "township": rp.get("township"),
        "township_centre": rp.get("township_centre"),
        "departments": [{"name": d.name, "phone": d.phone} for d in depts if cats & set(d.categories)],
    }


def _grade_counts(session: Session, area: str, bbox: tuple[float, float, float, float] | None) -> dict:
    """As of when the area's grades (in `bbox`) hold, when they were computed, and grids per grade."""
    rows = session.execute(_COUNTS, _params(area, bbox)).all()
    return {
        "as_of": max((r.as_of for r in rows), default=None),
        "computed_at": max((r.computed_at for r in rows), default=None),
        "counts": {k: next((r.n for r in rows if r.grade == k), 0) for k in GRADE_LABELS},
    }


def list_sheets(lists: dict) -> list[Sheet]:
    """The three lists as XLSX sheets: the graded grids, then one sheet per list (one row per item)."""
    grids = lists["grids"]
    key = [("code", "网格编码"), ("name", "网格"), ("township", "乡镇（街道）")]
    return [
        Sheet("风险网格", [*key, *_GRID_COLUMNS], grids),
        Sheet(
            "问题清单",
            [*key, *_PROBLEM_COLUMNS],
            [{**_key(g), **_problem(p)} for g in grids for p in g["problems"]],
        ),
        Sheet("责任清单", [*key, *_DUTY_COLUMNS], [{**_key(g), **_duty(g["responsibility"])} for g in grids]),
        Sheet(
            "任务清单",
            [*key, ("n", "序号"), ("task", "任务")],
            [{**_key(g), "n": i, "task": t} for g in grids for i, t in enumerate(g["tasks"], start=1)],
        ),
    ]


_GRID_COLUMNS = [
    ("grade_label", "风险等级"),
    ("score", "风险分值"),
    ("open_events", "未结案件"),
    ("weighted_severity", "加权严重程度"),
    ("overdue", "超期件数"),
    ("repeat_places", "重复发生点位"),
    ("recent", "近30天案件"),
    ("earlier", "前30天案件"),
    ("as_of", "评定时刻"),
]
_PROBLEM_COLUMNS = [
    ("id", "案件编号"),
    ("category", "类别"),
    ("severity", "严重程度"),
    ("status", "状态"),
    ("title", "标题"),
    ("reported_at", "上报时间"),
    ("deadline_at", "办理时限"),
    ("is_overdue", "超期"),
]
_DUTY_COLUMNS = [
    ("grid_worker", "网格员"),
    ("worker_phone", "电话"),
    ("village", "村（社区）"),
    ("township_centre", "乡镇综治中心"),
    ("departments", "相关部门"),
]


def _key(grid: dict) -> dict:
    return {"code": grid["code"], "name": grid["name"], "township": grid["township"]}


def _problem(p: dict) -> dict:
    return {
        **p,
        "severity": vocabulary.label("severity", p["severity"]),
        "status": vocabulary.label("status", p["status"]),
    }


def _duty(r: dict) -> dict:
    return {
        **r,
        "departments": [
            f"{d['name']}（{d['phone']}）" if d["phone"] else d["name"] for d in r["departments"]
        ],
    }
