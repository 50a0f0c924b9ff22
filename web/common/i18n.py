"""Locale choice: ?lang= (whitelisted) > the signed-in user's choice > the session > Accept-Language,
with zh-CN aliases mapped.

Werkzeug's best_match picks `en` for `zh-CN,zh;q=0.9` against zh_Hans_CN, so aliases are mapped here.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import request, session
from flask_login import current_user
from web.common.extensions import db
from flask_babel import get_locale

LOCALES = ("zh_Hans_CN", "en")
DEFAULT_LOCALE = "zh_Hans_CN"
_ALIASES = {"zh": "zh_Hans_CN", "zh-cn": "zh_Hans_CN", "zh_cn": "zh_Hans_CN", "zh-hans": "zh_Hans_CN",
            "zh-hans-cn": "zh_Hans_CN", "zh_hans_cn": "zh_Hans_CN", "zh-sg": "zh_Hans_CN", "en": "en",
            "en-us": "en", "en-gb": "en"}


def normalise(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.strip().lower()
    return _ALIASES.get(tag) or _ALIASES.get(tag.split("-")[0].split("_")[0])


def remember_choice() -> None:
    """Before the view runs, keep the nav switch's choice (?lang=..&remember=1) on the signed-in
    user's row, so it follows them to other browsers; a bare ?lang= stays a one-session choice.
    Done here, not in the lazy selector, so no half-done work of the view is ever committed."""


    chosen = normalise(request.args.get("lang"))
    if chosen and request.args.get("remember") == "1" and current_user.is_authenticated and getattr(current_user, "language", chosen) != chosen:
        current_user.language = chosen
        db.session.commit()


def select_locale() -> str:
    chosen = normalise(request.args.get("lang"))
    if chosen:
        session["lang"] = chosen
        return chosen
    user_choice = getattr(current_user, "language", None) if current_user else None
    if user_choice in LOCALES:
        return user_choice
    if session.get("lang") in LOCALES:
        return session["lang"]
    for tag, _quality in request.accept_languages:
        found = normalise(tag)
        if found:
            return found
    return DEFAULT_LOCALE


def short_lang() -> str:
    """'zh' or 'en', for picking a name_zh / name_en column or a bilingual message."""
    return "zh" if str(get_locale()).startswith("zh") else "en"


def switch_link(locale: str) -> str:
    """The nav's language switch for this page: its own query (a list's filters, a page number) kept, with the
    choice to remember added, so switching language stays on the same list."""
    kept = [(key, value) for key, value in request.args.items(multi=True) if key not in ("lang", "remember")]
    return "?" + urlencode(kept + [("lang", locale), ("remember", "1")])


def html_lang() -> str:
    """The page's `<html lang>` (BCP 47): screen readers, fonts and line breaking follow it."""
    return "zh-CN" if str(get_locale()) == "zh_Hans_CN" else "en"
