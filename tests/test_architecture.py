"""The layering of STYLE.md: api -> layers -> geo, never back up; folium only in layers/folium_maps.py."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BANNED = {
    "geo": {"layers", "api", "web", "fastapi", "starlette", "folium"},
    "layers": {"api", "web", "fastapi", "starlette"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(BANNED))
def test_package_never_imports_upwards(package):
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {name}"
        for f in (ROOT / package).rglob("*.py")
        for line, name in _imports(f)
        if name.split(".")[0] in BANNED[package]
    ]
    assert not bad, "\n".join(bad)


def test_folium_is_imported_only_by_the_map_page_modules():
    users = {
        str(f.relative_to(ROOT))
        for pkg in ("geo", "layers", "api")
        for f in (ROOT / pkg).rglob("*.py")
        if any(name.split(".")[0] == "folium" for _, name in _imports(f))
    }
    pages = {
        "layers/folium_maps.py",
        "layers/folium_page.py",
        "layers/folium_analytics.py",
        "layers/assets.py",
    }
    assert users <= pages
