"""Reads from a streaming replica (GRID_DATABASE_REPLICA_URL), with read-your-writes for the writer.

`choose_engine` is the one place that decides which database a request's session talks to: the primary
for anything that may write (every method but GET and HEAD, and every request of a cleared role, whose
reads of personal data are audited: geo.audit), the replica for the rest, unless the requester wrote
something the replica has not replayed yet. A successful write answers with the cookie `gridgov_lsn`
holding the primary's WAL position after it (`LsnCookieMiddleware`); while that cookie lives
(GRID_DB_REPLICA_STICKY_S), a read goes to the replica only once pg_last_wal_replay_lsn() has reached
it, else to the primary. So a dispatcher who assigns a case sees the assignment on the next page,
whichever process serves it, and everyone else reads the replica.

The account check of the request (geo.access.checks.authorize, the users table) runs where the session
reads; a check that the replica refuses (an account or login it has not replayed yet) is repeated on
the primary before the request is refused (api.deps).
"""

from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from geo.db.replica import current_lsn, replayed

LSN_COOKIE = "gridgov_lsn"
READS = frozenset({"GET", "HEAD"})


async def choose_engine(request: Request, *, audited: bool = False) -> Engine:
    """The engine of this request's session (see the module doc); `audited`: the requester's reads of
    personal data write audit rows (cleared roles), so they go to the primary."""
    state = request.app.state
    replica: Engine | None = getattr(state, "replica_engine", None)
    if replica is None or request.method not in READS or audited:
        return state.engine
    lsn = request.cookies.get(LSN_COOKIE)
    if lsn and not await run_in_threadpool(replayed, replica, lsn):
        return state.engine
    return replica


def is_replica(request: Request, engine: Engine) -> bool:
    """True when `engine` is the app's replica."""
    return engine is getattr(request.app.state, "replica_engine", None)


class LsnCookieMiddleware:
    """After a successful write, hand the writer the primary's WAL position (only with a replica)."""

    def __init__(self, app: Any, sticky_s: float):
        """Wrap `app`; the cookie lives `sticky_s` seconds."""
        self.app = app
        self.sticky_s = sticky_s

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Add Set-Cookie to the answers of writes that succeeded."""
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return

        async def sending(message: dict) -> None:
            state = scope["app"].state if "app" in scope else None
            if message["type"] == "http.response.start" and message["status"] < 400 and state is not None:
                if getattr(state, "replica_engine", None) is not None:
                    lsn = await run_in_threadpool(current_lsn, state.engine)
                    cookie = (
                        f"{LSN_COOKIE}={lsn}; Max-Age={int(self.sticky_s)}; Path=/; HttpOnly; SameSite=Lax"
                    )
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())],
                    }
            await send(message)

        await self.app(scope, receive, sending)
