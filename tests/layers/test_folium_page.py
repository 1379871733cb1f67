"""Folium pages keep data out of Jinja: names are shown as written, never run as templates."""

import json

import folium
import pytest
from sqlalchemy import text

from geo.queries.event_filter import EventFilter
from layers.builtin import default_registry
from layers.folium_county import county_map_html
from layers.folium_data import MapOptions
from layers.folium_heat import heatmap_html
from layers.folium_page import Literal, heat_layer, js_json, render_page
from layers.folium_risk import risk_map_html
from tests.layers.test_folium_maps import tiny, unescaped  # noqa: F401 (fixture)
from tests.pages import heat_points

OPTS = MapOptions(area="620121")
# A Jinja expression that reaches Python objects, a block, and a comment.
TOWNSHIP = "{{ 7*7 }}{{ self.__init__ }}镇"
FACILITY = "{% if true %}综治{% endif %}站</script><b>{name}"
CATEGORY = "{# 注 #}邻里"


@pytest.fixture
def hostile_names(tiny):  # noqa: F811
    tiny.execute(
        text(
            "UPDATE grids SET name = :n WHERE code = (SELECT min(code) FROM grids WHERE level = 'township')"
        ),
        {"n": TOWNSHIP},
    )
    tiny.execute(text("UPDATE facilities SET name = :n"), {"n": FACILITY})
    tiny.execute(text("UPDATE categories SET label_zh = :n WHERE code = 'neighbour'"), {"n": CATEGORY})
    return tiny


@pytest.mark.parametrize("page", [county_map_html, risk_map_html])
def test_names_are_shown_as_written_not_run_as_templates(hostile_names, page):
    html = unescaped(page(hostile_names, default_registry(), OPTS))
    assert TOWNSHIP in html and "49" not in html.split(TOWNSHIP)[0][-200:]
    assert "<bound method" not in html and "TemplateReference" not in html
    if page is county_map_html:
        assert FACILITY in html and CATEGORY in html
        assert "</script><b>" not in page(hostile_names, default_registry(), OPTS)  # escaped as \u003c


def test_the_heatmap_page_holds_its_cells_as_written(tiny):  # noqa: F811
    html = heatmap_html(tiny, EventFilter("hazard"), OPTS)
    assert heat_points(html) and all(len(p) == 3 for p in heat_points(html))


def test_js_json_is_safe_inside_a_script_and_decodes_to_the_same_value():
    value = {"name": "</script><b>&'\u2028", "tpl": "{{ x }} {% y %} {# z #}", "zh": "永登县", "n": [1, 2.5]}
    out = js_json(value)
    assert json.loads(out) == value
    for raw in ("<", ">", "&", "'", "\u2028", "{{", "{%", "{#"):
        assert raw not in out
    assert "永登县" in out  # Chinese stays readable UTF-8


def test_literal_text_is_never_templated():
    fmap = folium.Map(tiles=None)
    fmap.get_root().html.add_child(Literal("<p>{{ 7*7 }}</p>"), name="note")
    assert "<p>{{ 7*7 }}</p>" in render_page(fmap, "/static/vendor")


def test_heat_layer_takes_numbers_only():
    with pytest.raises(ValueError, match="numbers"):
        heat_layer('[[103.1, 36.2, "</script>"]]')
    fmap = folium.Map(tiles=None)
    heat_layer("[[103.1, 36.2, 5], [103.2, 36.3, 1]]", name="热力").add_to(fmap)
    assert heat_points(render_page(fmap, "/static/vendor")) == [[36.2, 103.1, 5], [36.3, 103.2, 1]]
