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
