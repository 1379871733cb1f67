"""A TestClient on the tiny dispatch county inside a rolled-back transaction, with a switchable user."""

from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.deps import CurrentUser, get_current_user, get_session
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
        """Make the following requests come from another user."""
        self.user[0] = CurrentUser(name, "commander", area)


def make_tiny(session: Session) -> Tiny:
    """Build the tiny county in the session and an app whose requests use that session."""
    ids = build(session)
    session.commit()  # releases the savepoint; the outer test transaction still rolls everything back
    app = create_app()

    def _session():
        try:
            yield session
        finally:
            session.rollback()  # like closing a request's session: uncommitted work is dropped

    tiny = Tiny(TestClient(app), ids, session)
    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_current_user] = lambda: tiny.user[0]
    return tiny
