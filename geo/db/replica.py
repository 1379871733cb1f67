"""Where a streaming replica stands against its primary (WAL positions), for reads that follow a write."""

import logging

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

# coalesce: a server that is no standby (pg_last_wal_replay_lsn() IS NULL) has everything it was sent.
_REPLAYED = text("SELECT coalesce(pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn), true)")
_CURRENT = text("SELECT pg_current_wal_lsn()::text")


def replayed(replica: Engine, lsn: str) -> bool:
    """True when the replica has replayed the primary's WAL up to `lsn` (or is no standby at all);
    False when that cannot be told (a malformed position, an unreachable replica)."""
    try:
        with replica.connect() as conn:
            return bool(conn.execute(_REPLAYED, {"lsn": lsn}).scalar_one())
    except Exception:  # noqa: BLE001 - a bad cookie or a lost replica: the caller reads the primary
        log.debug("replica position unknown for %r", lsn, exc_info=True)
        return False


def current_lsn(primary: Engine) -> str:
    """The primary's current WAL write position (after every commit made so far)."""
    with primary.connect() as conn:
        return str(conn.execute(_CURRENT).scalar_one())
