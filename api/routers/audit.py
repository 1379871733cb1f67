"""The audit log, for the audit administrator (审计管理员) only: read, export, check the hash chain.

Reading it is audited too: every page, export and check writes a row naming the auditor.
"""

import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from api.deps import SessionDep, request_line
from api.permissions import AuditUser
from api.routing import ReadRoute
from geo import audit

router = APIRouter(route_class=ReadRoute, prefix="/api/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    """One audit row: actor, action, target, for changes the changed columns before and after, and its
    place and hash in the chain."""

    id: int
    seq: int
    at: datetime
    actor: str
    action: str
    target_table: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any]
    hash: str


class AuditPagePublic(BaseModel):
    """A page of audit rows, newest first, and how many match."""

    total: int
    limit: int
    offset: int
    items: list[AuditEntryPublic]


Text = Annotated[str | None, Query(max_length=100)]


def _filters(
    actor: Text = None,
    action: Text = None,
    table: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z_]+$")] = None,
    target: Text = None,
    since: Annotated[datetime | None, Query(description="from (inclusive), ISO 8601 with time zone")] = None,
    until: Annotated[datetime | None, Query(description="to (exclusive)")] = None,
) -> dict[str, Any]:
    return {
        "actor": actor,
        "action": action,
        "table": table,
        "target": target,
        "since": since,
        "until": until,
    }


Filters = Annotated[dict[str, Any], Depends(_filters)]


def _read(session: SessionDep, user: AuditUser, request: Request, what: str, **detail: Any) -> None:
    audit.record(
        session,
        user.name,
        "read_audit",
        table="audit_log",
        detail={"what": what, "request": request_line(request), **detail},
    )


@router.get("", response_model=AuditPagePublic)
def get_audit(
    request: Request,
    session: SessionDep,
    user: AuditUser,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict:
    """Audit rows newest first: filter by actor, action (insert, update, delete, read_personal, login,
    login_failed, login_lock ...), table, target id and time; page with limit and offset."""
    page = audit.list_audit(session, limit=limit, offset=offset, **filters)
    _read(session, user, request, "page")
    session.commit()
    return {**page, "limit": limit, "offset": offset}


_CSV_COLUMNS = (
    "seq",
    "id",
    "at",
    "actor",
    "action",
    "target_table",
    "target_id",
    "before",
    "after",
    "detail",
    "hash",
)


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [json.dumps(r[c], ensure_ascii=False) if isinstance(r[c], dict) else r[c] for c in _CSV_COLUMNS]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read UTF-8


@router.get("/export.csv", response_class=Response)
def export_audit(
    request: Request,
    session: SessionDep,
    user: AuditUser,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
) -> Response:
    """The matching audit rows oldest first, as CSV (UTF-8), with each row's place and hash in the chain."""
    rows = audit.iter_audit(session, limit=limit, **filters)
    _read(session, user, request, "export", rows=len(rows))
    session.commit()
    headers = {"Content-Disposition": 'attachment; filename="gridgov-audit.csv"', "Cache-Control": "no-store"}
    return Response(_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/verify")
def verify_audit(request: Request, session: SessionDep, user: AuditUser) -> dict:
    """Check the hash chain of the whole log (`gridgov audit verify` does the same): intact, or the first
    broken link and why."""
    report = audit.verify_chain(session)
    _read(session, user, request, "verify", intact=report.intact)
    session.commit()
    return {**report.__dict__, "intact": report.intact}
