"""Input models of logins and administration (api.routers.auth, api.routers.admin): every field checked
for storable text like every other input (api.schemas_base.InputModel); passwords keep their spaces."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from api.schemas_base import InputModel


class PasswordChangeIn(InputModel):
    """The current password and the new one (twice in the page, once here); spaces are kept."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


Name = Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")]


class AccountIn(InputModel):
    """A new account of a business role: name, role, area, bound worker, initial password (kept as
    typed, spaces included)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    name: Name
    role: Literal["commander", "dispatcher", "planner", "grid_worker", "department"]
    area: str = Field(pattern=r"^[0-9]{2,12}$")
    worker_id: int | None = None
    department_id: int | None = None  # a department account's department (部门), required for it
    password: str = Field(min_length=1, max_length=200)


class AccountChange(InputModel):
    """A new role, area, bound worker and department of an account (the security administrator)."""

    role: Literal["commander", "dispatcher", "planner", "grid_worker", "department"]
    area: str = Field(pattern=r"^[0-9]{2,12}$")
    worker_id: int | None = None
    department_id: int | None = None


class PasswordIn(InputModel):
    """A temporary password the account must change at its next login (spaces are kept)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    password: str = Field(min_length=1, max_length=200)


class UnlockIn(InputModel):
    """Which lock to lift: an account name or a client address."""

    kind: Literal["account", "address"]
    subject: str = Field(min_length=1, max_length=200)
