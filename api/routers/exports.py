"""Download a layer of the requester's area as GeoJSON, GeoPackage or CSV (WGS84).

GET /api/exports/{layer}.{geojson|gpkg|csv}?area=620121-003

The export runs through geo.io.export_layer on the request's session, so row-level security keeps it
inside the user's area even before the area prefix is applied. Parties are never exported (geo.io has
no such layer); worker names and phones leave only for roles cleared to read them.
"""

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep, UserDep
from api.security import PermissionDeniedError
from geo.errors import InvalidInputError
from geo.io import EXPORT_LAYERS, export_layer
from geo.models import parse_code

router = APIRouter(prefix="/api/exports", tags=["exports"])
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
}
PERSONAL_LAYERS = frozenset({"workers"})  # names and phones as stored


def _parse_name(name: str) -> tuple[str, str]:
    """'disputes.gpkg' -> ('disputes', 'gpkg'); InvalidInputError naming what is wrong."""
    layer, _, fmt = name.rpartition(".")
    if fmt not in MEDIA_TYPES:
        raise InvalidInputError(f"导出格式只能是 {', '.join(MEDIA_TYPES)}", where="format")
    if layer not in EXPORT_LAYERS:
        raise InvalidInputError(f"未知图层 {layer!r}；可导出：{', '.join(EXPORT_LAYERS)}", where="layer")
    return layer, fmt


def _narrow_area(user_area: str, area: str | None) -> str:
    """The requested area prefix, which must lie inside the user's own (default: the user's area)."""
    if not area:
        return user_area
    code = parse_code(area)
    if not code.isdigit():
        raise InvalidInputError(f"area 必须是网格编码前缀（如 620121-003），收到 {area!r}", where="area")
    if not code.startswith(user_area):
        raise PermissionDeniedError("只能导出本辖区的数据", where="area")
    return code


@router.get("/{name}", response_class=Response)
def export(
    name: str,
    session: SessionDep,
    user: UserDep,
    area: Annotated[str | None, Query(description="grid-code prefix inside your area")] = None,
) -> Response:
    """The layer's current rows in the area as a download; X-Feature-Count gives the row count."""
    layer, fmt = _parse_name(name)
    if layer in PERSONAL_LAYERS and not user.cleared:
        raise PermissionDeniedError("当前角色无权导出网格员个人信息", where="layer")
    prefix = _narrow_area(user.area, area)
    # GeoPackage is SQLite: it needs a real file, so every format goes through a private temp folder.
    with tempfile.TemporaryDirectory(prefix="gridgov-export-") as folder:
        path = Path(folder) / f"{layer}.{fmt}"
        count = export_layer(session, layer, path, area=prefix)
        data = path.read_bytes()
    filename = f"gridgov-{layer}-{prefix}.{fmt}"
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Feature-Count": str(count),
        "Cache-Control": "no-store",
    }
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)
