"""Where the holiday calendar comes from: the chinesecalendar package, or a State Council notice as CSV.

Both give a `CalendarSource`: whole years (every day off and every adjusted working weekend of each) plus,
for a notice, the December days of the year before that its New Year arrangement moves (the 2019 notice
put 2018-12-29 to work and 2018-12-30/31 off). geo.queries.holidays writes a source into the database.

A notice file is UTF-8 CSV, `date,type,name` (or `日期,类型,名称`), one row per day:

    # 2027 年部分节假日安排（国务院办公厅通知）      <- lines starting with # are comments
    date,type,name
    2027-01-01,off,元旦
    2027-02-06,work,春节调休上班                    <- type: off / work, or 休 / 班

Every year in the file must list its 1 January as a day off (New Year is a statutory holiday): that is
how a whole year is told from a stray row. Rows of other years are refused, except the December days
of the year before a whole year in the file. The whole file is checked before anything is written, and
the error names each bad row by its line number in the file (the header line counts, comments too).
"""

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from geo.errors import InvalidInputError
from geo.io.common import MAX_ERRORS, require_file

LIBRARY = "library"  # calendar_years.source of the chinesecalendar package
NOTICE = "notice"  # calendar_years.source of an imported notice file
COLUMNS = {"date": "date", "日期": "date", "type": "type", "类型": "type", "name": "name", "名称": "name"}
TYPES = {"off": False, "休": False, "work": True, "班": True}
DEFAULT_NAMES = {False: "节假日", True: "调休上班"}


@dataclass(frozen=True)
class CalendarDay:
    """One day off (workday=False) or one adjusted working weekend (workday=True)."""

    day: date
    workday: bool
    name: str


@dataclass(frozen=True)
class CalendarSource:
    """Whole years of days off and worked weekends, their source, and maybe the December before."""

    years: frozenset[int]
    days: tuple[CalendarDay, ...]
    source: str  # LIBRARY or NOTICE
    detail: str  # "chinesecalendar 1.11.0", or the file name and its checksum
    lines: dict[date, int] = field(default_factory=dict)  # line of each day in a notice file

    def spill_years(self) -> frozenset[int]:
        """Years outside `years` whose December days this source also sets (a notice's New Year)."""
        return frozenset(d.day.year for d in self.days) - self.years


class _Problems:
    """Problems of a notice file by line, raised together as one InvalidInputError."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []

    def add(self, line: int, column: str, msg: str) -> None:
        self.items.append((line, column, f"第 {line} 行：{msg}"))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = sorted(self.items, key=lambda p: p[0])
        line, column, msg = items[0]
        more = f"（另有 {len(items) - 1} 处问题）" if len(items) > 1 else ""
        errors = [{"row": n, "field": c, "msg": m} for n, c, m in items[:MAX_ERRORS]]
        raise InvalidInputError(msg + more, where=f"row {line}, {column}" if line else column, errors=errors)


def library_version() -> str:
    """The installed chinesecalendar's version, as recorded with the years it gave."""
    import chinese_calendar

    return str(chinese_calendar.__version__)


def library_source() -> CalendarSource:
    """Every year the chinesecalendar package covers (2004 to its newest), with Chinese holiday names."""
    from chinese_calendar import constants

    names = {h.value: h.chinese for h in constants.Holiday}
    days = [CalendarDay(d, False, names.get(n, n)) for d, n in constants.holidays.items()]
    days += [CalendarDay(d, True, f"{names.get(n, n)}调休上班") for d, n in constants.workdays.items()]
    first, last = min(constants.holidays).year, max(constants.holidays).year
    return CalendarSource(
        years=frozenset(range(first, last + 1)),
        days=tuple(sorted(days, key=lambda d: d.day)),
        source=LIBRARY,
        detail=f"chinesecalendar {library_version()}",
    )


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{path.name} 不是 UTF-8 编码（第 {exc.start} 个字节起）；请另存为 UTF-8 的 CSV", where="file"
        ) from exc


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    """(line number, cells) of each line that is neither blank nor a # comment."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, next(csv.reader([line]))


def _header(line: int, cells: list[str], problems: _Problems) -> dict[str, int]:
    """Column index of date, type and name (name optional), from English or Chinese headers."""
    index: dict[str, int] = {}
    for i, cell in enumerate(cells):
        key = COLUMNS.get(cell.strip().lower(), COLUMNS.get(cell.strip()))
        if key is None:
            problems.add(
                line, "header", f"未知的列 {cell.strip()!r}；列应为 date,type,name 或 日期,类型,名称"
            )
        elif key in index:
            problems.add(line, "header", f"列 {cell.strip()!r} 重复")
        else:
            index[key] = i
    for key, zh in (("date", "日期"), ("type", "类型")):
        if key not in index:
            problems.add(line, "header", f"缺少 {key}（{zh}）列；表头应为 date,type,name 或 日期,类型,名称")
    return index


def _row(line: int, cells: list[str], index: dict[str, int], problems: _Problems) -> CalendarDay | None:
    """One data row as a CalendarDay, or None after noting what is wrong with it."""
    cell = {key: (cells[i].strip() if i < len(cells) else "") for key, i in index.items()}
    if len(cells) > len(index):
        problems.add(line, "row", f"有 {len(cells)} 列，表头只有 {len(index)} 列")
        return None
    day = _read_date(line, cell["date"], problems)
    if day is None:
        return None
    kind = TYPES.get(cell["type"].lower())
    if kind is None:
        problems.add(line, "type", f"类型 {cell['type']!r} 无效，应为 off（休）或 work（班）")
        return None
    if kind and day.weekday() < 5:
        problems.add(
            line, "type", f"{day} 是工作日（周{'一二三四五'[day.weekday()]}），调休上班日只能是周六或周日"
        )
        return None
    return CalendarDay(day, kind, cell.get("name") or DEFAULT_NAMES[kind])


def _read_date(line: int, value: str, problems: _Problems) -> date | None:
    """The date cell as a date, or None after noting that it is not YYYY-MM-DD."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.add(line, "date", f"日期 {value!r} 无效，应为 YYYY-MM-DD，如 2027-01-01")
        return None


def _whole_years(days: list[CalendarDay], lines: dict[date, int], problems: _Problems) -> frozenset[int]:
    """Years whose 1 January is a day off in the file; any other row must be in the December before one."""
    years = frozenset(d.day.year for d in days if (d.day.month, d.day.day) == (1, 1) and not d.workday)
    for d in days:
        if d.day.year in years or (d.day.month == 12 and d.day.year + 1 in years):
            continue
        problems.add(
            lines[d.day],
            "date",
            f"{d.day} 属于 {d.day.year} 年，但文件没有 {d.day.year}-01-01（元旦）休息：导入按整年覆盖，"
            f"请给出 {d.day.year} 年的全部安排（只有次年元旦调休涉及的上一年 12 月的日子可以单列）",
        )
    return years


def read_notice(path: str | Path) -> CalendarSource:
    """Read and check a notice file completely; InvalidInputError names every bad line (nothing written)."""
    path = require_file(path)
    raw = path.read_bytes()
    problems = _Problems()
    records = list(_records(_decode(raw, path)))
    if not records:
        raise InvalidInputError(f"{path.name} 是空文件：需要表头 date,type,name 和数据行", where="file")
    index = _header(*records[0], problems)
    problems.raise_if_any()
    days, lines = _read_days(records[1:], index, problems)
    if not records[1:]:
        problems.add(records[0][0], "file", "只有表头，没有数据行")
    years = _whole_years(days, lines, problems)
    problems.raise_if_any()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return CalendarSource(
        years, tuple(sorted(days, key=lambda d: d.day)), NOTICE, f"{path.name} sha256:{digest}", lines
    )


def _read_days(
    records: list[tuple[int, list[str]]], index: dict[str, int], problems: _Problems
) -> tuple[list[CalendarDay], dict[date, int]]:
    """The data rows as CalendarDays, and the line of each day; a day given twice is noted, not kept."""
    days: list[CalendarDay] = []
    lines: dict[date, int] = {}
    for line, cells in records:
        day = _row(line, cells, index, problems)
        if day is None:
            continue
        if day.day in lines:
            problems.add(line, "date", f"日期 {day.day} 与第 {lines[day.day]} 行重复")
            continue
        lines[day.day] = line
        days.append(day)
    return days, lines
