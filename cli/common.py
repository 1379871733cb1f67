"""What every `gridgov` subcommand shares: the settings of this process, a session, the job context."""

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from api.settings import Settings, get_settings
from geo import audit
from geo.db.engine import make_engine
from geo.jobs.tasks import Context


def settings() -> Settings:
    """The settings of this process (environment and .env), read once."""
    return get_settings()


@contextmanager
def session() -> Iterator[Session]:
    """A session of the tables' owner (GRID_DB_OWNER_URL, else DATABASE_URL): the CLI's commands are the
    operator's; the engine is disposed afterwards."""
    engine = make_engine(settings().db, owner=True)
    try:
        with Session(engine) as s:
            yield s
    finally:
        engine.dispose()


def commit_unless_dry_run(session: Session, dry_run: bool) -> None:
    """End the command's one transaction: rolled back on a dry run (`--dry-run`), else committed."""
    if dry_run:
        session.rollback()
    else:
        session.commit()


def job_context() -> Context:
    """The settings jobs run with."""
    s = settings()
    return Context(analytics=s.analytics, risk=s.risk, jobs=s.jobs, fieldwork=s.fieldwork)


def act_as_cli_user(session: Session) -> str:
    """Name this command in the audit log and the case timelines (cli:USER); returns the actor."""
    return audit.act_as(session, f"cli:{os.environ.get('USER') or getpass.getuser()}")
