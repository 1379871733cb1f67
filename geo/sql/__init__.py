"""Statements too long to read inline, as .sql files you can paste into EXPLAIN (tipg's habit).

`load("candidates")` gives geo/sql/candidates.sql as a text() clause, read once per process. Bound
parameters are `:name`; identifiers are never parameters.
"""

from functools import lru_cache
from importlib.resources import files

from sqlalchemy import TextClause, text


@lru_cache
def load(name: str) -> TextClause:
    """The statement in geo/sql/<name>.sql."""
    return text((files("geo.sql") / f"{name}.sql").read_text(encoding="utf-8"))
