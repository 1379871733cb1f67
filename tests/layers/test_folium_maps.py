"""Folium pages and their aggregations on the tiny hand-drawn county (known answers)."""

import re
from datetime import date

import numpy as np
import pytest

from geo.analytics.risk import RiskSettings, grade_area
from geo.crs import wgs84_to_gcj02
from geo.errors import InvalidInputError
from geo.models import EVENT_STATUSES
from geo.queries.event_filter import EventFilter, count_events, parse_event_filter
from geo.queries.heat import fit_heat_cells, list_heat_cells, presummed_level
from geo.queries.mapview import cell_for_zoom, fit_zoom
from layers.assets import CSS, JS, OfflineAssetError, localize
from layers.builtin import default_registry
from layers.folium_county import county_map_html
from layers.folium_data import MapOptions
from layers.folium_heat import build_heat, build_weekly, heatmap_html, heatmap_time_html
from layers.folium_maps import latlon
from layers.folium_risk import risk_map_html
from tests.layers.tiny_county import DISPUTES, HAZARDS, SMALL_GRIDS, load_tiny_county
from tests.pages import heat_points, time_heat_frames

EXTERNAL = re.compile(r"(?:https?:)?//(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}", re.I)
OPTS = MapOptions(area="620121")


@pytest.fixture
def tiny(empty_session):
    load_tiny_county(empty_session)
    grade_area(empty_session, "620121", RiskSettings(_env_file=None))  # what the risk job stores
    empty_session.flush()
    return empty_session


def unescaped(html: str) -> str:
    """The page with JSON \\uXXXX escapes decoded (folium escapes non-ASCII in its data)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def external_urls(html: str) -> list[str]:
    return EXTERNAL.findall(html)


def test_latlon_swaps_to_leaflet_order_and_keeps_extra_columns():
    assert latlon([(103.1, 36.2, 5)]) == [[36.2, 103.1, 5]]
    assert latlon([]) == []


def test_latlon_shifts_to_gcj02_when_asked():
    [[lat, lon]] = latlon([(103.26, 36.73)], "gcj02")
    glon, glat = wgs84_to_gcj02(103.26, 36.73)
    assert (lat, lon) == (round(float(glat), 5), round(float(glon), 5))
    assert abs(lon - 103.26) > 0.001


def test_localize_points_every_asset_at_the_vendor_folder():
    import folium
    from folium.plugins import FastMarkerCluster, HeatMap, HeatMapWithTime

    fmap = folium.Map(tiles=None)
    HeatMap([[36.0, 103.0, 1]]).add_to(fmap)
    HeatMapWithTime([[[36.0, 103.0, 1]]]).add_to(fmap)
    FastMarkerCluster([[36.0, 103.0]], callback="function (r) { return L.marker(r); }").add_to(fmap)
    localize(fmap.get_root(), "/x/static/vendor")
    html = fmap.get_root().render()
    assert external_urls(html) == []
    assert '<script src="/x/static/vendor/leaflet/leaflet.js"></script>' in html
    assert "/x/static/vendor/jquery/jquery.min.js" in html  # HeatMapWithTime needs $.extend
    assert "bootstrap" not in html and "awesome" not in html
    assert folium.Map.default_js[0][1].startswith("https://")  # the class defaults stay untouched


def test_localize_refuses_an_asset_that_is_not_vendored():
    import folium

    fmap = folium.Map(tiles=None)
    fmap.default_js = [("mystery", "https://cdn.example/mystery.js")]
    with pytest.raises(OfflineAssetError, match="mystery"):
        localize(fmap)


def test_vendored_files_exist():
    from api.settings import REPO_WEB_DIR

    for path in [*JS.values(), *CSS.values(), "jquery/jquery.min.js"]:
        if path:
            assert (REPO_WEB_DIR / "static" / "vendor" / path).is_file(), path


@pytest.mark.parametrize("cell", [0.05, 0.1, 0.4, 5.0])
def test_heat_cells_sum_to_the_event_count_at_any_cell_size(tiny, cell):
    flt = EventFilter("dispute")
    cells = list_heat_cells(tiny, "620121", flt, cell)
    assert sum(n for _, _, n in cells) == DISPUTES == count_events(tiny, "620121", flt)
    assert len(cells) <= SMALL_GRIDS * 2


def test_heat_cells_put_each_small_grid_in_its_own_cell(tiny):
    cells = list_heat_cells(tiny, "620121", EventFilter("hazard"), 0.1)
    assert sorted(n for *_, n in cells) == [2] * SMALL_GRIDS
    assert all(103.0 <= lon <= 103.4 and 36.0 <= lat <= 36.4 for lon, lat, _ in cells)


def test_heat_cells_stay_in_the_requesters_area(tiny):
    assert sum(n for *_, n in list_heat_cells(tiny, "620122", EventFilter("dispute"), 0.1)) == 1
    assert (
        sum(n for *_, n in list_heat_cells(tiny, "620121001", EventFilter("dispute"), 0.1)) == DISPUTES // 2
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"category": "neighbour"}, 8),
        ({"category": "neighbour,fire"}, None),
        ({"status": "closed"}, 8),
        ({"status": "closed,reported"}, 16),
        ({"since": "2026-01-01", "until": "2026-01-01"}, 1),
        ({"since": "2026-02-01"}, 14),  # grids 4-7 (12) + 2 of grid 3 (Jan 31, Feb 1, Feb 2 UTC)
    ],
)
def test_filters_change_the_count(tiny, kwargs, expected):
    if expected is None:
        with pytest.raises(InvalidInputError, match="fire"):
            parse_event_filter(tiny, "disputes", **kwargs)
        return
    flt = parse_event_filter(tiny, "disputes", **kwargs)
    assert count_events(tiny, "620121", flt) == expected
    assert sum(n for *_, n in list_heat_cells(tiny, "620121", flt, 0.05)) == expected


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"layer": "cats"}, "layer"),
        ({"layer": "disputes", "since": "2026-13-01"}, "from"),
        ({"layer": "disputes", "until": "yesterday"}, "to"),
        ({"layer": "disputes", "since": "2026-03-01", "until": "2026-02-01"}, "from"),
        ({"layer": "disputes", "category": "fire"}, "category"),
        ({"layer": "hazards", "status": "lost"}, "status"),
    ],
)
def test_parse_event_filter_names_the_bad_parameter(tiny, kwargs, where):
    with pytest.raises(InvalidInputError) as info:
        parse_event_filter(tiny, **kwargs)
    assert info.value.where == where


def test_fit_cells_doubles_the_cell_until_the_cap_holds(tiny):
    flt = EventFilter("dispute")
    fitted = fit_heat_cells(tiny, "620121", flt, 0.01, 3)
    rows = fitted.rows()
    assert len(rows) == fitted.cells <= 3 and fitted.cell_deg > 0.01 and fitted.events == DISPUTES
    assert sum(n for *_, n in rows) == DISPUTES


@pytest.mark.parametrize("start", [0.01, 1e-7])  # within one pass (2^6 wider), and beyond it
def test_filtered_cells_widen_in_one_pass_until_the_cap_holds(tiny, start):
    flt = EventFilter("dispute", statuses=tuple(EVENT_STATUSES))  # a filter: events are read, not cells
    fitted = fit_heat_cells(tiny, "620121", flt, start, 3)
    assert len(fitted.rows()) == fitted.cells <= 3 and fitted.events == DISPUTES
    assert sum(n for *_, n in fitted.rows()) == DISPUTES
    # Widening by shifting fine cells is the same partition as binning at the final width directly.
    direct = list_heat_cells(tiny, "620121", flt, fitted.cell_deg)
    assert sorted(n for *_, n in direct) == sorted(n for *_, n in fitted.rows())
    assert sorted((round(x, 4), round(y, 4)) for x, y, _ in direct) == sorted(
        (round(x, 4), round(y, 4)) for x, y, _ in fitted.rows()
    )


def test_cell_for_zoom_rejects_zooms_out_of_range():
    assert cell_for_zoom(10) == pytest.approx(360 / 1024 / 256 * 8)
    with pytest.raises(InvalidInputError, match="zoom"):
        cell_for_zoom(30)


def test_fit_zoom_of_the_tiny_county():
    assert fit_zoom((103.0, 36.0, 103.4, 36.4)) in (10, 11)


def test_heatmap_page_weights_sum_to_matching_events(tiny):
    html = heatmap_html(tiny, EventFilter("hazard"), OPTS, zoom=12)
    assert sum(p[2] for p in heat_points(html)) == HAZARDS
    assert external_urls(html) == []
    assert "安全隐患热力图" in html and "/static/vendor/leaflet.heat/leaflet-heat.js" in html


def test_build_heat_honours_the_cell_cap(tiny):
    heat = build_heat(tiny, EventFilter("dispute"), MapOptions(area="620121", heat_max_cells=4), zoom=14)
    assert len(heat.lonlat()) == heat.cells <= 4 and heat.total == DISPUTES


def test_heatmap_in_gcj02_shifts_every_point(tiny):
    wgs = build_heat(tiny, EventFilter("dispute"), OPTS, zoom=12)
    gcj = build_heat(tiny, EventFilter("dispute"), MapOptions(area="620121", basemap_crs="gcj02"), zoom=12)
    dlon = np.array([g[0] - w[0] for g, w in zip(gcj.lonlat(), wgs.lonlat(), strict=True)])
    assert np.all(np.abs(dlon) > 1e-3)  # GCJ-02 moves Yongdeng a few hundred metres


def test_weekly_frames_cover_the_range_and_count_every_event(tiny):
    flt = parse_event_filter(tiny, "disputes", "2026-01-01", "2026-03-31")
    labels, frames, total = build_weekly(tiny, flt, OPTS)
    assert len(labels) == len(frames) == 14  # week of Mon 2025-12-29 .. week of Mon 2026-03-30
    assert labels[0] == "2026年第01周（12-29起）"
    assert total == DISPUTES
    assert all(0 < p[2] <= 1 for frame in frames for p in frame)


def test_heatmap_time_page_is_offline(tiny):
    html = heatmap_time_html(tiny, parse_event_filter(tiny, "appeals", "2026-01-01", "2026-12-31"), OPTS)
    assert external_urls(html) == []
    assert "TDHeatmap" in html
    assert "/static/vendor/leaflet-timedimension/leaflet.timedimension.min.js" in html
    assert "/static/vendor/jquery/jquery.min.js" in html  # our TimeHeat layer needs it as the plugin does


def test_heatmap_time_page_holds_every_weekly_frame(tiny):
    flt = parse_event_filter(tiny, "disputes", "2026-01-01", "2026-03-31")
    labels, frames, _total = build_weekly(tiny, flt, OPTS)
    html = heatmap_time_html(tiny, flt, OPTS)
    assert time_heat_frames(html) == frames
    assert sum(len(f) for f in frames) > 0
    assert all(label in unescaped(html) for label in labels)


def test_county_page_draws_grids_facilities_and_events(tiny):
    html = county_map_html(tiny, default_registry(), OPTS)
    assert external_urls(html) == []
    text = unescaped(html)
    assert "乡镇（街道）（2）" in text and "网格（8）" in text and "综治设施（2）" in text
    assert "620122" not in html  # the neighbour county never shows
    assert "L.markerClusterGroup" in html and "gg-township" in html


def test_risk_page_colours_every_small_grid(tiny):
    html = risk_map_html(tiny, default_registry(), OPTS)
    assert external_urls(html) == []
    text = unescaped(html)
    assert f"网格风险等级（{SMALL_GRIDS}）" in text
    assert "化解率" in text and "未结案件" in text and '"gg-risk gg-risk-" + g' in text
    legend = re.findall(r"(高|中|低)风险：(\d+) 个网格", text)
    assert len(legend) == 3 and sum(int(n) for _, n in legend) == SMALL_GRIDS
    assert "评定时刻：" in text and "北京时间" in text


def test_pages_use_the_root_path_prefix(tiny):
    html = heatmap_html(
        tiny, EventFilter("dispute"), MapOptions(area="620121", vendor_prefix="/gg/static/vendor")
    )
    assert '<script src="/gg/static/vendor/leaflet/leaflet.js"></script>' in html


def test_date_filter_uses_china_days(tiny):
    flt = EventFilter("dispute", since=date(2026, 1, 1), until=date(2026, 1, 1))
    assert flt.params("620121")["since"].utcoffset().total_seconds() == 8 * 3600


def test_layer_collections_shift_polygons_to_gcj02(tiny):
    from layers.folium_data import layer_collection

    layer = default_registry().get("townships")
    wgs = layer_collection(tiny, layer, OPTS, ("name",), tally_by="name")
    gcj = layer_collection(tiny, layer, MapOptions(area="620121", basemap_crs="gcj02"), ("name",))
    assert [f["properties"]["name"] for f in wgs.features()] == ["城关镇", "红城镇"]
    assert wgs.count == gcj.count == 2 and wgs.tally == {"城关镇": 1, "红城镇": 1}
    (x0, y0), (x1, y1) = (
        wgs.features()[0]["geometry"]["coordinates"][0][0],
        gcj.features()[0]["geometry"]["coordinates"][0][0],
    )
    ex, ey = wgs84_to_gcj02(x0, y0)
    assert (x1, y1) == (round(float(ex), 5), round(float(ey), 5))


def test_layer_collections_stop_one_past_the_cap(tiny):
    from layers.folium_data import layer_collection

    capped = MapOptions(area="620121", max_features_per_layer=3)
    data = layer_collection(tiny, default_registry().get("grids"), capped, ("code",))
    assert data.count == len(data.features()) == 4  # the page sees "more than 3" and draws none


@pytest.mark.parametrize("cell", [0.0005, 0.003, 0.01, 0.05, 0.4, 3.0])
@pytest.mark.parametrize("area", ["620121", "620121001"])
def test_unfiltered_heatmaps_sum_the_precomputed_cells(tiny, cell, area):
    """Fitted cells of an unfiltered heatmap come from event_cells (migrations 0013, 0020) down to ~300 m cells;
    counts match the events and the area either way."""
    flt = EventFilter("dispute")
    summed = presummed_level(flt, cell)
    assert (summed is None) == (cell < 360 / 2**18)  # finer than level-11 cells: read the events
    fitted = fit_heat_cells(tiny, area, flt, cell, 10_000)
    assert sum(n for *_, n in fitted.rows()) == fitted.events == count_events(tiny, area, flt)
    assert fitted.cell_deg >= cell
    assert presummed_level(EventFilter("dispute", statuses=("closed",)), cell) is None
