"""What the Folium pages draw, read back from their HTML."""

import json
import re

# heat_layer (layers.folium_page) writes its cells as a script variable the layer then reads.
_HEAT_CELLS = re.compile(r"var (heat_map_\w+)_data = (\[.*?\]\]);", re.S)


def heat_points(html: str) -> list[list[float]]:
    """The heat layer's points as Leaflet draws them, [lat, lon, weight] (the page holds [lon, lat, weight])."""
    match = _HEAT_CELLS.search(html)
    assert match, "no heat cells in the page"
    assert re.search(rf"L\.heatLayer\(\s*{match.group(1)}_data\.map\(", html), (
        "the heat layer does not read them"
    )
    return [[lat, lon, n] for lon, lat, n in json.loads(match.group(2))]


# time_heat_layer writes its frames the same way; the TDHeatmap layer is built over that variable.
_TIME_LAYER = re.compile(r"new TDHeatmap\((\w+)_data,")


def time_heat_frames(html: str) -> list[list[list[float]]]:
    """The weekly heat layer's frames, one [[lat, lon, weight], ...] per week, as the page holds them."""
    layer = _TIME_LAYER.search(html)
    assert layer, "no weekly heat layer reading a data script in the page"
    frames = re.search(rf"var {layer.group(1)}_data = (\[.*?\]);\n", html, re.S)
    assert frames, "no weekly heat frames in the page"
    return json.loads(frames.group(1))
