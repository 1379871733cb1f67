"""Analytics timings: Gi* hot spots, emerging hot spots, a monthly report (county, and province if loaded).

Run by hand against a database holding the demo:
    .venv/bin/python bench/bench_analytics.py [--url postgresql+psycopg://...] [--runs 3]
Goals (issue 6): county hot spot layer < 1 s, monthly report < 5 s.

Timed, each as the median of `--runs` after one warm-up, inside a transaction that is rolled back:
  gi_star     count + EB + contiguity + Gi* with 999 permutations (compute only, contiguity cached)
  layer_cold  the hot spot layer from nothing: compute, store the run, read its GeoJSON page
  layer_warm  the layer when the stored run is current (fingerprint check + GeoJSON page)
  emerging    52 weekly Gi* + Mann-Kendall per grid, stored
  monthly     the monthly report's figures (issued) + its HTML with the static map
"""

import argparse
import statistics
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.analytics.emerging import refresh_emerging
from geo.analytics.hotspots import compute_hotspots, refresh_hotspots
from geo.analytics.reports import get_report
from geo.analytics.settings import AnalyticsSettings
from geo.settings import DbSettings
from layers import geojson
from layers.builtin import default_registry
from layers.query import LayerQuery
from layers.report_render import report_html
from layers.settings import LayerSettings

WEB = Path(__file__).resolve().parent.parent / "web" / "templates"


def timed(engine, fn, runs: int) -> float:
    """Median seconds of fn(session) over `runs` after a warm-up, each in a rolled-back transaction."""
    times = []
    for i in range(runs + 1):
        with engine.connect() as conn, conn.begin() as trans:
            session = Session(bind=conn, join_transaction_mode="create_savepoint")
            t0 = time.perf_counter()
            fn(session)
            if i:
                times.append(time.perf_counter() - t0)
            trans.rollback()
    return statistics.median(times)


def layer_page(session: Session, area: str, settings: AnalyticsSettings, as_of: datetime) -> None:
    """Ensure the run, then read the whole layer as a GeoJSON page (as /ogc/.../items does)."""
    refresh_hotspots(session, area, "grid", settings, as_of)
    layer = default_registry().get("hotspots")
    geojson.get_page(session, layer, LayerQuery(area=area, limit=10_000), LayerSettings(_env_file=None))


def bench_area(engine, area: str, name: str, runs: int) -> None:
    """Print the timings of one area."""
    s = AnalyticsSettings(_env_file=None, permutations=999)
    as_of = datetime.now(UTC)
    with engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL AND code LIKE :a || '%'"
            ),
            {"a": area},
        ).scalar()
    print(f"{name} ({area}): {n} small grids")
    rows = {
        "gi_star (999 perms)": lambda ses: compute_hotspots(ses, area, "grid", s, as_of),
        "hex gi_star (2 km)": lambda ses: compute_hotspots(ses, area, "hex", s, as_of),
        "layer_cold": lambda ses: layer_page(ses, area, s, as_of),
        "emerging (52 weeks)": lambda ses: refresh_emerging(ses, area, s, as_of),
        "monthly figures": lambda ses: get_report(ses, "monthly", area, date(2026, 10, 15)),
        "monthly figures+html": lambda ses: report_html(
            ses, get_report(ses, "monthly", area, date(2026, 10, 15)), WEB
        ),
    }
    for label, fn in rows.items():
        print(f"  {label:24s} {timed(engine, fn, runs):7.3f} s")
    with engine.connect() as conn, conn.begin() as trans:
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        refresh_hotspots(session, area, "grid", s, as_of)
        t0 = time.perf_counter()
        for _ in range(runs):
            layer_page(session, area, s, as_of)
        print(f"  {'layer_warm':24s} {(time.perf_counter() - t0) / runs:7.3f} s")
        trans.rollback()


def main() -> None:
    """Parse arguments and run the benchmark."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=None)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    engine = create_engine(args.url or DbSettings().sqlalchemy_url)
    bench_area(engine, "620121", "county 永登县", args.runs)
    with engine.connect() as conn:
        province = conn.execute(
            text(
                "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL "
                "AND code NOT LIKE '620121%'"
            )
        ).scalar()
    if province:
        bench_area(engine, "62", "province 甘肃省 (demo)", max(1, args.runs // 3))
    else:
        print("province not loaded (gridgov demo --province): skipped")


if __name__ == "__main__":
    main()
