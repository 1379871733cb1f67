"""Text we refuse to store: what the API and the importers check every incoming string against.

PostgreSQL `text` cannot hold NUL (psycopg refuses to send it, and the request used to end in a 500).
The other C0 control characters would be stored, but nobody types them: they come from broken
encoders, binary pasted into a form, or probing; they garble exports, CSV cells and Folium popups.
So every C0 control character except tab, line feed and carriage return is refused, and so is a lone
UTF-16 surrogate (JSON's "\\ud800" escape decodes to one; it cannot be encoded as UTF-8 at all).

One finder and one wording, used by api.schemas_base (every JSON body), api.deps_text (query, path,
header and form values) and geo.io.events / geo.io.grids (every cell an import reads; geo.io.nul reads
back the NULs GDAL cuts boundary-file text at).
"""

import re

# C0 controls minus \t (09), \n (0a) and \r (0d); then the surrogate block.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def find_unstorable(value: str) -> tuple[int, str] | None:
    """(1-based position, character) of the first character we refuse to store, or None."""
    found = _UNSTORABLE.search(value)
    return None if found is None else (found.start() + 1, found.group())


def unstorable_reason(value: str) -> str | None:
    """Why the text cannot be stored (Chinese, with the position and code point), or None when it can.

    The caller puts the field, row or feature in front: "description: 不能包含控制字符（位置 12：U+0000）…".
    """
    found = find_unstorable(value)
    if found is None:
        return None
    position, char = found
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"不能包含孤立的 UTF-16 代理字符（位置 {position}：{code}）；请提交有效的 Unicode 文本"
    return f"不能包含控制字符（位置 {position}：{code}）；控制字符中只允许制表符、换行和回车"


def printable(name: str) -> str:
    """A name (a query key, a column) safe to quote in a message: refused characters as \\xNN escapes."""
    return _UNSTORABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), name)


def column_note(field: str, column: object) -> str:
    """The file's column, as in "（列“描述”）", when it is not called by our field name; else ""."""
    return "" if str(column) == field else f"（列“{printable(str(column))}”）"
