"""Loading the demo: the county or the province, written with COPY, then its dispatch data."""

import json
import sys
import time
from datetime import date, timedelta
from importlib.resources import files

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.orm import Session
from tqdm import tqdm

from geo import clock
from geo.crs import shifted_to_wgs84
from geo.demo import field as demo_field
from geo.demo import names
from geo.demo import write as demo_copy
from geo.demo.build import CountyPlan, CountySpec, as_multi, build_levels
from geo.demo.dispatch import seed_dispatch_demo
from geo.demo.events import build_events, build_parties, build_workers
from geo.demo.history import seed_history
from geo.demo.places import build_departments, build_facilities
from geo.errors import ConflictError
from geo.queries.grids import check_nesting, reassign_events, refresh_all_cores, refresh_all_neighbours
from geo.settings import FieldSettings

YONGDENG = {"adcode": "620121", "name": "永登县", "city": "兰州市", "area_km2": 5786.0}
# Yongdeng's year: 15 townships, 196 villages, 1,383 small grids; 7,705 disputes, 9,410 hazards and
# about 104,000 appeals; 1,260 workers recovered 21.66 million yuan of unpaid wages.
COUNTY_COUNTS = {
    "townships": 15,
    "villages": 196,
    "grids": 1383,
    "disputes": 7705,
    "hazards": 9410,
    "appeals": 104_000,
    "wage_workers": 1260,
    "wage_recovered_yuan": 21_660_000.0,
}
PROVINCE_GRIDS = 120_000
BULK_TABLES = ("events", "parties")  # loaded without their secondary indexes, rebuilt once at the end
PROVINCE_EVENTS = 1_500_000


def demo_end(until: date | None) -> int:
    """Epoch seconds of the end of the demo year: the end of `until` (default: the county's today), or
    the clock's instant when that is earlier (the demo never reports a case from the future).

    A past `until` gives the same end at any time of loading, so the same seed and `until` give the
    same data; today's demo ends at the moment it is loaded."""
    day = until or clock.today()
    end = min(clock.midnight(day + timedelta(days=1)), clock.now())
    return int(end.timestamp())


def _read_outlines(name: str) -> list[tuple[dict, object]]:
    """(properties, WGS84 MultiPolygon) of each feature of a packaged GCJ-02 boundary file."""
    data = json.loads((files("geo") / "data" / name).read_text(encoding="utf-8"))
    geoms = shifted_to_wgs84(np.array([shape(f["geometry"]) for f in data["features"]]), "gcj02")
    return [(f["properties"], as_multi(g)) for f, g in zip(data["features"], geoms, strict=True)]


def yongdeng_spec() -> CountySpec:
    """The county demo: Yongdeng's full-resolution outline with its real townships."""
    _, outline = _read_outlines("yongdeng-620121.geojson")[0]
    return CountySpec(
        adcode=YONGDENG["adcode"],
        name=YONGDENG["name"],
        city=YONGDENG["city"],
        outline=outline,
        named_townships=tuple(names.YONGDENG_TOWNSHIPS),
        rivers=tuple(tuple(r) for r in names.YONGDENG_RIVERS),
        **COUNTY_COUNTS,
    )


def province_specs() -> list[CountySpec]:
    """All 87 Gansu counties, made not to overlap, with counts scaled to their area (Yongdeng = 5,786 km²)."""
    rows = _read_outlines("gansu-counties.geojson")
    outlines = _without_overlaps([g for _, g in rows])
    areas = np.array([_area_km2(g) for g in outlines])
    grid_scale = PROVINCE_GRIDS / COUNTY_COUNTS["grids"] / areas.sum()
    event_scale = (
        PROVINCE_EVENTS / sum(COUNTY_COUNTS[k] for k in ("disputes", "hazards", "appeals")) / areas.sum()
    )
    return [
        _scaled_spec(props, outline, area * grid_scale, area * event_scale)
        for (props, _), outline, area in zip(rows, outlines, areas, strict=True)
    ]


def _scaled_spec(props: dict, outline, grid_factor: float, event_factor: float) -> CountySpec:
    """A county's spec: grid counts times `grid_factor`, case counts times `event_factor` (of Yongdeng's)."""
    c = COUNTY_COUNTS
    towns = max(3, round(c["townships"] * grid_factor))
    villages = max(towns, round(c["villages"] * grid_factor))
    real = props["adcode"] == YONGDENG["adcode"]
    return CountySpec(
        adcode=props["adcode"],
        name=props["name"],
        city=props.get("city", ""),
        outline=outline,
        townships=len(names.YONGDENG_TOWNSHIPS) if real else towns,
        villages=villages,
        grids=max(villages, round(c["grids"] * grid_factor)),
        named_townships=tuple(names.YONGDENG_TOWNSHIPS) if real else (),
        rivers=tuple(tuple(r) for r in names.YONGDENG_RIVERS) if real else (),
        **_scaled_cases(event_factor),
    )


def _scaled_cases(factor: float) -> dict:
    """Yongdeng's case counts and wage figures times `factor` (at least one wage worker)."""
    c = COUNTY_COUNTS
    return {
        "disputes": round(c["disputes"] * factor),
        "hazards": round(c["hazards"] * factor),
        "appeals": round(c["appeals"] * factor),
        "wage_workers": max(1, round(c["wage_workers"] * factor)),
        "wage_recovered_yuan": round(c["wage_recovered_yuan"] * factor, 2),
    }


def _without_overlaps(outlines: list) -> list:
    """Simplified neighbours overlap by slivers: each county gives up what earlier ones already hold."""
    tree = shapely.STRtree(outlines)
    out = list(outlines)
    for i, geom in enumerate(outlines):
        earlier = [j for j in tree.query(geom, predicate="intersects") if j < i]
        if earlier:
            out[i] = as_multi(shapely.difference(geom, shapely.union_all([out[j] for j in earlier])))
    return out


def _area_km2(geom) -> float:
    """Approximate area in km² (equal-area enough for scaling counts)."""
    lat = shapely.centroid(geom).y
    return float(shapely.area(geom)) * 111.32**2 * np.cos(np.radians(lat))


def build_county(spec: CountySpec, seed: int, end: int) -> CountyPlan:
    """Build one county in memory (pure: same spec, seed and end give the same plan)."""
    rng = np.random.default_rng([seed, int(spec.adcode)])
    levels, _ = build_levels(rng, spec)
    plan = CountyPlan(spec=spec, levels=levels)
    build_events(rng, plan, end)
    build_workers(rng, plan, end)
    build_parties(rng, plan)
    build_facilities(rng, plan)
    build_departments(rng, plan)
    return plan


def load_demo(
    session: Session,
    *,
    seed: int = 620121,
    until: date | None = None,
    province: bool = False,
    progress: bool = True,
    if_empty: bool = False,
    fieldwork: FieldSettings | None = None,
) -> dict[str, float]:
    """Load the demo county (or province) into an empty database, in the caller's transaction (no commit).

    The county also gets a day of patrols and visits for every worker and its last month's handling
    history (geo.demo.field, geo.demo.history); the province does not (120,000 workers' days)."""
    started = time.perf_counter()
    if _skip_loaded(session, if_empty):
        return {"skipped": 1}
    totals = _load(session, seed, demo_end(until), province=province, progress=progress, fieldwork=fieldwork)
    totals["seconds"] = round(time.perf_counter() - started, 1)
    return totals


def _skip_loaded(session: Session, if_empty: bool) -> bool:
    """False for an empty database; True for a loaded one when `if_empty`, else ConflictError."""
    if not _has_data(session):
        return False
    if if_empty:
        return True
    raise ConflictError("the database already holds grids or cases; the demo loads only into an empty one")


def _load(session: Session, seed: int, end: int, *, province: bool, progress: bool, fieldwork) -> dict:
    """Write the county or every county, settle what the COPY skipped, then add each county's dispatch
    data (and, for the county, its field work)."""
    field = None if province else (fieldwork or FieldSettings(_env_file=None))
    specs = province_specs() if province else [yongdeng_spec()]
    bar = tqdm(total=len(specs), desc="demo", unit="county", disable=not progress, file=sys.stderr)
    with demo_copy.bulk_settings(session), bar:
        totals = _write_counties(session, specs, seed, end, bar, parents_needed=province, field=field)
        _settle(session, totals, whole_province=province)
        _seed_counties(session, totals, specs, seed, end, field)
        lay_out_by_day(session)
    return totals


def lay_out_by_day(session: Session) -> None:
    """Store grid_days in day order, as a live system's rows arrive: the bulk load wrote each county's
    year grid by grid (its trigger upserts in key order), so a province's 30-day window read 31,000
    pages for 150,000 rows (summary 0.35 s, 0.2 s of it this scan); in day order, 2,500 pages."""
    session.execute(text("CLUSTER grid_days USING grid_days_day"))
    session.execute(text("ANALYZE grid_days"))


def _settle(session: Session, totals: dict, *, whole_province: bool) -> None:
    """Statistics, cores and neighbours after the bulk load; the events' grids checked in PostGIS."""
    demo_copy.analyze(session)
    refresh_all_cores(session)
    refresh_all_neighbours(session)
    # The builder put each event in its grid by the database's rule (GEOS covered_by, lowest
    # index = lowest id); re-assignment checks that in PostGIS and fixes what float noise moved.
    totals["grids_fixed"] = reassign_events(session)
    if not whole_province:  # about a second for the county; several minutes for the whole province
        check_nesting(session)


def _seed_counties(
    session: Session, totals: dict, specs: list[CountySpec], seed: int, end: int, field
) -> None:
    """Mediators, deadlines and assignees of open cases (geo.demo.dispatch), county after county, and
    with `field` (FieldSettings) the tracks of the day's patrols and the last month's handling history."""
    for spec in specs:
        _add(totals, seed_dispatch_demo(session, spec.adcode, seed + int(spec.adcode)))
        if field is not None:
            totals["tracks"] = demo_field.build_tracks(session, spec.adcode, field)
            _add(totals, seed_history(session, spec.adcode, end, seed))


def _write_counties(
    session: Session, specs: list[CountySpec], seed: int, end: int, bar, *, parents_needed: bool, field
) -> dict:
    """Build and COPY county after county (events and parties without indexes), with the day of field
    work when `field` (FieldSettings) is given; return the counts."""
    totals: dict[str, float] = {}
    parents = demo_copy.write_regions(session, specs, end) if parents_needed else {}
    with demo_copy.without_indexes(session, BULK_TABLES):
        for spec in specs:
            plan = build_county(spec, seed, end)
            _add(totals, demo_copy.write_plan(session, plan, end, parents.get(spec.adcode)))
            if field is not None:
                _add(totals, demo_field.write_field(session, plan, seed, field))
            bar.update()
    return totals


def _add(totals: dict, counts: dict) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value


def _has_data(session: Session) -> bool:
    """True when any grid or case exists."""
    return bool(
        session.execute(text("SELECT EXISTS (SELECT 1 FROM grids) OR EXISTS (SELECT 1 FROM events)")).scalar()
    )
