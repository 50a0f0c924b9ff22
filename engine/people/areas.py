"""The list of responsibility areas (责任区域清单) the command platform holds, seed 004: "每名队员都要有自己的责任区域…
制作好责任区域清单，交由智慧城管指挥平台统一指挥管理". Each grid, street and active inspection point with its unit and
the people who answer for it, names and positions in the reader's language, phones as the reader's role may see them.
"""
from __future__ import annotations

from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.core.models import Grid, InspectionPoint, Person, Street, Unit
from engine.people.staff import position_name, shown_phone, unit_and_below

#: The kinds of area, in the list's order, with their names (zh, en).
KINDS: dict[str, tuple[str, str]] = {"grid": ("网格", "Grid"), "street": ("道路", "Street"),
                                     "point": ("测评点位", "Inspection point")}
#: What a person does for an area (zh, en).
KINDS_OF_DUTY: dict[str, tuple[str, str]] = {"responsible": ("责任人", "Responsible"), "collector": ("监督员", "Collector")}


def _name(zh: str, en: str | None, lang: str) -> str:
    return zh if lang == "zh" else (en or zh)


def person_entry(name: str | None, position: str | None, phone: str | None, duty: str, lang: str,
                 role: str | None) -> dict[str, Any] | None:
    """One person as the list and the map show them: name, what they do here, position and phone."""
    if name is None:
        return None
    return {"name": name, "duty": _name(*KINDS_OF_DUTY[duty], lang), "position": position_name(position or "", lang),
            "phone": shown_phone(phone or "", role)}


def grid_people(session: Session, lang: str = "zh", role: str | None = None) -> dict[int, list[dict[str, Any]]]:
    """Grid id -> its 责任人 and 监督员 (whoever is named), in one query."""
    responsible, collector = aliased(Person), aliased(Person)
    rows = session.execute(select(Grid.id, responsible.name, responsible.position, responsible.phone,
                                  collector.name, collector.position, collector.phone)
                           .outerjoin(responsible, responsible.id == Grid.responsible_id)
                           .outerjoin(collector, collector.id == Grid.collector_id))
    found = {}
    for grid_id, r_name, r_position, r_phone, c_name, c_position, c_phone in rows:
        people = [person_entry(r_name, r_position, r_phone, "responsible", lang, role),
                  person_entry(c_name, c_position, c_phone, "collector", lang, role)]
        found[grid_id] = [p for p in people if p is not None]
    return found


def area_list(session: Session, lang: str = "zh", role: str | None = None,
              unit_ids: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """Every grid, street and active inspection point (of `unit_ids`, if given) with its unit and people, by kind
    and code; an area nobody answers for has an empty `people`."""
    units = {u.id: _name(u.name_zh, u.name_en, lang) for u in session.execute(
        select(Unit.id, Unit.name_zh, Unit.name_en))}
    people = grid_people(session, lang, role)
    rows: list[dict[str, Any]] = []

    def add(kind: str, code: str, name: str, unit_id: int, held: list[dict[str, Any]]) -> None:
        if unit_ids is None or unit_id in unit_ids:
            rows.append({"kind": kind, "kind_name": _name(*KINDS[kind], lang), "code": code, "name": name,
                         "unit": units.get(unit_id, ""), "people": held})
    for grid in session.execute(select(Grid.id, Grid.code, Grid.name_zh, Grid.name_en, Grid.unit_id)
                                .order_by(Grid.code)):
        add("grid", grid.code, _name(grid.name_zh, grid.name_en, lang), grid.unit_id, people.get(grid.id, []))
    for kind, model, person_column, names in (
            ("street", Street, Street.responsible_id, (Street.name_zh, Street.name_en)),
            ("point", InspectionPoint, InspectionPoint.person_id, (InspectionPoint.name, InspectionPoint.name))):
        query = (select(model.code, *names, model.unit_id, Person.name, Person.position, Person.phone)
                 .outerjoin(Person, Person.id == person_column).order_by(model.code))
        if model is InspectionPoint:
            query = query.where(InspectionPoint.active.is_(True))
        for code, zh, en, unit_id, name, position, phone in session.execute(query):
            entry = person_entry(name, position, phone, "responsible", lang, role)
            add(kind, code, _name(zh, en, lang), unit_id, [entry] if entry else [])
    return rows


#: The export's columns (zh, en): names as the list shows them, never codes, one column per person's detail.
EXPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("类型", "Kind"), ("区域", "Area"), ("单位", "Unit"), ("责任人", "Responsible"), ("责任人职务", "Position"),
    ("责任人电话", "Phone"), ("监督员", "Collector"), ("监督员职务", "Collector's position"),
    ("监督员电话", "Collector's phone"))


def units_held(session: Session, unit_code: str) -> frozenset[int] | None:
    """The unit named by `unit_code` and every unit below it, whose areas the filtered list shows; None when there
    is no such unit."""
    unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
    return None if unit_id is None else frozenset(unit_and_below(session, unit_id))


def export_rows(areas: list[dict[str, Any]], lang: str) -> tuple[list[str], Iterator[list[str]]]:
    """The header and the rows of the list as a spreadsheet: the same names, positions and phones as the page."""
    header = [zh if lang == "zh" else en for zh, en in EXPORT_COLUMNS]
    responsible, collector = _name(*KINDS_OF_DUTY["responsible"], lang), _name(*KINDS_OF_DUTY["collector"], lang)

    def row(area: dict[str, Any]) -> list[str]:
        cells = [area["kind_name"], area["name"], area["unit"]]
        for duty in (responsible, collector):
            person = next((p for p in area["people"] if p["duty"] == duty), None)
            cells += [person["name"], person["position"], person["phone"]] if person else ["", "", ""]
        return cells
    return header, (row(area) for area in areas)
