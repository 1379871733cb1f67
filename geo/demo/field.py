"""Field-work demo data: a day of patrol and visits for every worker, and the handling history of the
last month's closed cases (what the monthly assessment counts).

Each worker patrols their own small grid on the day of their last fix, ending exactly there and then
(workers.geom / located_at): a walk of 1.5-4 hours with a fix every ~2 minutes (the phone's cadence),
kept inside the grid, with a lunch break (a gap that splits the track) for some and a few wild fixes
(accuracy of hundreds of metres) that the tracks drop. Along the way most visit 2-6 households. Times
are seconds since the epoch; everything comes from its own seeded generator, so the rest of the demo is
the same with or without it, and the same seed and `end` give the same day.
"""

from datetime import UTC, datetime

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock
from geo.demo import names
from geo.demo.build import CountyPlan
from geo.demo.write import _copy, _points, _stamps
from geo.queries.fixes import ensure_partitions, rebuild_tracks
from geo.settings import FieldSettings

FIX_EVERY_S = 120  # the phone page's cadence (GRID_FIELD_FIX_EVERY_S)
M_PER_DEG = 111_320.0
NOTES = (
    "家中情况正常，无矛盾纠纷",
    "宣传防范电信诈骗知识",
    "了解独居老人生活情况，身体状况良好",
    "排查燃气、用电安全隐患，未发现问题",
    "登记流动人口信息",
    "邻里之间小摩擦，已现场劝解",
    "反映路灯损坏，已记录并上报",
)


def _midnights(ends: np.ndarray) -> np.ndarray:
    """The start of the county day (in the county's zone) holding each instant."""
    zone = clock.zone()
    return np.array([clock.midnight(datetime.fromtimestamp(int(e), zone).date()).timestamp() for e in ends])


def _step(rng, x, y, heading, geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of walking between fixes (0.5-1.1 m/s with stops, a wandering heading); a step out of the
    grid turns back."""
    metres = rng.uniform(0.5, 1.1, len(x)) * FIX_EVERY_S
    heading = heading + rng.normal(0, 0.6, len(x))
    for _ in range(4):
        nx = x + np.cos(heading) * metres / (M_PER_DEG * np.cos(np.radians(y)))
        ny = y + np.sin(heading) * metres / M_PER_DEG
        inside = shapely.contains_xy(geoms, nx, ny)
        if inside.all():
            break
        heading = np.where(inside, heading, heading + np.pi + rng.normal(0, 0.8, len(x)))
    return np.where(inside, nx, x), np.where(inside, ny, y), heading


def build_patrols(rng, plan: CountyPlan) -> dict[str, np.ndarray]:
    """Fixes of every worker's patrol: worker index, time, lon, lat, accuracy (walked back from the end)."""
    w, grids = plan.workers, plan.levels["grid"]
    n = len(w["name"])
    end = np.asarray(w["located_at"], dtype=np.int64)
    start = np.maximum(end - rng.integers(5400, 14_400, n), _midnights(end).astype(np.int64) + 60)
    steps = np.maximum((end - start) // FIX_EVERY_S, 2)
    geoms = grids.geoms[w["grid"]]
    shapely.prepare(geoms)
    fixes = _walk_back(rng, w["xy"], end, steps, geoms)
    return _lunch_and_noise(rng, fixes, start, end)


def _walk_back(rng, xy: np.ndarray, end: np.ndarray, steps: np.ndarray, geoms) -> dict[str, np.ndarray]:
    """Each worker's walk from their last fix back in time, `steps` steps: worker index, time, lon, lat."""
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    heading = rng.uniform(0, 2 * np.pi, len(x))
    rows = []
    for k in range(int(steps.max()) + 1):
        live = np.flatnonzero(k <= steps)
        jitter = np.where(k == 0, 0, rng.integers(-10, 11, len(live)))
        rows.append((live, end[live] - k * FIX_EVERY_S + jitter, x[live].copy(), y[live].copy()))
        x[live], y[live], heading[live] = _step(rng, x[live], y[live], heading[live], geoms[live])
    return {
        "worker": np.concatenate([r[0] for r in rows]),
        "at": np.concatenate([r[1] for r in rows]),
        "x": np.concatenate([r[2] for r in rows]),
        "y": np.concatenate([r[3] for r in rows]),
    }


def _lunch_and_noise(rng, f: dict, start: np.ndarray, end: np.ndarray) -> dict[str, np.ndarray]:
    """A 30-50 minute break in the middle of some long patrols; accuracy, and a few wild fixes."""
    n = len(start)
    pause = (end - start > 9000) & (rng.random(n) < 0.35)
    mid = (start + end) // 2
    length = rng.integers(1800, 3000, n)
    w = f["worker"]
    keep = ~(pause[w] & (f["at"] > mid[w]) & (f["at"] < mid[w] + length[w]))
    f = {k: v[keep] for k, v in f.items()}
    m = len(f["at"])
    last = f["at"] == end[f["worker"]]
    wild = (rng.random(m) < 0.03) & ~last
    f["acc"] = np.where(wild, rng.uniform(150, 600, m), rng.uniform(4, 25, m)).round(1)
    angle = rng.uniform(0, 2 * np.pi, m)
    off = np.where(wild, f["acc"], 0.0) / M_PER_DEG
    f["x"] = f["x"] + np.cos(angle) * off / np.cos(np.radians(f["y"]))
    f["y"] = f["y"] + np.sin(angle) * off
    order = np.lexsort((f["at"], f["worker"]))
    return {k: v[order] for k, v in f.items()}


def build_visits(rng, plan: CountyPlan, fixes: dict[str, np.ndarray]) -> dict[str, list]:
    """2-6 household visits per worker (none for about one in twelve, who only patrolled), at accurate
    fixes of their patrol (in their own grid)."""
    grids, villages = plan.levels["grid"], plan.levels["village"]
    idx = _visit_fixes(rng, fixes, len(plan.workers["name"]))
    who = fixes["worker"][idx]
    village = [villages.names[grids.parents[g]] for g in plan.workers["grid"][who]]
    group, number = rng.integers(1, 13, len(idx)), rng.integers(1, 80, len(idx))
    return {
        "idx": idx,
        "worker": who,
        "address": [f"{v}{a}组{b}号" for v, a, b in zip(village, group, number, strict=True)],
        "household": names.person_names(rng, len(idx)),
        "note": [NOTES[i] for i in rng.integers(0, len(NOTES), len(idx))],
    }


def _visit_fixes(rng, fixes: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Indexes (sorted) of the fixes where the `n` workers visit: 2-6 accurate ones each, or none."""
    good = np.flatnonzero(fixes["acc"] < 100)
    counts = np.where(rng.random(n) < 0.08, 0, rng.integers(2, 7, n))  # some only patrolled that day
    picks = []
    by_worker = np.split(good, np.searchsorted(fixes["worker"][good], np.arange(1, len(counts))))
    for worker, pool in enumerate(by_worker):
        if len(pool) and counts[worker]:
            picks.append(rng.choice(pool, min(int(counts[worker]), len(pool)), replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.array([], dtype=int)


_WORKER_IDS = text("SELECT min(id) FROM workers WHERE home_grid_code LIKE :c || '%'")
_GRID_IDS = text(
    "SELECT code, id FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :c || '%'"
)


def write_field(session: Session, plan: CountyPlan, seed: int, settings: FieldSettings) -> dict[str, int]:
    """Build and COPY one county's day of patrols (then their tracks) and visits; return the counts.

    Worker i looks after small grid i and their ids are consecutive (geo.demo.write)."""
    rng = np.random.default_rng([seed, int(plan.spec.adcode), 40])
    fixes = build_patrols(rng, plan)
    visits = build_visits(rng, plan, fixes)
    first = int(session.execute(_WORKER_IDS, {"c": plan.spec.adcode}).scalar_one())
    codes = np.array(plan.levels["grid"].codes, dtype=object)[plan.workers["grid"]]
    _ensure_months(session, settings, fixes["at"])
    _copy_fixes(session, fixes, first, codes)
    grid_ids = dict(session.execute(_GRID_IDS, {"c": plan.spec.adcode}).all())
    _copy_visits(session, fixes, visits, first, codes, grid_ids)
    return {
        "fixes": len(fixes["at"]),
        "visits": len(visits["idx"]),
        "patrol_workers": len(plan.workers["name"]),
    }


def _ensure_months(session: Session, settings: FieldSettings, at: np.ndarray) -> None:
    """The worker_fixes partitions of the months the fixes fall in (UTC months, migration 0040)."""
    months = {datetime.fromtimestamp(int(t), UTC).date().replace(day=1) for t in (at.min(), at.max())}
    ensure_partitions(session, settings, sorted(months))


def _copy_fixes(session: Session, f: dict[str, np.ndarray], first: int, codes: np.ndarray) -> None:
    at = _stamps(f["at"])
    rows = zip(
        (f["worker"] + first).tolist(),
        at,
        _stamps(f["at"] + 10),
        _points(np.column_stack([f["x"], f["y"]])),
        f["acc"].tolist(),
        codes[f["worker"]].tolist(),
        strict=True,
    )
    columns = ["worker_id", "at", "received_at", "geom", "accuracy_m", "grid_code", "source"]
    _copy(session, "worker_fixes", columns, ((*r, "demo") for r in rows))


_VISIT_COLUMNS = [
    "worker_id",
    "client_key",
    "at",
    "received_at",
    "geom",
    "accuracy_m",
    "grid_id",
    "grid_code",
    "address",
    "household",
    "note",
]


def _copy_visits(session: Session, f, v, first: int, codes: np.ndarray, grid_ids: dict) -> None:
    i = v["idx"]
    code = codes[v["worker"]].tolist()
    rows = zip(
        (v["worker"] + first).tolist(),
        [f"demo-{k}" for k in range(len(i))],
        _stamps(f["at"][i]),
        _stamps(f["at"][i] + 30),
        _points(np.column_stack([f["x"][i], f["y"][i]])),
        f["acc"][i].tolist(),
        [grid_ids[c] for c in code],
        code,
        v["address"],
        v["household"],
        v["note"],
        strict=True,
    )
    _copy(session, "visits", [*_VISIT_COLUMNS, "recorded_by"], ((*r, "demo") for r in rows))


_PATROL_DAYS = text("""
SELECT DISTINCT worker_id, (at AT TIME ZONE :zone)::date FROM worker_fixes WHERE grid_code LIKE :c || '%'
""")


def build_tracks(session: Session, county: str, settings: FieldSettings) -> int:
    """The patrol tracks of every worker-day of the county's demo fixes (one statement)."""
    pairs = [tuple(r) for r in session.execute(_PATROL_DAYS, {"zone": clock.zone().key, "c": county})]
    return rebuild_tracks(session, pairs, settings)
