"""The pure, in-memory part of the demo, continued: workers, one year of cases, and their parties.

Times are seconds since the epoch (UTC), all seeded offsets back from `end` (the end of the demo
year), so the same seed and end give the same data. Points cluster around each small grid's centre
and always fall inside the small grid they were drawn for; `assign_grids` then applies the database
rule (the current small grid covering the point, lowest id first) so a loader can skip the trigger.
"""

import numpy as np
import shapely

from geo.demo import names, texts
from geo.demo.build import CountyPlan, Level

DAY = 86_400
OPEN_STATUSES = ["reported", "registered", "dispatched", "in_progress", "handled", "verified"]
SKILLS = list(texts.MIX["dispute"]) + list(texts.MIX["hazard"])
# Share of people by hour of day (China time): cases come in during the working day.
_HOURS = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 9, 10, 13, 13, 12, 10, 8, 6, 5, 4, 2, 1], float)
_MEDIAN_HOURS = {"dispute": 60.0, "hazard": 36.0, "appeal": 28.0}


def points_in(rng, grids: Level, idx: np.ndarray, near: float = 0.7) -> np.ndarray:
    """A point inside small grid `idx[i]` for each i: near its centre with chance `near`, else anywhere."""
    geoms = grids.geoms[idx]
    shapely.prepare(grids.geoms)
    bounds = shapely.bounds(geoms)
    spread = 0.3 * np.sqrt(shapely.area(geoms))
    out = np.array(shapely.get_coordinates(shapely.point_on_surface(geoms)))
    todo = np.arange(len(idx))
    for _ in range(40):
        if not len(todo):
            break
        b = bounds[todo]
        x, y = rng.uniform(b[:, 0], b[:, 2]), rng.uniform(b[:, 1], b[:, 3])
        close = rng.random(len(todo)) < near
        x[close] = grids.seeds[idx[todo[close]], 0] + rng.normal(0, 1, close.sum()) * spread[todo[close]]
        y[close] = grids.seeds[idx[todo[close]], 1] + rng.normal(0, 1, close.sum()) * spread[todo[close]]
        ok = shapely.contains_xy(geoms[todo], x, y)
        out[todo[ok]] = np.column_stack([x[ok], y[ok]])
        todo = todo[~ok]
    return out  # the few still in `todo` keep their point_on_surface


def assign_grids(grids: Level, xy: np.ndarray) -> np.ndarray:
    """Index of the small grid covering each point, lowest index first (= lowest id: ids follow the index)."""
    tree = shapely.STRtree(grids.geoms)
    pt_idx, grid_idx = tree.query(shapely.points(xy), predicate="covered_by")
    out = np.full(len(xy), -1)
    order = np.lexsort((grid_idx, pt_idx))
    pt_sorted, grid_sorted = pt_idx[order], grid_idx[order]
    first = np.ones(len(pt_sorted), bool)
    first[1:] = pt_sorted[1:] != pt_sorted[:-1]
    out[pt_sorted[first]] = grid_sorted[first]
    return out


def build_events(rng, plan: CountyPlan, end: int) -> None:
    """One year of disputes, hazards and appeals ending at `end`, clustered where people live."""
    spec, grids = plan.spec, plan.levels["grid"]
    kinds = np.repeat(
        np.array(["dispute", "hazard", "appeal"], dtype=object), [spec.disputes, spec.hazards, spec.appeals]
    )
    xy = _draw_points(rng, grids, len(kinds))
    ev = _categories_and_sources(rng, kinds)
    ev["reported"], ev["closed"], ev["status"] = _times(rng, kinds, end)
    ev["xy"] = xy
    ev["grid"] = assign_grids(grids, xy)
    ev["severity"] = rng.choice(4, len(kinds), p=texts.SEVERITY_P) + 1
    ev.update(_wages(rng, ev["category"], ev["status"], spec.wage_workers, spec.wage_recovered_yuan))
    _add_texts(rng, plan, ev)
    plan.events = ev


def _draw_points(rng, grids: Level, n: int) -> np.ndarray:
    """`n` points in small grids drawn by their people (80 %) or evenly (20 %)."""
    weight = 0.8 * grids.people / grids.people.sum() + 0.2 / len(grids.codes)
    idx = rng.choice(len(grids.codes), n, p=weight / weight.sum())
    return points_in(rng, grids, idx)


def _categories_and_sources(rng, kinds: np.ndarray) -> dict[str, np.ndarray]:
    """The kind, category and source of each case, categories and sources by each kind's mix."""
    category = np.empty(len(kinds), dtype=object)
    source = np.empty(len(kinds), dtype=object)
    for kind in ("dispute", "hazard", "appeal"):
        mask = kinds == kind
        category[mask] = texts.pick(rng, texts.MIX[kind], int(mask.sum()))
        source[mask] = texts.pick(rng, texts.SOURCE_MIX[kind], int(mask.sum()))
    return {"kind": kinds, "category": category, "source": source}


def _add_texts(rng, plan: CountyPlan, ev: dict) -> None:
    """Each case's title (naming its village) and description."""
    village_of = np.array(plan.levels["grid"].parents)[ev["grid"]]
    villages = [plan.levels["village"].names[v] for v in village_of]
    ev["title"] = texts.titles(rng, ev["category"], villages, np.maximum(ev["wage_workers"], 1))
    ev["description"] = texts.descriptions(ev["kind"], ev["source"], ev["title"], ev["status"] == "closed")


def _times(rng, kinds: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Report times over the year, closing times, and statuses: over 99 % closed, the newest still open."""
    n = len(kinds)
    day = rng.integers(0, 365, n)
    hour = rng.choice(24, n, p=_HOURS / _HOURS.sum())
    start = end - 365 * DAY  # `end` is midnight China time, so hour 0 here is 00:00 CST
    reported = start + day * DAY + hour * 3600 + rng.integers(0, 3600, n)
    closed = reported + _durations(rng, kinds)
    keep_open = np.concatenate(
        [_newest_late(kinds == k, reported, closed, end) for k in ("dispute", "hazard", "appeal")]
    )
    closed = np.minimum(closed, np.maximum(end - 60, reported))
    closed[keep_open] = -1
    return reported, closed, _statuses(rng, kinds, closed, keep_open)


def _durations(rng, kinds: np.ndarray) -> np.ndarray:
    """Seconds from report to closing: lognormal about each kind's median, at least ten minutes."""
    med = np.select(
        [kinds == "dispute", kinds == "hazard"],
        [_MEDIAN_HOURS["dispute"], _MEDIAN_HOURS["hazard"]],
        _MEDIAN_HOURS["appeal"],
    )
    return np.maximum(600, med * 3600 * rng.lognormal(0.0, 0.9, len(kinds))).astype(np.int64)


def _statuses(rng, kinds: np.ndarray, closed: np.ndarray, keep_open: np.ndarray) -> np.ndarray:
    """Closed, but an open status for the cases kept open; a few closed appeals are duplicates."""
    n = len(kinds)
    status = np.full(n, "closed", dtype=object)
    status[keep_open] = np.array(OPEN_STATUSES, dtype=object)[
        rng.integers(0, len(OPEN_STATUSES), len(keep_open))
    ]
    dup = np.flatnonzero((kinds == "appeal") & (rng.random(n) < 0.001) & (closed >= 0))
    status[dup] = "duplicate"
    return status


def _newest_late(mask: np.ndarray, reported: np.ndarray, closed: np.ndarray, end: int) -> np.ndarray:
    """Cases of one kind that would close after the year ends: the newest 0.6 % of the kind stay open."""
    late = np.flatnonzero(mask & (closed > end - 60))
    return late[np.argsort(-reported[late], kind="stable")][: int(0.006 * mask.sum())]


def _wages(rng, category: np.ndarray, status: np.ndarray, workers_total: int, recovered_yuan: float) -> dict:
    """Unpaid-wage figures of labour cases: closed ones sum to exactly the workers and yuan recovered."""
    n = len(category)
    labour = np.flatnonzero(category == "labour_wages")
    done = labour[status[labour] == "closed"]
    workers = _wage_workers(rng, n, labour, done, workers_total)
    per_worker = rng.lognormal(np.log(15_000), 0.5, n)
    raw = workers * per_worker
    recovered = _recovered_cents(raw, done, recovered_yuan)
    owed = np.where(status == "closed", recovered * rng.uniform(1.0, 1.2, n), raw * 100).astype(np.int64)
    owed = np.maximum(owed, recovered)
    is_labour = category == "labour_wages"
    return {
        "wage_workers": np.where(is_labour, workers, 0),
        "wage_owed": np.where(is_labour, owed, -1),
        "wage_recovered": np.where(is_labour, recovered, -1),
    }


def _wage_workers(rng, n: int, labour: np.ndarray, done: np.ndarray, workers_total: int) -> np.ndarray:
    """Workers owed wages per case: a few per labour case, the closed ones topped up to `workers_total`."""
    workers = np.zeros(n, dtype=np.int64)
    workers[labour] = 1 + rng.poisson(0.3, len(labour))
    extra = max(0, workers_total - int(workers[done].sum()))
    if len(done):
        share = rng.lognormal(0, 1.2, len(done))
        workers[done] += rng.multinomial(extra, share / share.sum())
    return workers


def _recovered_cents(raw: np.ndarray, done: np.ndarray, recovered_yuan: float) -> np.ndarray:
    """Cents recovered per case: exactly `recovered_yuan` over the closed cases `done`, pro rata `raw`."""
    recovered = np.zeros(len(raw), dtype=np.int64)  # cents
    if len(done):
        cents = int(round(recovered_yuan * 100))
        recovered[done] = np.floor(raw[done] * cents / raw[done].sum()).astype(np.int64)
        recovered[done[np.argmax(recovered[done])]] += cents - int(recovered[done].sum())
    return recovered


def build_workers(rng, plan: CountyPlan, end: int) -> None:
    """One grid worker (网格员) per small grid, located near it recently; most on duty and available."""
    grids = plan.levels["grid"]
    n = len(grids.codes)
    on_duty = rng.random(n) < 0.92
    ago = np.where(on_duty, rng.integers(60, 6 * 3600, n), rng.integers(12 * 3600, 3 * DAY, n))
    open_ = plan.events["grid"][plan.events["closed"] < 0]
    skills = [sorted(rng.choice(SKILLS, int(rng.integers(2, 4)), replace=False).tolist()) for _ in range(n)]
    plan.workers = {
        "name": names.person_names(rng, n),
        "phone": names.phones(rng, n),
        "grid": np.arange(n),
        "xy": points_in(rng, grids, np.arange(n), near=0.8),
        "located_at": end - ago,
        "on_duty": on_duty,
        "available": on_duty & (rng.random(n) < 0.9),
        "skills": skills,
        "open_tasks": np.minimum(np.bincount(open_[open_ >= 0], minlength=n), 8),
        "capacity": np.full(n, 8),
    }


def build_parties(rng, plan: CountyPlan) -> None:
    """Parties: applicant and respondent of disputes, the reporter of some hazards, the appellant."""
    kinds = plan.events["kind"]
    per = _parties_per_case(rng, kinds)
    event = np.repeat(np.arange(len(kinds)), per)
    role = _roles(kinds[event], per)
    m = len(event)
    id_col = _id_numbers(rng, plan.spec.adcode, kinds[event])
    plan.parties = {
        "event": event,
        "role": role,
        "name": names.person_names(rng, m),
        "phone": names.phones(rng, m),
        "id_number": id_col,
    }


def _parties_per_case(rng, kinds: np.ndarray) -> np.ndarray:
    """2 parties per dispute (3 for one in five), 1 for half the hazards, 1 per appeal."""
    n = len(kinds)
    per = np.where(kinds == "dispute", 2 + (rng.random(n) < 0.2), 0)
    per += np.where(kinds == "hazard", rng.random(n) < 0.5, 0) + np.where(kinds == "appeal", 1, 0)
    return per


def _roles(kind: np.ndarray, per: np.ndarray) -> np.ndarray:
    """Each party's role by its case's `kind` and its rank among the case's `per` parties."""
    rank = np.arange(len(kind)) - np.repeat(np.cumsum(per) - per, per)
    return np.where(
        kind == "dispute",
        np.array(["applicant", "respondent", "party"], dtype=object)[np.minimum(rank, 2)],
        np.where(kind == "hazard", "reporter", "applicant"),
    )


def _id_numbers(rng, adcode: str, kind: np.ndarray) -> np.ndarray:
    """ID numbers of about 70 % of the dispute parties (by their case's `kind`), None for the others."""
    m = len(kind)
    with_id = (kind == "dispute") & (rng.random(m) < 0.7)
    ids = names.id_numbers(rng, adcode, int(with_id.sum()))
    id_col = np.full(m, None, dtype=object)
    id_col[with_id] = ids
    return id_col
