"""data_changes: a change counter per channel, for caches that must never serve stale data.

Every statement that writes a table the map layers read appends one row (channel = what changed) from
an AFTER STATEMENT trigger; a cache asks `max(id)` of the channels its entry depends on (an index-only
probe each) and reuses the entry only while that number is unchanged. The row commits or rolls back
with the data: a reader that sees the new number also sees the new data. Append-only on purpose: one
counter row per channel would be locked by every writing transaction until its commit, serialising
writers and inviting deadlocks between multi-statement transactions.

Channels: events, grids, categories, facilities, workers (any change) and worker_names (only what the
grids layer shows: a worker added, removed or renamed; not the minute-by-minute positions). Rows older
than the last 1,000 are pruned now and then, keeping the newest of each channel.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TABLE = """
CREATE TABLE data_changes (id bigserial PRIMARY KEY, channel text NOT NULL);
CREATE INDEX data_changes_channel ON data_changes (channel, id);
GRANT SELECT ON data_changes TO gridgov_app;

CREATE FUNCTION gridgov_note_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    noted bigint;
BEGIN
    INSERT INTO data_changes (channel) VALUES (TG_ARGV[0]) RETURNING id INTO noted;
    -- One pruner at a time (two deleting the same rows could deadlock); the newest of each channel stays.
    IF noted % 1000 = 0 AND pg_try_advisory_xact_lock(hashtext('gridgov_note_change')) THEN
        DELETE FROM data_changes d WHERE d.id < noted - 1000
          AND d.id < (SELECT max(x.id) FROM data_changes x WHERE x.channel = d.channel);
    END IF;
    RETURN NULL;
END $$;
"""

# (trigger name, table, events, channel)
_TRIGGERS = [
    ("events_noted", "events", "INSERT OR UPDATE OR DELETE OR TRUNCATE", "events"),
    ("grids_noted", "grids", "INSERT OR UPDATE OR DELETE OR TRUNCATE", "grids"),
    ("categories_noted", "categories", "INSERT OR UPDATE OR DELETE OR TRUNCATE", "categories"),
    ("facilities_noted", "facilities", "INSERT OR UPDATE OR DELETE OR TRUNCATE", "facilities"),
    ("workers_noted", "workers", "INSERT OR UPDATE OR DELETE OR TRUNCATE", "workers"),
    ("worker_names_noted", "workers", "INSERT OR UPDATE OF name OR DELETE OR TRUNCATE", "worker_names"),
]


def upgrade() -> None:
    """Create data_changes, its trigger function and the triggers."""
    op.execute(_TABLE)
    for name, table, events, channel in _TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION gridgov_note_change('{channel}')"
        )


def downgrade() -> None:
    """Drop them."""
    for name, table, _events, _channel in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS gridgov_note_change(); DROP TABLE IF EXISTS data_changes")
