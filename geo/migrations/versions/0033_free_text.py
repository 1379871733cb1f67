"""Personal data in free text masked in the database, and every unmasked read of personal data noted.

gridgov_mask_text(t)             18-digit ID numbers (620121********1234), mobile numbers (138****5678,
                                 also written 138-1234-5678 or 138 1234 5678) and landlines
                                 (0931-****3456) in a text, masked.
gridgov_mask_id_number(v)        620121199001011234 -> 620121********1234.
gridgov_person_text(t, event)    for uncleared roles of the app: the text with those numbers and the
                                 names of the case's parties masked (titles, descriptions, timeline
                                 notes, department answers); for cleared roles the text as written.
gridgov_person_id_number(v)      like gridgov_person_name / gridgov_person_phone (0006).
gridgov_own_worker()             the requesting grid worker's own worker row (their own data is theirs).

Each gridgov_person_* function, when it hands a cleared requester personal data unmasked (a name, a
phone, an ID number, or a text that holds one), calls gridgov_personal_read, which notes it in the
transaction (`gridgov.personal_read`); the app writes one audit row for the request when it commits
(geo.audit.AUDIT_PERSONAL_READ), names-only reads included. Owner tools (the CLI, loaders, jobs) see
data as stored and note nothing. The functions stay STABLE (their callers' plans do not change) but
are PARALLEL RESTRICTED now: noting is a set_config.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

SQL = r"""
CREATE FUNCTION gridgov_mask_text(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(regexp_replace(regexp_replace(t,
        '(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9Xx])', '\1********\2', 'g'),
        '(?<![0-9])(1[3-9][0-9])[- ]?[0-9]{4}[- ]?([0-9]{4})(?![0-9])', '\1****\2', 'g'),
        '(?<![0-9])(0[0-9]{2,3})-?[0-9]{3,4}([0-9]{4})(?![0-9])', '\1-****\2', 'g')
$$;
CREATE FUNCTION gridgov_mask_id_number(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v IS NULL OR v = '' THEN v
                WHEN char_length(v) <= 10 THEN repeat('*', char_length(v))
                ELSE left(v, 6) || repeat('*', char_length(v) - 10) || right(v, 4) END
$$;

-- The worker row of the requesting grid worker (gridgov_authorize sets it), NULL for other roles.
CREATE FUNCTION gridgov_own_worker() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(current_setting('gridgov.worker_id', true), '')::bigint
$$;

CREATE FUNCTION gridgov_personal_read(p_what text) RETURNS void LANGUAGE sql VOLATILE PARALLEL RESTRICTED AS $$
    SELECT CASE WHEN coalesce(current_setting('gridgov.personal_read', true), '') = ''
                THEN set_config('gridgov.personal_read', p_what, true) END;
    SELECT NULL::void;
$$;

CREATE FUNCTION gridgov_mask_party_names(t text, p_event bigint) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    n text;
BEGIN
    FOR n IN SELECT DISTINCT p.name FROM parties p
             WHERE p.event_id = p_event AND char_length(p.name) >= 2 ORDER BY 1 LOOP
        t := replace(t, n, gridgov_mask_name(n));
    END LOOP;
    RETURN t;
END $$;

CREATE OR REPLACE FUNCTION gridgov_person_name(n text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    IF n IS NULL OR n = '' OR current_user NOT IN ('gridgov_app', 'gridgov_department') THEN
        RETURN n;
    ELSIF gridgov_masked() THEN
        RETURN gridgov_mask_name(n);
    END IF;
    PERFORM gridgov_personal_read('name');
    RETURN n;
END $$;
CREATE OR REPLACE FUNCTION gridgov_person_phone(p text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    IF p IS NULL OR p = '' OR current_user NOT IN ('gridgov_app', 'gridgov_department') THEN
        RETURN p;
    ELSIF gridgov_masked() THEN
        RETURN gridgov_mask_phone(p);
    END IF;
    PERFORM gridgov_personal_read('phone');
    RETURN p;
END $$;
CREATE FUNCTION gridgov_person_id_number(v text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    IF v IS NULL OR v = '' OR current_user NOT IN ('gridgov_app', 'gridgov_department') THEN
        RETURN v;
    ELSIF gridgov_masked() THEN
        RETURN gridgov_mask_id_number(v);
    END IF;
    PERFORM gridgov_personal_read('id_number');
    RETURN v;
END $$;
CREATE FUNCTION gridgov_person_text(t text, p_event bigint) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
DECLARE
    masked text;
BEGIN
    IF t IS NULL OR t = '' OR current_user NOT IN ('gridgov_app', 'gridgov_department') THEN
        RETURN t;
    END IF;
    masked := gridgov_mask_party_names(gridgov_mask_text(t), p_event);
    IF masked = t THEN
        RETURN t;
    ELSIF gridgov_masked() THEN
        RETURN masked;
    END IF;
    PERFORM gridgov_personal_read('text');
    RETURN t;
END $$;
"""

_OLD = """
CREATE OR REPLACE FUNCTION gridgov_person_name(n text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN gridgov_masked() THEN gridgov_mask_name(n) ELSE n END
$$;
CREATE OR REPLACE FUNCTION gridgov_person_phone(p text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN gridgov_masked() THEN gridgov_mask_phone(p) ELSE p END
$$;
"""


def upgrade() -> None:
    """Create the text masks and make the person functions note unmasked reads."""
    op.execute(SQL)


def downgrade() -> None:
    """Back to 0006's person functions."""
    op.execute(
        "DROP FUNCTION gridgov_person_text(text, bigint), gridgov_person_id_number(text),"
        " gridgov_mask_party_names(text, bigint), gridgov_personal_read(text), gridgov_mask_id_number(text),"
        " gridgov_own_worker(),"
        " gridgov_mask_text(text);" + _OLD
    )
