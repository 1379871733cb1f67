"""A TestClient on the tiny dispatch county inside a rolled-back transaction, with a switchable user."""

from dataclasses import dataclass, field, replace

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import CurrentUser, get_current_user, get_session
from tests.apps import app_for
from tests.auth_helpers import start_test_session
from tests.dispatch_tiny import build


@dataclass
class Tiny:
    """The client, the ids of the tiny county, the session, and who is asking."""

    client: TestClient
    ids: dict
    session: Session
    user: list = field(default_factory=lambda: [CurrentUser("alice", "commander", "620121")])

    def act_as(
        self,
        name: str,
        area: str = "620121",
        role: str = "commander",
        worker_id: int | None = None,
        department_id: int | None = None,
    ) -> None:
        """Make the following requests come from another user (a commander account of that area, unless
        told otherwise; a department account needs its department)."""
        self.user[0] = _account(self.session, CurrentUser(name, role, area, worker_id), department_id)


def _account(session: Session, user: CurrentUser, department_id: int | None = None) -> CurrentUser:
    """Create or update the user's account row and start a session of it (requests check both),
    committed into the test transaction."""
    session.execute(text("RESET ROLE"))  # an earlier request's SET LOCAL ROLE survives its released savepoint
    session.execute(
        text(
            "INSERT INTO users (name, password_hash, role, area, worker_id, department_id) "
            "VALUES (:n, 'not-a-login', :r, :a, :w, :d) ON CONFLICT (name) DO UPDATE "
            "SET role = :r, area = :a, worker_id = :w, active = true, department_id = :d"
        ),
        {"n": user.name, "r": user.role, "a": user.area, "w": user.worker_id, "d": department_id},
    )
    sid, _ = start_test_session(session, user.name)
    session.commit()
    return replace(user, session_id=sid)


def _ids(session: Session) -> dict:
    return session.info["tiny_ids"]


def make_tiny(session: Session, **concerns: object) -> Tiny:
    """Build the tiny county in the session (once) and an app whose requests use that session;
    `concerns` replace settings concerns of the app (dispatch=DispatchSettings(...))."""
    session.execute(text("RESET ROLE"))  # a released savepoint keeps an earlier request's SET LOCAL ROLE
    ids = _ids(session) if session.info.get("tiny_ids") else build(session)
    session.info["tiny_ids"] = ids
    session.commit()  # releases the savepoint; the outer test transaction still rolls everything back
    app = app_for("postgresql+psycopg://unused@127.0.0.1/unused", **concerns)  # requests use the session

    def _session():
        # A request starts as the login role, outside a transaction (api.deps checks), seeing the test's
        # writes. Inside the test's outer transaction a released savepoint keeps SET LOCAL ROLE, so reset it.
        session.execute(text("RESET ROLE"))
        session.commit()
        try:
            yield session
        finally:
            session.rollback()  # like closing a request's session: uncommitted work is dropped
            session.execute(text("RESET ROLE"))  # a committed request keeps its SET LOCAL ROLE here
            session.commit()

    tiny = Tiny(TestClient(app), ids, session)
    tiny.act_as("alice")
    app.dependency_overrides[get_session] = _session
    app.dependency_overrides[get_current_user] = lambda: tiny.user[0]
    return tiny
