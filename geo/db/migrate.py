"""Run the Alembic migrations from code (the CLI, the tests and the demo all use this), as the owner.

`gridgov migrate` then creates (or aligns) the app's login role from the app's URL (geo.db.roles). After
the migrations, the holiday calendar of the installed chinesecalendar package is brought into the
database in the same transaction (geo.queries.holidays.sync_library: idempotent, and years imported
from a notice file stay as they are), so deadlines only ever read the calendar from the database.
"""

from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session


def alembic_config(url: str | None = None) -> Config:
    """The Alembic config of the packaged migrations."""
    config = Config(str(files("geo") / "alembic.ini"))
    config.set_main_option("script_location", str(files("geo") / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head", *, app_url: str | None = None) -> dict[str, Any] | None:
    """Bring the database schema to `revision` (the newest by default); at head, sync the holiday calendar.

    With `app_url`, the app's login role of that URL is created or aligned in the same transaction.
    Returns what the calendar sync stored (None when it had nothing to do or the revision is not head).
    """
    from geo.db.roles import ensure_login_role

    config = alembic_config()
    with engine.begin() as conn:
        # A migration may fill a table from every event (province: 1.5 M rows): no statement timeout.
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        if app_url:
            ensure_login_role(conn, app_url)
        return _sync_calendar(conn) if revision == "head" else None


def _sync_calendar(conn: Connection) -> dict[str, Any] | None:
    """Bring the library's holiday calendar into the database, in the migrations' transaction."""
    from geo.queries.holidays import sync_library

    with Session(bind=conn) as session:  # joins this transaction: commits with the migrations
        return sync_library(session)
