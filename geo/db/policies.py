"""Apply geo/sql/policies.sql: every table's grants and row-level security, one block per table.

A block starts with `-- table: NAME`. For every block whose table exists, the table's grants to the app's
roles are revoked and its policies dropped, then the block runs: the database ends up with exactly
the access the file describes. Blocks of tables that do not exist yet are skipped, so any migration may
re-apply the file (a migration that adds a table adds its block and applies the file again).
"""

import re
from importlib.resources import files

from sqlalchemy import Connection, text

APP_ROLES = ("gridgov_app", "gridgov_auth", "gridgov_department")
_HEADER = re.compile(r"^-- table: ([a-z_][a-z0-9_]*)\s*$", re.M)
_POLICIES = text("SELECT policyname FROM pg_policies WHERE schemaname = 'public' AND tablename = :t")


def policy_blocks() -> dict[str, str]:
    """{table: its SQL} from geo/sql/policies.sql, in file order."""
    source = (files("geo.sql") / "policies.sql").read_text(encoding="utf-8")
    marks = list(_HEADER.finditer(source))
    return {
        m.group(1): source[m.end() : marks[i + 1].start() if i + 1 < len(marks) else len(source)].strip()
        for i, m in enumerate(marks)
    }


def apply_policies(conn: Connection) -> list[str]:
    """Revoke, drop and re-create the access of every table the file names (and that exists); the tables."""
    done = []
    for table, block in policy_blocks().items():
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"public.{table}"}).scalar() is None:
            continue
        conn.exec_driver_sql(f'REVOKE ALL ON "{table}" FROM {", ".join(APP_ROLES)}')
        for name in conn.execute(_POLICIES, {"t": table}).scalars().all():
            conn.exec_driver_sql(f'DROP POLICY "{name}" ON "{table}"')
        if block:
            conn.exec_driver_sql(block)
        done.append(table)
    return done
