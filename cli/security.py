"""The `gridgov audit verify|purge` and `gridgov secret rotate` commands."""

import argparse
import sys

from sqlalchemy.orm import Session

from cli import common
from geo import audit


def cmd_audit(args: argparse.Namespace) -> int:
    """Check the audit log's hash chain (exit 1 naming the first broken link), or purge old rows."""
    with common.session() as session:
        if args.action == "purge":
            _purge_audit(session, args.keep_days)
            return 0
        report = audit.verify_chain(session)
    return _print_chain_report(report)


def _purge_audit(session: Session, keep_days: int | None) -> None:
    """Delete the rows past retention (`--keep-days`, else GRID_AUDIT_RETENTION_DAYS), as the CLI's user."""
    actor = common.act_as_cli_user(session)
    days = keep_days or common.settings().audit.retention_days
    gone = audit.purge(session, days, actor)
    session.commit()
    print(f"deleted {gone} audit row(s) older than {days} days")  # noqa: T201


def _print_chain_report(report: audit.ChainReport) -> int:
    """Say whether the chain is intact (0) or where it broke (1, on stderr)."""
    if report.intact:
        print(  # noqa: T201
            f"audit chain intact: {report.rows} rows, seq {report.first_seq}..{report.last_seq}, "
            f"head {report.head}"
        )
        return 0
    print(  # noqa: T201
        f"audit chain BROKEN at seq {report.broken_seq} (id {report.broken_id}): {report.problem}",
        file=sys.stderr,
    )
    return 1


def cmd_secret(args: argparse.Namespace) -> int:
    """Write a new random signing secret (every login ends once the servers restart)."""
    from api.security import write_secret

    auth = common.settings().auth
    if auth.secret is not None:
        print("GRID_AUTH_SECRET is set: change it there instead (32+ random characters)", file=sys.stderr)  # noqa: T201
        return 2
    write_secret(auth.secret_file)
    print(f"wrote a new signing secret to {auth.secret_file}; restart every `gridgov serve` to use it")  # noqa: T201
    return 0


def add_security_commands(sub: argparse._SubParsersAction) -> None:
    """Register `audit` and `secret` on the gridgov parser."""
    au = sub.add_parser("audit", help="the audit log: verify its hash chain, purge rows past retention")
    au.add_argument("action", choices=["verify", "purge"])
    au.add_argument(
        "--keep-days", type=int, help="purge: keep this many days (default GRID_AUDIT_RETENTION_DAYS, >= 180)"
    )
    au.set_defaults(func=cmd_audit)

    se = sub.add_parser("secret", help="the token signing secret: rotate (write a new one)")
    se.add_argument("action", choices=["rotate"])
    se.set_defaults(func=cmd_secret)
