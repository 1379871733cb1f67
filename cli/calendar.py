"""The `gridgov calendar import|list` commands: the holiday calendar that deadlines count with."""

import argparse
from pathlib import Path
from typing import Any

from cli import common

SOURCE_LABELS = {"library": "程序库", "notice": "通知文件"}


def _years(years: list[int]) -> str:
    return "、".join(str(y) for y in years) or "无"


def import_summary(report: dict[str, Any], dry_run: bool) -> str:
    """What an import wrote (or would write), in one paragraph."""
    spill = f"；另更新 {_years(report['spill_years'])} 年 12 月的调休日" if report["spill_years"] else ""
    text_ = (
        f"{report['detail']}：导入 {_years(report['years'])} 年节假日安排，"
        f"休 {report['days_off']} 天、调休上班 {report['workdays']} 天{spill}；"
        f"重算 {report['recomputed']} 件案件的办理时限"
    )
    return text_ + ("（试运行：未写入任何数据）" if dry_run else "")


def cmd_calendar_import(args: argparse.Namespace) -> int:
    """Import whole years of a State Council notice from CSV, recomputing affected deadlines, in one go."""
    from geo.queries.holidays import import_notice

    with common.session() as session:
        report = import_notice(session, args.file, actor=common.act_as_cli_user(session))
        common.commit_unless_dry_run(session, args.dry_run)
    print(import_summary(report, args.dry_run))  # noqa: T201
    return 0


def cmd_calendar_list(args: argparse.Namespace) -> int:
    """List the years the calendar covers and where each came from."""
    from geo import clock
    from geo.queries.holidays import list_calendar_years

    with common.session() as session:
        rows = list_calendar_years(session)
    if not rows:
        print("尚无任何年份的节假日日历：请运行 gridgov migrate 或 gridgov calendar import")  # noqa: T201
        return 0
    print("年份  来源      休  班  导入时间          导入者            说明")  # noqa: T201
    for r in rows:
        at = clock.local(r["imported_at"]).strftime("%Y-%m-%d %H:%M")
        label = SOURCE_LABELS.get(r["source"], r["source"])
        print(  # noqa: T201
            f"{r['year']}  {label:　<4}  {r['days_off']:>3} {r['workdays']:>3}  {at}  "
            f"{r['imported_by']:<16}  {r['detail']}"
        )
    print("未列出的年份只按周末计算，涉及这些年份的办理时限标为暂定（deadline_provisional）")  # noqa: T201
    return 0


def add_calendar_commands(sub: Any) -> None:
    """Register `calendar import` and `calendar list` on the main parser's subcommands."""
    cal = sub.add_parser("calendar", help="holiday calendar for deadlines (节假日与调休)")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    imp = cal_sub.add_parser(
        "import",
        help="import whole years of a State Council notice: CSV date,type,name with type off|work "
        "(or 日期,类型,名称 with 休|班)",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--dry-run", action="store_true", help="check the file and count the changes, write nothing"
    )
    imp.set_defaults(func=cmd_calendar_import)
    cal_sub.add_parser("list", help="years covered and their source").set_defaults(func=cmd_calendar_list)
