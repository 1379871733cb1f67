"""The password policy: at least `min_length` characters (10 or more) of at least three classes
(lower case, upper case, digits, symbols, other scripts such as Chinese), not holding the account
name, not a common password.

Common passwords are those of geo/data/common_passwords.txt, also when decorated: case, leetspeak
(p@ssw0rd), and digits or symbols before or after a common word (Admin@123, Qwer1234!) do not help.
"""

import re
from functools import lru_cache
from importlib.resources import files

from geo.errors import InvalidInputError

MIN_LENGTH = 10
# Lower case, upper case, digits, ASCII symbols, other scripts (a Chinese passphrase counts its characters).
_CLASSES = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile(r"[\x20-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]"),
    re.compile(r"[^\x00-\x7f]"),
)
_LEET = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"}
)
_EDGES = re.compile(r"^[^a-z]+|[^a-z]+$")  # digits and symbols around a word
_SYMBOLS = re.compile(r"^[^a-z0-9]+|[^a-z0-9]+$")  # symbols around a word with digits (1qaz2wsx!)


@lru_cache
def common_passwords() -> frozenset[str]:
    """The common passwords and words (lower case), from geo/data/common_passwords.txt."""
    text = (files("geo") / "data" / "common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#")


def is_common(password: str) -> bool:
    """True when the password is a common one, or a common word dressed up."""
    common = common_passwords()
    lower = password.lower()
    bare = _EDGES.sub("", lower)
    leet = lower.translate(_LEET)
    forms = {lower, bare, _SYMBOLS.sub("", lower), leet, bare.translate(_LEET), _EDGES.sub("", leet)}
    return any(f in common for f in forms if len(f) >= 3)


def password_problem(password: str, name: str, *, min_length: int = MIN_LENGTH) -> str | None:
    """What is wrong with a new password (Chinese), or None when the policy accepts it."""
    if len(password) < max(min_length, MIN_LENGTH):
        return f"密码至少 {max(min_length, MIN_LENGTH)} 个字符"
    if sum(1 for c in _CLASSES if c.search(password)) < 3:
        return "密码须包含大写字母、小写字母、数字、符号（或汉字）中的至少三类"
    if name and name.lower() in password.lower():
        return "密码不能包含用户名"
    if is_common(password):
        return "密码过于常见（如 Password123!、Admin@123 之类），请换一个"
    return None


def check_password(password: str, name: str, *, min_length: int = MIN_LENGTH) -> None:
    """InvalidInputError (where=password) unless the policy accepts the new password."""
    problem = password_problem(password, name, min_length=min_length)
    if problem:
        raise InvalidInputError(problem, where="password")
