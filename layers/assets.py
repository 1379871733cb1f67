"""What the Folium maps load, offline: vendored scripts and stylesheets, and the optional basemap.

Folium points every element at CDNs (the jsDelivr, cdnjs and Bootstrap content networks). County
networks are often cut off from the internet, so this is the ONE place that overrides those defaults:
`localize(root)` walks a Folium element tree and replaces each element's `default_js` / `default_css`
with copies served by the app from web/static/vendor (see web/static/vendor/README.md for versions and
licences). Bootstrap, Font Awesome and awesome-markers are dropped (the maps do not use them); jQuery is
kept only where a plugin needs it (HeatMapWithTime calls `$.extend`). An asset folium names that is not
listed here raises `OfflineAssetError` instead of silently leaving a CDN URL in the page.

This module does not import folium: it duck-types the elements (`default_js`, `_children`).
"""

from collections.abc import Iterator
from typing import Any

# folium resource name -> path under /static/vendor; None drops the resource.
JS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "leaflet-heat.js": "leaflet.heat/leaflet-heat.js",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "iso8601": "iso8601-js-period/iso8601.js",
    "leaflet.timedimension.min.js": "leaflet-timedimension/leaflet.timedimension.min.js",
    "heatmap.min.js": "heatmap.js/heatmap.min.js",
    "leaflet-heatmap.js": "heatmap.js/leaflet-heatmap.js",
}
CSS: dict[str, str | None] = {
    "leaflet_css": "leaflet/leaflet.css",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet.timedimension.control.min.css": "leaflet-timedimension/leaflet.timedimension.control.css",
}
# Extra scripts an element class needs before its own (by folium class name).
NEEDS_JS: dict[str, list[tuple[str, str]]] = {"HeatMapWithTime": [("jquery", "jquery/jquery.min.js")]}


class OfflineAssetError(RuntimeError):
    """A Folium element wants a script or stylesheet that is not vendored (a programming error)."""


def walk(element: Any) -> Iterator[Any]:
    """The element and all its descendants."""
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from walk(child)


def _local(
    table: dict[str, str | None], links: list[tuple[str, str]], prefix: str, owner: str
) -> list[tuple[str, str]]:
    """Vendored replacements for (name, url) links; dropped ones left out, unknown ones refused."""
    out = []
    for name, url in links:
        if name not in table:
            raise OfflineAssetError(
                f"{owner} needs {name} ({url}), which is not vendored; add it to layers/assets.py"
            )
        path = table[name]
        if path is not None:
            out.append((name, f"{prefix}/{path}"))
    return out


def localize(root: Any, prefix: str = "/static/vendor") -> None:
    """Point every script and stylesheet of a Folium element tree at the vendored copies under `prefix`."""
    for element in walk(root):
        if not hasattr(element, "default_js"):
            continue
        owner = type(element).__name__
        # By the plugin's class or a class of ours built on it (layers.folium_page's TimeHeat).
        needs = next((NEEDS_JS[c.__name__] for c in type(element).__mro__ if c.__name__ in NEEDS_JS), [])
        extra = [(n, f"{prefix}/{p}") for n, p in needs]
        # Instance attributes: folium's class-level lists stay untouched (and shared state stays clean).
        element.default_js = extra + _local(JS, element.default_js, prefix, owner)
        element.default_css = _local(CSS, element.default_css, prefix, owner)
