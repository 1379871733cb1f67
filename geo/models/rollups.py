"""What province-scale reads keep: grid neighbours, roll-ups per grid and day, stored chronic cases and
report drafts (all written by triggers or jobs, the owner)."""

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Integer, Numeric, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from geo.models.base import TZ, metadata

# Pairs of small grids that touch (kept by triggers; the analysis jobs' contiguity).
grid_neighbours = Table(
    "grid_neighbours",
    metadata,
    Column("a", String(15), nullable=False),
    Column("b", String(15), nullable=False),
)

# The zone the roll-ups count county days in (one row).
rollup_zone = Table(
    "rollup_zone",
    metadata,
    Column("only_row", Boolean, primary_key=True),
    Column("zone", Text, nullable=False),
)

# Roll-ups per small grid, county day, kind and category (kept current on write).
grid_days = Table(
    "grid_days",
    metadata,
    Column("grid_code", String(15), nullable=False),
    Column("day", Date, nullable=False),
    Column("kind", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("opened", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("resolved", Integer, nullable=False),
    Column("closed", Integer, nullable=False),
    Column("falls_due", Integer, nullable=False),
    Column("wage_recovered", Numeric(16, 2), nullable=False),
    Column("wage_workers", Integer, nullable=False),
    Column("wage_paid_workers", Integer, nullable=False),
)

# Roll-ups per small grid of what is open now (kept current on write).
grid_totals = Table(
    "grid_totals",
    metadata,
    Column("grid_code", String(15), nullable=False),
    Column("kind", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("open", Integer, nullable=False),
)

# Chronic disputes of an analysis area as last computed by the `chronic` job.
chronic_groups = Table(
    "chronic_groups",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("run_id", BigInteger, ForeignKey("analytics_runs.id"), nullable=False),
    Column("basis", Text, nullable=False),
    Column("category", Text),
    Column("matched_on", Text),
    Column("grid_code", String(15), nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("party_id", BigInteger, ForeignKey("parties.id")),
    Column("cases", Integer, nullable=False),
    Column("years", Integer, nullable=False),
    Column("first_at", TZ, nullable=False),
    Column("last_at", TZ, nullable=False),
    Column("open_cases", Integer, nullable=False),
    Column("history", JSONB, nullable=False),
)

# The hot spot section of a running period's report, computed by the `drafts` job.
report_drafts = Table(
    "report_drafts",
    metadata,
    Column("period", Text, primary_key=True),
    Column("period_start", TZ, primary_key=True),
    Column("area", String(15), primary_key=True),
    Column("computed_at", TZ, nullable=False),
    Column("hotspots", JSONB, nullable=False),
)
