"""The house's rules, held by its imports and its SQL (STYLE.md, section 1):

- api -> layers -> geo, never back up; cli sits beside api; folium only in the map-page modules;
- no import circle between modules, inner (function-level) imports included;
- SQL statements live in geo/: no `text(` and no statement literal in api/, layers/ or cli/;
- the geo root holds the domain and little else (at most 12 modules; the rest in packages);
- a request's area is a code range (geo.queries.area), never a LIKE on a code column.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "layers", "api", "cli")
BANNED = {
    "geo": {"layers", "api", "cli", "web", "fastapi", "starlette", "folium"},
    "layers": {"api", "cli", "web", "fastapi", "starlette"},
    "api": {"cli"},
}
# SQL is written in upper case here, so prose ("Create ...", "create the schema") is not mistaken for it.
STATEMENT = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|WITH|CREATE|ALTER|DROP) ")


def _files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


@pytest.mark.parametrize("package", sorted(BANNED))
def test_package_never_imports_upwards(package):
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {name}"
        for f in _files(package)
        for line, name in _imports(f)
        if name.split(".")[0] in BANNED[package]
    ]
    assert not bad, "\n".join(bad)


def test_folium_is_imported_only_by_the_map_page_modules():
    users = {
        str(f.relative_to(ROOT))
        for pkg in PACKAGES
        for f in _files(pkg)
        if any(name.split(".")[0] == "folium" for _, name in _imports(f))
    }
    pages = {
        "layers/folium_maps.py",
        "layers/folium_heat.py",
        "layers/folium_county.py",
        "layers/folium_risk.py",
        "layers/folium_page.py",
        "layers/folium_analytics.py",
        "layers/folium_field.py",
        "layers/assets.py",
    }
    assert users <= pages


def _graph() -> dict[str, set[str]]:
    modules = {_module(f): f for pkg in PACKAGES for f in _files(pkg)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, imported in _imports(path):
            while imported and imported not in modules:  # `from a.b import c`: module a.b.c, else a.b
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def test_no_import_circle():
    graph, state, circles = _graph(), {}, []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own modules
            if state.get(nxt) == "open":
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []


@pytest.mark.parametrize("package", ["api", "layers", "cli"])
def test_sql_statements_live_in_geo(package):
    bad = []
    for f in _files(package):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "text"
            ):
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno} calls text()")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and STATEMENT.match(node.value):
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno} holds a statement")
    assert not bad, "\n".join(bad)


def test_the_geo_root_holds_the_domain_only():
    root = sorted(p.name for p in (ROOT / "geo").glob("*.py") if p.name != "__init__.py")
    assert len(root) <= 12, root


# A code column compared by LIKE with a bound pattern: under row-level security LIKE is no index
# condition (textlike is not leakproof), so a county account's statement read the province's rows.
AREA_LIKE = re.compile(
    r"\b(code|grid_code|home_grid_code|village_code)(, '[^']*'\))?\s+LIKE\s+:", re.IGNORECASE
)
REQUEST_SQL = ("geo/queries", "geo/analytics", "geo/sql", "geo/io")  # geo/io: exports run as the user


def test_request_statements_say_their_area_as_a_code_range():
    bad = []
    for folder in REQUEST_SQL:
        for f in sorted((ROOT / folder).rglob("*")):
            if f.suffix not in (".py", ".sql"):
                continue
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if AREA_LIKE.search(line):
                    bad.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bad, "use geo.queries.area.in_area:\n" + "\n".join(bad)
