"""A request's few statements in one round trip: psycopg's async pipeline over a connection pool.

The hot read routes (candidates, vector tiles) run one query each, yet through a sync session it
costs a thread-pool hop each way, a pre-ping, the account check, the query and the closing rollback:
four round trips and ~2-4 ms more than the query itself here. `run_checked` sends the account check
(gridgov_authorize, migration 0016: it raises rather than returning no row) and the statements in one
pipeline on the event loop.

The pool's connections are in autocommit mode and the pipeline has one Sync, at its end: PostgreSQL
runs everything before a Sync as one implicit transaction (the settings and role the check gives it
hold for the statements after it) and commits it at the Sync. After an error it skips every message
up to the Sync and rolls back, so when the check fails the query never runs. No BEGIN and COMMIT:
with them psycopg's pipeline took 0.45 ms more per request here (it syncs at the COMMIT).

Everything else keeps the sync SQLAlchemy session (STYLE.md section 3): geopandas and the ORM are sync.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ClauseElement, text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from geo.settings import DbSettings

# The account check of every transaction (migration 0016), for the sync session and the pipeline alike.
AUTHORIZE = text("SELECT gridgov_authorize(:actor, :user_role, :area, :worker_id, :unmasked, :role)")
# Statements are compiled once to PostgreSQL's own $1 placeholders and run on raw cursors: psycopg then
# sends the text as it is. (With %(name)s placeholders it re-parses every statement over 4,096 bytes
# on every execution, e.g. the 5 KB candidates statement: ~0.1 ms a request.)
_DIALECT = pg_psycopg.dialect(paramstyle="numeric_dollar")


class AccountRejectedError(Exception):
    """gridgov_authorize refused the account: missing, disabled, or changed since the token."""


def is_account_rejected(exc: BaseException) -> bool:
    """True for the error gridgov_authorize raises (SQLSTATE 28000), bare or wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, psycopg.errors.InvalidAuthorizationSpecification)


def make_pool(settings: DbSettings) -> AsyncConnectionPool:
    """An async pool to the configured database with the engine's connection options (not yet open)."""
    return AsyncConnectionPool(
        settings.libpq_url,
        min_size=1,
        max_size=max(settings.pool_size, 1),
        open=False,
        timeout=settings.pool_timeout_s,
        # While the server is down the pool retries with a growing delay (up to a minute apart); giving
        # up after a few seconds instead lets the next request after a restart reconnect at once.
        reconnect_timeout=max(settings.pool_timeout_s, 1.0),
        kwargs={"options": settings.connection_options, "autocommit": True},
    )


@dataclass(frozen=True)
class Compiled:
    """A SQLAlchemy statement as SQL text with $1 placeholders, the parameter names in their order,
    the values bound into it when it was built, and the Python-side conversions of its parameter
    types (bind processors)."""

    sql: str
    names: tuple[str, ...]
    bound: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]

    def params(self, given: dict[str, Any]) -> list[Any]:
        """The values of $1, $2...: the built-in values with `given` on top, converted."""
        values = self.bound | given
        return [self.processors[k](values[k]) if k in self.processors else values[k] for k in self.names]


@lru_cache(maxsize=2048)  # as many as layers.tiles keeps built
def compiled(clause: ClauseElement) -> Compiled:
    """The statement compiled for a raw psycopg cursor, once per statement object."""
    c = clause.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    processors = {k: p for k, p in c._bind_processors.items() if p is not None}  # noqa: SLF001
    return Compiled(str(c), tuple(c.positiontup or ()), dict(c.params), processors)


async def run_checked(
    pool: AsyncConnectionPool, access: dict[str, Any], statements: list[tuple[Compiled, dict[str, Any]]]
) -> list[tuple | None]:
    """Check the account, run the statements in order, commit: one implicit transaction, one round
    trip (see the module doc). The first row of each statement.

    AccountRejectedError when the check fails (nothing else ran). On a connection the server had
    dropped (a restart) it runs once more on a fresh one: nothing can have taken effect on a dead one.
    """
    check = compiled(AUTHORIZE)
    runs = [(check.sql, check.params(access))] + [(c.sql, c.params(p)) for c, p in statements]
    for attempt in (1, 2):
        async with pool.connection() as conn:
            try:
                async with conn.pipeline():
                    cursors = [await psycopg.AsyncRawCursor(conn).execute(sql, p) for sql, p in runs]
                return [await cur.fetchone() for cur in cursors[1:]]
            except psycopg.errors.InvalidAuthorizationSpecification:
                raise AccountRejectedError(access.get("actor")) from None
            except psycopg.OperationalError:
                # A live connection (a timeout, say) raises as it is. A dropped one goes back to the
                # pool, which discards it; its idle siblings are checked too (a restart drops them all).
                if attempt == 2 or not conn.closed:
                    raise
        await pool.check()
    raise AssertionError("unreachable")
