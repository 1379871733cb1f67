"""Request body size limit: a pure ASGI middleware answering 413 problem+json.

The Content-Length header is checked before the route runs; a body sent without one (chunked) is
counted as it streams and cut off at the limit, so nothing is parsed, let alone written.
"""

import json
from typing import Any

from starlette.exceptions import HTTPException

PROBLEM_JSON = b"application/problem+json"


class BodyTooLargeError(HTTPException):
    """The body grew past the limit while streaming (an HTTPException, so the app answers 413)."""

    def __init__(self, limit: int):
        """The 413 with the limit named."""
        super().__init__(413, f"请求体超过上限 {limit} 字节（GRID_API_MAX_BODY_BYTES）")


def _problem(path: str, limit: int) -> bytes:
    return json.dumps(
        {
            "type": "https://gridgov.example/problems/body_too_large",
            "title": "请求内容过大",
            "status": 413,
            "detail": f"请求体超过上限 {limit} 字节（GRID_API_MAX_BODY_BYTES）",
            "instance": path,
            "code": "body_too_large",
        },
        ensure_ascii=False,
    ).encode()


class BodyLimitMiddleware:
    """Refuse request bodies larger than `max_bytes` with 413."""

    def __init__(self, app: Any, max_bytes: int):
        """Wrap `app`, refusing bodies over `max_bytes`."""
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: dict, send: Any) -> None:
        body = _problem(scope.get("path", ""), self.max_bytes)
        headers = [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Check the declared length, then count the streamed body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_too_large(scope):
            await self._reject(scope, send)
            return
        tracked = _TrackingSend(send)
        try:
            await self.app(scope, _CountingReceive(receive, self.max_bytes), tracked)
        except BodyTooLargeError:
            if not tracked.started:
                await self._reject(scope, send)

    def _declared_too_large(self, scope: dict) -> bool:
        """A Content-Length that is not a number, or more than the limit."""
        length = dict(scope.get("headers") or []).get(b"content-length")
        return length is not None and (not length.isdigit() or int(length) > self.max_bytes)


class _CountingReceive:
    """The app's `receive`, raising BodyTooLargeError once the body streamed so far passes the limit."""

    def __init__(self, receive: Any, max_bytes: int):
        self.receive = receive
        self.max_bytes = max_bytes
        self.seen = 0

    async def __call__(self) -> dict:
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.max_bytes:
                raise BodyTooLargeError(self.max_bytes)
        return message


class _TrackingSend:
    """The app's `send`, noting whether the response has started (after that no 413 can be sent)."""

    def __init__(self, send: Any):
        self.send = send
        self.started = False

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
