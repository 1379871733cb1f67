"""Accounts: roles, areas, argon2 password hashes, and the demo accounts.

An account is bound to an area, a grid-code prefix: 2 digits for the province, 4 for a city, 6 for a
county, 9 for a township, 12 for a village. Grid workers are also bound to their worker row. Passwords
are stored as argon2id hashes only.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocabulary
from geo.errors import ConflictError, InvalidInputError, NotFoundError

ROLES = tuple(vocabulary.ROLES)
ROLE_LABELS = vocabulary.zh(vocabulary.ROLES)
# Who may do what: action -> the roles allowed (api.permissions checks it on every route).
ALL = frozenset({"commander", "dispatcher", "planner", "grid_worker", "admin"})
CASEWORK = frozenset({"commander", "dispatcher"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": ALL,
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
    "read_audit": frozenset({"admin"}),
    "visit": frozenset({"grid_worker"}),  # 入户走访: recorded by the worker who made it
    "read_unmasked": frozenset({"commander", "dispatcher", "admin"}),  # names and phones shown
}
ACTION_LABELS = {
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
    "visit": "记录入户走访",
}
VERIFY_STATUSES = frozenset({"verified", "closed", "rejected", "duplicate"})
# Cleared roles see parties' and workers' names and phones unmasked; each such read is audited.
CLEARED_ROLES = PERMISSIONS["read_unmasked"]

# Grid-code prefixes: province (2), city (4), county (6), township (9), village (12 digits).
AREA_RE = re.compile(r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$")
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,40}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Account:
    """An account as the app sees it (never the hash)."""

    id: int
    name: str
    role: str
    area: str
    worker_id: int | None
    active: bool


@lru_cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the password (salted, with the library's current parameters)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(f"密码至少 {MIN_PASSWORD} 个字符", where="password")
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def check_area(area: str) -> str:
    """The area if it is a province (2), city (4), county (6), township (9) or village (12 digit) prefix."""
    if not AREA_RE.match(area or ""):
        raise InvalidInputError(
            "area must be a grid-code prefix of 2, 4, 6, 9 or 12 digits (province, city, county, township, "
            f"village); got {area!r}",
            where="area",
        )
    return area


def code_range(prefix: str) -> tuple[str, str]:
    """The [lo, hi) text range of codes starting with a digit prefix: '620121' -> ('620121', '620122')."""
    if not prefix.isdigit():
        raise InvalidInputError(f"area must be a grid-code prefix of digits; got {prefix!r}", where="area")
    return prefix, str(int(prefix) + 1).zfill(len(prefix))


def _check(name: str, role: str, area: str, worker_id: int | None) -> None:
    if not NAME_RE.match(name or ""):
        raise InvalidInputError(
            f"user name must be 2-40 letters, digits, '_', '.' or '-'; got {name!r}", where="name"
        )
    if role not in ROLES:
        raise InvalidInputError(f"role must be one of {', '.join(ROLES)}; got {role!r}", where="role")
    check_area(area)
    if role == "grid_worker" and worker_id is None:
        raise InvalidInputError("a grid_worker account needs --worker ID", where="worker_id")


_COLUMNS = "id, name, role, area, worker_id, active"


def create_user(
    session: Session, name: str, password: str, *, role: str, area: str, worker_id: int | None = None
) -> Account:
    """Add an account; ConflictError when the name is taken."""
    _check(name, role, area, worker_id)
    if worker_id is not None:
        home = session.execute(
            text("SELECT home_grid_code FROM workers WHERE id = :w"), {"w": worker_id}
        ).first()
        if home is None:
            raise NotFoundError(f"worker {worker_id} does not exist", where="worker_id")
    row = session.execute(
        text(
            "INSERT INTO users (name, password_hash, role, area, worker_id) "
            "VALUES (:name, :hash, :role, :area, :worker) ON CONFLICT (name) DO NOTHING "
            f"RETURNING {_COLUMNS}"
        ),
        {"name": name, "hash": hash_password(password), "role": role, "area": area, "worker": worker_id},
    ).first()
    if row is None:
        raise ConflictError(f"user {name!r} already exists", where="name")
    return Account(*row)


def find_user(session: Session, name: str) -> Account | None:
    """The account of that name, if any."""
    row = session.execute(text(f"SELECT {_COLUMNS} FROM users WHERE name = :n"), {"n": name}).first()
    return Account(*row) if row else None


def authenticate(session: Session, name: str, password: str) -> Account | None:
    """The active account when name and password match; None otherwise (same answer either way)."""
    row = session.execute(
        text(f"SELECT {_COLUMNS}, password_hash FROM users WHERE name = :n"), {"n": name}
    ).first()
    if row is None:
        verify_password(_dummy_hash(), password)  # spend the same time: do not reveal which names exist
        return None
    if not verify_password(row.password_hash, password) or not row.active:
        return None
    return Account(*row[:6])


@lru_cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


def list_users(session: Session) -> list[Account]:
    """Every account, by name."""
    return [Account(*r) for r in session.execute(text(f"SELECT {_COLUMNS} FROM users ORDER BY name"))]


def set_active(session: Session, name: str, active: bool) -> Account:
    """Enable or disable an account; its tokens stop working at once when disabled."""
    row = session.execute(
        text(f"UPDATE users SET active = :a WHERE name = :n RETURNING {_COLUMNS}"), {"a": active, "n": name}
    ).first()
    if row is None:
        raise NotFoundError(f"no user {name!r}", where="name")
    return Account(*row)


def _first_code(session: Session, sql: str, params: dict[str, Any]) -> Any:
    return session.execute(text(sql), params).first()


def create_demo_accounts(session: Session, county_code: str) -> list[tuple[str, str, str, str]]:
    """One account per role for the demo county, with fixed demo passwords: [(name, role, area, password)].

    Existing accounts of those names are left as they are (the call can be repeated).
    """
    county = check_area(county_code[:6])
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
    wanted = [
        ("admin", "admin", county, None),
        ("commander", "commander", county, None),
        ("dispatcher", "dispatcher", county, None),
        ("planner", "planner", county, None),
    ]
    if township:
        wanted.append(("dispatcher_town", "dispatcher", township[0], None))
    if worker:
        wanted.append(("gridworker", "grid_worker", worker[1], int(worker[0])))
    made = []
    for name, role, area, worker_id in wanted:
        password = f"demo-{name}-{county}"
        if find_user(session, name) is None:
            create_user(session, name, password, role=role, area=area, worker_id=worker_id)
        made.append((name, role, area, password))
    return made


# The account check of every request transaction (migration 0016): gridgov_authorize raises SQLSTATE
# 28000 unless the account is active with the token's role, area and worker, and otherwise configures
# the transaction (area, actor, clearance, then the row-level-security role).
_AUTHORIZE = text("SELECT gridgov_authorize(:actor, :user_role, :area, :worker_id, :unmasked, :role)")


def authorize(connection: Any, access: dict[str, Any]) -> None:
    """Check a request's account and configure its transaction; AccountRejectedError if it changed."""
    from psycopg.errors import InvalidAuthorizationSpecification
    from sqlalchemy.exc import DBAPIError

    try:
        connection.execute(_AUTHORIZE, access)
    except DBAPIError as exc:
        if isinstance(exc.orig, InvalidAuthorizationSpecification):
            raise AccountRejectedError(access["actor"]) from None
        raise


class AccountRejectedError(Exception):
    """gridgov_authorize refused the account: missing, disabled, or changed since its token."""
