"""Domain errors of the spatial core.

GeoError                      a user-safe message and a short code
├── NotFoundError
│   └── GridNotFoundError     no current grid covers a point, or no grid has that code
├── InvalidInputError         bad input; `where` names the field, row or feature
│   ├── UnknownCrsError       a CRS name we cannot read
│   ├── InvalidGeometryError  a polygon that is not valid (and repair was not asked for)
│   ├── OutsideCountyError    a point or shape outside the county
│   ├── SwappedAxesError      longitude and latitude look swapped
│   ├── IdempotencyKeyError   an Idempotency-Key resent with a different request body
│   └── NestingError          siblings overlap or a child spills out of its parent
├── ConflictError             the request clashes with the data as it stands
│   └── TransitionError       a case cannot move to that status; `allowed` lists where it can go
└── AccessError               who is asking may not do this (the access rules of geo.access)
    ├── LoginFailedError      wrong name or password, or a disabled account: one answer for all (401)
    ├── LoginLockedError      the account name is locked after too many failures (423)
    ├── LoginThrottledError   the client address is locked after too many failures (429)
    ├── ForbiddenError        the role, the actor, or its department may not take the step on this case (403)
    └── PasswordChangeRequiredError  the session may only change its password (403)
"""


class GeoError(Exception):
    """Base of all domain errors: a user-safe message and a short machine code."""

    code = "geo_error"

    def __init__(self, message: str, *, where: str | None = None, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.errors = errors or []


class NotFoundError(GeoError):
    """A thing asked for by id or code does not exist."""

    code = "not_found"


class GridNotFoundError(NotFoundError):
    """No current grid covers a point, or no grid has that code."""

    code = "grid_not_found"


class InvalidInputError(GeoError):
    """Input that cannot be accepted; nothing has been written."""

    code = "invalid_input"


class UnknownCrsError(InvalidInputError):
    """A CRS name we cannot read."""

    code = "unknown_crs"


class InvalidGeometryError(InvalidInputError):
    """A geometry that is not valid."""

    code = "invalid_geometry"


class OutsideCountyError(InvalidInputError):
    """A location outside the county."""

    code = "outside_county"


class SwappedAxesError(InvalidInputError):
    """Longitude and latitude appear swapped."""

    code = "swapped_axes"


class IdempotencyKeyError(InvalidInputError):
    """An Idempotency-Key was already used for a different request body."""

    code = "idempotency_key_reused"


class NestingError(InvalidInputError):
    """Sibling grids overlap, or a child grid spills out of its parent."""

    code = "nesting"


class ConflictError(GeoError):
    """The request clashes with the current data."""

    code = "conflict"


class TransitionError(ConflictError):
    """A case cannot move to the asked status; `allowed` lists the statuses it can move to."""

    code = "illegal_transition"

    def __init__(self, message: str, *, allowed: list[str], where: str | None = None):
        super().__init__(message, where=where)
        self.allowed = allowed


class AccessError(GeoError):
    """Who is asking may not do this; `retry_after` (seconds) when trying later may help."""

    code = "access"
    retry_after: int | None = None


class LoginFailedError(AccessError):
    """Wrong name or password, or a disabled account (the same answer, so names are not revealed)."""

    code = "not_authenticated"


class LoginLockedError(AccessError):
    """An account name locked after too many failed logins (until a time, or an unlock)."""

    code = "account_locked"

    def __init__(self, message: str, *, retry_after: int, where: str | None = None):
        super().__init__(message, where=where)
        self.retry_after = retry_after


class LoginThrottledError(LoginLockedError):
    """A client address locked after too many failed logins."""

    code = "too_many_attempts"


class ForbiddenError(AccessError):
    """The requester's role, or this requester (or its department) on this case or task, may not take the
    step."""

    code = "forbidden"


class PasswordChangeRequiredError(AccessError):
    """The account must change its password before anything else (first login, expiry, reset)."""

    code = "password_change_required"
