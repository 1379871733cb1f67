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
    "department": ("职能部门", "Department"),
    # 三员分立: the three administrators of GB/T 22239, one role each, never two on one account.
    "sysadmin": ("系统管理员", "System administrator"),
    "secadmin": ("安全管理员", "Security administrator"),
    "auditor": ("审计管理员", "Audit administrator"),
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
    "whistle_sign": ("部门签收", "Department signed"),
    "whistle_response": ("部门报到", "Department answered"),
    "whistle_feedback": ("办结反馈", "Department reported back"),
    "extend": ("延期", "Deadline extended"),
    "suspend": ("挂账", "Suspended"),
    "resume": ("恢复计时", "Resumed"),
    "recompute_deadline": ("按节假日日历重算时限", "Deadline recounted (holiday calendar)"),
}

# Who a party of a case is (parties.role).
PARTY_ROLES = {
    "applicant": ("申请人", "Applicant"),
    "respondent": ("被申请人", "Respondent"),
    "reporter": ("反映人", "Reporter"),
    "party": ("当事人", "Party"),
}
# A department's task on a case (table whistles): what it is, and how far the department has got.
TASK_KINDS = {
    "whistle": ("吹哨报到", "Whistle"),
    "referral": ("移交办理", "Referral"),
}
TASK_STATES = {
    "requested": ("待签收", "Awaiting signature"),
    "signed": ("已签收", "Signed"),
    "reported": ("已报到", "Answered"),
    "finished": ("已反馈办结", "Reported back"),
    "withdrawn": ("已撤回", "Withdrawn"),
}
# The Chinese name of every field a person can get wrong: validation errors name it, XLSX exports use it
# as the column header, and imports read it back.
FIELDS = {
    "id": ("编号", "ID"),
    "event_id": ("案件编号", "Case number"),
    "whistle_id": ("部门任务编号", "Task number"),
    "photo_id": ("照片编号", "Photo number"),
    "view": ("页面", "Page"),
    "layer": ("图层", "Layer"),
    "format": ("格式", "Format"),
    "kind": ("事件类型", "Kind"),
    "category": ("类别", "Category"),
    "category_zh": ("类别名称", "Category name"),
    "severity": ("严重程度", "Severity"),
    "status": ("状态", "Status"),
    "title": ("标题", "Title"),
    "description": ("情况描述", "Description"),
    "source": ("来源", "Source"),
    "reported_at": ("上报时间", "Reported at"),
    "closed_at": ("办结时间", "Closed at"),
    "deadline_at": ("办理时限", "Deadline"),
    "is_open": ("在办", "Open"),
    "is_overdue": ("超期", "Overdue"),
    "grid_code": ("网格编码", "Grid code"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "crs": ("坐标系", "Coordinate system"),
    "wage_owed": ("欠薪金额", "Wages owed"),
    "wage_recovered": ("追回金额", "Wages recovered"),
    "wage_workers": ("涉及人数", "Workers"),
    "parties": ("当事人", "Parties"),
    "name": ("姓名", "Name"),
    "phone": ("电话", "Phone"),
    "role": ("角色", "Role"),
    "worker_id": ("网格员", "Worker"),
    "reassign": ("改派", "Reassign"),
    "note": ("备注", "Note"),
    "reason": ("理由", "Reason"),
    "to": ("目标", "Target"),
    "action": ("操作", "Action"),
    "duplicate_of": ("原案件编号", "Original case"),
    "department_id": ("部门", "Department"),
    "respond_within_hours": ("报到时限（小时）", "Hours to answer"),
    "feedback_within_hours": ("反馈时限（小时）", "Hours to report back"),
    "hours": ("延长小时数", "Hours"),
    "days": ("延长工作日数", "Working days"),
    "response": ("报到内容", "Answer"),
    "text": ("内容", "Text"),
    "on_duty": ("在岗", "On duty"),
    "available": ("可派", "Available"),
    "at": ("时间", "Time"),
    "k": ("候选人数", "Candidates"),
    "limit": ("数量上限", "Limit"),
    "page": ("页码", "Page"),
    "per_page": ("每页条数", "Per page"),
    "area": ("辖区", "Area"),
    "bbox": ("范围", "Bounding box"),
    "from": ("开始日期", "From"),
    "since": ("开始日期", "From"),
    "until": ("结束日期", "To"),
    "township": ("乡镇（街道）", "Township"),
    "deadline": ("时限", "Deadline"),
    "sort": ("排序", "Sort"),
    "q": ("搜索", "Search"),
    "grade": ("风险等级", "Risk grade"),
    "photo": ("照片", "Photo"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "code": ("编码", "Code"),
    "level": ("层级", "Level"),
    "parent_code": ("上级编码", "Parent code"),
    "area_m2": ("面积（平方米）", "Area (m²)"),
    "valid_from": ("生效时间", "Valid from"),
    "synthetic": ("模拟数据", "Synthetic"),
    "home_grid_code": ("所属网格", "Home grid"),
    "skills": ("专长", "Skills"),
    "open_tasks": ("在办任务", "Open tasks"),
    "capacity": ("任务上限", "Capacity"),
    "located_at": ("定位时间", "Located at"),
    "open_events": ("未结案件", "Open cases"),
    "weighted_severity": ("加权严重程度", "Weighted severity"),
    "overdue": ("超期件数", "Overdue"),
    "repeat_places": ("重复发生点位", "Repeat places"),
    "resolution_rate": ("化解率", "Resolution rate"),
    "score": ("风险分值", "Score"),
    "grade_label": ("风险等级名称", "Grade label"),
    "as_of": ("评定时刻", "As of"),
    "computed_at": ("计算时刻", "Computed at"),
    "events": ("案件数", "Cases"),
    "class_label": ("冷热点类别", "Hot/cold class"),
    "category_label": ("类别名称", "Category name"),
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
    "party_role": PARTY_ROLES,
    "task_kind": TASK_KINDS,
    "task_state": TASK_STATES,
    "field": FIELDS,
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
