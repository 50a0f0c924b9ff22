"""What a case attachment is comes from its bytes: pictures open as pictures, a name never decides."""
from __future__ import annotations

import io

from PIL import Image

from engine.cases.attachments import CheckedFile, recognise
from rules.problems import Problem

LIMIT = 1 << 20


def picture(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, kind)
    return buffer.getvalue()


def test_png_and_webp_are_pictures_whatever_they_are_called():
    for kind, content_type, extension in (("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")):
        found = recognise("scan.pdf", picture(kind), LIMIT)
        assert isinstance(found, CheckedFile) and (found.content_type, found.extension) == (content_type, extension)


def test_a_broken_picture_is_refused_in_both_languages_and_named():
    found = recognise("现场.jpg", picture("JPEG")[:40], LIMIT)
    assert isinstance(found, Problem) and found.where == "attachments"
    assert found.en.startswith("现场.jpg: not a photo") and found.zh.startswith("现场.jpg：不是照片")


def test_the_name_kept_is_the_last_path_segment_without_control_characters():
    found = recognise("C:\\Users\\委员会\\通知\x00.pdf", b"%PDF-1.7\n", LIMIT)
    assert isinstance(found, CheckedFile) and found.filename == "通知.pdf"
    assert recognise("", b"%PDF-1.7\n", LIMIT).filename == "attachment"
