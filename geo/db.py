"""Engine and session factory; nothing else."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import sessionmaker

from geo.settings import DbSettings


def make_engine(settings: DbSettings) -> Engine:
    """Create the engine for the configured database (psycopg 3, pooled, with a statement timeout)."""
    return create_engine(
        settings.sqlalchemy_url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=True,
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms}"},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker:
    """A Session factory bound to the engine."""
    return sessionmaker(bind=engine, expire_on_commit=False)
