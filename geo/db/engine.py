"""Engines and the session factory; the check that the app's login is not privileged."""

import os
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from geo.settings import DbSettings


def make_engine(settings: DbSettings, *, owner: bool = False, replica: bool = False) -> Engine:
    """The engine of the app's login (or, `owner`, of the tables' owner; or, `replica`, of the app's
    login on the streaming replica): psycopg 3, pooled, with a statement timeout and the connection
    options of DbSettings."""
    if replica:
        url = settings.replica_sqlalchemy_url
        if url is None:
            raise ValueError("no replica configured (GRID_DATABASE_REPLICA_URL)")
    else:
        url = settings.owner_sqlalchemy_url if owner else settings.sqlalchemy_url
    engine = create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        connect_args={"options": settings.connection_options},
    )
    ping_when_idle(engine, settings.pool_ping_idle_s)
    return engine


_CHECKED_IN = "gridgov_checked_in"


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection before handing it out only when it sat idle for over `idle_s` seconds;
    a failed ping makes the pool replace it (DisconnectionError). SQLAlchemy's pool_pre_ping pings at
    every checkout: one more round trip per request, ~5 % of the app's rate under load (bench_steady),
    for connections that, under load, were in use a moment ago. A connection that breaks while in use
    fails its request either way."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since <= idle_s:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError("pooled connection failed its ping") from err


# A superuser, a role that bypasses RLS, or one that owns (or may act as the owner of) the tables is not
# bound by row-level security: the app must not log in as any of them.
_PRIVILEGES = text("""
SELECT r.rolname, r.rolsuper, r.rolbypassrls,
       EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
               AND pg_has_role(r.oid, c.relowner, 'USAGE')) AS owner
FROM pg_roles r WHERE r.rolname = current_user
""")


def login_role_problem(conn: Connection) -> str | None:
    """Why the connection's login may not serve the app (superuser, bypasses RLS, owns tables), or None."""
    row = conn.execute(_PRIVILEGES).one()
    if row.rolsuper:
        return f"role {row.rolname!r} is a superuser"
    if row.rolbypassrls:
        return f"role {row.rolname!r} bypasses row-level security"
    if row.owner:
        return f"role {row.rolname!r} owns the tables (or is a member of their owner)"
    return None


def allow_parallel(session: Session, workers: int | None = None) -> None:
    """Let this transaction's queries use parallel workers (all cores by default): for long jobs only."""
    n = workers if workers is not None else max(os.cpu_count() or 1, 1)
    session.execute(text(f"SET LOCAL max_parallel_workers_per_gather = {int(n)}"))


def local_work_mem(session: Session, mb: int) -> None:
    """Let this transaction's sorts and hashes use up to `mb` MB each before spilling to disk."""
    session.execute(text(f"SET LOCAL work_mem = '{int(mb)}MB'"))


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """A Session factory bound to the engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)
