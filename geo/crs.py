"""Coordinate reference systems: SRID constants, CRS names, and China's GCJ-02 and BD-09.

Chinese map services publish in two non-standard systems that no EPSG code describes:
GCJ-02 (Gaode/Amap, Tencent, WeChat) shifts WGS84 by a few hundred metres with a secret-ish
polynomial; BD-09 (Baidu) shifts GCJ-02 again. We store WGS84 and convert at the edges.
The formulas are the published ones (as in eviltransform / coord-convert); the inverse of
GCJ-02 is solved iteratively to below a millimetre instead of the usual one-step guess.
"""

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo.errors import UnknownCrsError

WGS84 = 4326
WEB_MERCATOR = 3857

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


@dataclass(frozen=True)
class SourceCrs:
    """A parsed source CRS: either a pyproj CRS or one of China's shifted lon/lat systems."""

    name: str  # "gcj02", "bd09", or "EPSG:xxxx"
    pyproj: CRS | None = None

    @property
    def is_shifted(self) -> bool:
        """True for GCJ-02 and BD-09, which pyproj cannot describe."""
        return self.pyproj is None


_ALIASES = {
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "tencent": "gcj02",
    "wechat": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
    "bd09ll": "bd09",
    "wgs84": "EPSG:4326",
    "wgs-84": "EPSG:4326",
    "crs84": "EPSG:4326",
}


def parse_crs(value: str | int | CRS) -> SourceCrs:
    """Read a CRS name: an EPSG code (`4326`, `EPSG:4547`), `wgs84`, `gcj02` or `bd09`."""
    if isinstance(value, CRS):
        return SourceCrs(name=value.to_string(), pyproj=value)
    text = str(value).strip()
    alias = _ALIASES.get(text.lower())
    if alias in ("gcj02", "bd09"):
        return SourceCrs(name=alias)
    if alias:
        text = alias
    if text.isdigit():
        text = f"EPSG:{text}"
    return _pyproj_crs(text, value)


def _pyproj_crs(text: str, value: str | int) -> SourceCrs:
    """The pyproj CRS of a name (`EPSG:4547`, ...); UnknownCrsError naming the value as given."""
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise UnknownCrsError(
            f"unknown CRS {value!r}: give an EPSG code such as EPSG:4326, or gcj02 (Gaode, Tencent, WeChat) "
            "or bd09 (Baidu)",
            where="crs",
        ) from exc
    return SourceCrs(name=crs.to_string(), pyproj=crs)


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (degrees) at a WGS84 position."""
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    """WGS84 to GCJ-02 (vectorised; positions outside China are returned unchanged)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, *, tol: float = 1e-10, max_iter: int = 30):
    """GCJ-02 to WGS84, solved by fixed-point iteration (error below 1e-10 degrees)."""
    glon, glat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        elon, elat = wgs84_to_gcj02(wlon, wlat)
        rlon, rlat = glon - elon, glat - elat
        wlon, wlat = wlon + rlon, wlat + rlat
        if np.all(np.abs(rlon) < tol) and np.all(np.abs(rlat) < tol):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 to BD-09 (Baidu)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_guess(lon, lat):
    """The published one-step inverse of gcj02_to_bd09 (off by up to about 1e-6 degrees)."""
    x, y = np.asarray(lon, dtype=float) - 0.0065, np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon, lat, *, tol: float = 1e-10, max_iter: int = 30):
    """BD-09 (Baidu) to GCJ-02: the one-step guess, refined by fixed-point iteration (below 1e-10 degrees)."""
    blon, blat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    glon, glat = _bd09_to_gcj02_guess(blon, blat)
    for _ in range(max_iter):
        elon, elat = gcj02_to_bd09(glon, glat)
        rlon, rlat = blon - elon, blat - elat
        glon, glat = glon + rlon, glat + rlat
        if np.all(np.abs(rlon) < tol) and np.all(np.abs(rlat) < tol):
            break
    return glon, glat


def bd09_to_wgs84(lon, lat):
    """BD-09 (Baidu) to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat):
    """WGS84 to BD-09 (Baidu)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def to_wgs84_lonlat(lon, lat, crs: str):
    """Convert lon/lat arrays in `wgs84`, `gcj02` or `bd09` to WGS84."""
    src = parse_crs(crs)
    if not src.is_shifted:
        if src.pyproj is None or src.pyproj.to_epsg() != WGS84:
            raise UnknownCrsError(f"lon/lat input must be wgs84, gcj02 or bd09; got {crs!r}", where="crs")
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _TO_WGS84[src.name](lon, lat)


def from_wgs84_lonlat(lon, lat, crs: str):
    """Convert WGS84 lon/lat arrays to `wgs84`, `gcj02` or `bd09`."""
    src = parse_crs(crs)
    if not src.is_shifted:
        return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return _FROM_WGS84[src.name](lon, lat)


def _apply_xy(geoms, func):
    """Apply a vectorised (lon, lat) -> (lon, lat) function to every coordinate of shapely geometries."""

    def inner(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, inner)


def shifted_to_wgs84(geoms, crs: str):
    """Convert shapely geometries (array or single) in GCJ-02 or BD-09 to WGS84."""
    return _apply_xy(geoms, _TO_WGS84[parse_crs(crs).name])


def wgs84_to_shifted(geoms, crs: str):
    """Convert shapely geometries in WGS84 to GCJ-02 or BD-09."""
    return _apply_xy(geoms, _FROM_WGS84[parse_crs(crs).name])
