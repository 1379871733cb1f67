"""The product's words for the browser: every status, kind, severity, grade, role and action label."""

from typing import Any

from fastapi import APIRouter, Depends

from api.deps import get_checked_user
from api.routing import ReadRoute
from geo.vocabulary import vocabulary

router = APIRouter(route_class=ReadRoute, prefix="/api", tags=["console"])


# No query of its own, so the account is checked explicitly (a token alone is not a live account).
@router.get("/vocabulary", dependencies=[Depends(get_checked_user)])
def get_vocabulary() -> dict[str, Any]:
    """Every label table in Chinese and English, and the risk grades' colours (geo.vocabulary).

    The console pages carry the same JSON in `<script type="application/json" id="gg-vocab">`, so
    they need no request for it; this route serves other clients and the pages' tests."""
    return vocabulary()
