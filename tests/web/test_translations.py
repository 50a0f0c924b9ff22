"""Every user-facing string marked for translation has a Chinese translation in the catalog."""
from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.helpers import ROOT

METHODS = [("web/**.py", "python"), ("admin/**.py", "python"), ("web/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def test_every_marked_string_has_a_chinese_translation():
    marked = {message for _, _, message, _, _ in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS)
              if isinstance(message, str)}
    with open(ROOT / "web/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string}
    assert marked, "extraction found no strings"
    assert sorted(marked - translated) == []
