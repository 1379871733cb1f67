"""An area's code range keeps exactly the codes with its prefix, in both of its forms (geo.queries.area)."""

import pytest
from sqlalchemy import create_engine, text

from geo.queries.area import area_range, in_area, key_range

# Codes around the prefixes' edges: the next prefix, all-nines prefixes, longer and shorter codes.
CODES = [
    "620121",
    "620121001",
    "620121999999",
    "620122",
    "6201229",
    "62012",
    "620199",
    "6202",
    "99",
    "999",
    "9",
]


@pytest.fixture(scope="module")
def codes(demo_db_url):
    """A temporary table of CODES in the demo database (its own collation), with a session to read it."""
    engine = create_engine(demo_db_url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE codes (code text)"))
        conn.execute(text("INSERT INTO codes SELECT unnest(CAST(:c AS text[]))"), {"c": CODES})
        yield conn
    engine.dispose()


def _selected(conn, where: str, bounds: dict) -> set[str]:
    return set(conn.execute(text(f"SELECT code FROM codes WHERE {where}"), bounds).scalars())


@pytest.mark.parametrize("area", ["620121", "62012", "620199", "6201", "99", "9"])
def test_both_ranges_select_the_codes_with_the_prefix(codes, area):
    wanted = {c for c in CODES if c.startswith(area)}
    assert _selected(codes, in_area("code"), area_range(area)) == wanted
    assert _selected(codes, "code >= :lo AND code < :hi", key_range(area)) == wanted
    # ...in a linguistic collation too (a Chinese database's), where ':' sorts before the digits.
    chinese = 'code COLLATE "zh-x-icu" >= :lo AND code COLLATE "zh-x-icu" < :hi'
    assert _selected(codes, chinese, key_range(area)) == wanted


def test_a_key_range_ends_at_the_next_prefix_of_the_same_length():
    assert key_range("620121") == {"lo": "620121", "hi": "620122"}
    assert key_range("6201219") == {"lo": "6201219", "hi": "620122"}
