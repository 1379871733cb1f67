"""Masking of personal data the Chinese way, for roles without clearance.

Names keep the surname: 张三 -> 张*, 张三丰 -> 张某某. Phones keep the first 3 and last 4 digits:
13812345678 -> 138****5678. ID numbers keep the first 6 (the area) and the last 4. The same rules run in
the database (gridgov_mask_name / gridgov_mask_phone, migration 0006) for outputs PostGIS serialises.
"""

import re
from collections.abc import Iterable
from typing import Any

_NOT_DIGIT = re.compile(r"[^0-9]")


def mask_name(name: str | None) -> str | None:
    """张三 -> 张*, 张三丰 -> 张某某, 欧阳娜娜 -> 欧某某某."""
    if not name:
        return name
    return name[0] + "*" if len(name) <= 2 else name[0] + "某" * (len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """13812345678 -> 138****5678; short numbers become stars."""
    if not phone:
        return phone
    digits = _NOT_DIGIT.sub("", phone)
    if len(digits) < 7:
        return "*" * len(phone)
    return digits[:3] + "****" + digits[-4:]


def mask_id_number(value: str | None) -> str | None:
    """620121199001011234 -> 620121********1234."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


MASKS = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number}


def mask_row(row: dict[str, Any], fields: Iterable[str] = ("name", "phone", "id_number")) -> dict[str, Any]:
    """A copy of the row with its personal fields masked."""
    out = dict(row)
    for f in fields:
        if f in out:
            out[f] = MASKS[f](out[f])
    return out
