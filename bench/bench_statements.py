"""The statements an app request runs, compiled from the app's own code for psycopg (bench_steady).

authorize, candidates, tile, audit_row = statements("62", session_id=sid)  # sid: bench_auth.bench_session
conn.execute(*authorize); conn.execute(*candidates(event_id)); conn.execute(*tile("grids", 11, x, y))
"""

from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from api.deps import CurrentUser, access_for
from geo.access.checks import AUTHORIZE_SQL, authorize_params
from geo.audit import AUDIT_PERSONAL_READ
from geo.queries.dispatch import CANDIDATES, candidates_params
from geo.settings import DispatchSettings
from layers import tiles
from layers.builtin import default_registry
from layers.query import LayerQuery
from layers.settings import LayerSettings

_DIALECT = pg_psycopg.dialect()


def compiled(stmt, params: dict) -> tuple[str, dict]:
    """(SQL with %(name)s placeholders, its parameters) as SQLAlchemy would send them to psycopg."""
    c = stmt.compile(dialect=_DIALECT)
    return str(c), c.construct_params(params)


def statements(area: str, name: str = "bench_steady", *, session_id: str, role: str = "commander"):  # noqa: ANN201
    """The account check, a candidates builder, a tile builder and (for a cleared role) the audit row a
    request writes before it commits, for an account of `role` in `area`, in a live session of theirs."""
    access = access_for(CurrentUser(name, role, area, session_id=session_id))
    dispatch, layers = DispatchSettings(_env_file=None), LayerSettings(_env_file=None)
    registry = default_registry()

    def candidates(event_id: int) -> tuple[str, dict]:
        p = candidates_params(
            event_id,
            area=area,
            k=5,
            max_age_s=dispatch.max_position_age_s,
            scope=dispatch.candidate_scope,
        )
        return compiled(CANDIDATES, p)

    def tile(layer_id: str, z: int, x: int, y: int) -> tuple[str, dict]:
        tq = tiles.tile_query(registry.get(layer_id), LayerQuery(area=area), z, x, y, layers)
        return compiled(tq.statement, tq.params)

    user = CurrentUser(name, role, area, session_id=session_id)
    audit_row = compiled(AUDIT_PERSONAL_READ, {}) if user.cleared else None  # api.deps, before each commit
    return (AUTHORIZE_SQL, authorize_params(access)), candidates, tile, audit_row
