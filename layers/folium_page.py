"""Rendering Folium pages so that data never becomes a Jinja template, and big data costs nothing extra.

Folium renders each element's macros to text and wraps that text in a new Jinja template (branca's
`Element(text)`), which the page template renders a second time. Two consequences for our pages:

- Data was executed as a template: a grid or facility named "{{ 7*7 }}" came out as "49", and a
  Jinja expression in an imported name reaches Python objects on the server (template injection);
  "{%" in a name broke the page. `render_page` makes every JSON that Folium's templates write escape
  a "{" followed by "{", "%" or "#" as \\u007b (still the same JSON and JavaScript: a structural brace
  is always followed by a quote or "}"), so the second pass has nothing to interpret. Our own
  JavaScript embeds data through `js_json`, which escapes the same way.
- The Jinja lexer reads every byte of the data again (about 100 ns a byte: 40-130 ms a page). Big
  data goes into the page as a `Literal` element instead, which renders as is and is never compiled.
"""

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from branca.element import Element

from layers.assets import localize, walk

# "{" that would open a Jinja tag, expression or comment.
_JINJA_OPEN = re.compile(r"\{(?=[{%#])")
# Characters that must not appear raw in JSON inside an HTML <script> (Jinja's htmlsafe set, and the
# two line separators that older JavaScript engines reject in string literals).
_HTML_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
_HTML_UNSAFE_RE = re.compile("[<>&'\u2028\u2029]")
# Backslashes followed by a \\uXXXX escape of a CJK character (U+3000-U+9FFF) or a full-width form.
_CJK_ESCAPE = re.compile(r"(\\+)u(3[0-9a-f]{3}|[4-9][0-9a-f]{3}|ff[0-9a-e][0-9a-f])", re.I)


def _no_jinja(text: str) -> str:
    return _JINJA_OPEN.sub(r"\\u007b", text)


def _template_json(obj: Any, **kwargs: Any) -> str:
    """json.dumps for Folium's `tojson` filter: its output is templated again, so no Jinja openers."""
    return _no_jinja(json.dumps(obj, **kwargs))


def script_json(text: str) -> str:
    """A JSON text (say, built by PostGIS) made safe inside <script>: <, >, &, ' and the line
    separators escaped as \\uXXXX, which JSON strings decode back (they never occur outside one)."""
    return _HTML_UNSAFE_RE.sub(lambda m: _HTML_UNSAFE.get(m.group(0)) or f"\\u{ord(m.group(0)):04x}", text)


def js_json(obj: Any) -> str:
    """Compact JSON to place inside a <script>: HTML-safe, nothing Jinja would read, CJK as UTF-8."""
    return _no_jinja(script_json(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)))


class Literal(Element):  # type: ignore[misc]
    """Text (HTML or JavaScript) placed in the page as is: never compiled or rendered as a template."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Literal"
        self._text = text

    def render(self, **kwargs: Any) -> str:
        """The text itself."""
        return self._text


# A JSON array of numbers only: what heat_layer places in the page without escaping.
_NUMBERS_JSON = re.compile(r"\[[-+0-9.eE,\[\] ]*\]")


def heat_layer(cells_json: str, **options: Any) -> Any:
    """folium's HeatMap (a Layer, for the layer control) over `cells_json`, a JSON text of
    [[lon, lat, weight], ...] straight from PostGIS, placed in the page as a Literal script (the
    browser swaps each to Leaflet's [lat, lon, weight])."""
    if not _NUMBERS_JSON.fullmatch(cells_json):
        raise ValueError("heat cells must be a JSON array of arrays of numbers")
    return _layer_classes()["heat"](lambda name: f"var {name}_data = {cells_json};", **options)


def time_heat_layer(frames_json: str, index: list[str], **options: Any) -> Any:
    """folium's HeatMapWithTime over `frames_json`, a JSON text of one array of [lat, lon, weight] per
    entry of `index`, placed in the page as a Literal script: folium prints the frames into its
    template, which the page then lexes again as a template of its own (70 ms for a county year)."""
    if not _NUMBERS_JSON.fullmatch(frames_json):
        raise ValueError("heat frames must be a JSON array of arrays of numbers")
    return _layer_classes()["time_heat"](
        lambda name: f"var {name}_data = {frames_json};", len(index), index=index, **options
    )


def metric_scale() -> Any:
    """A scale bar in metres and kilometres only (folium's control_scale adds miles and feet too)."""
    from branca.element import MacroElement
    from folium.template import Template

    class MetricScale(MacroElement):  # type: ignore[misc]
        _template = Template("""{% macro script(this, kwargs) %}
            L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""")

    return MetricScale()


def collection_layer(collection_json: str, options_js: str, *, name: str, show: bool = True) -> Any:
    """A Leaflet GeoJSON layer (a folium Layer, for the layer control) over `collection_json`, a
    FeatureCollection text straight from PostGIS. The data and `options_js` (the L.geoJson options:
    style, onEachFeature, pointToLayer; our own JavaScript, never data) go into the page as a Literal
    script: folium's GeoJson re-encodes every feature in Python and has Jinja read it twice."""
    data = script_json(collection_json)

    def data_js(layer: str) -> str:
        return f"var {layer}_data = {data};\nvar {layer}_options = {options_js};"

    return _layer_classes()["collection"](data_js, name=name, overlay=True, control=True, show=show)


class _DataScript:
    """Mixin of a folium layer whose data is JavaScript (`data_js` of the layer's name) placed as a
    Literal script just before the layer's own script, which refers to it."""

    def __init__(self, data_js: Callable[[str], str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._data_js = data_js

    def render(self, **kwargs: Any) -> None:
        """Add the data script to the page, then render the layer as folium does."""
        name = self.get_name()  # type: ignore[attr-defined]
        data = Literal(self._data_js(name))
        self.get_root().script.add_child(data, name=f"{name}_data")  # type: ignore[attr-defined]
        super().render(**kwargs)  # type: ignore[misc]


@lru_cache(maxsize=1)
def _layer_classes() -> dict[str, type]:
    """The folium layer classes over data scripts (folium is imported on first use only)."""
    return {"heat": _cell_heat_class(), "collection": _collection_class(), "time_heat": _time_heat_class()}


def _cell_heat_class() -> type:
    """folium's HeatMap over a data script of [lon, lat, weight] cells, swapped in the browser."""
    from folium.plugins import HeatMap
    from folium.template import Template

    class CellHeat(_DataScript, HeatMap):  # type: ignore[misc]
        _template = Template("""{% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.heatLayer(
                {{ this.get_name() }}_data.map(function (c) { return [c[1], c[0], c[2]]; }),
                {{ this.options|tojavascript }});
        {% endmacro %}""")

        def __init__(self, data_js: Callable[[str], str], **options: Any) -> None:
            super().__init__(data_js, [], **options)

    return CellHeat


def _collection_class() -> type:
    """A folium Layer drawing L.geoJson over a data script of its data and options."""
    from folium.map import Layer
    from folium.template import Template

    class Collection(_DataScript, Layer):  # type: ignore[misc]
        _template = Template("""{% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.geoJson({{ this.get_name() }}_data, {{ this.get_name() }}_options);
        {% endmacro %}""")

    return Collection


def _time_heat_class() -> type:
    """folium's HeatMapWithTime over a data script of its frames, with one (forward) play button."""
    from folium.plugins import HeatMapWithTime

    class TimeHeat(_DataScript, HeatMapWithTime):  # type: ignore[misc]
        def __init__(self, data_js: Callable[[str], str], frames: int, **options: Any) -> None:
            # Empty frames stand in for the data, so that folium counts the time steps right.
            super().__init__(data_js, [[] for _ in range(frames)], **options)
            # One play button, forwards: folium's reverse button came first in the control and, from
            # the first week (where the slider starts), played nothing, so "the slider did not play".
            self.play_reverse_button = "false"

        def render(self, **kwargs: Any) -> None:
            # The template prints `this.data` as the layer's data: let it print the script's variable.
            self.data = f"{self.get_name()}_data"
            super().render(**kwargs)

    return TimeHeat


def _guard_templates(root: Any) -> None:
    """Point the `tojson` filter of every element's template environment at `_template_json`.

    Per element and on every page, not once at import: a template keeps the environment it was
    compiled with, and Jinja shares those environments through a bounded cache.
    """
    for element in walk(root):
        template = getattr(element, "_template", None)
        env = getattr(template, "environment", None)
        if env is not None and env.policies.get("json.dumps_function") is not _template_json:
            env.policies["json.dumps_function"] = _template_json


def _decode_escape(match: re.Match[str]) -> str:
    slashes = match.group(1)
    if len(slashes) % 2 == 0:  # an escaped backslash followed by a literal "u": leave it alone
        return match.group(0)
    return slashes[:-1] + chr(int(match.group(2), 16))


def unescape_cjk(html: str) -> str:
    """Write CJK characters as UTF-8 instead of JSON's 6-byte escapes (folium's tojson is ASCII-only).

    Safe inside <script>: only code points U+3000-U+9FFF and U+FF00-U+FFEF are touched, never
    <, >, & or quotes, which stay escaped. Halves the size of Chinese names in the data.
    """
    return _CJK_ESCAPE.sub(_decode_escape, html)


def render_page(fmap: Any, vendor_prefix: str) -> str:
    """The whole page: assets pointed at the vendored copies, data kept out of the templates."""
    root = fmap.get_root()
    localize(root, vendor_prefix)
    _guard_templates(root)
    return unescape_cjk(str(root.render()))
