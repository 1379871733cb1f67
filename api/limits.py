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
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._reject(scope, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await self._reject(scope, send)
