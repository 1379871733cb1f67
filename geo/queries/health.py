"""Database health questions."""

from sqlalchemy import text
from sqlalchemy.orm import Session


def get_versions(session: Session) -> dict[str, str]:
    """PostgreSQL and PostGIS versions of the connected database."""
    row = session.execute(
        text("SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis")
    ).one()
    return {"postgresql": row.pg, "postgis": row.postgis}
