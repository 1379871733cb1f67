"""The audit log, for admins: who changed or read what, and when."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import SessionDep
from api.permissions import AuditUser
from geo.audit import list_audit

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    """One audit row: actor, action, target, and for changes the changed columns before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    target_table: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any]


class AuditPagePublic(BaseModel):
    """A page of audit rows, newest first, and how many match."""

    total: int
    limit: int
    offset: int
    items: list[AuditEntryPublic]


Text = Annotated[str | None, Query(max_length=100)]


@router.get("", response_model=AuditPagePublic)
def get_audit(
    session: SessionDep,
    user: AuditUser,
    actor: Text = None,
    action: Text = None,
    table: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z_]+$")] = None,
    target: Text = None,
    since: Annotated[datetime | None, Query(description="from (inclusive), ISO 8601 with time zone")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    """Audit rows newest first: filter by actor, action (insert, update, delete, read_unmasked ...),
    table, target id and time; page with limit and offset."""
    page = list_audit(
        session,
        limit=limit,
        offset=offset,
        actor=actor,
        action=action,
        table=table,
        target=target,
        since=since,
        until=until,
    )
    return {**page, "limit": limit, "offset": offset}
