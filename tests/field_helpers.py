"""Helpers of the field-work tests on the tiny dispatch county (tests/dispatch_tiny.py).

as_worker(tiny, "owner")          the following requests come from the grid worker `owner`
as_role(tiny, "planner")          ... from an account of another role (county-wide)
walk(start, n, every_s=120, ...)  fixes along a straight line inside grid 620121001001001
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import text

from api.deps import CurrentUser
from tests.dispatch_tiny import WORKERS

# 09:00 Beijing time on the last day of the demo year (the test clock stands at the next midnight).
MORNING = datetime.fromisoformat("2026-11-27T09:00:00+08:00")


def as_worker(tiny, name: str = "owner") -> CurrentUser:
    """Requests from here on come from the grid worker `name` (area: their village), in a session."""
    village = WORKERS[name][0][:12]
    tiny.act_as(f"gw_{name}", village, role="grid_worker", worker_id=tiny.ids[name])
    return tiny.user[0]


def as_role(tiny, role: str, area: str = "620121") -> CurrentUser:
    """Requests from here on come from an account of `role` in `area`, in a session."""
    tiny.act_as(f"t_{role}_{area}", area, role=role)
    return tiny.user[0]


def walk(
    start: datetime,
    n: int,
    *,
    every_s: int = 120,
    lon0: float = 103.001,
    lat: float = 36.002,
    step: float = 0.0004,
) -> list[dict]:
    """`n` fixes heading east from (lon0, lat), one every `every_s` seconds from `start` (accuracy 8 m)."""
    return [
        {
            "at": (start + timedelta(seconds=every_s * i)).isoformat(),
            "lon": lon0 + step * i,
            "lat": lat,
            "accuracy_m": 8,
        }
        for i in range(n)
    ]


def count(tiny, sql: str, **params) -> int:
    """A number from the database as its owner (not subject to row-level security)."""
    tiny.session.execute(text("RESET ROLE"))
    return tiny.session.execute(text(sql), params).scalar_one()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The XYZ (Web Mercator) tile holding a WGS84 point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return z, int((lon + 180) / 360 * n), int(y)
