"""The Core tables of geo.models are the migrated schema: every table, every column, its type and nullability."""

import pytest
from sqlalchemy import MetaData, create_engine, text

from geo.models import metadata

IGNORED = {"spatial_ref_sys", "alembic_version"}


@pytest.fixture(scope="module")
def migrated(empty_db_url):
    engine = create_engine(empty_db_url)
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as conn:  # a partition is its parent's storage, not a table of its own
        partitions = set(conn.execute(text("SELECT relname FROM pg_class WHERE relispartition")).scalars())
    engine.dispose()
    return {name: t for name, t in reflected.tables.items() if name not in IGNORED | partitions}


def _shape(table) -> dict:
    return {c.name: (type(c.type).__name__, c.nullable, c.primary_key) for c in table.columns}


def test_every_table_of_the_database_has_its_core_table(migrated):
    assert sorted(migrated) == sorted(metadata.tables)


def test_every_column_matches_the_database(migrated):
    def kind(name: str) -> str:  # reflected dialect types against the generic ones declared
        return {
            "DOUBLE_PRECISION": "Float",
            "TIMESTAMP": "DateTime",
            "VARCHAR": "String",
            "BIGINT": "BigInteger",
            "INTEGER": "Integer",
            "SMALLINT": "SmallInteger",
            "TEXT": "Text",
            "BOOLEAN": "Boolean",
            "DATE": "Date",
            "BYTEA": "LargeBinary",
            "INTERVAL": "Interval",
            "NUMERIC": "Numeric",
            "REAL": "Float",
        }.get(name, name)

    mismatched = {}
    for name, table in migrated.items():
        db = {c: (kind(t), n, pk) for c, (t, n, pk) in _shape(table).items()}
        ours = _shape(metadata.tables[name])
        if db != ours:
            mismatched[name] = {
                c: (db.get(c), ours.get(c)) for c in set(db) | set(ours) if db.get(c) != ours.get(c)
            }
    assert mismatched == {}
