"""Where things are: the grid hierarchy and its cores, workers, facilities, event cells, the taxonomy,
departments and their mediators."""

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)

from geo.models.base import TZ, metadata

grids = Table(
    "grids",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("code", String(15), nullable=False),
    Column("county_code", String(6)),
    Column("name", Text, nullable=False),
    Column("level", Text, nullable=False),
    Column("parent_id", BigInteger, ForeignKey("grids.id")),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("area_m2", Float),
    Column("worker_id", BigInteger, ForeignKey("workers.id")),
    Column("valid_from", TZ, nullable=False),
    Column("valid_to", TZ),
    Column("synthetic", Boolean, nullable=False),
)


grid_cores = Table(
    "grid_cores",
    metadata,
    Column("grid_id", BigInteger, ForeignKey("grids.id"), primary_key=True),
    Column("code", String(15), nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
)


workers = Table(
    "workers",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("home_grid_id", BigInteger, ForeignKey("grids.id")),
    Column("home_grid_code", String(15)),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("located_at", TZ),
    Column("on_duty", Boolean, nullable=False),
    Column("available", Boolean, nullable=False),
    Column("skills", ARRAY(Text), nullable=False),
    Column("open_tasks", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
)


facilities = Table(
    "facilities",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("grid_id", BigInteger, ForeignKey("grids.id")),
    Column("grid_code", String(15)),
)


event_cells = Table(
    "event_cells",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("z", SmallInteger, primary_key=True),
    Column("village_code", String(12), primary_key=True),
    Column("cx", Integer, primary_key=True),
    Column("cy", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False),
    Column("sx", Float, nullable=False),
    Column("sy", Float, nullable=False),
    Column("w", BigInteger, nullable=False),
)


categories = Table(
    "categories",
    metadata,
    Column("code", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("label_zh", Text, nullable=False),
    Column("label_en", Text, nullable=False),
    Column("sort_order", SmallInteger, nullable=False),
)


departments = Table(
    "departments",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("categories", ARRAY(Text), nullable=False),
    Column("phone", Text),
    Column("facility_id", BigInteger, ForeignKey("facilities.id")),
)


mediators = Table(
    "mediators",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("department_id", BigInteger, ForeignKey("departments.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("on_call", Boolean, nullable=False),
)

__all__ = [name for name, value in list(globals().items()) if isinstance(value, Table)]
