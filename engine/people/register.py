"""Importing the staff register (花名册) from CSV or XLSX: each bad row named with its reason, the rest stored.

Rows are matched on the staff number (工号), so importing the same file again changes nothing. A row
is stored whole or not at all; a person already in another unit is refused, never moved by a file
(a transfer is made on the person's page, on purpose).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Person, Unit, User
from engine.core.tables import ImportReport, Table, match_columns
from engine.people.staff import check_person, normal_phone, position_code
from rules.problems import InputError, Problem

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("工号", "人员编号", "编号", "code", "staff number"),
    "name": ("姓名", "name"),
    "position": ("职务", "岗位", "position"),
    "unit": ("单位", "所属单位", "单位代码", "unit"),
    "phone": ("电话", "手机", "手机号", "联系电话", "phone"),
    "username": ("账号", "登录账号", "username", "account"),
}
REQUIRED = ("code", "name", "position", "unit", "phone")
NAMES_ZH = {"code": "工号", "name": "姓名", "position": "职务", "unit": "单位", "phone": "电话", "username": "账号"}


def _columns(headers: list[str]) -> dict[str, int]:
    """The register's columns; other columns are ignored (registers carry more than we keep), a missing one refused."""
    found, _ = match_columns(headers, COLUMNS)
    missing = [t for t in REQUIRED if t not in found]
    if missing:
        raise InputError([Problem("file", f"no column for {', '.join(missing)} (headers: {', '.join(COLUMNS[t][0] for t in REQUIRED)})",
                                  f"缺少列：{'、'.join(NAMES_ZH[t] for t in missing)}（表头应为 "
                                  f"{'、'.join(COLUMNS[t][0] for t in REQUIRED)}）")])
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps phone numbers and staff numbers as numbers
    return str(value).strip()


def import_staff(session: Session, table: Table) -> ImportReport:
    """Store every good row of the register; flushes, never commits (the caller owns the transaction)."""
    columns = _columns(table.headers)
    units = list(session.scalars(select(Unit)))
    unit_by = {u.code: u for u in units} | {u.name_zh: u for u in units}
    users = {u.username: u for u in session.scalars(select(User))}
    existing = {p.code: p for p in session.scalars(select(Person))}
    report = ImportReport()
    parsed: list[tuple[int, dict[str, str]]] = []
    for index, raw in enumerate(table.rows, start=2):
        values = {t: _text(raw[i]) if i < len(raw) else "" for t, i in columns.items()}
        values["phone"] = normal_phone(values["phone"])
        parsed.append((index, values))
    units_of_code: dict[str, set[str]] = {}
    for _, v in parsed:
        units_of_code.setdefault(v["code"], set()).add(v["unit"])
    codes_of_phone = Counter((v["phone"], v["code"]) for _, v in parsed)
    phone_codes: dict[str, set[str]] = {}
    for phone, code in codes_of_phone:
        phone_codes.setdefault(phone, set()).add(code)
    seen: set[str] = set()
    for row, v in parsed:
        problems = _row_problems(session, row, v, unit_by, users, existing, units_of_code, phone_codes, seen)
        seen.add(v["code"])
        if problems:
            report.problems += problems
            continue
        _store(session, v, unit_by[v["unit"]], users.get(v.get("username") or ""), existing, report)
    session.flush()
    return report


def _row_problems(session: Session, row: int, v: dict[str, str], unit_by: dict[str, Unit], users: dict[str, User],
                  existing: dict[str, Person], units_of_code: dict[str, set[str]], phone_codes: dict[str, set[str]],
                  seen: set[str]) -> list[Problem]:
    unit = unit_by.get(v["unit"])
    position = position_code(v["position"])
    problems = []
    if v["unit"] and unit is None:
        problems.append(Problem("unit", f"unknown unit {v['unit']!r}", f"未知的单位「{v['unit']}」", row))
    if v["position"] and position is None:
        problems.append(Problem("position", f"unknown position {v['position']!r}", f"未知的职务「{v['position']}」", row))
    user = None
    if v.get("username"):
        user = users.get(v["username"])
        if user is None:
            problems.append(Problem("username", f"no account {v['username']!r}", f"没有账号「{v['username']}」", row))
    if len(units_of_code.get(v["code"], ())) > 1:
        return problems + [Problem("unit", f"staff number {v['code']} is listed in two units in this file",
                                   f"工号 {v['code']} 在本文件中属于两个单位", row)]
    if v["code"] in seen:
        return problems + [Problem("code", f"staff number {v['code']} appears twice", f"工号 {v['code']} 重复出现", row)]
    if len(phone_codes.get(v["phone"], ())) > 1:
        return problems + [Problem("phone", f"phone {v['phone']} is given to two staff numbers in this file",
                                   f"电话 {v['phone']} 在本文件中对应两个工号", row)]
    current = existing.get(v["code"])
    if current is not None and unit is not None and current.unit_id != unit.id:
        return problems + [Problem(
            "unit", f"{current.name} ({v['code']}) belongs to {current.unit.name_en}; one person, one unit: "
                    f"a transfer is made on the person's page",
            f"{current.name}（工号 {v['code']}）已属于「{current.unit.name_zh}」，一人只属一个单位；调动请在人员页面办理", row)]
    named = {p.where for p in problems}  # one reason per field: the row's own words before the general rule
    return problems + [p for p in check_person(session, code=v["code"], name=v["name"], position=position or "",
                                               unit=unit, phone=v["phone"], user=user,
                                               person_id=current.id if current else None, row=row)
                       if p.where not in named]


def _store(session: Session, v: dict[str, str], unit: Unit, user: Optional[User], existing: dict[str, Person],
           report: ImportReport) -> None:
    position = position_code(v["position"])
    person = existing.get(v["code"])
    wanted = {"name": v["name"], "position": position, "unit_id": unit.id, "phone": v["phone"]}
    if user is not None:
        wanted["user_id"] = user.id
    if person is None:
        person = Person(code=v["code"], active=True, **wanted)
        session.add(person)
        existing[v["code"]] = person
        report.created += 1
    elif any(getattr(person, k) != value for k, value in wanted.items()):
        for key, value in wanted.items():
            setattr(person, key, value)
        report.updated += 1
    else:
        report.unchanged += 1
