"""Attachments of a case (交办 materials): PDF, JPEG/PNG/WebP pictures, Word (DOCX) and Excel (XLSX) files, checked
with the picture checks of the evidence photos (engine/core/photos.py).

What a file is comes from its bytes, never from its name or the type a browser claimed: a PDF starts with
`%PDF-`, a picture must open as one (engine/core/photos.inspect_photo), a DOCX or XLSX is a zip whose
`[Content_Types].xml` declares the Word or Excel main part (so a macro-enabled .docm/.xlsm, any other zip and
an .exe renamed .pdf are refused). Every file of a batch is checked before anything is written, so a refusal
leaves no file and no row; accepted files are written under their SHA-256 (never half-written under their final
name), at most `MAX_PER_CASE` per case, each at most the evidence size limit (CIVICRULES_EVIDENCE_MAX_MB).
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.models import Case, CaseAttachment, User
from engine.core.photos import inspect_photo
from engine.core.states import CASE_ENDED
from rules.problems import InputError, Problem

#: How many attachments one case may hold.
MAX_PER_CASE = 10
#: The form field and API field the files come in; problems about them are named by it.
FIELD = "attachments"
#: The folder under the evidence folder where attachments are kept, by hash.
SUBFOLDER = "attachments"
PDF = ("application/pdf", "pdf")
#: Office files: the main part's content type in [Content_Types].xml, and what the file is then.
OFFICE_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
_IMAGE_HEADS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
_CONTENT_TYPES_PART = "[Content_Types].xml"
_MAX_CONTENT_TYPES_BYTES = 1 << 20  # a real one is a few kB; a larger one is not read (zip bombs)
_NAME_CHARS = 255


@dataclass(frozen=True)
class AttachmentStore:
    """Where attachments are written (the evidence folder) and how large one may be."""

    folder: Path
    max_bytes: int


@dataclass(frozen=True)
class AttachmentFile:
    """A file as it arrived: the name the uploader gave it and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CheckedFile:
    """A file whose content was recognised: what it really is and the extension it is stored under."""

    filename: str
    data: bytes
    content_type: str
    extension: str


def _shown_name(filename: str) -> str:
    """The name to keep: its last path segment, without control characters (PostgreSQL refuses NUL)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return (name or "attachment")[:_NAME_CHARS]


def _office_type(data: bytes) -> tuple[str, str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(_CONTENT_TYPES_PART)
            if info.file_size > _MAX_CONTENT_TYPES_BYTES:
                return None
            declared = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError, NotImplementedError):
        return None  # zipfile raises NotImplementedError for a compression method it cannot read: not an office file
    for main_part, kind in OFFICE_MAIN_PARTS.items():
        if f'ContentType="{main_part}"' in declared or f"ContentType='{main_part}'" in declared:
            return kind
    return None


def _is_image(head: bytes) -> bool:
    return head.startswith(_IMAGE_HEADS) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def recognise(filename: str, data: bytes, max_bytes: int) -> CheckedFile | Problem:
    """What one file is, by its content, or the problem with it (named after the file, in both languages)."""
    name = _shown_name(filename)
    if not data:
        return Problem(FIELD, f"{name}: the file is empty", f"{name}：文件为空")
    if len(data) > max_bytes:
        mb = max_bytes / 2**20
        return Problem(FIELD, f"{name}: a file may be at most {mb:g} MB", f"{name}：单个文件不得超过 {mb:g} MB")
    if data.startswith(b"%PDF-"):
        return CheckedFile(name, data, *PDF)
    if data.startswith(b"PK\x03\x04"):
        office = _office_type(data)
        if office is not None:
            return CheckedFile(name, data, *office)
    elif _is_image(data[:16]):
        try:
            facts = inspect_photo(data, ZoneInfo("UTC"))
        except InputError as err:
            first = err.problems[0]
            return Problem(FIELD, f"{name}: {first.en}", f"{name}：{first.zh}")
        return CheckedFile(name, data, facts.content_type, facts.extension)
    return Problem(FIELD, f"{name}: not an accepted file; send PDF, JPEG, PNG, WebP, Word (DOCX) or Excel (XLSX)",
                   f"{name}：不接受该文件，仅限 PDF、JPEG、PNG、WebP、Word（DOCX）或 Excel（XLSX）")


def check_files(files: list[AttachmentFile], max_bytes: int, already: int = 0) -> tuple[list[CheckedFile],
                                                                                         list[Problem]]:
    """Every file checked, none written: the recognised ones and the problems (a count over the limit is one)."""
    checked: list[CheckedFile] = []
    problems: list[Problem] = []
    if already + len(files) > MAX_PER_CASE:
        problems.append(Problem(FIELD, f"at most {MAX_PER_CASE} attachments per case ({already} already there)",
                                f"每个案件最多 {MAX_PER_CASE} 个附件（已有 {already} 个）"))
    for upload in files:
        found = recognise(upload.filename, upload.data, max_bytes)
        (problems if isinstance(found, Problem) else checked).append(found)
    return checked, problems


def _write(folder: Path, stored: str, data: bytes) -> None:
    path = folder / stored
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)


def store_files(session: Session, folder: Path, case_id: int, checked: list[CheckedFile], uploader: User | None,
                now: datetime) -> list[CaseAttachment]:
    """Add the rows of checked files to the case, then write each file under its hash; the caller commits."""
    rows = []
    for item in checked:
        digest = hashlib.sha256(item.data).hexdigest()
        row = CaseAttachment(case_id=case_id, original_name=item.filename,
                             stored_name=f"{SUBFOLDER}/{digest}.{item.extension}", sha256=digest,
                             content_type=item.content_type, size=len(item.data),
                             uploader_id=uploader.id if uploader is not None else None, created_at=now)
        session.add(row)
        rows.append(row)
    session.flush()  # a row the database refuses stops here, before any file is written
    for row, item in zip(rows, checked):
        _write(folder, row.stored_name, item.data)
    return rows


def count(session: Session, case_id: int) -> int:
    return session.scalar(select(func.count()).select_from(CaseAttachment)
                          .where(CaseAttachment.case_id == case_id)) or 0


def add_attachments(session: Session, folder: Path, case: Case, files: list[AttachmentFile], uploader: User | None,
                    max_bytes: int, now: datetime) -> list[CaseAttachment]:
    """Attach files to a case that is still open: all of them, or none and an InputError. The caller commits."""
    problems = []
    if case.stage in CASE_ENDED:
        problems.append(Problem("case", "the case has ended; nothing more can be attached",
                                "案件已办结，不能再添加附件"))
    if not files:
        problems.append(Problem(FIELD, "choose at least one file", "请至少选择一个文件"))
    checked, found = check_files(files, max_bytes, count(session, case.id))
    if problems or found:
        raise InputError(problems + found)
    return store_files(session, folder, case.id, checked, uploader, now)


def for_case(session: Session, case_id: int) -> list[CaseAttachment]:
    return list(session.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case_id)
                                .order_by(CaseAttachment.id)))


def attachment_json(row: CaseAttachment) -> dict[str, Any]:
    return {"id": row.id, "case": row.case_id, "name": row.original_name, "content_type": row.content_type,
            "size": row.size, "sha256": row.sha256, "uploader": row.uploader_id,
            "created_at": row.created_at.isoformat()}
