"""Password rules for every way a password is set (create, reset, change): long enough, not on the kept list of
common and breached passwords (common Chinese ones included), and without the username in it."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from rules.problems import Problem

MIN_LENGTH = 8
#: Usernames this short (e.g. "li") occur in too many good passwords to refuse them all.
SHORTEST_NAME_CHECKED = 3


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The kept list (common_passwords.txt next to this module), lower-cased."""
    text = resources.files("engine.accounts").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problems(password: str | None, username: str = "", where: str = "password") -> list[Problem]:
    """What is wrong with a password for this username (empty: it may be used)."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return [Problem(where, f"at least {MIN_LENGTH} characters", f"至少 {MIN_LENGTH} 个字符")]
    if password.lower() in common_passwords():
        return [Problem(where, "this password is on the list of common or leaked passwords; choose another",
                        "该密码属于常见或已泄露的密码，请另选一个")]
    name = (username or "").strip().lower()
    if len(name) >= SHORTEST_NAME_CHECKED and name in password.lower():
        return [Problem(where, "the password must not contain the username", "密码中不得包含用户名")]
    return []
