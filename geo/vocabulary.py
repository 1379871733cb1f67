"""The product's words: the one Chinese (and English) label of every status, kind, severity, colour and role.

Python reads these dictionaries; the browser gets the same ones from `GET /api/vocabulary` (embedded in
every console page too), so the phone, the desks, the maps, the reports and the exports say one thing.
"""

from typing import Any

STATUSES = {
    "reported": ("已上报", "Reported"),
    "registered": ("已立案", "Registered"),
    "dispatched": ("已派遣", "Dispatched"),
    "in_progress": ("处置中", "In progress"),
    "handled": ("已处置", "Handled"),
    "verified": ("已核查", "Verified"),
    "closed": ("已结案", "Closed"),
    "rejected": ("不予受理", "Rejected"),
    "duplicate": ("重复件", "Duplicate"),
}
KINDS = {
    "dispute": ("矛盾纠纷", "Dispute"),
    "hazard": ("安全隐患", "Safety hazard"),
    "appeal": ("群众诉求", "Appeal"),
}
# 一般、较大、重大、特别重大: the grading of the national emergency plans.
SEVERITIES = {
    1: ("一般", "Minor"),
    2: ("较大", "Serious"),
    3: ("重大", "Major"),
    4: ("特别重大", "Critical"),
}
# The three colours (三色) of the risk grade, with the colour every map and list draws them in.
GRADES = {
    "red": ("高风险", "High risk"),
    "yellow": ("中风险", "Medium risk"),
    "green": ("低风险", "Low risk"),
}
GRADE_COLORS = {"red": "#d73027", "yellow": "#fee08b", "green": "#1a9850"}
GRADE_NAMES = {"red": "红色", "yellow": "黄色", "green": "绿色"}
ROLES = {
    "commander": ("指挥长", "Commander"),
    "dispatcher": ("调度员", "Dispatcher"),
    "planner": ("研判分析员", "Planner"),
    "grid_worker": ("网格员", "Grid worker"),
    "admin": ("系统管理员", "Administrator"),
}
LEVELS = {
    "grid": ("网格", "Grid"),
    "village": ("村（社区）", "Village"),
    "township": ("乡镇（街道）", "Township"),
    "county": ("县", "County"),
}
REFERRALS = {
    "court": ("法院（诉调对接）", "Court"),
    "police": ("公安（警调对接）", "Police"),
    "petition": ("信访（访调对接）", "Petition office"),
}
SOURCES = {
    "patrol": ("网格巡查", "Patrol"),
    "walk_in": ("群众来访", "Walk-in"),
    "hotline": ("热线电话", "Hotline"),
    "court": ("法院移送", "Court"),
    "police": ("公安移送", "Police"),
    "petition": ("信访转办", "Petition office"),
}
# What a timeline entry (event_log.action) says happened.
ACTIONS = {
    "report": ("上报", "Reported"),
    "register": ("立案", "Registered"),
    "reject": ("不予受理", "Rejected"),
    "mark_duplicate": ("合并重复件", "Merged as duplicate"),
    "assign": ("派遣", "Assigned"),
    "reassign": ("改派", "Reassigned"),
    "decline": ("网格员退回", "Declined by worker"),
    "start": ("开始处置", "Started"),
    "handle": ("处置完毕", "Handled"),
    "rework": ("回退重办", "Sent back"),
    "verify": ("核查通过", "Verified"),
    "close": ("结案", "Closed"),
    "escalate": ("上报升级", "Escalated"),
    "refer": ("移交", "Referred"),
    "referral_return": ("移交退回", "Referral returned"),
    "whistle": ("吹哨", "Whistle"),
    "whistle_response": ("部门报到", "Department answered"),
    "extend": ("延期", "Deadline extended"),
    "suspend": ("挂账", "Suspended"),
    "resume": ("恢复计时", "Resumed"),
    "recompute_deadline": ("按节假日日历重算时限", "Deadline recounted (holiday calendar)"),
}

# Field work (geo.queries.coverage): how a small grid was covered in a period.
COVERAGE = {
    "visited": ("已走访", "Visited"),
    "patrolled": ("仅巡查", "Patrolled only"),
    "none": ("未覆盖", "Not covered"),
}
COVERAGE_COLORS = {"visited": "#1a9850", "patrolled": "#91cf60", "none": "#f46d43"}

_TABLES: dict[str, dict[Any, tuple[str, str]]] = {
    "status": STATUSES,
    "kind": KINDS,
    "severity": SEVERITIES,
    "grade": GRADES,
    "role": ROLES,
    "level": LEVELS,
    "referral": REFERRALS,
    "source": SOURCES,
    "action": ACTIONS,
    "coverage": COVERAGE,
}


def zh(table: dict[Any, tuple[str, str]]) -> dict[Any, str]:
    """The Chinese labels of one table."""
    return {key: labels[0] for key, labels in table.items()}


def label(table: str, key: Any, lang: str = "zh") -> str:
    """The label of `key` in a table ("status", "kind", ...); the key itself when it has none."""
    labels = _TABLES[table].get(key)
    if labels is None:
        return str(key)
    return labels[1] if lang == "en" else labels[0]


def vocabulary() -> dict[str, Any]:
    """Every table as JSON for the browser: {"zh": {"status": {...}, ...}, "en": {...}, "colors": {...}}."""
    out: dict[str, Any] = {"zh": {}, "en": {}}
    for name, table in _TABLES.items():
        out["zh"][name] = {str(k): v[0] for k, v in table.items()}
        out["en"][name] = {str(k): v[1] for k, v in table.items()}
    out["colors"] = {"grade": GRADE_COLORS, "coverage": COVERAGE_COLORS}
    return out
