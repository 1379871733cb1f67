"""Accounts: roles and what each may do, areas, argon2 password hashes, the demo accounts, and the
account check of every request.

An account is bound to an area, a grid-code prefix: 2 digits for the province, 4 for a city, 6 for a
county, 9 for a township, 12 for a village. Grid workers are also bound to their worker row, department
accounts (部门) to their department. Passwords are stored as argon2id hashes only.

Separation of duties (三员分立, GB/T 22239): the system administrator (sysadmin) manages accounts and
reads the settings, the security administrator (secadmin) sets roles and areas and lifts login locks,
the audit administrator (auditor) reads and exports the audit log, and none of them does casework or
reads the cases. Each account holds exactly one role, so no account holds two of these.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.access.passwords import check_password
from geo.access.sessions import end_sessions
from geo.errors import ConflictError, InvalidInputError, NotFoundError

ROLES = tuple(vocabulary.ROLES)
ROLE_LABELS = vocabulary.zh(vocabulary.ROLES)
ADMIN_ROLES = frozenset({"sysadmin", "secadmin", "auditor"})
BUSINESS_ROLES = frozenset(ROLES) - ADMIN_ROLES  # roles that work with cases, maps and reports
CASEWORK = frozenset({"commander", "dispatcher"})
DESKS = CASEWORK | {"planner"}  # the centre's analysis pages

# Who may do what: action -> the roles allowed (api.permissions checks it on every route).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": BUSINESS_ROLES,  # cases, maps, layers, reports of the account's area
    "report": frozenset({"commander", "dispatcher", "grid_worker"}),
    "assign": CASEWORK,
    "transition": CASEWORK | {"grid_worker"},
    "verify": CASEWORK,  # transition to verified / closed / rejected / duplicate
    "escalate": CASEWORK | {"grid_worker"},
    "refer": CASEWORK,
    "whistle": CASEWORK,
    "deadline": CASEWORK,  # extend, suspend, resume
    "issue_report": CASEWORK,
    "update_worker": CASEWORK | {"grid_worker"},  # grid workers: only their own row
    "read_unmasked": CASEWORK,  # names, phones and ID numbers shown; each such read is audited
    "manage_accounts": frozenset({"sysadmin"}),  # create, disable, enable, reset passwords
    "read_settings": frozenset({"sysadmin"}),
    "manage_access": frozenset({"secadmin"}),  # roles and areas of accounts, login locks
    "read_accounts": frozenset({"sysadmin", "secadmin"}),
    "read_audit": frozenset({"auditor"}),  # read and export the audit log, nothing else
    # 部门: sign for a task whistled or referred to the account's own department, report, report back
    "answer_task": frozenset({"department"}),
    # The console's pages (api/routers/pages.py): a role without the permission gets a refusal page.
    "view_commander": DESKS,
    "view_dispatcher": CASEWORK,
    "view_planner": DESKS,
    "view_risk": DESKS,
    "view_chronic": DESKS,
    "view_worker": frozenset({"grid_worker"}),
    "view_department": frozenset({"department"}),
    "visit": frozenset({"grid_worker"}),  # 入户走访: recorded by the worker who made it
}
ACTION_LABELS = {
    "read": "查看业务数据",
    "report": "上报案件",
    "assign": "派遣案件",
    "transition": "变更案件状态",
    "verify": "核查、结案或驳回",
    "escalate": "上报升级",
    "refer": "移交",
    "whistle": "吹哨或报到",
    "deadline": "延期或挂账",
    "update_worker": "更新网格员位置或状态",
    "read_audit": "查看审计日志",
    "issue_report": "签发报告",
    "manage_accounts": "管理账号",
    "read_settings": "查看系统设置",
    "manage_access": "设置角色、辖区或解锁账号",
    "read_accounts": "查看账号",
    "answer_task": "签收、报到或反馈部门任务",
    "visit": "记录入户走访",
}
VERIFY_STATUSES = frozenset({"verified", "closed", "rejected", "duplicate"})
# Cleared roles see parties' and workers' names and phones unmasked; each such read is audited.
CLEARED_ROLES = PERMISSIONS["read_unmasked"]

# Grid-code prefixes: province (2), city (4), county (6), township (9), village (12 digits).
AREA_RE = re.compile(r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$")
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,40}$")


@dataclass(frozen=True)
class Account:
    """An account as the app sees it (never the hash)."""

    id: int
    name: str
    role: str
    area: str
    worker_id: int | None
    active: bool
    department_id: int | None = None


@lru_cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the password (salted, with the library's current parameters)."""
    if not password:
        raise InvalidInputError("密码不能为空", where="password")
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


@lru_cache
def dummy_hash() -> str:
    """A hash to verify against when there is no account: the same time either way."""
    return hash_password("not-a-real-password")


def check_area(area: str) -> str:
    """The area if it is a province (2), city (4), county (6), township (9) or village (12 digit) prefix."""
    if not AREA_RE.match(area or ""):
        raise InvalidInputError(
            "area must be a grid-code prefix of 2, 4, 6, 9 or 12 digits (province, city, county, township, "
            f"village); got {area!r}",
            where="area",
        )
    return area


def check_account_fields(
    name: str, role: str, area: str, worker_id: int | None, department_id: int | None = None
) -> None:
    """InvalidInputError naming the field unless name, role, area, worker and department fit together."""
    if not NAME_RE.match(name or ""):
        raise InvalidInputError(
            f"user name must be 2-40 letters, digits, '_', '.' or '-'; got {name!r}", where="name"
        )
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}; got {role!r}", where="role")
    check_area(area)
    if role == "grid_worker" and worker_id is None:
        raise InvalidInputError("a grid_worker account needs --worker ID", where="worker_id")
    if (role == "department") != (department_id is not None):
        raise InvalidInputError(
            "a department account needs --department ID (and only a department account has one)",
            where="department_id",
        )


COLUMNS = "id, name, role, area, worker_id, active, department_id"
_INSERT = text(f"""
INSERT INTO users (name, password_hash, role, area, worker_id, department_id, demo, must_change_password,
                   password_changed_at, created_at)
VALUES (:name, :hash, :role, :area, :worker, :dept, :demo, :must_change, :now, :now)
ON CONFLICT (name) DO NOTHING
RETURNING {COLUMNS}
""")


def check_worker(session: Session, worker_id: int | None) -> None:
    """NotFoundError unless the worker exists (in the caller's sight)."""
    if worker_id is None:
        return
    if session.execute(text("SELECT 1 FROM workers WHERE id = :w"), {"w": worker_id}).first() is None:
        raise NotFoundError(f"worker {worker_id} does not exist", where="worker_id")


def check_department(session: Session, department_id: int | None, area: str) -> None:
    """NotFoundError unless the department exists; InvalidInputError unless it is of the area's county."""
    if department_id is None:
        return
    county = session.execute(
        text("SELECT county_code FROM departments WHERE id = :d"), {"d": department_id}
    ).scalar()
    if county is None:
        raise NotFoundError(f"department {department_id} does not exist", where="department_id")
    if not (county.startswith(area) or area.startswith(county)):
        raise InvalidInputError(
            f"department {department_id} belongs to county {county}, outside area {area}", where="area"
        )


def check_bindings(session: Session, worker_id: int | None, department_id: int | None, area: str) -> None:
    """NotFoundError / InvalidInputError unless the bound worker and department exist and fit the area."""
    check_worker(session, worker_id)
    check_department(session, department_id, area)


def create_user(
    session: Session,
    name: str,
    password: str,
    *,
    role: str,
    area: str,
    worker_id: int | None = None,
    department_id: int | None = None,
    demo: bool = False,
    must_change: bool = True,
    min_length: int = 10,
) -> Account:
    """Add an account (the operator's CLI): it must change its password at first login, unless it is a
    demo account (whose fixed password is exempt from the policy too). ConflictError when taken."""
    fields = {"name": name, "role": role, "area": area, "worker": worker_id, "dept": department_id}
    _check_new_user(session, fields, password, demo=demo, min_length=min_length)
    return _insert_user(session, fields, password, demo=demo, must_change=must_change and not demo)


def _check_new_user(
    session: Session, fields: dict[str, Any], password: str, *, demo: bool, min_length: int
) -> None:
    """The checks of a new account, in order: fields, password policy (not for demo ones), bindings."""
    check_account_fields(fields["name"], fields["role"], fields["area"], fields["worker"], fields["dept"])
    if not demo:
        check_password(password, fields["name"], min_length=min_length)
    check_bindings(session, fields["worker"], fields["dept"], fields["area"])


def _insert_user(
    session: Session, fields: dict[str, Any], password: str, *, demo: bool, must_change: bool
) -> Account:
    """Insert the checked account with its password's hash; ConflictError when the name is taken."""
    params = {**fields, "hash": hash_password(password), "demo": demo, "must_change": must_change}
    row = session.execute(_INSERT, {**params, "now": clock.now()}).first()
    if row is None:
        raise ConflictError(f"user {fields['name']!r} already exists", where="name")
    return Account(*row)


def find_user(session: Session, name: str) -> Account | None:
    """The account of that name, if any."""
    row = session.execute(text(f"SELECT {COLUMNS} FROM users WHERE name = :n"), {"n": name}).first()
    return Account(*row) if row else None


def list_users(session: Session) -> list[Account]:
    """Every account, by name."""
    return [Account(*r) for r in session.execute(text(f"SELECT {COLUMNS} FROM users ORDER BY name"))]


def set_active(session: Session, name: str, active: bool, *, by: str, now: datetime) -> Account:
    """Enable or disable an account; disabling ends its sessions at once."""
    row = session.execute(
        text(f"UPDATE users SET active = :a WHERE name = :n RETURNING {COLUMNS}"), {"a": active, "n": name}
    ).first()
    if row is None:
        raise NotFoundError(f"no user {name!r}", where="name")
    if not active:
        end_sessions(session, name, by=by, reason="disabled", now=now)
    return Account(*row)


def _first_code(session: Session, sql: str, params: dict[str, Any]) -> Any:
    return session.execute(text(sql), params).first()


_Wanted = tuple[str, str, str, int | None, int | None]  # name, role, area, worker, department
DEMO_ROLES = ("commander", "dispatcher", "planner", "sysadmin", "secadmin", "auditor")


def _demo_wanted(session: Session, county: str) -> list[_Wanted]:
    township = _first_code(
        session,
        "SELECT left(code, 9) FROM grids WHERE level = 'township' AND valid_to IS NULL AND code LIKE :c "
        "ORDER BY code LIMIT 1",
        {"c": county + "%"},
    )
    worker = _first_code(
        session,
        "SELECT id, left(home_grid_code, 12) FROM workers WHERE home_grid_code LIKE :c ORDER BY id LIMIT 1",
        {"c": (township[0] if township else county) + "%"},
    )
    wanted: list[_Wanted] = [(role, role, county, None, None) for role in DEMO_ROLES]
    if township:
        wanted.append(("dispatcher_town", "dispatcher", township[0], None, None))
    if worker:
        wanted.append(("gridworker", "grid_worker", worker[1], int(worker[0]), None))
    wanted += [(name, "department", county, None, dept) for name, dept in _demo_departments(session, county)]
    return wanted


# The demo's department accounts: the county's labour bureau (人社局, whistled for unpaid wages) and its
# court (法院, which takes referred disputes).
DEMO_DEPARTMENTS = (("department", "hrss"), ("court", "court"))


def _demo_departments(session: Session, county: str) -> list[tuple[str, int]]:
    found = []
    for name, code in DEMO_DEPARTMENTS:
        row = _first_code(session, "SELECT id FROM departments WHERE code = :c", {"c": f"{county}-{code}"})
        if row:
            found.append((name, int(row[0])))
    return found


def _mark_demo(session: Session, name: str, password: str) -> None:
    """An account of a demo name still holding its demo password is a demo account (older installations)."""
    row = session.execute(text("SELECT password_hash, demo FROM users WHERE name = :n"), {"n": name}).first()
    if row is not None and not row.demo and verify_password(row.password_hash, password):
        session.execute(text("UPDATE users SET demo = true WHERE name = :n"), {"n": name})


def create_demo_accounts(session: Session, county_code: str) -> list[tuple[str, str, str, str]]:
    """One account per role for the demo county, with fixed demo passwords: [(name, role, area, password)].

    They are marked demo: exempt from the password policy, the forced change and expiry, so that the
    README's logins work. Existing accounts of those names are left as they are (the call can be repeated).
    """
    county = check_area(county_code[:6])
    made = []
    for name, role, area, worker_id, dept in _demo_wanted(session, county):
        password = f"demo-{name}-{county}"
        _ensure_demo_account(session, (name, role, area, worker_id, dept), password)
        made.append((name, role, area, password))
    return made


def _ensure_demo_account(session: Session, wanted: _Wanted, password: str) -> None:
    """Create the demo account, unless its name exists (then marked demo if it has the demo password)."""
    name, role, area, worker_id, dept = wanted
    if find_user(session, name) is not None:
        _mark_demo(session, name, password)
        return
    create_user(
        session, name, password, role=role, area=area, worker_id=worker_id, department_id=dept, demo=True
    )
