"""Liveness and versions."""

from fastapi import APIRouter

from api.deps import RawSessionDep
from api.routing import ReadRoute
from geo.queries.health import get_versions

router = APIRouter(route_class=ReadRoute, tags=["health"])


@router.get("/healthz")
def healthz(session: RawSessionDep) -> dict:
    """Report that the app and its database answer, with PostgreSQL and PostGIS versions."""
    return {"status": "ok", **get_versions(session)}
