"""Validation errors in Chinese: what is wrong, with the field named by its Chinese label.

pydantic says "severity: Field required"; a person at the desk or on the phone reads
「严重程度（severity）：必填」. The label comes from geo.vocabulary.FIELDS (the same names the XLSX
exports use); the message from the error's type and its limits (`ctx`). A custom message of ours
(value_error, unstorable_text) is already Chinese and is kept.
"""

from typing import Any

from geo import vocabulary

_TEMPLATES = {
    "missing": "必填",
    "extra_forbidden": "不是可接受的字段",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "须大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "须小于 {lt}",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_too_short": "至少 {min_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "须为文字",
    "literal_error": "须为 {expected} 之一",
    "enum": "须为 {expected} 之一",
    "int_parsing": "须为整数",
    "int_type": "须为整数",
    "int_from_float": "须为整数",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "finite_number": "须为有限的数字",
    "decimal_parsing": "须为数字",
    "decimal_type": "须为数字",
    "decimal_max_digits": "数字位数过多（最多 {max_digits} 位）",
    "decimal_max_places": "小数位数过多（最多 {decimal_places} 位）",
    "bool_parsing": "须为 true 或 false",
    "bool_type": "须为 true 或 false",
    "datetime_parsing": "须为带时区的时间，如 2026-11-27T09:30:00+08:00",
    "datetime_from_date_parsing": "须为带时区的时间，如 2026-11-27T09:30:00+08:00",
    "datetime_type": "须为带时区的时间，如 2026-11-27T09:30:00+08:00",
    "date_parsing": "须为日期，如 2026-11-27",
    "date_from_datetime_parsing": "须为日期，如 2026-11-27",
    "date_type": "须为日期，如 2026-11-27",
    "too_long": "最多 {max_length} 项",
    "too_short": "至少 {min_length} 项",
    "list_type": "须为列表",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "json_invalid": "请求体不是有效的 JSON",
    "json_type": "须为 JSON",
}
_SOURCES = ("body", "query", "path", "header", "cookie")


def zh_message(error: dict[str, Any]) -> str:
    """The Chinese message of one validation error (its own Chinese message when it has one)."""
    kind = error.get("type", "")
    msg = str(error.get("msg", ""))
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        return "不能为空"
    template = _TEMPLATES.get(kind)
    if template is None:
        return msg  # ours (unstorable_text ...) or a rare pydantic type: said as it is
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def field_path(loc: list[Any] | tuple[Any, ...]) -> str:
    """The field an error's loc names, as the API spells it (parties.0.name), without its source."""
    return ".".join(str(p) for p in loc if p not in _SOURCES)


def field_label(loc: list[Any] | tuple[Any, ...]) -> str:
    """The Chinese name of the field an error's loc names (当事人 第 1 项 姓名), or '' when none of
    its parts has one."""
    known, words = False, []
    for part in (p for p in loc if p not in _SOURCES):
        if isinstance(part, int):
            words.append(f"第 {part + 1} 项")
            continue
        labels = vocabulary.FIELDS.get(str(part))
        known = known or labels is not None
        words.append(labels[0] if labels else str(part))
    return " ".join(words) if known else ""


def describe(error: dict[str, Any]) -> str:
    """One line for a person: 严重程度（severity）：必填."""
    path, label = field_path(error.get("loc", ())), field_label(error.get("loc", ()))
    message = zh_message(error)
    if not path:
        return message
    return f"{label}（{path}）：{message}" if label else f"{path}：{message}"
