"""Run the Alembic migrations from code (the CLI, the tests and the demo all use this)."""

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(url: str | None = None) -> Config:
    """The Alembic config of the packaged migrations."""
    config = Config(str(files("geo") / "alembic.ini"))
    config.set_main_option("script_location", str(files("geo") / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` (the newest by default)."""
    config = alembic_config()
    with engine.begin() as conn:
        # A migration may fill a table from every event (province: 1.5 M rows): no statement timeout.
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
