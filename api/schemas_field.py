"""Pydantic I/O models of field work: position fixes in batches, household visits, coverage.

Inputs follow api.schemas_base: unknown fields and text we cannot store refused, lon/lat in WGS84 unless `crs`
says gcj02 or bd09. Times are the device's own and must carry their offset; how far ahead of the
server's clock they may be is the field settings' `clock_skew_s` (checked by geo, which says so in
Chinese and names the fix).
"""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from api.schemas_base import CrsName, InputModel, Lat, Lon, swapped_check

Accuracy = Field(
    default=None, ge=0, le=100_000, allow_inf_nan=False, description="精度（米）accuracy, metres"
)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("时间须带时区，如 2026-11-27T09:30:00+08:00")
    return value


class FixIn(InputModel):
    """One position fix as the phone took it."""

    at: datetime = Field(description="设备定位时间（带时区）the device's time of the fix")
    lon: Lon
    lat: Lat
    accuracy_m: float | None = Accuracy
    source: Literal["phone", "report", "visit"] = "phone"

    _swapped = model_validator(mode="before")(swapped_check)
    _tz = field_validator("at")(_aware)


class FixBatchIn(InputModel):
    """A batch of fixes, stored once per `batch_key` (the phone makes one per batch and resends it)."""

    batch_key: str = Field(min_length=1, max_length=200)
    crs: CrsName = "wgs84"
    fixes: list[FixIn] = Field(min_length=1, max_length=2000)


class FixBatchPublic(BaseModel):
    """What became of a batch (`replayed`: the key was stored before; nothing new was written)."""

    batch_key: str | None
    sent: int
    stored: int
    already_stored: int
    outside_county: int
    too_old: int
    moved: bool
    replayed: bool


class VisitIn(InputModel):
    """A household visit (入户走访), recorded in a few taps, offline too (`client_key` makes it once)."""

    client_key: str = Field(min_length=1, max_length=200)
    at: datetime = Field(description="走访时间（设备时间，带时区）")
    lon: Lon | None = None
    lat: Lat | None = None
    crs: CrsName = "wgs84"
    accuracy_m: float | None = Accuracy
    address: str = Field(default="", max_length=200, description="地址或楼栋")
    household: str = Field(default="", max_length=50, description="户主或场所名称")
    note: str = Field(default="", max_length=2000, description="走访情况")

    _swapped = model_validator(mode="before")(swapped_check)
    _tz = field_validator("at")(_aware)

    @model_validator(mode="after")
    def _something(self) -> "VisitIn":
        if not (self.address or self.household or self.note):
            raise ValueError("请至少填写地址、户主或走访情况之一")
        return self


class VisitPublic(BaseModel):
    """A recorded visit (household masked for uncleared roles)."""

    id: int
    worker_id: int
    at: datetime
    received_at: datetime
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    grid_code: str
    address: str
    household: str
    note: str
    has_photo: bool
    recorded_by: str
    client_key: str


class CoveragePublic(BaseModel):
    """Coverage of an area's small grids in a period, and the grids not visited in it."""

    area: str
    period: Literal["day", "week", "month"]
    first: date
    last: date
    grids: int
    covered: int
    visited: int
    patrolled: int
    visits: int
    share: float | None = Field(description="覆盖率 0..1：有走访或巡查轨迹经过的网格占比")
    unvisited: list[dict]
