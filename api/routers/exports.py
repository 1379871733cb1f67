"""Download a layer of the requester's area as GeoJSON, GeoPackage, CSV or XLSX (WGS84).

GET /api/exports/{layer}.{geojson|gpkg|csv|xlsx}?area=620121-003&bbox=&from=&to=&category=

The filters are the page's: a WGS84 bbox, the days cases were reported and their categories (cases
only), so a page exports what it shows. The stored analyses (risk, hotspots, emerging) export as
last computed.

The export runs through geo.io.export_layer on the request's session, so row-level security keeps it
inside the user's area even before the area prefix is applied. Parties are never exported (geo.io has
no such layer); worker names and phones leave only for roles cleared to read them.
"""

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, UserDep
from api.routing import ReadRoute
from api.security import PermissionDeniedError
from geo.errors import InvalidInputError
from geo.io import export_layer
from geo.io.export import ExportFilter, check_layer, parse_filter
from geo.io.workbook import MEDIA_TYPE
from geo.models import parse_code

router = APIRouter(route_class=ReadRoute, prefix="/api/exports", tags=["exports"])
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": MEDIA_TYPE,
}
PERSONAL_LAYERS = frozenset({"workers"})  # names and phones as stored


def _parse_name(name: str) -> tuple[str, str]:
    """'disputes.gpkg' -> ('disputes', 'gpkg'); InvalidInputError naming what is wrong."""
    layer, _, fmt = name.rpartition(".")
    if fmt not in MEDIA_TYPES:
        raise InvalidInputError(f"导出格式只能是 {', '.join(MEDIA_TYPES)}", where="format")
    check_layer(layer)
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
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (WGS84)")] = None,
    since: Annotated[str | None, Query(alias="from", description="cases reported from, YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(alias="to", description="cases reported until, YYYY-MM-DD")] = None,
    category: Annotated[str | None, Query(description="category code(s), comma-separated")] = None,
) -> Response:
    """The layer's current rows in the area as a download; X-Feature-Count gives the row count."""
    layer, fmt = _parse_name(name)
    if layer in PERSONAL_LAYERS and not user.cleared:
        raise PermissionDeniedError("当前角色无权导出网格员个人信息", where="layer")
    prefix = _narrow_area(user.area, area)
    flt = parse_filter(bbox, since, until, category)
    data, count = _export_bytes(session, layer, fmt, prefix, flt)
    headers = _download_headers(f"gridgov-{layer}-{prefix}.{fmt}", count)
    return Response(data, media_type=MEDIA_TYPES[fmt], headers=headers)


def _export_bytes(session: Session, layer: str, fmt: str, area: str, flt: ExportFilter) -> tuple[bytes, int]:
    """The file of the layer's rows in `area` (and `flt`), and how many rows it holds."""
    # GeoPackage is SQLite: it needs a real file, so every format goes through a private temp folder.
    with tempfile.TemporaryDirectory(prefix="gridgov-export-") as folder:
        path = Path(folder) / f"{layer}.{fmt}"
        count = export_layer(session, layer, path, area=area, flt=flt)
        return path.read_bytes(), count


def _download_headers(filename: str, count: int) -> dict[str, str]:
    """An attachment named `filename`, its row count in X-Feature-Count, never cached."""
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Feature-Count": str(count),
        "Cache-Control": "no-store",
    }
