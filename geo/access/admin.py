"""What the system and security administrators do to accounts through the app, inside their area.

The system administrator (sysadmin) creates accounts, disables and enables them and resets passwords;
the security administrator (secadmin) changes roles, areas and bound workers (and lifts login locks:
geo.access.throttle). They act on the accounts of the business roles only, never on their own: the
three administrators' accounts are made and changed by the operator's CLI (`gridgov user`), so that no
administrator can give themselves or another the powers of a second one. Row-level security (users_in_area
of geo/sql/policies.sql) holds the same rules in the database. Disabling an account, resetting its
password or changing its role or area ends its sessions at once; every change is audited by the
users trigger (0006), with the administrator as actor.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.access.passwords import check_password
from geo.access.sessions import end_sessions
from geo.accounts import (
    ADMIN_ROLES,
    COLUMNS,
    ROLE_LABELS,
    Account,
    check_account_fields,
    check_bindings,
    hash_password,
)
from geo.errors import ConflictError, ForbiddenError, NotFoundError

_LIST = text("""
SELECT u.id, u.name, u.role, u.area, u.worker_id, u.department_id, u.active, u.demo, u.must_change_password,
       u.password_changed_at, u.created_at,
       (SELECT count(*) FROM user_sessions s WHERE s.user_id = u.id AND s.revoked_at IS NULL
          AND s.expires_at > :now) AS sessions
FROM users u WHERE u.area LIKE :area || '%' ORDER BY u.name LIMIT :limit
""")
_CREATE = text(f"""
INSERT INTO users (name, password_hash, role, area, worker_id, department_id, must_change_password,
                   password_changed_at, created_at)
VALUES (:name, :hash, :role, :area, :worker, :dept, true, :now, :now)
ON CONFLICT (name) DO NOTHING RETURNING {COLUMNS}
""")
_TARGET = text("SELECT id, name, role, area FROM users WHERE name = :n")
_SET_ACCESS = "role = :role, area = :area, worker_id = :worker, department_id = :dept"


def list_accounts(session: Session, area: str, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
    """The accounts of the area (never their hashes), by name, with their live session counts."""
    return [dict(r) for r in session.execute(_LIST, {"area": area, "now": now, "limit": limit}).mappings()]


def _business(role: str) -> None:
    if role in ADMIN_ROLES:
        raise ForbiddenError(
            f"“{ROLE_LABELS[role]}”等三员账号只能由运维人员用命令行（gridgov user）创建或修改", where="role"
        )


def _inside(area: str, admin_area: str) -> None:
    if not area.startswith(admin_area):
        raise ForbiddenError(f"只能管理本辖区（{admin_area}）内的账号", where="area")


def _check_grant(
    name: str, role: str, area: str, worker_id: int | None, department_id: int | None, admin_area: str
) -> None:
    """The account's fields fit together, of a business role, inside the administrator's area."""
    check_account_fields(name, role, area, worker_id, department_id)
    _business(role)
    _inside(area, admin_area)


def _target(session: Session, name: str, by: str, admin_area: str) -> Any:
    if name == by:
        raise ForbiddenError("不能修改本人的账号，请由另一位管理员操作", where="name")
    row = session.execute(_TARGET, {"n": name}).first()
    if row is None:
        raise NotFoundError(f"账号 {name} 不存在", where="name")
    _business(row.role)
    _inside(row.area, admin_area)
    return row


def create_account(
    session: Session,
    name: str,
    password: str,
    *,
    role: str,
    area: str,
    worker_id: int | None,
    admin_area: str,
    min_length: int,
    now: datetime,
    department_id: int | None = None,
) -> Account:
    """A new account of a business role inside the administrator's area; it must change its (initial)
    password at first login. ConflictError when the name is taken."""
    _check_grant(name, role, area, worker_id, department_id, admin_area)
    check_password(password, name, min_length=min_length)
    check_bindings(session, worker_id, department_id, area)
    fields = {"name": name, "role": role, "area": area, "worker": worker_id, "dept": department_id}
    return _insert_account(session, fields, password, now)


def _insert_account(session: Session, fields: dict[str, Any], password: str, now: datetime) -> Account:
    """Insert the checked account with its password's hash; ConflictError when the name is taken."""
    row = session.execute(_CREATE, {**fields, "hash": hash_password(password), "now": now}).first()
    if row is None:
        raise ConflictError(f"账号 {fields['name']} 已存在", where="name")
    return Account(*row)


def _update(session: Session, name: str, sets: str, params: dict[str, Any]) -> Account:
    row = session.execute(
        text(f"UPDATE users SET {sets} WHERE name = :name RETURNING {COLUMNS}"), {**params, "name": name}
    ).first()
    assert row is not None  # _target found it
    return Account(*row)


def _update_and_end(
    session: Session, name: str, sets: str, params: dict[str, Any], *, by: str, reason: str, now: datetime
) -> Account:
    """Update the account, then end its sessions (what it may do, or its password, changed)."""
    account = _update(session, name, sets, params)
    end_sessions(session, name, by=by, reason=reason, now=now)
    return account


def set_account_active(
    session: Session, name: str, active: bool, *, by: str, admin_area: str, now: datetime
) -> Account:
    """Enable or disable an account; disabling ends its sessions."""
    _target(session, name, by, admin_area)
    account = _update(session, name, "active = :active", {"active": active})
    if not active:
        end_sessions(session, name, by=by, reason="disabled", now=now)
    return account


def reset_password(
    session: Session, name: str, password: str, *, by: str, admin_area: str, min_length: int, now: datetime
) -> Account:
    """Give an account a temporary password it must change at its next login; its sessions end."""
    _target(session, name, by, admin_area)
    check_password(password, name, min_length=min_length)
    sets = "password_hash = :hash, must_change_password = true, password_changed_at = :now"
    params = {"hash": hash_password(password), "now": now}
    return _update_and_end(session, name, sets, params, by=by, reason="password_reset", now=now)


def change_account(
    session: Session,
    name: str,
    *,
    role: str,
    area: str,
    worker_id: int | None,
    by: str,
    admin_area: str,
    now: datetime,
    department_id: int | None = None,
) -> Account:
    """Set an account's role, area, bound worker and department (the security administrator); its
    sessions end."""
    _target(session, name, by, admin_area)
    _check_grant(name, role, area, worker_id, department_id, admin_area)
    check_bindings(session, worker_id, department_id, area)
    params = {"role": role, "area": area, "worker": worker_id, "dept": department_id}
    return _update_and_end(session, name, _SET_ACCESS, params, by=by, reason="account_changed", now=now)
