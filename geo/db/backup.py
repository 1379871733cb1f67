"""Backups: pg_dump / pg_restore in custom format, and per-table fingerprints to check a round trip.

The PostgreSQL client programs come from the newest /usr/lib/postgresql/*/bin (else PATH). A restore
goes into an empty database only, in one transaction (all or nothing), owned by the restoring user.
"""

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text

from geo.errors import ConflictError, GeoError, InvalidInputError

# Extension functions' attributes are not part of a dump; migration 0006 explains this one.
_LEAKPROOF = """
DO $$ BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION geometry_overlaps(geometry, geometry) LEAKPROOF;
    END IF;
END $$;
"""
# Roles are the cluster's, not the database's: the policies of a dump name them (0006, 0030, 0050).
_APP_ROLE = """
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gridgov_app') THEN
        CREATE ROLE gridgov_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gridgov_department') THEN
        CREATE ROLE gridgov_department NOLOGIN INHERIT;
    END IF;
    IF NOT pg_has_role('gridgov_department', 'gridgov_app', 'MEMBER') THEN
        GRANT gridgov_app TO gridgov_department;
    END IF;
    IF NOT pg_has_role(current_user, 'gridgov_department', 'MEMBER') THEN
        EXECUTE format('GRANT gridgov_department TO %I', current_user);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gridgov_auth') THEN
        CREATE ROLE gridgov_auth NOLOGIN;
    END IF;
END $$;
"""


class BackupError(GeoError):
    """pg_dump or pg_restore failed."""

    code = "backup_failed"


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client program, newest installed version first."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client programs (postgresql-client)")
    return path


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def backup(libpq_url: str, file: Path) -> int:
    """Dump the whole database to `file` (custom format, compressed); returns the file size in bytes."""
    file = Path(file)
    _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={file}", f"--dbname={libpq_url}"])
    return file.stat().st_size


def _user_tables(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'spatial_ref_sys' ORDER BY tablename"
            )
        ).scalars()
    )


def restore(libpq_url: str, file: Path) -> None:
    """Restore a dump into an EMPTY database (ConflictError if it holds tables), all or nothing."""
    file = Path(file)
    if not file.is_file():
        raise InvalidInputError(f"no backup file {file}", where="file")
    engine = create_engine(libpq_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            _refuse_unless_empty(conn)
            conn.execute(text(_APP_ROLE))
        _pg_restore(libpq_url, file)
        with engine.begin() as conn:
            conn.execute(text(_LEAKPROOF))
    finally:
        engine.dispose()


def _refuse_unless_empty(conn: Connection) -> None:
    """ConflictError when the database holds tables: a restore goes into an empty one only."""
    tables = _user_tables(conn)
    if tables:
        raise ConflictError(
            f"restore needs an empty database; this one holds {len(tables)} tables "
            f"({', '.join(tables[:5])}...). Create a new database and restore into it.",
            where="database",
        )


def _pg_restore(libpq_url: str, file: Path) -> None:
    """pg_restore the dump in one transaction, stopping at the first error, owned by the restoring user."""
    _run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={libpq_url}",
            str(file),
        ]
    )


def table_fingerprints(engine: Engine) -> dict[str, tuple[int, str]]:
    """{table: (row count, md5 of every row's text, in order)} for every table of the public schema."""
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in _user_tables(conn):
            count, digest = conn.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                    f'FROM "{table}" t'
                )
            ).one()
            out[table] = (int(count), str(digest))
    return out
