"""Live feed: NOTIFY the console of new cases, status changes and assignments.

Triggers send `pg_notify('gridgov_live', json)` after a case is reported or changes status, and after a
dispatch action is logged (assign, reassign, escalate, refer, whistle). The web app LISTENs on one
connection and fans the messages out as server-sent events (api/routers/live.py), filtered by each
user's area. The payload carries no personal data: id, kind, category, status, grid_code, lon/lat
(WGS84) and the action; titles and parties stay in the database behind row-level security.

Bulk loaders that set `gridgov.grid_assigned = 'on'` (demo_copy) are skipped: nobody needs ten
thousand notifications of a history load.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE FUNCTION gridgov_live_payload(e events, action text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', e.id, 'kind', e.kind, 'category', e.category, 'status', e.status,
        'grid_code', e.grid_code, 'lon', round(ST_X(e.geom)::numeric, 6), 'lat', round(ST_Y(e.geom)::numeric, 6),
        'action', action, 'at', now())::text
$$;

CREATE FUNCTION gridgov_live_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('gridgov.grid_assigned', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('gridgov_live', gridgov_live_payload(NEW, 'reported'));
    -- 'dispatched' is announced by the assignment's log row (which names the action).
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NEW.status <> 'dispatched' THEN
        PERFORM pg_notify('gridgov_live', gridgov_live_payload(NEW, 'status'));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION gridgov_live_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e events;
BEGIN
    IF NEW.action NOT IN ('assign', 'reassign', 'escalate', 'refer', 'whistle') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM events WHERE id = NEW.event_id;
    IF FOUND THEN
        PERFORM pg_notify('gridgov_live', gridgov_live_payload(e, NEW.action));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER events_live AFTER INSERT OR UPDATE OF status ON events
    FOR EACH ROW EXECUTE FUNCTION gridgov_live_event();
CREATE TRIGGER event_log_live AFTER INSERT ON event_log
    FOR EACH ROW EXECUTE FUNCTION gridgov_live_log();
"""


def upgrade() -> None:
    """Create the NOTIFY triggers."""
    op.execute(SCHEMA)


def downgrade() -> None:
    """Drop the NOTIFY triggers."""
    op.execute(
        "DROP TRIGGER IF EXISTS event_log_live ON event_log;"
        "DROP TRIGGER IF EXISTS events_live ON events;"
        "DROP FUNCTION IF EXISTS gridgov_live_log(), gridgov_live_event(), gridgov_live_payload(events, text);"
    )
