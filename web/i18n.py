"""Locale choice: ?lang= (whitelisted) > the session > Accept-Language, with zh-CN aliases mapped.

Werkzeug's best_match picks `en` for `zh-CN,zh;q=0.9` against zh_Hans_CN, so aliases are mapped here.
"""
from __future__ import annotations

from flask import request, session

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


def select_locale() -> str:
    chosen = normalise(request.args.get("lang"))
    if chosen:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LOCALES:
        return session["lang"]
    for tag, _quality in request.accept_languages:
        found = normalise(tag)
        if found:
            return found
    return DEFAULT_LOCALE


def short_lang() -> str:
    """'zh' or 'en', for picking a name_zh / name_en column or a bilingual message."""
    from flask_babel import get_locale

    return "zh" if str(get_locale()).startswith("zh") else "en"
