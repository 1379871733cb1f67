"""The personal-data functions note a cleared read once per transaction, not once per row.

gridgov_person_name and its siblings (0033) ran `PERFORM gridgov_personal_read(...)` for every value they
handed out unmasked: a query through SPI into a two-statement SQL function, per row. A commander's z10
tile of small grids (their workers' names) took 8.1 ms where the same tile masked took 4.3; with the
note's setting checked inline and set only when still empty, it takes 4.8. Same behaviour: the setting
`gridgov.personal_read` names the first kind of personal data the transaction handed out, and the
request's commit writes its audit row (geo.audit.AUDIT_PERSONAL_READ).

Revision ID: 0066
Revises: 0065
Create Date: 2026-12-07
"""

from alembic import op

revision = "0066"
down_revision = "0065"
branch_labels = None
depends_on = None

# function -> (argument, masking function, what the note says)
_SIMPLE = {
    "gridgov_person_name": ("n", "gridgov_mask_name", "name"),
    "gridgov_person_phone": ("p", "gridgov_mask_phone", "phone"),
    "gridgov_person_id_number": ("v", "gridgov_mask_id_number", "id_number"),
}
_INLINE = """
    IF coalesce(current_setting('gridgov.personal_read', true), '') = '' THEN
        PERFORM set_config('gridgov.personal_read', '{what}', true);
    END IF;"""
_CALL = """
    PERFORM gridgov_personal_read('{what}');"""


def _simple(name: str, arg: str, mask: str, note: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}({arg} text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED AS $$
BEGIN
    IF {arg} IS NULL OR {arg} = '' OR current_user NOT IN ('gridgov_app', 'gridgov_department') THEN
        RETURN {arg};
    ELSIF gridgov_masked() THEN
        RETURN {mask}({arg});
    END IF;{note}
    RETURN {arg};
END $$;"""


def _text(note: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION gridgov_person_text(t text, p_event bigint) RETURNS text
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
    END IF;{note}
    RETURN t;
END $$;"""


def _functions(note: str) -> str:
    simple = [_simple(f, arg, mask, note.format(what=what)) for f, (arg, mask, what) in _SIMPLE.items()]
    return "".join(simple) + _text(note.format(what="text"))


def upgrade() -> None:
    """The note checked inline."""
    op.execute(_functions(_INLINE))


def downgrade() -> None:
    """Back to 0033's call per value."""
    op.execute(_functions(_CALL))
