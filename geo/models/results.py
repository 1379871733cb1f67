"""What jobs and the system keep: analyses, reports, risk grades, the job queue, change counters,
accounts, sessions, login throttling and the audit log."""

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    Interval,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from geo.models.base import TZ, metadata

analytics_runs = Table(
    "analytics_runs",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("analysis", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("area", String(15), nullable=False),
    Column("params", JSONB, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("as_of", TZ, nullable=False),
    Column("computed_at", TZ, nullable=False),
    Column("seconds", Float, nullable=False),
)


hotspot_cells = Table(
    "hotspot_cells",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("run_id", BigInteger, ForeignKey("analytics_runs.id"), nullable=False),
    Column("cell", Text, nullable=False),
    Column("grid_code", String(15)),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)),  # hexagons only (0062)
    Column("events", Integer, nullable=False),
    Column("base_km2", Float, nullable=False),
    Column("rate", Float, nullable=False),
    Column("eb_rate", Float, nullable=False),
    Column("z", Float, nullable=False),
    Column("p", Float, nullable=False),
    Column("confidence", SmallInteger, nullable=False),
    Column("region", String(15)),
)


emerging_cells = Table(
    "emerging_cells",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("run_id", BigInteger, ForeignKey("analytics_runs.id"), nullable=False),
    Column("cell", Text, nullable=False),
    Column("grid_code", String(15)),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)),  # hexagons only (0062)
    Column("category", Text, nullable=False),
    Column("trend_z", Float),
    Column("trend_p", Float),
    Column("hot_bins", Integer, nullable=False),
    Column("cold_bins", Integer, nullable=False),
    Column("last_z", Float),
)


reports = Table(
    "reports",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("period", Text, nullable=False),
    Column("period_start", TZ, nullable=False),
    Column("period_end", TZ, nullable=False),
    Column("area", String(15), nullable=False),
    Column("cutoff_at", TZ, nullable=False),
    Column("issued_at", TZ, nullable=False),
    Column("figures", JSONB, nullable=False),
)


risk_grades = Table(
    "risk_grades",
    metadata,
    Column("grid_code", String(15), primary_key=True),
    Column("as_of", TZ, nullable=False),
    Column("computed_at", TZ, nullable=False),
    Column("open_events", Integer, nullable=False),
    Column("weighted_severity", Float, nullable=False),
    Column("overdue", Integer, nullable=False),
    Column("repeat_places", Integer, nullable=False),
    Column("recent", Integer, nullable=False),
    Column("earlier", Integer, nullable=False),
    Column("resolution_rate", Float),
    Column("score", Float, nullable=False),
    Column("grade", Text, nullable=False),
)


jobs = Table(
    "jobs",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("area", String(15), nullable=False),
    Column("params", JSONB, nullable=False),
    Column("dedupe_key", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("run_after", TZ, nullable=False),
    Column("enqueued_at", TZ, nullable=False),
    Column("started_at", TZ),
    Column("finished_at", TZ),
    Column("attempts", Integer, nullable=False),
    Column("worker", Text),
    Column("progress", Float),
    Column("error", Text),
    Column("result", JSONB),
    Column("note", Text),
)


job_schedules = Table(
    "job_schedules",
    metadata,
    Column("name", Text, primary_key=True),
    Column("last_slot", TZ, nullable=False),
)


data_changes = Table(
    "data_changes",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("channel", Text, nullable=False),
)


users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("area", String(15), nullable=False),
    Column("worker_id", BigInteger, ForeignKey("workers.id")),
    Column("active", Boolean, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("department_id", BigInteger, ForeignKey("departments.id")),
    Column("demo", Boolean, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("password_changed_at", TZ),
)


audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", TZ, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target_table", Text),
    Column("target_id", Text),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("detail", JSONB, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
)

__all__ = [name for name, value in list(globals().items()) if isinstance(value, Table)]

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False),
    Column("scope", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("last_seen_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("idle_timeout", Interval, nullable=False),
    Column("client_addr", Text),
    Column("user_agent", Text),
    Column("revoked_at", TZ),
    Column("revoked_by", Text),
    Column("revoked_reason", Text),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", TZ, nullable=False),
    Column("account", Text, nullable=False),
    Column("client_addr", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

login_locks = Table(
    "login_locks",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("locked_at", TZ, nullable=False),
    Column("until", TZ, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("unlocked_at", TZ),
    Column("unlocked_by", Text),
)

# The head of the audit log's hash chain (one row): where verification starts and what the next row links to.
audit_chain = Table(
    "audit_chain",
    metadata,
    Column("one", Boolean, primary_key=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", Text, nullable=False),
)
