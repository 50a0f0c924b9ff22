"""核实 (DESIGN 12): the grid's collector goes to the spot of a report that needs it, takes a photo and says what
was found; the case then waits for the shift leader's filing (立案) on the dispatch clock.

The collector the case names verifies it; a shift leader or an administrator may record a verification made by
phone or by another collector. Photos are stored as the case's evidence; a refused verification stores nothing.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases.admission import clock_due
from engine.cases.stages import move
from engine.core.models import Campaign, Case, FilingCondition, User
from engine.core.states import CaseStage
from engine.core.photos import Photo, inspect_photos, store_photo
from engine.people.staff import person_of
from rules.problems import InputError, Problem

#: What the collector found on the spot, in both languages.
FINDINGS: dict[str, tuple[str, str]] = {
    "confirmed": ("情况属实", "confirmed on the spot"),
    "not_found": ("现场未发现该问题", "not found on the spot"),
    "resolved": ("已自行消除", "already resolved"),
}
#: Who may record a verification besides the case's own collector.
ON_BEHALF = ("shift_leader", "admin")
MAX_PHOTOS = 6
MAX_NOTE = 2000


def condition_of(session: Session, category_id: int, code: str) -> FilingCondition | None:
    """The category's filing condition with that code (a condition belongs to one category); a code with a NUL
    byte, which PostgreSQL refuses to compare, is none."""
    if "\x00" in code:
        return None
    return session.scalar(select(FilingCondition).where(FilingCondition.category_id == category_id,
                                                        FilingCondition.code == code))


def finding_name(code: str, lang: str) -> str:
    names = FINDINGS.get(code)
    return code if names is None else names[0 if lang.startswith("zh") else 1]


def may_verify(session: Session, case: Case, user: User) -> bool:
    """The case's collector, any collector where the case names none, or a shift leader or admin on their behalf."""
    if user.role in ON_BEHALF:
        return True
    if user.role != "collector":
        return False
    person = person_of(session, user)
    return case.verifier_id is None or (person is not None and person.id == case.verifier_id)


def verify(session: Session, case: Case, user: User, finding: str, note: str, condition: str | None,
           photos: list[Photo], folder: Path, max_bytes: int, zone: ZoneInfo, now: datetime) -> None:
    """Record the verification and move the case on to 待立案. The caller commits; nothing is written on a refusal."""
    problems: list[Problem] = []
    if case.stage != CaseStage.VERIFYING:
        raise InputError([Problem("case", "only a case waiting for verification is verified", "只有待核实的案件可以核实")])
    if not may_verify(session, case, user):
        raise InputError([Problem("case", "this case is verified by the grid's collector",
                                  "该案件由所在网格的监督员核实")])
    if finding not in FINDINGS:
        problems.append(Problem("finding", "choose what was found on the spot", "请选择核实结果"))
    note = (note or "").strip()
    if len(note) > MAX_NOTE or "\x00" in note:
        problems.append(Problem("note", f"text of at most {MAX_NOTE} characters", f"不超过 {MAX_NOTE} 个字符的文本"))
    condition = (condition or "").strip() or None
    if condition is not None and condition_of(session, case.category_id, condition) is None:
        problems.append(Problem("filing_condition", f"{condition!r} is not a filing condition of this case's category",
                                f"{condition!r} 不是本案件类别的立案条件"))
    photos = [p for p in photos if p.data]
    if not photos:
        problems.append(Problem("photo", "at least one photo taken on the spot", "请上传至少一张现场照片"))
    elif len(photos) > MAX_PHOTOS:
        problems.append(Problem("photo", f"at most {MAX_PHOTOS} photos", f"最多 {MAX_PHOTOS} 张照片"))
    checked = inspect_photos(photos[:MAX_PHOTOS], "photo", max_bytes, zone, problems)
    if problems:
        raise InputError(problems)
    stored = [store_photo(session, folder, f"case-{case.id}", facts, photo.filename, photo.data, user,
                          case_id=case.id, field="verification", stage="verify") for photo, facts in checked]
    person = person_of(session, user)
    record = {"finding": finding, "note": note, "filing_condition": condition, "photos": [row.id for row in stored],
              "by": user.id, "person": person.id if person else None, "at": now.isoformat()}
    campaign = session.get(Campaign, case.campaign_id) if case.campaign_id else None
    move(session, case, CaseStage.FILING, now, user, f"{FINDINGS[finding][0]} / {FINDINGS[finding][1]}"
         + (f": {note}" if note else ""), due=clock_due(campaign, "dispatch_minutes", now), verification=record)
