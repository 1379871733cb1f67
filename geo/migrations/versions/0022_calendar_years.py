"""The holiday calendar by whole years, with their source; provisional deadlines and their basis.

Until now `holidays` held 2026 only (migration 0003) and every other year silently counted as weekends
only. `calendar_years` records which years are known and from where: the chinesecalendar package
(written by `gridgov migrate` after the migrations, geo.queries.holidays.sync_library, so a newer
package brings its years without a new revision) or a State Council notice file (`gridgov calendar
import`). A year without a row is not covered, whatever `holidays` holds for it.

A deadline now keeps the steps that made it (`deadline_basis`: time limit, extensions, pauses) and the
years it had to count with weekends only (`deadline_uncovered_years`); `deadline_provisional` follows
from them. Importing a year replays the deadlines it affects. Deadlines set before this revision have no
basis (NULL) and are left as they are.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE calendar_years (
    year        smallint PRIMARY KEY CHECK (year BETWEEN 1900 AND 2200),
    source      text NOT NULL CHECK (source IN ('library', 'notice')),
    detail      text NOT NULL,  -- 'chinesecalendar 1.11.0', or the notice file's name and checksum
    imported_at timestamptz NOT NULL,
    imported_by text NOT NULL
);
ALTER TABLE events
    ADD COLUMN deadline_basis jsonb CHECK (jsonb_typeof(deadline_basis) = 'array'),
    ADD COLUMN deadline_uncovered_years smallint[] NOT NULL DEFAULT '{}',
    ADD COLUMN deadline_provisional boolean NOT NULL
        GENERATED ALWAYS AS (cardinality(deadline_uncovered_years) > 0) STORED;
-- An import finds the provisional deadlines of its years here (the console can filter on it too).
CREATE INDEX events_deadline_provisional ON events USING gin (deadline_uncovered_years)
    WHERE deadline_provisional;
"""


def upgrade() -> None:
    """calendar_years, and the basis and provisional flag of deadlines."""
    op.execute(SCHEMA)


def downgrade() -> None:
    """Without them (holidays rows stay)."""
    op.execute(
        "DROP INDEX IF EXISTS events_deadline_provisional;"
        "ALTER TABLE events DROP COLUMN IF EXISTS deadline_provisional,"
        " DROP COLUMN IF EXISTS deadline_uncovered_years, DROP COLUMN IF EXISTS deadline_basis;"
        "DROP TABLE IF EXISTS calendar_years;"
    )
