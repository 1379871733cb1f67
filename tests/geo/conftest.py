"""Fixtures of the import and export tests (tests/geo/test_io_*.py): the tiny county of tests/geo/io_county.py."""

import pytest

from geo import io
from tests.geo.io_county import GRIDS, TOWNSHIPS, VILLAGES, frame, make_county, write


@pytest.fixture
def county(empty_session):
    make_county(empty_session)
    return empty_session


@pytest.fixture
def gridded(county, tmp_path):
    """The county with its townships, villages and small grids imported."""
    io.import_grids(county, write(frame(TOWNSHIPS), tmp_path / "t.geojson"), level="township")
    io.import_grids(county, write(frame(VILLAGES), tmp_path / "v.geojson"), level="village")
    io.import_grids(county, write(frame(GRIDS), tmp_path / "g.geojson"), level="grid")
    return county
