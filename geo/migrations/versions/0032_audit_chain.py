"""A tamper-evident audit log: every row chained to the one before by SHA-256, kept at least 180 days.

audit_log.seq        the row's place in the chain (1, 2, 3 ...), given at insert under the chain's lock
audit_log.prev_hash  the hash of the row before (64 zeros before the first)
audit_log.hash       sha256(prev_hash || '\n' || gridgov_audit_text(row)), hex
audit_chain          one row: the chain's head (last_seq, last_hash) and where it starts (first_seq,
                     moved only by gridgov_audit_purge). Deleting rows at the end is seen against it.

gridgov_audit_text is the row's canonical text: every field through quote_nullable (so NULL and ''
differ), `at` in UTC, jsonb as its (canonical) text. `gridgov audit verify` (geo.audit.verify_chain)
rebuilds that text in Python from the stored values and names the first row whose hash or link fails.

Appending takes the head row's lock until the transaction commits, so rows are chained in the order
their writers commit; writers of audit rows queue there for the few milliseconds of a commit.

The guard: no UPDATE ever (for anyone: the owner too), no TRUNCATE, no DELETE of a row younger than
180 days (the level 3 retention); older rows go only through gridgov_audit_purge, which moves
first_seq and records the purge as an audit row. A superuser who disables the triggers can still
change rows: that is what the hashes show.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from alembic import op

from geo.db.policies import apply_policies

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

SCHEMA = r"""
ALTER TABLE audit_log ADD COLUMN seq bigint, ADD COLUMN prev_hash text, ADD COLUMN hash text;
CREATE TABLE audit_chain (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    first_seq bigint NOT NULL,
    last_seq  bigint NOT NULL,
    last_hash text NOT NULL
);

CREATE FUNCTION gridgov_audit_text(a audit_log) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT concat_ws(',', quote_nullable(a.seq::text),
                     quote_nullable(to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
                     quote_nullable(a.actor), quote_nullable(a.action), quote_nullable(a.target_table),
                     quote_nullable(a.target_id), quote_nullable(a.before::text), quote_nullable(a.after::text),
                     quote_nullable(a.detail::text))
$$;
CREATE FUNCTION gridgov_audit_hash(prev text, body text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(prev || E'\n' || body, 'UTF8')), 'hex')
$$;

-- Chain the rows written before this migration, in id order.
DO $$
DECLARE
    r audit_log;
    h text := repeat('0', 64);
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        n := n + 1;
        r.seq := n;
        r.prev_hash := h;
        h := gridgov_audit_hash(h, gridgov_audit_text(r));
        UPDATE audit_log SET seq = n, prev_hash = r.prev_hash, hash = h WHERE id = r.id;
    END LOOP;
    INSERT INTO audit_chain (first_seq, last_seq, last_hash) VALUES (1, n, h);
END $$;
ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);

CREATE FUNCTION gridgov_audit_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    head audit_chain;
BEGIN
    SELECT * INTO head FROM audit_chain FOR UPDATE;  -- one writer at a time, until it commits
    NEW.seq := head.last_seq + 1;
    NEW.prev_hash := head.last_hash;
    NEW.hash := gridgov_audit_hash(NEW.prev_hash, gridgov_audit_text(NEW));
    UPDATE audit_chain SET last_seq = NEW.seq, last_hash = NEW.hash;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION gridgov_audit_chain();

CREATE FUNCTION gridgov_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < now() - interval '180 days'
       AND coalesce(current_setting('gridgov.audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows are never changed, and kept at least 180 days (gridgov audit purge)'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION gridgov_audit_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION gridgov_audit_guard();

-- Remove the rows older than p_keep_days days (180 at least) from the start of the chain. Audit times are
-- the database's own (audit_log.at is clock_timestamp()), so the cut-off is counted on its clock too.
CREATE FUNCTION gridgov_audit_purge(p_keep_days integer, p_actor text) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    cutoff timestamptz := now() - make_interval(days => p_keep_days);
    upto bigint;
    gone bigint;
BEGIN
    IF p_keep_days < 180 THEN
        RAISE EXCEPTION 'audit rows are kept at least 180 days' USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT coalesce(min(seq), (SELECT last_seq + 1 FROM audit_chain)) INTO upto FROM audit_log WHERE at >= cutoff;
    PERFORM set_config('gridgov.audit_purge', 'on', true);
    DELETE FROM audit_log WHERE seq < upto;
    GET DIAGNOSTICS gone = ROW_COUNT;
    PERFORM set_config('gridgov.audit_purge', '', true);
    INSERT INTO audit_log (actor, action, target_table, detail)
    VALUES (p_actor, 'audit_purge', 'audit_log',
            jsonb_build_object('before', cutoff, 'keep_days', p_keep_days, 'deleted', gone));
    UPDATE audit_chain SET first_seq = (SELECT min(seq) FROM audit_log);
    RETURN gone;
END $$;
"""


def upgrade() -> None:
    """Chain the audit rows; the chain's trigger, the guard and the purge."""
    op.execute(SCHEMA)
    apply_policies(op.get_bind())


def downgrade() -> None:
    """Drop the chain (rows stay, without their hashes)."""
    op.execute(
        "DROP TRIGGER audit_log_chain ON audit_log; DROP TRIGGER audit_log_guard ON audit_log;"
        "DROP TRIGGER audit_log_no_truncate ON audit_log;"
        "DROP FUNCTION gridgov_audit_purge(integer, text), gridgov_audit_guard(), gridgov_audit_chain(),"
        " gridgov_audit_hash(text, text), gridgov_audit_text(audit_log);"
        "DROP TABLE audit_chain; DROP INDEX audit_log_seq;"
        "ALTER TABLE audit_log DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash;"
    )
