"""Accounts of a city (4-digit prefix, e.g. 6201 Lanzhou) or the whole province (2 digits, 62).

A database may hold many counties (the province demo holds 87); the provincial and city centres
oversee them, so an account's area may also be a province or city prefix of the grid codes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_WIDE = r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"
_COUNTY = r"^[0-9]{6}([0-9]{3}){0,2}$"


def upgrade() -> None:
    """Widen the area check of users."""
    op.execute("ALTER TABLE users DROP CONSTRAINT IF EXISTS users_area_check")
    op.execute(f"ALTER TABLE users ADD CONSTRAINT users_area_check CHECK (area ~ '{_WIDE}')")


def downgrade() -> None:
    """Back to county, township and village areas (fails while wider accounts exist)."""
    op.execute("ALTER TABLE users DROP CONSTRAINT IF EXISTS users_area_check")
    op.execute(f"ALTER TABLE users ADD CONSTRAINT users_area_check CHECK (area ~ '{_COUNTY}')")
