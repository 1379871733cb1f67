"""The schema as SQLAlchemy Core Tables (every table), and the one ORM class that earns its keep (Grid).

The schema itself is made by the Alembic migrations (geo/migrations); tests/geo/test_models.py holds
these tables to the migrated database, column by column. All geometry is stored in WGS84 (EPSG:4326).
Grids are versioned: a row is current while `valid_to` is null; re-gridding retires a row and inserts
a new one, so an event keeps the grid row it was reported in.

    places.py   grids, grid_cores, workers, facilities, event_cells, categories, departments, mediators
    cases.py    events, event_log, parties, whistles, event_photos, idempotency_keys, time limits, holidays
    results.py  analyses, reports, risk_grades, jobs, data_changes, users, sessions, audit_log
    field.py    worker_fixes, fix_batches, patrol_tracks, patrol_grids, visits, assessments
    rollups.py  grid_neighbours, rollup_zone, grid_days, grid_totals, chronic_groups, report_drafts
"""

from sqlalchemy.orm import DeclarativeBase

from geo import vocabulary
from geo.models.base import TZ, metadata
from geo.models.cases import *  # noqa: F403 - every table, by its name
from geo.models.field import *  # noqa: F403
from geo.models.places import *  # noqa: F403
from geo.models.places import grids
from geo.models.results import *  # noqa: F403
from geo.models.rollups import *  # noqa: F403

LEVELS = ("province", "city", "county", "township", "village", "grid")
EVENT_KINDS = tuple(vocabulary.KINDS)
EVENT_STATUSES = tuple(vocabulary.STATUSES)
SOURCES = tuple(vocabulary.SOURCES)


class Base(DeclarativeBase):
    """Declarative base of the ORM classes, over the same metadata as the Core tables."""

    metadata = metadata


class Grid(Base):
    """One grid of the hierarchy (county, township, village or small grid), one version of it."""

    __table__ = grids

    @property
    def display_code(self) -> str:
        """The code as people write it: 620121-003-017-008."""
        return format_code(self.code)


def format_code(code: str) -> str:
    """Show a 15-digit grid code as 6+3+3+3 groups: 620121003017008 -> 620121-003-017-008."""
    return f"{code[:6]}-{code[6:9]}-{code[9:12]}-{code[12:15]}"


def parse_code(text: str) -> str:
    """Accept a grid code with or without dashes; return the 15 digits (or a shorter prefix)."""
    return text.replace("-", "").strip()


__all__ = [
    "EVENT_KINDS",
    "EVENT_STATUSES",
    "LEVELS",
    "SOURCES",
    "TZ",
    "Base",
    "Grid",
    "format_code",
    "metadata",
    "parse_code",
]
