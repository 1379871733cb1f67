"""ORM models (SQLAlchemy 2 + GeoAlchemy2). The schema itself is made by the Alembic migrations.

All geometry is stored in WGS84 (EPSG:4326). Grids are versioned: a row is current while
`valid_to` is null; re-gridding retires a row and inserts a new one, so an event keeps the
grid row it was reported in.
"""

from datetime import datetime
from decimal import Decimal

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from geo.crs import WGS84

LEVELS = ("province", "city", "county", "township", "village", "grid")
EVENT_KINDS = ("dispute", "hazard", "appeal")
EVENT_STATUSES = (
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "handled",
    "verified",
    "closed",
    "rejected",
    "duplicate",
)
SOURCES = ("patrol", "walk_in", "hotline", "court", "police", "petition")
FACILITY_KINDS = (
    "county_centre",
    "township_centre",
    "village_station",
    "court",
    "police_station",
    "justice_office",
    "mediation_room",
)
DEPARTMENT_KINDS = (
    "police",
    "procuratorate",
    "court",
    "justice",
    "petition",
    "hrss",
    "housing",
    "civil_affairs",
    "mediation_committee",
)


class Base(DeclarativeBase):
    """Declarative base of every gridgov table."""


class Grid(Base):
    """One grid of the hierarchy (county, township, village or small grid), one version of it."""

    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(15))
    county_code: Mapped[str] = mapped_column(String(6), server_default=None, insert_default=None)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=WGS84, spatial_index=False), nullable=False)
    area_m2: Mapped[float] = mapped_column(Float, insert_default=None)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", use_alter=True))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def display_code(self) -> str:
        """The code as people write it: 620121-003-017-008."""
        return format_code(self.code)


class Worker(Base):
    """A grid worker (网格员)."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(Text)
    home_grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    home_grid_code: Mapped[str | None] = mapped_column(String(15))
    geom = mapped_column(Geometry("POINT", srid=WGS84, spatial_index=False), nullable=True)
    located_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    open_tasks: Mapped[int] = mapped_column(Integer, default=0)
    capacity: Mapped[int] = mapped_column(Integer, default=8)


class Category(Base):
    """One category of the event taxonomy, with its Chinese label."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(SmallInteger)


class Event(Base):
    """A dispute, hazard or appeal at a point; its small grid is set by the database."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(Text, default="reported")
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(Geometry("POINT", srid=WGS84, spatial_index=False), nullable=False)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    wage_owed: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    wage_recovered: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    wage_workers: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), insert_default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), insert_default=None)


class Party(Base):
    """A party to a case: personal data, kept apart from the case so it can be masked."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(Text)


class Department(Base):
    """A department the centre links cases with (police, court, petition, mediation committees...)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    county_code: Mapped[str] = mapped_column(String(6))
    categories: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    phone: Mapped[str | None] = mapped_column(Text)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))


def format_code(code: str) -> str:
    """Show a 15-digit grid code as 6+3+3+3 groups: 620121003017008 -> 620121-003-017-008."""
    return f"{code[:6]}-{code[6:9]}-{code[9:12]}-{code[12:15]}"


def parse_code(text: str) -> str:
    """Accept a grid code with or without dashes; return the 15 digits (or a shorter prefix)."""
    return text.replace("-", "").strip()
