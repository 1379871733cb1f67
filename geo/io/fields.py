"""Reading the cells of an events table: coordinates, category, severity, status, source, dates, wages.

Each reader returns the value, or None after telling `bad(field, msg)` what is wrong, so that one pass
over a file collects every problem. Chinese words are accepted where people write them (巡查, 已办结, 较大).
"""

import math
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import pandas as pd

from geo import clock
from geo.models import EVENT_KINDS

KIND_WORDS = {
    "纠纷": "dispute",
    "矛盾纠纷": "dispute",
    "隐患": "hazard",
    "安全隐患": "hazard",
    "诉求": "appeal",
    "群众诉求": "appeal",
}
SOURCE_WORDS = {
    "巡查": "patrol",
    "网格巡查": "patrol",
    "来访": "walk_in",
    "走访": "walk_in",
    "热线": "hotline",
    "12345": "hotline",
    "法院": "court",
    "公安": "police",
    "派出所": "police",
    "信访": "petition",
}
STATUS_WORDS = {
    "已上报": "reported",
    "上报": "reported",
    "已登记": "registered",
    "已派遣": "dispatched",
    "处理中": "in_progress",
    "办理中": "in_progress",
    "已处置": "handled",
    "已处理": "handled",
    "已核查": "verified",
    "已办结": "closed",
    "办结": "closed",
    "结案": "closed",
    "不予受理": "rejected",
    "驳回": "rejected",
    "重复": "duplicate",
}
SEVERITY_WORDS = {"一般": 1, "较大": 2, "重大": 3, "特别重大": 4}

_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d %H:%M", "%Y%m%d")


def is_blank(value) -> bool:
    """An empty cell: None, NaN or only spaces."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    return isinstance(value, str) and value.strip() == ""


def read_coordinate(value, field_name: str, bad) -> float | None:
    """A finite number, or None after noting the problem."""
    if value is None:
        bad(field_name, "is empty")
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        bad(field_name, f"{value!r} is not a number")
        return None
    if not math.isfinite(number):
        bad(field_name, f"{value!r} is not a finite number (NaN or infinite)")
        return None
    return number


def read_category(kind_value, value, categories: dict, bad) -> tuple[str | None, str | None]:
    """(kind, category code) from a code or Chinese label; the kind column, if given, must agree."""
    kind = None if kind_value is None else read_choice(kind_value, EVENT_KINDS, KIND_WORDS, "kind", bad)
    if value is None:
        bad("category", "is empty")
        return kind, None
    found = categories.get(str(value).strip()) or categories.get(str(value).strip().lower())
    if found is None:
        bad(
            "category",
            f"{value!r} is unknown; use a category code (e.g. neighbour) or its Chinese label (邻里纠纷)",
        )
        return kind, None
    code, category_kind = found
    if kind is not None and kind != category_kind:
        bad("category", f"{value!r} is a {category_kind} category, not a {kind} one")
    return category_kind, code


def read_severity(value, bad) -> int | None:
    """Severity 1-4, as a number or 一般/较大/重大/特别重大."""
    if value is None:
        bad("severity", "is empty")
        return None
    text_value = str(value).strip()
    if text_value in SEVERITY_WORDS:
        return SEVERITY_WORDS[text_value]
    try:
        number = float(text_value)
    except ValueError:
        number = float("nan")
    if not (number.is_integer() and 1 <= number <= 4):
        bad("severity", f"{value!r} is not 1, 2, 3 or 4")
        return None
    return int(number)


def read_choice(value, allowed: tuple, words: dict, field_name: str, bad) -> str | None:
    """One of the allowed codes, given as the code or as a Chinese word."""
    if value is None:
        bad(field_name, "is empty")
        return None
    text_value = str(value).strip()
    choice = words.get(text_value, text_value.lower())
    if choice not in allowed:
        bad(field_name, f"{value!r} is not one of {', '.join(allowed)}")
        return None
    return choice


def read_date(value, field_name: str, bad, *, required: bool) -> datetime | None:
    """A timestamp: ISO, 2026/3/5 14:00, 2026年3月5日 or an Excel date; without a zone, Beijing time."""
    if value is None:
        if required:
            bad(field_name, "is empty")
        return None
    parsed = _parse_date(value)
    if parsed is None:
        bad(field_name, f"{value!r} is not a date (use 2026-03-05 14:00 or 2026/3/5 14:00)")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.zone())  # a time without a zone is the county's
    if parsed > clock.now() + timedelta(days=1):
        bad(field_name, f"{value!r} is in the future")
        return None
    return parsed


def _parse_date(value) -> datetime | None:
    if isinstance(value, datetime):  # openpyxl and pandas Timestamps
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    raw = str(value).strip()
    try:  # ISO, as our exports write it: 2026-11-27 09:30:00.123456+08:00
        return datetime.fromisoformat(raw.replace("T", " "))
    except ValueError:
        pass
    text_value = _dashed_date(raw)
    try:
        return datetime.fromisoformat(text_value)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text_value, fmt)
        except ValueError:
            continue
    return None


def _dashed_date(raw: str) -> str:
    """A date written with 年月日, slashes or dots, as 2026-3-5 14:00 (full-width colons too)."""
    text_value = raw.replace("年", "-").replace("月", "-").replace("日", " ").replace("：", ":")
    text_value = " ".join(text_value.replace("/", "-").replace("T", " ").split())
    date_part, _, time_part = text_value.partition(" ")
    return (date_part.replace(".", "-") + " " + time_part).strip()  # 2026.3.5 is a date; 09:30:00.5 a time


def read_wages(row: dict, cell, bad) -> None:
    """Wage figures: only for labour_wages, not negative, recovered at most owed, workers a positive count."""
    row["wage_owed"] = _money(cell("wage_owed"), "wage_owed", bad)
    row["wage_recovered"] = _money(cell("wage_recovered"), "wage_recovered", bad)
    row["wage_workers"] = _read_wage_workers(cell("wage_workers"), bad)
    given = [f for f in ("wage_owed", "wage_recovered", "wage_workers") if cell(f) is not None]
    if given and row["category"] not in (None, "labour_wages"):
        bad(given[0], "is only for the labour_wages category")
    owed, recovered = row["wage_owed"], row["wage_recovered"]
    if recovered is not None and recovered > (owed or 0):
        bad("wage_recovered", "is more than wage_owed")


def _read_wage_workers(value, bad) -> int | None:
    """wage_workers: a positive whole number, or None (empty, or noted as wrong)."""
    if value is None:
        return None
    try:
        count = float(str(value).strip())
    except ValueError:
        count = float("nan")
    if count.is_integer() and count > 0:
        return int(count)
    bad("wage_workers", f"{value!r} is not a positive whole number")
    return None


def _money(value, field_name: str, bad) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        bad(field_name, f"{value!r} is not an amount of yuan (0 or more)")
        return None
    return amount.quantize(Decimal("0.01"))
