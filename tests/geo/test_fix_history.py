"""The position history's monthly partitions (prepared ahead, strays moved out of DEFAULT), its
retention (whole months dropped), and that the app role reads it only through the partitioned table."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from geo import clock
from geo.queries.fixes import drop_old_history, ensure_partitions
from geo.settings import FieldSettings

_FIX = text("""
INSERT INTO worker_fixes (worker_id, at, received_at, geom, grid_code, source)
VALUES (1, :at, :at, ST_SetSRID(ST_MakePoint(103.0, 36.0), 4326), '620121001001001', 'phone')
""")
_WHERE = text("SELECT tableoid::regclass::text FROM worker_fixes ORDER BY at")
_PARTS = text("""
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'worker_fixes'::regclass ORDER BY 1
""")


def _settings(**kw) -> FieldSettings:
    return FieldSettings(_env_file=None, **kw)


def test_months_ahead_are_prepared_and_a_stray_month_leaves_the_default_partition(empty_session):
    s = empty_session
    s.execute(_FIX, {"at": datetime.fromisoformat("2026-11-15T10:00:00+08:00")})
    s.execute(_FIX, {"at": datetime.fromisoformat("2026-06-01T10:00:00+08:00")})  # long before: a stray
    assert s.execute(_WHERE).scalars().all() == ["worker_fixes_default"] * 2
    made = ensure_partitions(s, _settings(months_ahead=2))
    assert made == [
        "worker_fixes_y2026m06",
        "worker_fixes_y2026m11",
        "worker_fixes_y2026m12",
        "worker_fixes_y2027m01",
    ]
    assert s.execute(_WHERE).scalars().all() == ["worker_fixes_y2026m06", "worker_fixes_y2026m11"]
    assert ensure_partitions(s, _settings(months_ahead=2)) == made[1:]  # again: nothing new, no error
    s.execute(_FIX, {"at": datetime.fromisoformat("2026-12-31T23:30:00+08:00")})  # 15:30 UTC: still December
    assert s.execute(_WHERE).scalars().all()[-1] == "worker_fixes_y2026m12"


def test_the_app_role_reads_fixes_only_through_the_partitioned_table(empty_session):
    s = empty_session
    ensure_partitions(s, _settings())
    nested = s.begin_nested()
    s.execute(text("SET LOCAL ROLE gridgov_app"))
    s.execute(text("SELECT count(*) FROM worker_fixes")).scalar()  # allowed, filtered by its policy
    with pytest.raises(ProgrammingError, match="permission denied"):
        s.execute(text("SELECT count(*) FROM worker_fixes_y2026m11"))
    nested.rollback()


def test_retention_drops_whole_months_and_older_tracks(empty_session):
    s = empty_session
    with clock.pinned(datetime.fromisoformat("2027-02-10T12:00:00+08:00")):
        months = [datetime(2026, 11, 1).date(), datetime(2026, 12, 1).date(), datetime(2027, 1, 1).date()]
        ensure_partitions(s, _settings(), months=months)
        ensure_partitions(s, _settings())
        for day in ("2026-11-20", "2026-12-20", "2027-01-20", "2027-02-05"):
            s.execute(_FIX, {"at": datetime.fromisoformat(f"{day}T10:00:00+08:00")})
        s.execute(_FIX, {"at": clock.now() - timedelta(days=400)})  # a stray in DEFAULT, far too old
        dropped = drop_old_history(s, _settings(retention_days=31))
        assert dropped["dropped_partitions"] == 2  # November and December ended before 2027-01-10
        left = s.execute(_PARTS).scalars().all()
        assert "worker_fixes_y2026m11" not in left and "worker_fixes_y2027m01" in left
        assert s.execute(text("SELECT count(*) FROM worker_fixes")).scalar() == 2
