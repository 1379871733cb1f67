"""A committed copy of the session's demo database, for tests whose subject is several processes (job
workers, app processes, a replica) and which must therefore really commit.

The copy is a template clone (seconds): every connection to the demo database is closed first (the
session engine's pool is emptied; it reconnects on its next use)."""

from sqlalchemy import Engine, create_engine, text

from tests.conftest import create_database


def clone_demo(pg_server: str, engine: Engine, name: str) -> str:
    """A fresh copy of gridgov_demo called `name`; its SQLAlchemy URL."""
    engine.dispose()
    admin = create_engine(
        pg_server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'gridgov_demo' AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()
    return create_database(pg_server, name, template="gridgov_demo")
