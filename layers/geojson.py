"""GeoJSON of a layer, serialised by PostGIS (ST_AsGeoJSON, json_build_object) and handed on as bytes.

Python never builds features one by one: the database returns one UTF-8 byte string holding every
feature of the page, and we only wrap it in the FeatureCollection's head and tail.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Row,
    Select,
    Text,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from geo import clock
from layers.errors import FeatureNotFoundError
from layers.model import LayerDef
from layers.query import LayerQuery, TimeRange, window_bounds
from layers.settings import LayerSettings

MEDIA_TYPE = "application/geo+json"
OUTPUT_CRS = ("wgs84", "gcj02")


def _geometry_sql(crs: str) -> str:
    """GeoJSON geometry of src.geom, 7 decimals (~1 cm), optionally shifted to GCJ-02 in the database."""
    geom = "gridgov_wgs84_to_gcj02(src.geom)" if crs == "gcj02" else "src.geom"
    return f"ST_AsGeoJSON({geom}, 7)"


def feature_sql(layer: LayerDef, crs: str = "wgs84") -> str:
    """SQL of one Feature as JSON text over the subquery `src` (property names come from the LayerDef)."""
    props = ", ".join(f"'{p}', src.\"{p}\"" for p in layer.properties)
    return (
        '\'{"type":"Feature","id":\' || src.id || \',"geometry":\' || '
        f"{_geometry_sql(crs)} || ',\"properties\":' || json_build_object({props})::text || '}}'"
    )


def source(layer: LayerDef, area: str, time: TimeRange | None = None) -> Subquery:
    """The layer's rows in an area as the subquery `src` (a window layer's over `time`, default today)."""
    return layer.select(area, window_bounds(time)).subquery("src")


# The SQL element type of each filter kind (layers.query._convert); text for the rest.
_FILTER_TYPES = {"int": BigInteger, "bool": Boolean}


def where(layer: LayerDef, src: Subquery, query: LayerQuery) -> list[ColumnElement]:
    """Conditions for bbox, datetime and property filters, all values bound."""
    conds: list[ColumnElement] = []
    if query.bbox:
        env = func.ST_MakeEnvelope(*query.bbox, 4326)
        # The bare `&&` is the index condition under row-level security (leakproof, migration 0006).
        conds.append(src.c.geom.op("&&")(env))
        conds.append(func.ST_Intersects(src.c.geom, env))
    if query.time and layer.datetime_column:
        col, t = src.c[layer.datetime_column], query.time
        if t.start is not None:
            conds.append(col >= t.start)
        if t.end is not None:
            conds.append(col < t.end if t.end_exclusive else col <= t.end)
    for name, values in query.filters.items():
        # = ANY(one array parameter), not IN (one parameter per value): the statement keeps one shape
        # whatever the number of values, so SQLAlchemy compiles it once and PostgreSQL prepares it once.
        item = _FILTER_TYPES.get(layer.filters[name], Text)
        conds.append(src.c[name] == any_(bindparam(None, list(values), type_=ARRAY(item))))
    return conds


@dataclass(frozen=True)
class FeaturePage:
    """One page of features: the comma-joined Feature JSON and what the links need."""

    body: bytes
    returned: int
    matched: int | None
    last_id: int | None
    has_more: bool


def _fetched(layer: LayerDef, src: Subquery, query: LayerQuery, crs: str) -> Subquery:
    """The subquery `fetched`: id and Feature JSON of up to limit + 1 matching rows of the page, by id."""
    conds = where(layer, src, query)
    if query.after is not None:
        conds.append(src.c.id > query.after)
    return (
        select(src.c.id, literal_column(feature_sql(layer, crs)).label("f"))
        .where(*conds)
        .order_by(src.c.id)
        .limit(query.limit + 1)
        .offset(query.offset)
        .subquery("fetched")
    )


def _running_sizes(fetched: Subquery) -> Subquery:
    """The subquery `page`: the fetched rows with their rank and the bytes of the page up to each."""
    return select(
        fetched.c.id,
        fetched.c.f,
        func.row_number().over(order_by=fetched.c.id).label("rn"),
        func.sum(func.octet_length(fetched.c.f) + 1).over(order_by=fetched.c.id).label("upto"),
    ).subquery("page")


def _page_select(layer: LayerDef, src: Subquery, query: LayerQuery, crs: str, max_bytes: int) -> Select:
    """Up to limit + 1 rows (the extra one tells whether a next page exists), ordered by id; the page
    keeps those within `max_bytes` of features (the first one always)."""
    rows = _running_sizes(_fetched(layer, src, query, crs))
    keep = (rows.c.rn <= query.limit) & ((rows.c.upto <= max_bytes) | (rows.c.rn == 1))
    body = func.string_agg(rows.c.f, aggregate_order_by(literal_column("','"), rows.c.id)).filter(keep)
    return select(
        func.convert_to(func.coalesce(body, ""), "UTF8").label("body"),
        func.count().filter(keep).label("returned"),
        func.count().label("fetched"),
        func.max(rows.c.id).filter(keep).label("last_id"),
    )


def count_features(
    session: Session, layer: LayerDef, query: LayerQuery, settings: LayerSettings, cap: int | None = None
) -> int | None:
    """How many features match the query's filters (ignoring paging); None when more than `cap`.

    The count reads at most cap + 1 rows (a LIMITed subquery), so a bbox over a province never
    counts a million rows just to print numberMatched (OGC API Features lets us omit it).
    """
    src = source(layer, query.area, query.time)
    rows = select(src.c.id).where(*where(layer, src, query))
    if cap is not None:
        rows = rows.limit(cap + 1)
    n = session.execute(select(func.count()).select_from(rows.subquery("m"))).scalar_one()
    return None if cap is not None and n > cap else n


def _matched(
    session: Session, layer: LayerDef, query: LayerQuery, settings: LayerSettings, row: Row[Any]
) -> int | None:
    """numberMatched of a page: derived from the page itself when it is the last one, else a capped count."""
    if not settings.count_matched:
        return None
    if query.after is None and row.fetched <= row.returned and (row.returned or not query.offset):
        return query.offset + row.returned
    return count_features(session, layer, query, settings, cap=settings.count_cap)


def get_page(
    session: Session, layer: LayerDef, query: LayerQuery, settings: LayerSettings, crs: str = "wgs84"
) -> FeaturePage:
    """One page of a layer's features as GeoJSON bytes, built in PostGIS."""
    layer.require("geojson")
    src = source(layer, query.area, query.time)
    row = session.execute(_page_select(layer, src, query, crs, settings.max_page_bytes)).one()
    matched = _matched(session, layer, query, settings, row)
    return FeaturePage(bytes(row.body), row.returned, matched, row.last_id, row.fetched > row.returned)


def page_key(layer: LayerDef, query: LayerQuery, settings: LayerSettings, crs: str, cleared: bool) -> tuple:
    """What identifies a page's answer: the layer and settings objects (by id: a replaced one is a new
    key), the area, every filter, the paging and the output CRS; and the clearance (names are masked
    for roles without it). For a cache that keeps `layer` and `settings` alive while the key exists."""
    filters = tuple(sorted((name, tuple(values)) for name, values in query.filters.items()))
    return (
        id(layer),
        id(settings),
        query.area,
        query.bbox,
        query.time,
        filters,
        query.limit,
        query.offset,
        query.after,
        crs,
        cleared,
    )


def collection_bytes(page: FeaturePage, links: list[dict], extra: dict | None = None) -> Iterator[bytes]:
    """A FeatureCollection around the page's features, in chunks (head, features, tail)."""
    meta: dict = {"numberReturned": page.returned}
    if page.matched is not None:
        meta["numberMatched"] = page.matched
    meta["timeStamp"] = clock.now().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    meta["links"] = links
    meta.update(extra or {})
    yield b'{"type":"FeatureCollection","features":['
    yield page.body
    yield b"]," + json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()[1:]


def get_feature(
    session: Session, layer: LayerDef, area: str, feature_id: str, settings: LayerSettings, crs: str = "wgs84"
) -> bytes:
    """One Feature as GeoJSON bytes; FeatureNotFoundError when absent from the area."""
    layer.require("geojson")
    if not feature_id.isdigit() or len(feature_id) > 18:
        raise FeatureNotFoundError(f"no feature {feature_id!r} in layer {layer.id}", where="featureId")
    src = source(layer, area)
    stmt = select(func.convert_to(literal_column(feature_sql(layer, crs)), "UTF8")).where(
        src.c.id == int(feature_id)
    )
    body = session.execute(stmt).scalar()
    if body is None:
        raise FeatureNotFoundError(f"no feature {feature_id} in layer {layer.id}", where="featureId")
    return bytes(body)


def get_extent(session: Session, layer: LayerDef, area: str, settings: LayerSettings) -> list[float] | None:
    """The layer's bbox in the area [minx, miny, maxx, maxy] (WGS84), computed by PostGIS; None when empty."""
    src = source(layer, area)
    ext = func.ST_Extent(src.c.geom)
    row = session.execute(
        select(func.ST_XMin(ext), func.ST_YMin(ext), func.ST_XMax(ext), func.ST_YMax(ext))
    ).one()
    return None if row[0] is None else [float(v) for v in row]
