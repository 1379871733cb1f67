"""The route class of every router: a sync route ends its request's transaction in its own thread.

FastAPI runs a sync route in the thread pool and the session dependency's end afterwards; ending the
transaction there (a cleared reader's commit with its audit row, anyone else's rollback) took a second
hop into the pool, 0.2 ms of the app's CPU on each request (of ~2.5 ms for a tile). Here the route's
own thread ends it (`api.deps.end_transaction`), after the route returned or raised; the dependency
then finds nothing left to end. Async routes are left as they are: their sessions end in the pool.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from api.deps import end_transaction


class ReadRoute(APIRoute):
    """An APIRoute whose sync endpoint ends the transactions of the sessions it was given."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        """Wrap a sync `endpoint` (same signature: FastAPI reads it through functools.wraps)."""
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _ending_transactions(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _ending_transactions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint`, then the end of each request session's transaction: committed when it returned (a
    cleared reader's), rolled back when it raised."""

    @functools.wraps(endpoint)
    def run(**values: Any) -> Any:
        try:
            result = endpoint(**values)
        except BaseException:
            _end_all(values, succeeded=False)
            raise
        _end_all(values, succeeded=True)
        return result

    return run


def _end_all(values: dict[str, Any], *, succeeded: bool) -> None:
    for value in values.values():
        if isinstance(value, Session):
            end_transaction(value, succeeded=succeeded)
