"""An area in SQL: the one way a statement keeps to a grid-code prefix ("62", "620121", "620121003").

Every statement states its own area, as a code range with bound ends: `code ~>=~ :lo AND code ~<~ :hi`
(`hi` = the prefix + ':', the character after '9'). Not `LIKE :area || '%'`: under row-level security a
non-leakproof operator such as LIKE may not become an index condition (it must wait for the policy's
filter), so a county account's LIKE read every grid of the province, 50-60 ms a statement, where the
county-only database took 1 ms. The pattern operators are leakproof, the `*_code_prefix` indexes
(text_pattern_ops) serve them, and with custom plans (GRID_DB plan_cache_mode) the planner sees the
bounds: a county's range is an index scan, a province's a filter it weighs as such. A key of the
default operator class with no text_pattern_ops index beside it takes `key_range` instead.
"""

from geo.errors import InvalidInputError


def check_area(area: str) -> str:
    """The area prefix itself; refuses anything but a prefix of a 15-digit code (digits only)."""
    if not area.isdigit() or len(area) > 15:
        raise InvalidInputError(f"area 须为网格编码前缀（数字）；收到 {area!r}", where="area")
    return area


def area_range(area: str) -> dict[str, str]:
    """The bound ends `lo` and `hi` of `in_area` for an area prefix."""
    return {"lo": check_area(area), "hi": area + ":"}


def key_range(area: str) -> dict[str, str]:
    """Bounds `lo` and `hi` for `col >= :lo AND col < :hi` on a key of the default operator class, which
    the pattern operators cannot use (event_cells' primary key: 4 ms a county, 126 ms by in_area).
    `hi` is the next prefix of the same length ('620121' -> '620122'): digits sort alike in every
    collation, where ':' does not. An all-nines prefix has no next one: 16 nines end every code."""
    head = check_area(area).rstrip("9")
    hi = head[:-1] + str(int(head[-1]) + 1) if head else "9" * 16
    return {"lo": area, "hi": hi}


def in_area(column: str, lo: str = "lo", hi: str = "hi") -> str:
    """SQL: `column` (a trusted column expression) lies in the area of the parameters `lo` and `hi`."""
    return f"({column} ~>=~ :{lo} AND {column} ~<~ :{hi})"
