import pytest

from layers.builtin import builtin_layers, default_registry
from layers.errors import LayerNotFoundError, RendererNotSupportedError
from layers.model import LayerDef
from layers.registry import LayerRegistry


def _tiny(layer_id: str = "tiny") -> LayerDef:
    return LayerDef(
        id=layer_id,
        title="测试",
        description="",
        geometry_type="Point",
        source=lambda area, s: None,
        properties=("name",),
        filters={"name": "str"},
    )


def test_registry_register_get_and_sorted_ids():
    registry = LayerRegistry(_tiny("b"), _tiny("a"))
    assert registry.ids() == ["a", "b"]
    assert registry.get("a").id == "a"
    assert "a" in registry and len(registry) == 2


def test_registry_rejects_duplicates_unless_replace():
    registry = LayerRegistry(_tiny())
    with pytest.raises(ValueError, match="tiny"):
        registry.register(_tiny())
    with pytest.raises(ValueError, match="x"):
        LayerRegistry(_tiny("x"), _tiny("x"))
    replacement = _tiny()
    registry.register(replacement, replace=True)
    assert registry.get("tiny") is replacement


def test_registry_get_unknown_lists_known_ids():
    with pytest.raises(LayerNotFoundError, match="known layers: a, b"):
        LayerRegistry(_tiny("a"), _tiny("b")).get("nope")


@pytest.mark.parametrize(
    "change",
    [
        {"id": "Bad-Id"},
        {"geometry_type": "Line"},
        {"renderers": frozenset({"svg"})},
        {"filters": {"missing": "str"}},
        {"filters": {"name": "date"}},
        {"properties": ("drop table",)},
        {"datetime_column": "when"},
        {"min_zoom": 9, "max_zoom": 3},
    ],
)
def test_layerdef_refuses_inconsistent_declarations(change):
    base = {
        "id": "t",
        "title": "t",
        "description": "",
        "geometry_type": "Point",
        "source": lambda a, s: None,
        "properties": ("name",),
    }
    with pytest.raises(ValueError):
        LayerDef(**{**base, **change})


def test_layerdef_require_names_supported_renderers():
    with pytest.raises(RendererNotSupportedError, match="geojson, mvt"):
        _tiny().require("heatmap")


def test_builtin_layers_are_all_registered():
    assert default_registry().ids() == sorted(
        [
            "townships",
            "villages",
            "grids",
            "disputes",
            "hazards",
            "appeals",
            "workers",
            "facilities",
            "risk",
            "hotspots",
            "hotspots_hex",
            "emerging",
            "tracks",
            "visits",
            "coverage",
        ]
    )


def test_event_layers_never_expose_parties():
    for layer in builtin_layers():
        assert not {"name", "phone", "id_number", "parties", "applicant"} & set(
            layer.properties
        ) or layer.id in ("townships", "villages", "grids", "workers", "facilities", "risk")
        if layer.kind == "event":
            assert set(layer.properties) == {
                "category",
                "category_label",
                "severity",
                "status",
                "reported_at",
                "township_code",
                "township",
                "grid_code",
            }


def test_risk_style_uses_three_colours():
    colors = default_registry().get("risk").style["colors"]
    assert colors == {"red": "#d73027", "yellow": "#fee08b", "green": "#1a9850"}
