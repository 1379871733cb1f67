"""Who may do what: the dependency that checks an action against the one table (geo.accounts.PERMISSIONS).

Roles (geo.accounts.ROLES): commander 指挥长, dispatcher 调度员, planner 研判分析员 (reads and analyses,
changes nothing, sees personal data masked), grid_worker 网格员 (reports and works cases in their area,
updates only their own position and availability, sees personal data masked), admin 系统管理员 (accounts
and the audit log; no casework). Every role reads maps, layers and cases of its own area.
Cleared roles (read_unmasked) see names and phones of parties and workers; each such read is audited.
"""

from typing import Annotated, Any

from fastapi import Depends

from api.deps import CurrentUser, UserDep
from api.security import PermissionDeniedError
from geo.accounts import ACTION_LABELS, PERMISSIONS


def allowed(user: CurrentUser, action: str) -> bool:
    """True when the user's role may do the action."""
    return user.role in PERMISSIONS[action]


def check(user: CurrentUser, action: str) -> None:
    """PermissionDeniedError (403) unless the user's role may do the action."""
    if not allowed(user, action):
        raise PermissionDeniedError(f"角色 {user.role} 无权{ACTION_LABELS.get(action, action)}", where="role")


def check_own_worker(user: CurrentUser, worker_id: int) -> None:
    """A grid worker may change only their own worker row."""
    check(user, "update_worker")
    if user.role == "grid_worker" and user.worker_id != worker_id:
        raise PermissionDeniedError("网格员只能更新本人的位置和状态", where="worker_id")


def require(action: str) -> Any:
    """A dependency giving the current user after checking the action is allowed."""

    async def dependency(user: UserDep) -> CurrentUser:
        check(user, action)
        return user

    dependency.__name__ = f"require_{action}"
    return Depends(dependency)


ReportUser = Annotated[CurrentUser, require("report")]
AssignUser = Annotated[CurrentUser, require("assign")]
TransitionUser = Annotated[CurrentUser, require("transition")]
EscalateUser = Annotated[CurrentUser, require("escalate")]
ReferUser = Annotated[CurrentUser, require("refer")]
WhistleUser = Annotated[CurrentUser, require("whistle")]
DeadlineUser = Annotated[CurrentUser, require("deadline")]
WorkerUpdateUser = Annotated[CurrentUser, require("update_worker")]
AuditUser = Annotated[CurrentUser, require("read_audit")]
IssueReportUser = Annotated[CurrentUser, require("issue_report")]
