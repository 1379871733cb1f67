"""What a client asks of a layer (bbox, datetime, property filters, page), parsed and checked.

Parsing lives here, not in the web layer, so every output (OGC items, tiles, maps) reads the same
strings the same way and raises the same domain errors. Values end up as bound parameters only.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from geo import clock
from layers.errors import (
    InvalidBBoxError,
    InvalidDatetimeError,
    InvalidFilterValueError,
    LimitOutOfRangeError,
    UnknownFilterError,
)
from layers.model import LayerDef

# Dates and times without an offset are read in China Standard Time, as users write them.
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class TimeRange:
    """A datetime filter: [start, end) when `end_open`, else [start, end]; a None bound is open."""

    start: datetime | None
    end: datetime | None
    end_exclusive: bool = False


@dataclass(frozen=True)
class LayerQuery:
    """A checked request for features of one layer in one area."""

    area: str
    bbox: BBox | None = None
    time: TimeRange | None = None
    filters: Mapping[str, list] = field(default_factory=dict)
    limit: int = 100
    offset: int = 0
    after: int | None = None  # keyset paging: features with id greater than this


def parse_bbox(value: str | None) -> BBox | None:
    """Read `minx,miny,maxx,maxy` in WGS84 degrees (a 6-number 3D bbox keeps x/y)."""
    if value is None or value.strip() == "":
        return None
    bbox = _bbox_numbers(value)
    _check_bbox(bbox, value)
    return bbox


def _bbox_numbers(value: str) -> BBox:
    """The x/y numbers of a 4- or 6-number bbox text (a 3D one drops its z)."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (4, 6):
        raise InvalidBBoxError(f"bbox needs 4 numbers minx,miny,maxx,maxy; got {len(parts)}", where="bbox")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InvalidBBoxError(
            f"bbox must be numbers minx,miny,maxx,maxy; got {value!r}", where="bbox"
        ) from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    minx, miny, maxx, maxy = nums
    return minx, miny, maxx, maxy


def _check_bbox(bbox: BBox, value: str) -> None:
    """InvalidBBoxError unless the bbox is finite, within WGS84's range and not inverted."""
    minx, miny, maxx, maxy = bbox
    if not all(math.isfinite(n) for n in bbox):
        raise InvalidBBoxError(f"bbox numbers must be finite; got {value!r}", where="bbox")
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InvalidBBoxError(
            f"bbox must lie within ±180 longitude and ±90 latitude (WGS84); got {value!r}", where="bbox"
        )
    if minx > maxx or miny > maxy:
        raise InvalidBBoxError(
            f"bbox is inverted: need minx <= maxx and miny <= maxy; got {value!r}", where="bbox"
        )


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_instant(text: str) -> tuple[datetime, bool]:
    """A datetime (RFC 3339) or a date; the flag says it was a whole day."""
    try:
        if _DATE.match(text):
            return clock.midnight(date.fromisoformat(text)), True
        value = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidDatetimeError(
            f"datetime {text!r} is not a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z)",
            where="datetime",
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=clock.zone())), False


def parse_datetime(value: str | None) -> TimeRange | None:
    """Read an instant, a closed interval `a/b`, or a half-open one `../b`, `a/..` (also `a/`)."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    if "/" not in text:
        start, whole_day = _parse_instant(text)
        return TimeRange(start, start + timedelta(days=1), True) if whole_day else TimeRange(start, start)
    return _parse_interval(text, value)


def _parse_interval(text: str, value: str) -> TimeRange:
    """An interval `a/b`, `../b` or `a/..` (`a/` too); a date as its end covers that whole day."""
    left, _, right = text.partition("/")
    if "/" in right:
        raise InvalidDatetimeError(f"datetime interval has one '/'; got {value!r}", where="datetime")
    start = None if left in ("", "..") else _parse_instant(left)[0]
    end, end_day = (None, False) if right in ("", "..") else _parse_instant(right)
    if end is not None and end_day:
        end = end + timedelta(days=1)
    if start is None and end is None:
        raise InvalidDatetimeError(
            "datetime interval needs at least one bound; got '../..'", where="datetime"
        )
    if start is not None and end is not None and start > end:
        raise InvalidDatetimeError(f"datetime interval ends before it starts: {value!r}", where="datetime")
    return TimeRange(start, end, end_day)


def _convert(layer: LayerDef, name: str, raw: str) -> list:
    """Comma-separated filter values converted to the property's type."""
    kind = layer.filters[name]
    items = [v.strip() for v in raw.split(",") if v.strip() != ""]
    if not items:
        raise InvalidFilterValueError(f"filter {name} needs a value", where=name)
    try:
        if kind == "int":
            return [int(v) for v in items]
        if kind == "bool":
            return [_BOOLS[v.lower()] for v in items]
    except (ValueError, KeyError):
        raise InvalidFilterValueError(
            f"filter {name} expects {kind} values; got {raw!r}", where=name
        ) from None
    return items


_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def parse_filters(layer: LayerDef, params: Mapping[str, str], reserved: frozenset[str] = frozenset()) -> dict:
    """Property filters from query parameters; any other unreserved parameter is an error naming it."""
    filters = {}
    for name, raw in params.items():
        if name in reserved:
            continue
        if name not in layer.filters:
            allowed = ", ".join(sorted(layer.filters)) or "none"
            raise UnknownFilterError(
                f"unknown filter property {name!r} for layer {layer.id}; allowed: {allowed}", where=name
            )
        filters[name] = _convert(layer, name, raw)
    return filters


def check_limit(limit: int | None, default: int, maximum: int) -> int:
    """The page size, or LimitOutOfRangeError outside 1..maximum."""
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise LimitOutOfRangeError(f"limit must be between 1 and {maximum}; got {limit}", where="limit")
    return limit


def check_offset(offset: int | None) -> int:
    """The page offset, or LimitOutOfRangeError when negative."""
    if offset is None:
        return 0
    if offset < 0:
        raise LimitOutOfRangeError(f"offset must be 0 or more; got {offset}", where="offset")
    return offset


def window_of(layer: LayerDef, time: TimeRange | None) -> TimeRange | None:
    """The time range a request asks of a layer: a window layer without one summarises the county's
    today (resolved here, per request, so that a cached tile or page never outlives its day)."""
    if layer.window and time is None:
        start, end = clock.day_bounds(clock.today())
        return TimeRange(start, end, True)
    return time


def window_bounds(time: TimeRange | None) -> tuple[datetime | None, datetime | None] | None:
    """[start, end) of a time range (an inclusive end moved just past itself); None for none."""
    if time is None:
        return None
    end = time.end
    if end is not None and not time.end_exclusive:
        end = end + timedelta(microseconds=1)
    return time.start, end
