"""The `gridgov user` and `gridgov backup|restore` commands (accounts and backups)."""

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from cli import common


def _read_password() -> str:
    """The password from stdin (one line), or prompted twice on a terminal."""
    if sys.stdin.isatty():
        first = getpass.getpass("密码 password: ")
        if getpass.getpass("再次输入 again: ") != first:
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args: argparse.Namespace) -> int:
    """Add, list, disable, enable, unlock or log out accounts (the operator, as the owner)."""
    with common.session() as session:
        actor = common.act_as_cli_user(session)
        if args.action == "add":
            _add_user(session, args)
        elif args.action in ("disable", "enable"):
            _set_user_active(session, args.name, args.action == "enable", actor)
        elif args.action == "unlock":
            _unlock_user(session, args.name, actor)
        elif args.action == "logout":
            _log_out_user(session, args.name, actor)
        else:
            _list_users(session)
    return 0


def _add_user(session: Session, args: argparse.Namespace) -> None:
    """Create the account with the password read from stdin (or the terminal)."""
    from geo import accounts

    acct = accounts.create_user(
        session,
        args.name,
        _read_password(),
        role=args.role,
        area=args.area,
        worker_id=args.worker,
        department_id=args.department,
        min_length=common.settings().auth.password_min_length,
    )
    session.commit()
    print(f"added {acct.name} ({acct.role}, area {acct.area}); it must change its password first")  # noqa: T201


def _set_user_active(session: Session, name: str, active: bool, actor: str) -> None:
    """Enable or disable the account (disabling ends its sessions)."""
    from geo import accounts, clock

    acct = accounts.set_active(session, name, active, by=actor, now=clock.now())
    session.commit()
    print(f"{acct.name}: {'active' if acct.active else 'disabled (its sessions ended)'}")  # noqa: T201


def _unlock_user(session: Session, name: str, actor: str) -> None:
    """Lift the account's login locks."""
    from geo import clock
    from geo.access import throttle

    lifted = throttle.unlock(session, "account", name, by=actor, now=clock.now())
    session.commit()
    print(f"{name}: {lifted} lock(s) lifted")  # noqa: T201


def _log_out_user(session: Session, name: str, actor: str) -> None:
    """End every session of the account, on every device."""
    from geo import clock
    from geo.access import sessions

    ended = sessions.end_sessions(session, name, by=actor, reason="logout_everywhere", now=clock.now())
    session.commit()
    print(f"{name}: {ended} session(s) ended")  # noqa: T201


def _list_users(session: Session) -> None:
    """Print every account: name, role, area, its worker or department, and whether it is disabled."""
    from geo import accounts

    for a in accounts.list_users(session):
        state = "" if a.active else "  (disabled)"
        worker = f"  worker {a.worker_id}" if a.worker_id else ""
        dept = f"  department {a.department_id}" if a.department_id else ""
        print(f"{a.name:20} {a.role:12} {a.area:15}{worker}{dept}{state}")  # noqa: T201


def print_demo_accounts(session: Session, county_code: str = "620121") -> None:
    """Create (if missing) and print one demo account per role."""
    from geo.accounts import ROLE_LABELS, create_demo_accounts

    made = create_demo_accounts(session, county_code)
    session.commit()
    print("demo accounts (name / role / area / password):")  # noqa: T201
    for name, role, area, password in made:
        print(f"  {name:16} {ROLE_LABELS[role]:6} {role:12} {area:13} {password}")  # noqa: T201
    print("  (demo accounts: exempt from the password policy; create real ones with `gridgov user add`)")  # noqa: T201


def cmd_backup(args: argparse.Namespace) -> int:
    """pg_dump the configured database to FILE (custom format)."""
    from geo.db.backup import backup

    size = backup(common.settings().db.owner_libpq_url, args.file)
    print(f"wrote {args.file} ({size} bytes)")  # noqa: T201
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """pg_restore FILE into the configured database, which must be empty."""
    from geo.db.backup import restore

    restore(common.settings().db.owner_libpq_url, args.file)
    print(f"restored {args.file}")  # noqa: T201
    return 0


def add_access_commands(sub: argparse._SubParsersAction) -> None:
    """Register `user`, `backup` and `restore` on the gridgov parser."""
    _add_user_command(sub)

    bk = sub.add_parser("backup", help="pg_dump the database to FILE (custom format)")
    bk.add_argument("file", type=Path)
    bk.set_defaults(func=cmd_backup)

    rs = sub.add_parser("restore", help="pg_restore FILE into the (empty) configured database")
    rs.add_argument("file", type=Path)
    rs.set_defaults(func=cmd_restore)


def _add_user_command(sub: argparse._SubParsersAction) -> None:
    """Register `user` and its actions."""
    from geo.accounts import ROLES

    user = sub.add_parser(
        "user", help="accounts: add (password on stdin), list, disable, enable, unlock, logout (everywhere)"
    )
    user.add_argument("action", choices=["add", "list", "disable", "enable", "unlock", "logout"])
    user.add_argument("name", nargs="?")

    user.add_argument("--role", choices=ROLES)
    user.add_argument("--area", help="grid-code prefix: 620121 county, 620121001 township, 12 digits village")
    user.add_argument("--worker", type=int, help="worker id (grid_worker accounts)")
    user.add_argument("--department", type=int, help="department id (department accounts)")
    user.set_defaults(func=cmd_user)


def check_user_args(args: argparse.Namespace) -> str | None:
    """An error message when `gridgov user` lacks what its action needs."""
    if args.action in ("add", "disable", "enable", "unlock", "logout") and not args.name:
        return f"gridgov user {args.action}: NAME is required"
    if args.action == "add" and not (args.role and args.area):
        return "gridgov user add: --role and --area are required"
    return None
