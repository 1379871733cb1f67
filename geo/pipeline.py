"""A request's few statements in one round trip: libpq's pipeline mode over psycopg's async pool.

The hot read routes (candidates, vector tiles) run one query each, yet through a sync session it
costs a thread-pool hop each way, a pre-ping, the account check, the query and the closing rollback:
four round trips and ~2-4 ms more than the query itself here. `run_checked` sends the account check
(gridgov_authorize, migration 0016: it raises rather than returning no row) and the statements in one
pipeline on the event loop: one write, one wait for the answers (see `_pipeline`).

The pool's connections are in autocommit mode and the pipeline has one Sync, at its end: PostgreSQL
runs everything before a Sync as one implicit transaction (the settings and role the check gives it
hold for the statements after it) and commits it at the Sync. After an error it skips every message
up to the Sync and rolls back, so when the check fails the query never runs. No BEGIN and COMMIT:
with them a pipeline took 0.45 ms more per request here (psycopg's syncs at the COMMIT).

Everything else keeps the sync SQLAlchemy session (STYLE.md section 3): geopandas and the ORM are sync.
"""

import asyncio
import itertools
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import ClauseElement, text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from geo.settings import DbSettings

# The account check of every transaction (migration 0016), for the sync session and the pipeline alike.
AUTHORIZE = text("SELECT gridgov_authorize(:actor, :user_role, :area, :worker_id, :unmasked, :role)")
# Statements are compiled once to PostgreSQL's own $1 placeholders, the text libpq prepares as it is.
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
    """The statement compiled for the pipeline, once per statement object."""
    c = clause.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    processors = {k: p for k, p in c._bind_processors.items() if p is not None}  # noqa: SLF001
    return Compiled(str(c), tuple(c.positiontup or ()), dict(c.params), processors)


async def run_checked(
    pool: AsyncConnectionPool, access: dict[str, Any], statements: list[tuple[Compiled, dict[str, Any]]]
) -> list[tuple | None]:
    """Check the account, run the statements in order, commit: one implicit transaction, one round
    trip (see the module doc). The first row of each statement.

    AccountRejectedError when the check fails (nothing else ran). On a connection that could not run
    it (the server had dropped it, or lost a statement prepared on it) it runs once more on a fresh one.
    """
    check = compiled(AUTHORIZE)
    runs = [(check.sql, check.params(access))] + [(c.sql, c.params(p)) for c, p in statements]
    for attempt in (1, 2):
        async with pool.connection() as conn:
            try:
                return (await _pipeline(conn, runs))[1:]
            except psycopg.errors.InvalidAuthorizationSpecification:
                raise AccountRejectedError(access.get("actor")) from None
            except _StaleConnectionError as stale:
                # The pool discards the closed connection and checks its idle siblings (a restart
                # drops them all). A live connection's errors (a timeout, say) are raised as they are.
                if attempt == 2:
                    raise stale.__cause__ from None
        await pool.check()
    raise AssertionError("unreachable")


class _StaleConnectionError(Exception):
    """The connection could not run the pipeline and is closed; nothing took effect. The server had
    dropped it, or lost a statement prepared on it (its cause is psycopg's error)."""


# Statements are prepared on a connection at first use and then run by name. Per connection: the names
# by statement text and parameter types (as psycopg keys them), least recently used first; past the
# bound the oldest is deallocated (statements compiled with IN-list values are all different).
_MAX_PREPARED = 128
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_NAMES = itertools.count()


async def _pipeline(conn: psycopg.AsyncConnection, runs: list[tuple[str, list[Any]]]) -> list[tuple | None]:
    """Send every statement and a Sync (then any deallocations and another Sync) in a single write,
    wait for the answers, return each statement's first row; raise the first statement error.

    Driven here on libpq's pipeline mode rather than through psycopg's pipeline, which sends each
    queued message only once the socket reports writable and so waits on the event loop five to six
    times per request (~0.3-0.5 ms of a 2 ms candidates request here). psycopg still converts the values
    both ways (its Transformer), so types behave as in every other query. A pipeline cut short
    (cancelled, or a broken connection) leaves answers unread: the connection is closed then, and the
    pool replaces it.
    """
    pgconn = conn.pgconn
    names: OrderedDict[tuple, bytes] = _PREPARED.setdefault(conn, OrderedDict())
    tx = Transformer(conn)
    bound = []
    for sql, params in runs:
        values = tx.dump_sequence(params, [PyFormat.AUTO] * len(params))
        bound.append((sql, (sql, tx.types), values, tx.types, list(tx.formats)))
        if (sql, tx.types) in names:
            names.move_to_end((sql, tx.types))
    new = len({key for _, key, *_ in bound if key not in names})
    stale = [names.popitem(last=False)[1] for _ in range(len(names) + new - _MAX_PREPARED)]
    sent: list[tuple | None] = []  # per message: the key a Prepare adds; None for a statement's run
    try:
        pgconn.enter_pipeline_mode()
        for sql, key, values, types, formats in bound:
            if (name := names.get(key)) is None:
                name = names[key] = f"gridgov_{next(_NAMES)}".encode()
                pgconn.send_prepare(name, sql.encode(), param_types=types)
                sent.append(key)
            pgconn.send_query_prepared(name, values, param_formats=formats)
            sent.append(None)
        pgconn.pipeline_sync()
        for name in stale:  # after the Sync: whatever happens to one side does not touch the other
            pgconn.send_query_params(b"DEALLOCATE " + name, None)
        if stale:
            pgconn.pipeline_sync()
        while pgconn.flush():
            await _ready(pgconn, write=True)
        results = await _answers(pgconn)
        if stale:
            await _answers(pgconn)
        pgconn.exit_pipeline_mode()
    except BaseException as exc:
        lost = pgconn.status != pq.ConnStatus.OK
        await conn.close()
        if lost and isinstance(exc, psycopg.OperationalError):
            raise _StaleConnectionError from exc
        raise
    try:
        return _first_rows(conn, tx, names, sent, results)
    except psycopg.errors.InvalidSqlStatementName as exc:
        # The server lost a statement prepared on this connection (DISCARD ALL, say): the implicit
        # transaction was rolled back, so running it again on a fresh connection is safe.
        await conn.close()
        raise _StaleConnectionError from exc


def _first_rows(
    conn: psycopg.AsyncConnection,
    tx: Transformer,
    names: OrderedDict[tuple, bytes],
    sent: list[tuple | None],
    results: list[pq.abc.PGresult],
) -> list[tuple | None]:
    """The first row of each statement's result (None without one); forgets the names of Prepares the
    server refused or skipped; raises the first error."""
    rows: list[tuple | None] = []
    error = None
    for key, res in zip(sent, results, strict=True):
        if res.status == pq.ExecStatus.FATAL_ERROR and error is None:
            error = psycopg.errors.error_from_result(res, encoding=conn.info.encoding)
        if key is not None:
            if res.status != pq.ExecStatus.COMMAND_OK:
                names.pop(key, None)
        elif res.status == pq.ExecStatus.TUPLES_OK and res.ntuples:
            tx.set_pgresult(res)
            rows.append(tx.load_row(0, tuple))
        else:
            rows.append(None)
    if error is not None:
        raise error
    return rows


async def _answers(pgconn: pq.abc.PGconn) -> list[pq.abc.PGresult]:
    """Every result up to the pipeline's Sync, in order (libpq separates statements with None)."""
    results = []
    while True:
        while pgconn.is_busy():
            await _ready(pgconn, write=False)
            pgconn.consume_input()
        res = pgconn.get_result()
        if res is None:
            continue
        if res.status == pq.ExecStatus.PIPELINE_SYNC:
            return results
        results.append(res)


async def _ready(pgconn: pq.abc.PGconn, *, write: bool) -> None:
    """Wait until the connection's socket can be read (or written)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    wake = lambda: done.done() or done.set_result(None)  # noqa: E731
    fd = pgconn.socket
    (loop.add_writer if write else loop.add_reader)(fd, wake)
    try:
        await done
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)
