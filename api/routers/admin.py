"""The administrators' routes (三员分立): accounts (system administrator), roles, areas and login locks
(security administrator), the settings that matter for security (system administrator).

Each works on the accounts of the administrator's area through row-level security, never on the three
administrators' own accounts (those are the operator's CLI's: `gridgov user`); geo.access.admin holds
the rules. Every change is audited (the users trigger, or an explicit row).
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from api.deps import CheckedUserDep, SessionDep, SettingsDep
from api.permissions import AccessUser, AccountReader, AccountsUser, SettingsUser
from api.routing import ReadRoute
from api.schemas_access import AccountChange, AccountIn, PasswordIn, UnlockIn
from geo import clock
from geo.access import admin, throttle
from geo.accounts import Account

router = APIRouter(route_class=ReadRoute, prefix="/api", tags=["administration"])


def _account(a: Account) -> dict[str, Any]:
    return {"name": a.name, "role": a.role, "area": a.area, "worker_id": a.worker_id, "active": a.active}


@router.get("/accounts")
def list_accounts(
    session: SessionDep, user: AccountReader, limit: Annotated[int, Query(ge=1, le=5000)] = 1000
) -> list:
    """The accounts of your area (system and security administrators), by name; never password hashes."""
    return admin.list_accounts(session, user.area, clock.now(), limit)


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
def create_account(body: AccountIn, session: SessionDep, user: AccountsUser, settings: SettingsDep) -> dict:
    """Create an account of a business role in your area (system administrator); it must change the
    initial password at its first login."""
    account = admin.create_account(
        session,
        body.name,
        body.password,
        role=body.role,
        area=body.area,
        worker_id=body.worker_id,
        department_id=body.department_id,
        admin_area=user.area,
        min_length=settings.auth.password_min_length,
        now=clock.now(),
    )
    session.commit()
    return _account(account)


@router.post("/accounts/{name}/{action}")
def set_active(
    name: str, action: Literal["disable", "enable"], session: SessionDep, user: AccountsUser
) -> dict:
    """Disable (its sessions end at once) or enable an account (system administrator)."""
    account = admin.set_account_active(
        session, name, action == "enable", by=user.name, admin_area=user.area, now=clock.now()
    )
    session.commit()
    return _account(account)


@router.put("/accounts/{name}/password")
def reset_password(
    name: str, body: PasswordIn, session: SessionDep, user: AccountsUser, settings: SettingsDep
) -> dict:
    """Give an account a temporary password, to be changed at its next login; its sessions end
    (system administrator)."""
    account = admin.reset_password(
        session,
        name,
        body.password,
        by=user.name,
        admin_area=user.area,
        min_length=settings.auth.password_min_length,
        now=clock.now(),
    )
    session.commit()
    return _account(account)


@router.patch("/accounts/{name}")
def change_account(name: str, body: AccountChange, session: SessionDep, user: AccessUser) -> dict:
    """Set an account's role, area and bound worker (security administrator); its sessions end."""
    account = admin.change_account(
        session,
        name,
        role=body.role,
        area=body.area,
        worker_id=body.worker_id,
        department_id=body.department_id,
        by=user.name,
        admin_area=user.area,
        now=clock.now(),
    )
    session.commit()
    return _account(account)


@router.get("/security/locks")
def list_locks(session: SessionDep, user: AccessUser) -> list:
    """Login locks in force now: account names and client addresses (security administrator)."""
    return throttle.list_locks(session, clock.now())


@router.post("/security/unlock")
def unlock(body: UnlockIn, session: SessionDep, user: AccessUser) -> dict:
    """Lift the lock of an account name or a client address (security administrator); audited."""
    lifted = throttle.unlock(session, body.kind, body.subject, by=user.name, now=clock.now())
    session.commit()
    return {"kind": body.kind, "subject": body.subject, "lifted": lifted}


@router.get("/system/settings")
def security_settings(settings: SettingsDep, user: SettingsUser, _checked: CheckedUserDep) -> dict:
    """The settings that make the installation's security (system administrator); never the secret."""
    auth = settings.auth
    return {
        "auth": auth.model_dump(exclude={"secret"}, mode="json"),
        "secret_source": auth.secret_source,
        "audit": settings.audit.model_dump(mode="json"),
    }
