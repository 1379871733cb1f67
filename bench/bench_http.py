"""A lean HTTP/1.1 keep-alive client for the benches that load the app.

The load client runs on the same 2 cores as the server: every millisecond of CPU it spends is taken from
the server it measures. httpx spends ~0.9 ms of CPU per request here, the standard library's
http.client ~0.3 ms, so the benches that measure the server's rate use this one.
"""

import http.client


class KeepAlive:
    """One keep-alive connection to the app at `base` (http://127.0.0.1:PORT)."""

    def __init__(self, base: str, headers: dict[str, str], timeout: float = 30) -> None:
        """Connect lazily (on the first request)."""
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        self.headers = headers

    def get(self, path: str, ok: tuple[int, ...] = (200,)) -> bytes:
        """GET path, the body read whole; RuntimeError on a status not in `ok`."""
        self.conn.request("GET", path, headers=self.headers)
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.status not in ok:
            raise RuntimeError(f"GET {path}: {resp.status} {body[:200]!r}")
        return body
