"""Heatmap pages: size and build time, PostGIS-aggregated (ours) vs naive folium with every point inline.

Run by hand against a database holding the demo (county, and province if loaded):
    .venv/bin/python bench/bench_heatmap.py [--url postgresql+psycopg://...] [--runs 5]
Goals (issue 3): county page <= 1 MB and <= 150 ms; province page <= 2 MB and <= 1 s.
"""

import argparse
import statistics
import time
from functools import partial

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.queries.event_filter import EVENT_LAYERS, EventFilter, count_events
from geo.settings import DbSettings
from layers.assets import localize
from layers.builtin import default_registry
from layers.folium_county import county_map_html
from layers.folium_data import MapOptions
from layers.folium_heat import heatmap_html, heatmap_time_html
from layers.folium_risk import risk_map_html


def timed(fn, runs: int) -> tuple[float, int]:
    """Median milliseconds over `runs` (after one warm-up) and the size of the result in bytes."""
    out = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(out.encode())


def naive_heatmap(session: Session, area: str, kind: str) -> str:
    """What folium does out of the box: every event inline as [lat, lon]."""
    import folium
    from folium.plugins import HeatMap

    rows = session.execute(
        text("SELECT ST_Y(geom), ST_X(geom) FROM events WHERE kind = :k AND grid_code LIKE :a"),
        {"k": kind, "a": area + "%"},
    )
    fmap = folium.Map(location=[36.6, 103.2], zoom_start=9, tiles=None)
    HeatMap([list(r) for r in rows]).add_to(fmap)
    localize(fmap.get_root())
    return fmap.get_root().render()


def areas(session: Session) -> list[tuple[str, str]]:
    """The county, and the province when more than one county is loaded."""
    counties = session.execute(
        text("SELECT count(DISTINCT county_code) FROM grids WHERE valid_to IS NULL")
    ).scalar()
    out = [("county 620121", "620121")]
    if counties and counties > 1:
        out.append(("province 62", "62"))
    return out


def report(label: str, ms: float, size: int) -> None:
    print(f"{label:<44} {ms:>9.1f} ms {size / 1024 / 1024:>8.3f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="database URL (default: GRID_DB_URL / DATABASE_URL)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-runs", type=int, default=1, help="0 skips the naive pages")
    args = parser.parse_args()
    engine = create_engine(args.url or DbSettings().sqlalchemy_url)
    with Session(engine) as session:
        for name, area in areas(session):
            print(f"== {name}")
            bench_area(session, area, args.runs, args.naive_runs)


def bench_area(session: Session, area: str, runs: int, naive_runs: int) -> None:
    """Every map page of one area, and the naive heatmap, as one table."""
    registry = default_registry()
    opts = MapOptions(area=area)
    for layer, kind in EVENT_LAYERS.items():
        flt = EventFilter(kind)
        n = count_events(session, area, flt)
        report(f"heatmap {layer} ({n} events), ours", *timed(partial(heatmap_html, session, flt, opts), runs))
        for zoom in (8, 12):
            report(
                f"heatmap {layer} zoom={zoom}, ours",
                *timed(partial(heatmap_html, session, flt, opts, zoom), runs),
            )
        if naive_runs:
            naive = partial(naive_heatmap, session, area, kind)
            report(f"heatmap {layer}, naive folium (all points)", *timed(naive, naive_runs))
    weekly = partial(heatmap_time_html, session, EventFilter("appeal"), opts)
    report("heatmap-time appeals (52 weeks), ours", *timed(weekly, runs))
    report("county overview", *timed(partial(county_map_html, session, registry, opts), runs))
    report("risk choropleth", *timed(partial(risk_map_html, session, registry, opts), runs))


if __name__ == "__main__":
    main()
