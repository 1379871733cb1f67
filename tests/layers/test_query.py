from datetime import UTC, datetime

import pytest

from geo import clock
from layers.builtin import default_registry
from layers.errors import (
    InvalidBBoxError,
    InvalidDatetimeError,
    InvalidFilterValueError,
    LimitOutOfRangeError,
    UnknownFilterError,
)
from layers.query import check_limit, check_offset, parse_bbox, parse_datetime, parse_filters


def test_parse_bbox_reads_four_or_six_numbers():
    assert parse_bbox("103,36,104,37") == (103, 36, 104, 37)
    assert parse_bbox("103,36,0,104,37,100") == (103, 36, 104, 37)
    assert parse_bbox(None) is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1,2,3", "4 numbers"),
        ("a,b,c,d", "numbers"),
        ("5,5,1,1", "inverted"),
        ("0,0,181,1", "±180"),
        ("0,-91,1,1", "±90"),
        ("0,0,nan,1", "finite"),
    ],
)
def test_parse_bbox_rejects_bad_values(value, fragment):
    with pytest.raises(InvalidBBoxError, match=fragment):
        parse_bbox(value)


def test_parse_datetime_instant_and_intervals():
    t = parse_datetime("2026-01-02T03:04:05Z")
    assert t.start == t.end == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    day = parse_datetime("2026-01-02")
    assert day.start == datetime(2026, 1, 2, tzinfo=clock.zone()) and day.end_exclusive
    assert parse_datetime("../2026-01-02T00:00:00Z").start is None
    assert parse_datetime("2026-01-02T00:00:00Z/..").end is None
    assert parse_datetime("2026-01-02T00:00:00Z/").end is None
    closed = parse_datetime("2026-01-01/2026-01-31")
    assert closed.end == datetime(2026, 2, 1, tzinfo=clock.zone()) and closed.end_exclusive


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-02-01/2026-01-01", "../..", "a/b/c"])
def test_parse_datetime_rejects_bad_values(value):
    with pytest.raises(InvalidDatetimeError):
        parse_datetime(value)


def test_parse_filters_converts_types_and_lists():
    disputes = default_registry().get("disputes")
    got = parse_filters(
        disputes, {"status": "reported,closed", "severity": "3", "limit": "5"}, frozenset({"limit"})
    )
    assert got == {"status": ["reported", "closed"], "severity": [3]}
    workers = default_registry().get("workers")
    assert parse_filters(workers, {"available": "false"}) == {"available": [False]}


def test_parse_filters_names_unknown_property_and_allowed_ones():
    with pytest.raises(
        UnknownFilterError, match="'colour'.*allowed: category, grid_code, severity, status, township"
    ):
        parse_filters(default_registry().get("disputes"), {"colour": "red"})


def test_parse_filters_rejects_wrong_type():
    with pytest.raises(InvalidFilterValueError, match="severity"):
        parse_filters(default_registry().get("disputes"), {"severity": "high"})


def test_limits():
    assert check_limit(None, 100, 10_000) == 100
    assert check_limit(10_000, 100, 10_000) == 10_000
    for bad in (0, -1, 10_001):
        with pytest.raises(LimitOutOfRangeError):
            check_limit(bad, 100, 10_000)
    with pytest.raises(LimitOutOfRangeError):
        check_offset(-1)
