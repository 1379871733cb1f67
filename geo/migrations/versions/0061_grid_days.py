"""Roll-ups of cases per small grid and day, and per grid now, kept current on write by statement triggers.

The big screen, the reports and the lists of a province account counted 1.5 million cases per request
(summary 0.63 s, a month's report 41 s with its hot spots). They now read these two tables and count
only the few cases whose state differs between the instant asked and now (geo/queries/rollups.py):

grid_days    per small grid, county day (the zone in `rollup_zone`), kind and category:
             opened     reported that day, merged duplicates excepted (新增)
             accepted   reported that day, neither rejected nor a duplicate (办结率's base)
             resolved   reported that day, accepted, and closed by now
             closed     closed that day (结案)
             falls_due  deadline falls that day, clock running now (registered, dispatched, in
                        progress) and not stopped before it (挂账): the day such a case becomes 超期
             wage_*     wages recovered and workers paid by cases closed that day
grid_totals  per small grid, kind and category: `open`, accepted cases with no closing time (在办 now)

A case contributes to the day it was reported, the day it was closed and the day its deadline falls.
The definitions above are those of geo/queries/figures.py, restated for one case at a time; a test
holds the two to the same numbers. Triggers follow the pattern of event_cells (0013): AFTER ... FOR
EACH STATEMENT with transition tables, one grouped upsert per statement, rows that net to zero are not
written; rows may reach all zeros (readers sum, so they do no harm).

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-06
"""

from alembic import op

revision = "0061"
down_revision = "0060"
branch_labels = None
depends_on = None

_RUNS = "('registered', 'dispatched', 'in_progress')"
_COLS = "opened, accepted, resolved, closed, falls_due, wage_recovered, wage_workers, wage_paid_workers"
_SUMS = ", ".join(f"sum({c})" for c in _COLS.split(", "))
_ADD = ", ".join(f"{c} = d.{c} + excluded.{c}" for c in _COLS.split(", "))


def _days(rows: str) -> str:
    """Add the signed rows (s = +1 / -1) of `rows` to grid_days."""
    return f"""
    INSERT INTO grid_days AS d (grid_code, day, kind, category, {_COLS})
    SELECT grid_code, day, kind, category, {_SUMS} FROM (
        SELECT grid_code, (reported_at AT TIME ZONE z)::date AS day, kind, category,
               s * (status <> 'duplicate')::int AS opened,
               s * (status NOT IN ('rejected', 'duplicate'))::int AS accepted,
               s * (status = 'closed')::int AS resolved, 0 AS closed, 0 AS falls_due,
               0::numeric AS wage_recovered, 0 AS wage_workers, 0 AS wage_paid_workers
        FROM ({rows}) r
        UNION ALL
        SELECT grid_code, (closed_at AT TIME ZONE z)::date, kind, category, 0, 0, 0, s, 0,
               s * coalesce(wage_recovered, 0), s * coalesce(wage_workers, 0),
               s * CASE WHEN wage_recovered > 0 THEN coalesce(wage_workers, 0) ELSE 0 END
        FROM ({rows}) r WHERE status = 'closed' AND closed_at IS NOT NULL
        UNION ALL
        SELECT grid_code, (deadline_at AT TIME ZONE z)::date, kind, category, 0, 0, 0, 0, s, 0, 0, 0
        FROM ({rows}) r
        WHERE status IN {_RUNS} AND deadline_at IS NOT NULL AND (suspended_at IS NULL OR deadline_at < suspended_at)
    ) c
    WHERE grid_code IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING ({_SUMS}) IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0)
    ORDER BY 1, 2, 3, 4  -- one lock order for concurrent writers
    ON CONFLICT (grid_code, day, kind, category) DO UPDATE SET {_ADD};
    INSERT INTO grid_totals AS t (grid_code, kind, category, open)
    SELECT grid_code, kind, category, sum(s) FROM ({rows}) r
    WHERE grid_code IS NOT NULL AND status NOT IN ('rejected', 'duplicate') AND closed_at IS NULL
    GROUP BY 1, 2, 3 HAVING sum(s) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (grid_code, kind, category) DO UPDATE SET open = t.open + excluded.open;
"""


_FIELDS = (
    "grid_code, kind, category, status, reported_at, closed_at, deadline_at, suspended_at, wage_recovered, "
    "wage_workers"
)
_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in _FIELDS.split(", "))
_OLD = ", ".join(f"o.{c}" for c in _FIELDS.split(", "))
_NEW = ", ".join(f"n.{c}" for c in _FIELDS.split(", "))

_UPGRADE = f"""
CREATE TABLE rollup_zone (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    zone     text NOT NULL
);
INSERT INTO rollup_zone (zone) VALUES ('Asia/Shanghai');

CREATE TABLE grid_days (
    grid_code         varchar(15) NOT NULL,
    day               date NOT NULL,
    kind              text NOT NULL,
    category          text NOT NULL,
    opened            integer NOT NULL DEFAULT 0,
    accepted          integer NOT NULL DEFAULT 0,
    resolved          integer NOT NULL DEFAULT 0,
    closed            integer NOT NULL DEFAULT 0,
    falls_due         integer NOT NULL DEFAULT 0,
    wage_recovered    numeric(16, 2) NOT NULL DEFAULT 0,
    wage_workers      integer NOT NULL DEFAULT 0,
    wage_paid_workers integer NOT NULL DEFAULT 0
);
-- The key, in the order of code prefixes (text_pattern_ops), so that an area is one range of it.
CREATE UNIQUE INDEX grid_days_key ON grid_days (grid_code text_pattern_ops, day, kind, category);
-- Wide areas read a window of days across many grids.
CREATE INDEX grid_days_day ON grid_days (day, grid_code text_pattern_ops);
CREATE INDEX grid_days_due ON grid_days (day) WHERE falls_due <> 0;
-- The year's wages on the big screen: the few rows of closed wage cases.
CREATE INDEX grid_days_wages ON grid_days (day) WHERE wage_recovered <> 0 OR wage_workers <> 0;

CREATE TABLE grid_totals (
    grid_code varchar(15) NOT NULL,
    kind      text NOT NULL,
    category  text NOT NULL,
    open      integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX grid_totals_key ON grid_totals (grid_code text_pattern_ops, kind, category);

CREATE FUNCTION gridgov_grid_days() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    z text := (SELECT zone FROM rollup_zone);
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_days(f"SELECT {_FIELDS}, 1 AS s FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN
        {_days(f"SELECT {_FIELDS}, -1 AS s FROM old_rows")}
    ELSIF TG_OP = 'UPDATE' THEN
        {
    _days(
        f"SELECT {_OLD}, -1 AS s FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED} "
        f"UNION ALL SELECT {_NEW}, 1 FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {_CHANGED}"
    )
}
    ELSE  -- TRUNCATE
        TRUNCATE grid_days, grid_totals;
    END IF;
    RETURN NULL;
END $$;

-- Rebuild both tables from the events (a changed zone, or a check): the owner only.
CREATE FUNCTION gridgov_rebuild_rollups() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    z text := (SELECT zone FROM rollup_zone);
BEGIN
    TRUNCATE grid_days, grid_totals;
    {_days(f"SELECT {_FIELDS}, 1 AS s FROM events")}
END $$;
REVOKE EXECUTE ON FUNCTION gridgov_rebuild_rollups() FROM PUBLIC;

CREATE TRIGGER grid_days_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_days();
CREATE TRIGGER grid_days_update AFTER UPDATE ON events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_days();
CREATE TRIGGER grid_days_delete AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_days();
CREATE TRIGGER grid_days_truncate AFTER TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_grid_days();

SELECT gridgov_rebuild_rollups();

-- The instant figures count the few cases whose state differs between the instant and now, found
-- by when they were closed or entered (reported_at: events_kind_time).
CREATE INDEX events_closed_time ON events (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX events_created_time ON events (created_at);
CREATE INDEX events_referred_time ON events (reported_at) WHERE referral IS NOT NULL;

-- Policies in the form of 0019: the planner reads them as about half the rows, and takes its estimate
-- from the statement's own `grid_code LIKE '62%'` (with `~>=~` bounds it guessed 0.5 %: a province's
-- year of wages was planned for 12,000 rows, read 2.5 million through the wrong index, 680 ms).
ALTER TABLE grid_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY grid_days_in_area ON grid_days TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
ALTER TABLE grid_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY grid_totals_in_area ON grid_totals TO gridgov_app
    USING ((SELECT gridgov_area() = '') OR left(grid_code, length((SELECT gridgov_area()))) = (SELECT gridgov_area()));
GRANT SELECT ON grid_days, grid_totals, rollup_zone TO gridgov_app;
ANALYZE grid_days;
ANALYZE grid_totals;
"""


def upgrade() -> None:
    """Create the roll-ups, their triggers and policies, and fill them from the events."""
    op.execute(_UPGRADE)


def downgrade() -> None:
    """Drop them."""
    op.execute(
        "DROP TRIGGER IF EXISTS grid_days_insert ON events; DROP TRIGGER IF EXISTS grid_days_update ON events; "
        "DROP TRIGGER IF EXISTS grid_days_delete ON events; DROP TRIGGER IF EXISTS grid_days_truncate ON events; "
        "DROP FUNCTION IF EXISTS gridgov_grid_days(); DROP FUNCTION IF EXISTS gridgov_rebuild_rollups(); "
        "DROP INDEX IF EXISTS events_closed_time, events_created_time, events_referred_time; "
        "DROP TABLE IF EXISTS grid_days, grid_totals, rollup_zone;"
    )
