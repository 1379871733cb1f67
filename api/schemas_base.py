"""What every pydantic input model shares: the base that refuses unknown fields and unstorable text,
coordinate and text field types, and the checks of swapped axes and of times in the future.

Inputs refuse unknown fields (`extra="forbid"`), NaN and infinities, coordinates out of range, and text
we cannot store (control characters, lone surrogates: geo.io.text) in any field. lon/lat come in WGS84
unless `crs` says gcj02 (Gaode, Tencent, WeChat) or bd09 (Baidu). Outputs are always WGS84.
The models themselves: api.schemas (cases), api.schemas_dispatch, api.schemas_desk, api.schemas_field,
api.schemas_access.
"""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from geo import clock
from geo.io.text import unstorable_reason
from geo.models import EVENT_STATUSES

Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="经度 longitude")]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="纬度 latitude")]
CrsName = Literal["wgs84", "gcj02", "bd09"]
Note = Annotated[str, Field(default="", max_length=2000)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
# The statuses are the database's (geo.models), listed once.
Status = Literal[EVENT_STATUSES]  # type: ignore[valid-type]
# 暂定期限: a deadline counted through a year that no holiday calendar covers yet (weekends only there).
DeadlineProvisional = Annotated[
    bool,
    Field(
        default=False,
        description="暂定期限：计算时限时涉及尚无节假日安排的年份（只按周末计算）；导入该年日历后自动重算。"
        " True when the deadline counted through a year with no holiday calendar yet (weekends only);"
        " it is recomputed when that year is imported (gridgov calendar import).",
    ),
]
UncoveredYears = Annotated[
    list[int],
    Field(
        default_factory=list,
        description="尚无节假日安排、只按周末计算的年份，如 [2027]；空表示期限已按正式日历计算。"
        " The years the deadline counted with weekends only; empty when it is final.",
    ),
]


def _unstorable(value: Any, loc: tuple[str | int, ...]) -> list[InitErrorDetails]:
    """An error for every string in the raw input (nested dicts and lists too) that we cannot store."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        error = PydanticCustomError("unstorable_text", reason) if reason else None
        return [InitErrorDetails(type=error, loc=loc, input=value)] if error else []
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _unstorable(v, (*loc, str(k)))]
    if isinstance(value, list | tuple):
        return [e for i, v in enumerate(value) for e in _unstorable(v, (*loc, i))]
    return []


class InputModel(BaseModel):
    """Base of every input model: unknown fields refused, and text we cannot store refused in any field.

    The text check looks at the raw input before any field is parsed, so it holds for every field of
    every subclass whatever its type (free text, codes, Literal choices, datetimes given as strings),
    before whitespace is stripped, and names the exact place (`loc`), nested models and lists included.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        if errors := _unstorable(data, ()):
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data


def swapped_check(data: Any) -> Any:
    """Say "swapped" rather than "latitude out of range" when lon and lat look exchanged."""
    if isinstance(data, dict):
        lon, lat = data.get("lon"), data.get("lat")
        if isinstance(lon, int | float) and isinstance(lat, int | float) and abs(lat) > 90 >= abs(lon):
            raise ValueError(
                f"经纬度疑似颠倒：lat {lat} 超出 -90..90，而 lon {lon} 像是纬度；请按 lon, lat 顺序提交"
            )
    return data


def aware_not_future(value: datetime | None, field: str) -> datetime | None:
    """The time itself when it has a zone and is not more than five minutes ahead of the clock."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"{field} 须带时区，如 2026-11-27T09:30:00+08:00")
    if value > clock.now() + timedelta(minutes=5):
        raise ValueError(f"{field} 不能晚于当前时间")
    return value
