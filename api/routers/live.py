"""GET /api/live: server-sent events of new cases, status changes and assignments, by the user's area.

Migration 0007 makes PostgreSQL NOTIFY `gridgov_live` with a small JSON payload (no personal data).
One background thread per app (the hub) LISTENs on its own autocommit psycopg connection and hands
each message to the subscribers whose area (grid-code prefix) the case lies in. The thread starts with
the first subscriber and ends a little after the last one leaves, so apps and tests that never open
the feed hold no extra connection. Each stream sends a heartbeat comment every 15 s (proxies close
silent connections) and ends after a while; EventSource then reconnects by itself, which bounds how
long a forgotten stream can hold a server that is shutting down.
"""

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.deps import CheckedUserDep
from api.routing import ReadRoute

CHANNEL = "gridgov_live"
HEARTBEAT_S = 15.0
STREAM_MAX_S = 300.0
IDLE_STOP_S = 30.0  # the hub's thread ends this long after its last subscriber left
QUEUE_MAX = 500

log = logging.getLogger(__name__)
router = APIRouter(route_class=ReadRoute, prefix="/api", tags=["console"])


@dataclass(eq=False)
class Subscriber:
    """One open stream: its area and the queue the hub fills from its thread."""

    area: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))

    def offer(self, message: str) -> None:
        """Called on the stream's event loop; a full queue drops (a stuck client must not grow memory)."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(message)


class LiveHub:
    """LISTEN on one connection and fan messages out to subscribers by area."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.subscribers: set[Subscriber] = set()
        self.lock = threading.Lock()
        self.ready = threading.Event()  # set while LISTEN is active
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def subscribe(self, area: str) -> Subscriber:
        """Register a stream (and start the listening thread if it is not running)."""
        sub = Subscriber(area, asyncio.get_running_loop())
        with self.lock:
            self.subscribers.add(sub)
            if self.thread is None or not self.thread.is_alive():
                self.stopping.clear()
                self.thread = threading.Thread(target=self._run, name="gridgov-live", daemon=True)
                self.thread.start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a stream."""
        with self.lock:
            self.subscribers.discard(sub)

    def stop(self) -> None:
        """Ask the thread to end (it notices within a second)."""
        self.stopping.set()

    def publish(self, payload: str) -> None:
        """Hand one NOTIFY payload to the subscribers of its area (called on the hub thread)."""
        try:
            code = json.loads(payload).get("grid_code") or ""
        except ValueError:
            return
        with self.lock:
            targets = [s for s in self.subscribers if code.startswith(s.area)]
        for sub in targets:
            with contextlib.suppress(RuntimeError):  # the stream's loop is closed
                sub.loop.call_soon_threadsafe(sub.offer, payload)

    def _idle_too_long(self, idle_since: float | None) -> bool:
        return idle_since is not None and time.monotonic() - idle_since > IDLE_STOP_S

    def _poll(self, conn: psycopg.Connection, idle_since: float | None) -> float | None:
        """Publish what arrives within a second; since when the hub has had no subscriber (None: it has)."""
        for note in conn.notifies(timeout=1.0):
            self.publish(note.payload)
        with self.lock:
            empty = not self.subscribers
        return (idle_since or time.monotonic()) if empty else None

    def _run(self) -> None:
        """Listen until stopped or idle; reconnect after a lost connection."""
        idle_since: float | None = None
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    while not self.stopping.is_set():
                        idle_since = self._poll(conn, idle_since)
                        if self._idle_too_long(idle_since):
                            self.stopping.set()
            except psycopg.Error as exc:
                log.warning("live feed: listening connection lost (%s); retrying", exc)
                self.ready.clear()
                time.sleep(2.0)
        self.ready.clear()


def get_hub(request: Request) -> LiveHub:
    """The app's hub, made on first use from the engine's URL (psycopg wants a plain libpq URL)."""
    hub = getattr(request.app.state, "live_hub", None)
    if hub is None:
        url = request.app.state.engine.url.render_as_string(hide_password=False)
        hub = LiveHub(url.replace("postgresql+psycopg://", "postgresql://", 1))
        request.app.state.live_hub = hub
    return hub


def _frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {data}\n\n"


async def _wait_disconnect(request: Request) -> None:
    """Return when the client goes away (Starlette no longer watches for that while streaming)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _stream(request: Request, hub: LiveHub, sub: Subscriber) -> AsyncIterator[str]:
    """ready, then live messages and heartbeats until the client leaves or the stream's time is up."""
    gone = asyncio.ensure_future(_wait_disconnect(request))
    getter: asyncio.Future | None = None
    try:
        yield "retry: 3000\n\n"
        await asyncio.to_thread(hub.ready.wait, 10.0)
        yield _frame("ready", json.dumps({"area": sub.area}))
        deadline = time.monotonic() + STREAM_MAX_S
        while time.monotonic() < deadline and not gone.done():
            getter = getter or asyncio.ensure_future(sub.queue.get())
            done, _ = await asyncio.wait(
                {getter, gone}, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED
            )
            frame, getter = _after_wait(done, getter)
            if frame:
                yield frame
    finally:
        _cancel(gone, getter)
        hub.unsubscribe(sub)


def _after_wait(
    done: set[asyncio.Future], getter: asyncio.Future
) -> tuple[str | None, asyncio.Future | None]:
    """What to send after a wait (the message, a heartbeat when nothing came, nothing when the client
    left) and the getter still waiting for a message (None once it has one)."""
    if getter in done:
        return _frame("live", getter.result()), None
    return (None if done else ": heartbeat\n\n"), getter


def _cancel(*tasks: asyncio.Future | None) -> None:
    """Cancel the stream's pending waits (the client's disconnect, the next message)."""
    for task in tasks:
        if task is not None:
            task.cancel()


@router.get("/live")
async def live(request: Request, user: CheckedUserDep) -> StreamingResponse:
    """Server-sent events (`event: live`, JSON data: id, kind, category, status, grid_code, lon, lat
    in WGS84, action, at) for cases in the user's area; `event: ready` once the server is listening.
    """
    hub = get_hub(request)
    sub = hub.subscribe(user.area)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_stream(request, hub, sub), media_type="text/event-stream", headers=headers)
