"""FastAPI dependencies: the session, settings, and the requesting user with their area."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.settings import ApiSettings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed at the end; write routes commit once."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()


def get_settings(request: Request) -> ApiSettings:
    """The app's API settings."""
    return request.app.state.api_settings


@dataclass(frozen=True)
class CurrentUser:
    """Who is asking and which area (grid-code prefix) they may see and act in."""

    name: str
    role: str
    area: str  # grid code prefix: "620121" is the whole county, "620121003" one township


def get_current_user(settings: Annotated[ApiSettings, Depends(get_settings)]) -> CurrentUser:
    """The requesting user. Until accounts exist this is a county-wide commander (one place to change)."""
    return CurrentUser(name="demo", role="commander", area=settings.default_area)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
UserDep = Annotated[CurrentUser, Depends(get_current_user)]
