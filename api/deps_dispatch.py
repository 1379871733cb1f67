"""Dependencies of the dispatch routes: the dispatch settings (overridable in tests)."""

from typing import Annotated

from fastapi import Depends

from geo.dispatch_settings import DispatchSettings, get_dispatch_settings


async def get_dispatch(  # a function of its own so tests can override it with dependency_overrides
) -> DispatchSettings:
    """The dispatch settings."""
    return get_dispatch_settings()


DispatchDep = Annotated[DispatchSettings, Depends(get_dispatch)]
