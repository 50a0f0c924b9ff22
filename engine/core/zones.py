"""A time zone as a reader names it: 北京时间 / Beijing time rather than the IANA id Asia/Shanghai, which
means nothing to an official reading a bulletin."""
from __future__ import annotations

from babel.core import UnknownLocaleError
from babel.dates import get_timezone, get_timezone_name

#: Zones our readers have their own word for (Chinese, English).
SPOKEN: dict[str, tuple[str, str]] = {"Asia/Shanghai": ("北京时间", "Beijing time"), "UTC": ("协调世界时", "UTC"),
                                     "Etc/UTC": ("协调世界时", "UTC")}


def zone_label(zone: str | None, lang: str) -> str:
    """The zone in the reader's language (CLDR's name for zones without one of ours); an unknown id as it is."""
    if not zone:
        return ""
    zh = lang.startswith("zh")
    if zone in SPOKEN:
        return SPOKEN[zone][0 if zh else 1]
    try:
        return get_timezone_name(get_timezone(zone), locale="zh_Hans_CN" if zh else "en")
    except (LookupError, UnknownLocaleError):
        return zone
