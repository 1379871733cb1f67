"""Cases and what happens to them: events, their timeline, parties, whistles, photos, idempotency
keys, time limits and the holiday calendar."""

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

from geo.models.base import TZ, metadata

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, ForeignKey("categories.kind"), nullable=False),
    Column("category", Text, ForeignKey("categories.code"), nullable=False),
    Column("severity", SmallInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("reported_at", TZ, nullable=False),
    Column("closed_at", TZ),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("grid_id", BigInteger, ForeignKey("grids.id")),
    Column("grid_code", String(15)),
    Column("wage_owed", Numeric(14, 2)),
    Column("wage_recovered", Numeric(14, 2)),
    Column("wage_workers", Integer),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("assignee_id", BigInteger, ForeignKey("workers.id")),
    Column("escalation_level", Text, nullable=False),
    Column("referral", Text),
    Column("referral_status", Text),
    Column("deadline_at", TZ),
    Column("suspended_at", TZ),
    Column("suspended_total", Interval, nullable=False),
    Column("handled_by", Text),
    Column("duplicate_of", BigInteger, ForeignKey("events.id")),
    Column("deadline_basis", JSONB),
    Column("deadline_uncovered_years", ARRAY(SmallInteger), nullable=False),
    Column("deadline_provisional", Boolean, nullable=False),
    Column("reporter_worker_id", BigInteger, ForeignKey("workers.id")),
)


event_log = Table(
    "event_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("at", TZ, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("from_status", Text),
    Column("to_status", Text),
    Column("note", Text, nullable=False),
    Column("data", JSONB, nullable=False),
)


parties = Table(
    "parties",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("role", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("id_number", Text),
)


whistles = Table(
    "whistles",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("department_id", BigInteger, ForeignKey("departments.id"), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", TZ, nullable=False),
    Column("respond_by", TZ, nullable=False),
    Column("responded_at", TZ),
    Column("response", Text),
    Column("kind", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("signed_at", TZ),
    Column("signed_by", Text),
    Column("responded_by", Text),
    Column("finish_by", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("finished_by", Text),
    Column("feedback", Text),
    Column("withdrawn_at", TZ),
)


event_photos = Table(
    "event_photos",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("content_type", Text, nullable=False),
    Column("bytes", LargeBinary, nullable=False),
    Column("size", Integer),
    Column("client_key", Text),
    Column("uploaded_by", Text, nullable=False),
    Column("at", TZ, nullable=False),
    Column("whistle_id", BigInteger, ForeignKey("whistles.id")),
    Column("stage", Text),
)


idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("event_id", BigInteger, ForeignKey("events.id")),
    Column("request_hash", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("actor", Text, primary_key=True),
)


time_limits = Table(
    "time_limits",
    metadata,
    Column("category", Text, primary_key=True),
    Column("severity", SmallInteger, primary_key=True),
    Column("amount", Integer, nullable=False),
    Column("unit", Text, nullable=False),
)


holidays = Table(
    "holidays",
    metadata,
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("name", Text, nullable=False),
)


calendar_years = Table(
    "calendar_years",
    metadata,
    Column("year", SmallInteger, primary_key=True),
    Column("source", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("imported_at", TZ, nullable=False),
    Column("imported_by", Text, nullable=False),
)

__all__ = [name for name, value in list(globals().items()) if isinstance(value, Table)]
