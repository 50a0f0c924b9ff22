"""Staff (人员): people with a position in a unit, apart from accounts, and the checks every way of
saving one goes through (the admin form, the import, the demo).

A person is known by their staff number (工号); the phone number is unique, so one person registered
twice, in two units, is caught either way. Who may read a full phone number is decided here too.
"""
from __future__ import annotations

import re
from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.core import clock
from engine.core.models import Grid, Person, Shift, Street, Task, Unit, User
from engine.core.states import TERMINAL
from rules.problems import InputError, Problem

#: Positions (职务) in the order of the chain above a task, then the centre's posts.
POSITIONS: dict[str, tuple[str, str]] = {
    "leader_in_charge": ("分管领导", "Leader in charge"),
    "brigade_chief": ("大队长", "Brigade chief"),
    "squad_chief": ("中队长", "Squad chief"),
    "responsible": ("责任人/队员", "Responsible officer"),
    "grid_worker": ("网格员", "Grid worker"),
    "collector": ("监督员", "Collector"),
    "shift_leader": ("值班长", "Shift leader"),
}
#: Positions that lead a unit: they may hand its tasks to its people.
LEADERS = frozenset({"leader_in_charge", "brigade_chief", "squad_chief"})
#: Roles that call people (dispatching, duty, escalation) and so read full phone numbers.
PHONE_ROLES = frozenset({"admin", "dispatcher", "shift_leader", "supervisor"})
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,30}$")


def normal_phone(text: str) -> str:
    """A phone as stored and compared: spaces and dashes out, so 139 0000 0001 is 13900000001."""
    return re.sub(r"[\s\-]", "", text or "")


def position_name(code: str, lang: str = "zh") -> str:
    zh, en = POSITIONS.get(code, (code, code))
    return zh if lang.startswith("zh") else en


def position_code(text: str) -> Optional[str]:
    """A position from its code, its Chinese name or either half of 责任人/队员, as imports write it."""
    text = (text or "").strip()
    for code, (zh, en) in POSITIONS.items():
        if text in (code, zh, en) or text in zh.split("/"):
            return code
    return None


def mask_phone(phone: str) -> str:
    """138****5678: enough to tell two numbers apart, not enough to call."""
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def shown_phone(phone: str, role: Optional[str]) -> str:
    return phone if role in PHONE_ROLES else mask_phone(phone)


def unit_and_below(session: Session, unit_id: Optional[int]) -> set[int]:
    """A unit and every unit below it: whose people may answer for the unit's grids and tasks."""
    if unit_id is None:
        return set()
    return units_and_below(session, {unit_id})[unit_id]


def units_and_below(session: Session, unit_ids: set[int]) -> dict[int, set[int]]:
    """unit_and_below for each of several units, from one read of the unit tree."""
    parents = dict(session.execute(select(Unit.id, Unit.parent_id)).all())
    scopes = {}
    for unit_id in unit_ids:
        scope, frontier = {unit_id}, {unit_id}
        while frontier:
            frontier = {uid for uid, parent in parents.items() if parent in frontier and uid not in scope}
            scope |= frontier
        scopes[unit_id] = scope
    return scopes


def check_person(session: Session, *, code: str, name: str, position: str, unit: Optional[Unit], phone: str,
                 user: Optional[User] = None, person_id: Optional[int] = None, row: Optional[int] = None
                 ) -> list[Problem]:
    """Every fault of a person as entered, each named by its field; nothing is read twice per field."""
    problems: list[Problem] = []
    code, name, phone = (code or "").strip(), (name or "").strip(), normal_phone(phone)
    if not code or len(code) > 32:
        problems.append(Problem("code", "a staff number of 1–32 characters", "工号须为 1–32 个字符", row))
    if not name or len(name) > 64:
        problems.append(Problem("name", "a name of 1–64 characters", "姓名须为 1–64 个字符", row))
    if position not in POSITIONS:
        problems.append(Problem("position", f"one of {', '.join(en for _, en in POSITIONS.values())}",
                                f"职务须为 {'、'.join(zh for zh, _ in POSITIONS.values())} 之一", row))
    if unit is None:
        problems.append(Problem("unit", "a known unit", "须为已登记的单位", row))
    if not PHONE.match(phone):
        problems.append(Problem("phone", "a phone number of digits (6–30)", "电话须为 6–30 位数字", row))
    others = select(Person).where(Person.id != person_id) if person_id else select(Person)
    if code:
        same = session.scalar(others.where(Person.code == code))
        if same is not None:
            problems.append(Problem("code", f"staff number {code} is taken by {same.name} of {same.unit.name_en}",
                                    f"工号 {code} 已是「{same.unit.name_zh}」的{same.name}", row))
    if PHONE.match(phone):
        holder = session.scalar(others.where(Person.phone == phone))
        if holder is not None:
            where = "unit" if unit is not None and holder.unit_id != unit.id else "phone"
            problems.append(Problem(
                where, f"phone {phone} is registered to {holder.name} ({holder.code}) of {holder.unit.name_en}: "
                       f"one person cannot be in two units",
                f"电话 {phone} 已登记为「{holder.unit.name_zh}」的{holder.name}（工号 {holder.code}），"
                f"同一人不能属于两个单位", row))
    if user is not None and user.role == "field_unit" and unit is not None \
            and user.unit_id not in unit_and_below(session, unit.id):
        problems.append(Problem("user", f"account {user.username} works for another unit than {unit.name_en}",
                                f"账号 {user.username} 属于其他单位，不是「{unit.name_zh}」的账号", row))
    if user is not None:
        linked = session.scalar(others.where(Person.user_id == user.id))
        if linked is not None:
            problems.append(Problem("user", f"account {user.username} is already linked to {linked.name}",
                                    f"账号 {user.username} 已关联{linked.name}", row))
    return problems


def save_person(session: Session, *, code: str, name: str, position: str, unit: Optional[Unit], phone: str,
                user: Optional[User] = None, person: Optional[Person] = None, active: bool = True) -> Person:
    """Create or change a person after `check_person`, as entered (no account given: none linked);
    flushes, never commits."""
    problems = check_person(session, code=code, name=name, position=position, unit=unit, phone=phone, user=user,
                            person_id=person.id if person else None)
    if not problems and person is not None and person.id is not None:
        problems = check_departure(session, person, unit, active)
    if problems:
        raise InputError(problems)
    person = person or Person()
    person.code, person.name, person.position = code.strip(), name.strip(), position
    person.unit_id, person.phone = unit.id, normal_phone(phone)  # type: ignore[union-attr]
    person.user_id = user.id if user else None
    person.active = active
    if person.id is None:
        session.add(person)
    session.flush()
    return person


def check_departure(session: Session, person: Person, unit: Optional[Unit], active: bool) -> list[Problem]:
    """A person who leaves the unit or stops working hands over first: open tasks, grids, streets, coming
    shifts and units they are paired with would otherwise stay with someone who no longer answers for them."""
    leaving = unit is not None and unit.id != person.unit_id
    if not leaving and (active or not person.active):
        return []
    now = clock.now()
    held = [
        (session.scalar(select(func.count()).select_from(Task).where(Task.assignee_id == person.id,
                                                                     Task.status.not_in(TERMINAL))), "open tasks", "项未办结任务"),
        (session.scalar(select(func.count()).select_from(Grid).where(
            or_(Grid.responsible_id == person.id, Grid.collector_id == person.id))), "grids", "个网格"),
        (session.scalar(select(func.count()).select_from(Street).where(Street.responsible_id == person.id)),
         "streets", "条道路"),
        (session.scalar(select(func.count()).select_from(Shift).where(Shift.person_id == person.id,
                                                                      Shift.ends_at > now)), "coming shifts", "个待值班次"),
        (session.scalar(select(func.count()).select_from(Unit).where(Unit.liaison_id == person.id)),
         "paired units (包联)", "个包联单位"),
    ]
    held = [(n, en, zh) for n, en, zh in held if n]
    if not held:
        return []
    field = "unit" if leaving else "active"
    return [Problem(field, f"{person.name} still holds {', '.join(f'{n} {en}' for n, en, _ in held)}: hand them over "
                           f"first", f"{person.name}仍承担{'、'.join(f'{n} {zh}' for n, _, zh in held)}，请先移交")]


def person_of(session: Session, user: Optional[User]) -> Optional[Person]:
    """The person an account belongs to, if any (a unit's shared account has none)."""
    if user is None or getattr(user, "id", None) is None:
        return None
    return session.scalar(select(Person).where(Person.user_id == user.id))
