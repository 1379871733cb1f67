"""Engine and session factory; nothing else."""

import os

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from geo.settings import DbSettings


def make_engine(settings: DbSettings, *, replica: bool = False) -> Engine:
    """Create the engine for the configured database, or its replica (psycopg 3, pooled, with a statement
    timeout and the connection options of DbSettings)."""
    url = settings.replica_sqlalchemy_url if replica else settings.sqlalchemy_url
    if url is None:
        raise ValueError("no replica configured (GRID_DATABASE_REPLICA_URL)")
    return create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_pre_ping=True,
        connect_args={"options": settings.connection_options},
    )


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
