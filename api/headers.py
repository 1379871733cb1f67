"""Security headers on every response, and the per-response nonce that lets our own inline scripts run.

Content-Security-Policy: scripts only from this site or carrying the response's nonce (never
'unsafe-inline'): the Folium map pages (/maps/*) embed their scripts inline, so `with_nonce` marks each
of them; styles may be inline (Leaflet and Folium write style attributes). Images also from `data:`,
`blob:` and the configured basemap's host. Framing: no page may be framed by another site; the map
pages are framed by the console itself (the planner's view), so they allow the same origin only, and
every other page none. Plus nosniff, Referrer-Policy same-origin and, over HTTPS, HSTS.
"""

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FRAMED_BY_CONSOLE = ("/maps/",)
_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.I)


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of an absolute http(s) URL template, else None."""
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return None


# The directives that are the same for every response, between img-src and frame-ancestors.
_FIXED_DIRECTIVES = (
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


def content_security_policy(path: str, nonce: str, img_hosts: tuple[str, ...] = ()) -> str:
    """The CSP of a response to `path` (the same for every page: even /docs loads its Swagger UI from
    web/static/vendor, nothing from another host)."""
    script = f"'self' 'nonce-{nonce}'"
    style = "'self' 'unsafe-inline'"
    img = " ".join(("'self'", "data:", "blob:", *img_hosts))
    ancestors = "'self'" if path.startswith(FRAMED_BY_CONSOLE) else "'none'"
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {script}",
            f"style-src {style}",
            f"img-src {img}",
            *_FIXED_DIRECTIVES,
            f"frame-ancestors {ancestors}",
        )
    )


def with_nonce(html: str, nonce: str) -> str:
    """The page with the response's nonce on every <script> element (ours: Folium's inline scripts)."""
    return _SCRIPT_TAG.sub(f'<script nonce="{nonce}"', html)


def nonce_of(request: Any) -> str:
    """The nonce of the response being built (SecurityHeadersMiddleware puts it on request.state)."""
    return str(getattr(request.state, "csp_nonce", ""))


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response (pure ASGI: streams pass through untouched)."""

    def __init__(self, app: ASGIApp, *, img_hosts: tuple[str, ...] = ()) -> None:
        """Wrap `app`; `img_hosts` are extra image origins (a configured basemap's)."""
        self.app = app
        self.img_hosts = img_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Give the request a nonce and the response its headers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path = scope.get("path", "")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add_headers(MutableHeaders(scope=message), path, nonce, https)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _add_headers(self, headers: MutableHeaders, path: str, nonce: str, https: bool) -> None:
        """Put the security headers of a response to `path` on its start message."""
        headers["Content-Security-Policy"] = content_security_policy(path, nonce, self.img_hosts)
        headers["X-Frame-Options"] = "SAMEORIGIN" if path.startswith(FRAMED_BY_CONSOLE) else "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "geolocation=(self), camera=(self), microphone=()"
        if https:
            headers["Strict-Transport-Security"] = "max-age=31536000"
