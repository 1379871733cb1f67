"""What field work records: the position history, patrol tracks, household visits and monthly assessments."""

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, Date, Float, ForeignKey, Integer, LargeBinary, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from geo.models.base import TZ, metadata

# Every position fix a phone sent (partitioned by month: the partitions are not tables of their own here).
worker_fixes = Table(
    "worker_fixes",
    metadata,
    Column("worker_id", BigInteger, primary_key=True),
    Column("at", TZ, primary_key=True),
    Column("received_at", TZ, nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("accuracy_m", Float),
    Column("grid_code", String(15), nullable=False),
    Column("source", Text, nullable=False),
    Column("batch_key", Text),
)

# One row per batch a phone posted: a resent batch is answered from here.
fix_batches = Table(
    "fix_batches",
    metadata,
    Column("worker_id", BigInteger, ForeignKey("workers.id"), primary_key=True),
    Column("batch_key", Text, primary_key=True),
    Column("received_at", TZ, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("stored", Integer, nullable=False),
    Column("result", JSONB, nullable=False),
)

# A worker's track of a county day (derived from the fixes by gridgov_rebuild_tracks).
patrol_tracks = Table(
    "patrol_tracks",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("worker_id", BigInteger, ForeignKey("workers.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("grid_code", String(15), nullable=False),
    Column("started_at", TZ, nullable=False),
    Column("ended_at", TZ, nullable=False),
    Column("fixes", Integer, nullable=False),
    Column("segments", Integer, nullable=False),
    Column("length_m", Float, nullable=False),
    Column("duration_s", Integer, nullable=False),
    Column("geom", Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=False),
)

# The small grids each day's track crosses (the patrol half of coverage).
patrol_grids = Table(
    "patrol_grids",
    metadata,
    Column("day", Date, primary_key=True),
    Column("grid_code", String(15), primary_key=True),
    Column("worker_id", BigInteger, ForeignKey("workers.id"), primary_key=True),
)

# 走访: a household or place a worker visited.
visits = Table(
    "visits",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("worker_id", BigInteger, ForeignKey("workers.id"), nullable=False),
    Column("client_key", Text, nullable=False),
    Column("at", TZ, nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("accuracy_m", Float),
    Column("grid_id", BigInteger, ForeignKey("grids.id")),
    Column("grid_code", String(15), nullable=False),
    Column("address", Text, nullable=False),
    Column("household", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("photo", LargeBinary),
    Column("photo_type", Text),
    Column("recorded_by", Text, nullable=False),
)

# 网格员考核: a month's figures per worker, frozen once issued.
assessments = Table(
    "assessments",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("month", Date, nullable=False),
    Column("area", String(15), nullable=False),
    Column("cutoff_at", TZ, nullable=False),
    Column("issued_at", TZ, nullable=False),
    Column("figures", JSONB, nullable=False),
)
