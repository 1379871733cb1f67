"""How far the data behind a cache has moved: the newest data_changes id of some channels (migration 0017).

A cached answer stored with the number read *before* computing it is never older than that number says
(statements run in order, each seeing at least what the one before saw), so reusing it while the
number is unchanged never serves stale data.
"""

from functools import lru_cache

from sqlalchemy import TextClause, text

CHANNELS = frozenset(
    {"events", "grids", "categories", "facilities", "workers", "worker_names", "risk", "analytics"}
    | {"tracks", "visits"}  # field work (migration 0040): patrol tracks with the grids they cross; visits
)


@lru_cache
def version_statement(channels: tuple[str, ...]) -> TextClause:
    """One row, one number: the newest change of any of the channels (0 if none is logged)."""
    unknown = set(channels) - CHANNELS
    if not channels or unknown:
        raise ValueError(f"channels must be some of {sorted(CHANNELS)}; got {list(channels)}")
    # Channel names are from the fixed set above, written as literals so each probe is index-only.
    probes = ", ".join(f"(SELECT max(id) FROM data_changes WHERE channel = '{c}')" for c in sorted(channels))
    return text(f"SELECT coalesce(greatest({probes}), 0)")
