"""A TestClient on the tiny dispatch county inside a rolled-back transaction, with a switchable user."""

from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import CurrentUser, access_for, authorize, get_checked_query, get_current_user, get_session
from api.main import create_app
from tests.dispatch_tiny import build


@dataclass
class Tiny:
    """The client, the ids of the tiny county, the session, and who is asking."""

    client: TestClient
    ids: dict
    session: Session
    user: list = field(default_factory=lambda: [CurrentUser("alice", "commander", "620121")])

    def act_as(self, name: str, area: str = "620121") -> None:
        """Make the following requests come from another user (a commander account of that area)."""
        self.user[0] = _account(self.session, CurrentUser(name, "commander", area))


def _account(session: Session, user: CurrentUser) -> CurrentUser:
    """Create or update the user's account row (requests check it), committed into the test transaction."""
    session.execute(
        text(
            "INSERT INTO users (name, password_hash, role, area) VALUES (:n, 'not-a-login', :r, :a) "
            "ON CONFLICT (name) DO UPDATE SET role = :r, area = :a, worker_id = NULL, active = true"
        ),
        {"n": user.name, "r": user.role, "a": user.area},
    )
    session.commit()
    return user


def make_tiny(session: Session) -> Tiny:
    """Build the tiny county in the session and an app whose requests use that session."""
    ids = build(session)
    session.commit()  # releases the savepoint; the outer test transaction still rolls everything back
    app = create_app()

    def _session():
        # A request starts as the login role, outside a transaction (api.deps checks), seeing the test's
        # writes. Inside the test's outer transaction a released savepoint keeps SET LOCAL ROLE, so reset it.
        session.execute(text("RESET ROLE"))
        session.commit()
        try:
            yield session
        finally:
            session.rollback()  # like closing a request's session: uncommitted work is dropped

    tiny = Tiny(TestClient(app), ids, session)
    tiny.act_as("alice")
    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_current_user] = lambda: tiny.user[0]
    app.dependency_overrides[get_checked_query] = lambda: SessionQuery(session, tiny.user[0])
    return tiny


@dataclass
class SessionQuery:
    """api.deps.CheckedQuery on the test's session (the pooled one cannot see its uncommitted data):
    the same account check, statement and commit, one after another instead of pipelined."""

    session: Session
    user: CurrentUser

    async def one(self, clause, params: dict) -> tuple | None:
        """The first row of the statement, run as the user; commits like the pipeline."""
        return (await self.rows([(clause, params)]))[0]

    async def rows(self, statements: list) -> list:
        """The first row of each statement, in one transaction, run as the user; then commits."""
        self.session.execute(text("RESET ROLE"))
        self.session.commit()
        try:
            authorize(self.session, access_for(self.user))
            out = [self.session.execute(clause, params).first() for clause, params in statements]
            self.session.commit()
            return out
        finally:
            self.session.rollback()
