"""Engines and the session factory; the check that the app's login is not privileged."""

import os

from sqlalchemy import Connection, Engine, create_engine, text
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
    return create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=True,
        connect_args={"options": settings.connection_options},
    )


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
