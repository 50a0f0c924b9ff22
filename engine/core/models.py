"""The schema: SQLAlchemy 2 models shared by the engine, the workers and Flask-SQLAlchemy.

Status columns change only through the named functions in engine/ (intake, pipeline, tasks);
task transitions and firings are append-only. Timestamps are UTC, stored timezone-aware.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from datetime import timezone

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Text, TypeDecorator, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.core.macs import column_default as audit_mac
from engine.core.states import CaseStage, EventStatus, TaskStatus
from engine.core.sealed_text import SealedText

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
          "pk": "pk_%(table_name)s"}

BigId = BigInteger().with_variant(Integer, "sqlite")

#: The time zone of a campaign that names none, and of pages and imports that know no campaign.
DEFAULT_TIMEZONE = "Asia/Shanghai"


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no time zones) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; CivicRules stores aware UTC timestamps only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


UTC = UTCDateTime()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | active | ended
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    starts_on: Mapped[Optional[date]] = mapped_column(Date)
    ends_on: Mapped[Optional[date]] = mapped_column(Date)
    inspection_starts_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    inspection_ends_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    office_hours: Mapped[list[Any]] = mapped_column(JSON, default=lambda: [["08:30", "12:00"], ["14:00", "17:30"]])
    continuous_time: Mapped[bool] = mapped_column(Boolean, default=False)  # e.g. during the inspection window
    digest_time: Mapped[str] = mapped_column(String(5), default="06:40")  # local time of the daily readiness digest
    # Local time by which each inspection point's checklist is run every day of the inspection window (每日自查);
    # a point not checked by then is escalated (engine/readiness/daily.py). 06:40 from seed 003.
    readiness_time: Mapped[str] = mapped_column(String(5), default="06:40", server_default="06:40")
    # The weekly bulletin (周通报): published on this weekday (0 = Monday) at this local time, by this office
    # (None: the bureau unit's name).
    bulletin_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bulletin_time: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    bulletin_office_zh: Mapped[Optional[str]] = mapped_column(String(200))
    bulletin_office_en: Mapped[Optional[str]] = mapped_column(String(200))
    # Stage clocks of a case (DESIGN 12), in minutes: 受理 (accepted into a case), 核实, 派遣 (filed to dispatched),
    # 核查 (the lead task submitted until its check is decided).
    accept_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    verify_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    dispatch_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    check_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    published_version_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("ruleset_versions.id", use_alter=True, name="fk_campaigns_published_version_id"))
    published_version: Mapped[Optional["RulesetVersion"]] = relationship(foreign_keys=[published_version_id])

    def __str__(self) -> str:
        return self.name_zh


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("categories.id"))
    parent: Mapped[Optional["Category"]] = relationship(remote_side=[id])
    default_condition: Mapped[Optional[str]] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="matter", server_default="matter")  # matter | component
    source: Mapped[Optional[str]] = mapped_column(String(120))  # where the entry comes from (standard, local, file)
    standard_ref: Mapped[Optional[str]] = mapped_column(String(32))  # the code in an older scheme (2+2 digits)
    # One problem, one case (DESIGN 13): a report this close to an open case of the matter joins it; None: default.
    link_metres: Mapped[Optional[float]] = mapped_column(Float)
    link_days: Mapped[Optional[float]] = mapped_column(Float)
    # The ladder of the category's tasks (DESIGN 14) by timeline code, when the list row names none.
    timeline_code: Mapped[Optional[str]] = mapped_column(String(64))
    conditions: Mapped[list["FilingCondition"]] = relationship(back_populates="category",
                                                               cascade="all, delete-orphan")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class FilingCondition(Base):
    """A filing condition (立案条件) of a category; the time limit belongs to it, not to the category."""

    __tablename__ = "filing_conditions"
    __table_args__ = (UniqueConstraint("category_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    category: Mapped[Category] = relationship(back_populates="conditions")
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    limit_value: Mapped[float] = mapped_column(Float)
    limit_unit: Mapped[str] = mapped_column(String(16))
    closing_zh: Mapped[str] = mapped_column(Text, default="", server_default="")  # 结案条件
    closing_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    handler: Mapped[Optional[str]] = mapped_column(String(200))  # 处置单位 as a city's standard names it
    source: Mapped[Optional[str]] = mapped_column(String(120))


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))  # bureau | subdistrict | squad | department | ...
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    parent: Mapped[Optional["Unit"]] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Unit"]] = relationship(back_populates="parent")
    contact: Mapped[Optional[str]] = mapped_column(String(200))
    # The leader paired with the unit (包联领导): where its lost points and escalations end.
    liaison_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id", use_alter=True, name="fk_units_liaison_id"))
    liaison: Mapped[Optional["Person"]] = relationship(foreign_keys=[liaison_id], post_update=True)
    duty_items: Mapped[list["DutyItem"]] = relationship(order_by="DutyItem.position", cascade="all, delete-orphan",
                                                        back_populates="unit")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class DutyItem(Base):
    """One line of a unit's duty list (职责清单): what the unit answers for, optionally tied to a category."""

    __tablename__ = "duty_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit] = relationship(back_populates="duty_items")
    position: Mapped[int] = mapped_column(Integer, default=0)
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("categories.id"))
    category: Mapped[Optional["Category"]] = relationship()
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    # Routing (DESIGN 12): lead (主办) or cooperate (协办) for the matter; None: a duty that routes nothing.
    role: Mapped[Optional[str]] = mapped_column(String(16))
    area: Mapped[Optional[list[str]]] = mapped_column(JSON)  # grid codes; None: wherever the unit answers

    def __str__(self) -> str:
        return self.text_zh


class Grid(Base):
    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    grid_code: Mapped[Optional[str]] = mapped_column(String(15), unique=True)  # the standard 15-digit 网格编码
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    boundary: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # 包片: the person who answers for the grid, and the 监督员 who verifies reports and checks work in it.
    responsible_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id", use_alter=True,
                                                                     name="fk_grids_responsible_id"))
    responsible: Mapped[Optional["Person"]] = relationship(foreign_keys=[responsible_id])
    collector_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id", use_alter=True,
                                                                   name="fk_grids_collector_id"))
    collector: Mapped[Optional["Person"]] = relationship(foreign_keys=[collector_id])

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Person(Base):
    """A member of staff (人员), apart from accounts: the name duties, escalations and lost points go to."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # staff number (工号): what an import matches on
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[str] = mapped_column(String(32))  # engine/people/staff.py POSITIONS
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), unique=True)
    user: Mapped[Optional["User"]] = relationship(foreign_keys=[user_id])
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    def __str__(self) -> str:
        return self.name


class Street(Base):
    """A road or street (道路) in a unit's area, with the person who answers for it (包路)."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    responsible_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    responsible: Mapped[Optional[Person]] = relationship()

    def __str__(self) -> str:
        return self.name_zh


class Shift(Base):
    """One duty shift of the on-call roster (值班表): who answers for a unit from `starts_at` to `ends_at`."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_unit_time", "unit_id", "starts_at", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    person_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    person: Mapped[Person] = relationship()
    starts_at: Mapped[datetime] = mapped_column(UTC)
    ends_at: Mapped[datetime] = mapped_column(UTC)
    kind: Mapped[str] = mapped_column(String(16), default="day")  # day | night | holiday


class FrontageHolder(Base):
    """A shop, unit or household under 门前三包 (the frontage-responsibility system): its address resolves to a
    grid, its frontage (a GeoJSON line, polygon or point, reaching `reach_metres` beyond it) names it on the reports
    made there (fact `frontage_holder`), and its signed responsibility letter (责任书) says which duties it owes."""

    __tablename__ = "frontage_holders"
    __table_args__ = (Index("ix_frontage_holders_stamp", "updated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Optional[str]] = mapped_column(String(32), unique=True)  # the register's own number, for imports
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"))
    grid: Mapped[Grid] = relationship()
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))  # responsible unit
    unit: Mapped[Optional[Unit]] = relationship()
    contact: Mapped[Optional[str]] = mapped_column(String(200))
    lat: Mapped[Optional[float]] = mapped_column(Float)
    lon: Mapped[Optional[float]] = mapped_column(Float)
    frontage: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)  # WGS-84 GeoJSON; none: the point lat/lon
    reach_metres: Mapped[float] = mapped_column(Float, default=15.0, server_default="15")
    # 责任书: number, signed date and signer, the duties it covers (engine.space.holders.DUTIES), its period.
    letter_number: Mapped[Optional[str]] = mapped_column(String(64))
    letter_signed_on: Mapped[Optional[date]] = mapped_column(Date)
    letter_signer: Mapped[Optional[str]] = mapped_column(String(100))
    letter_duties: Mapped[Optional[list[str]]] = mapped_column(JSON)
    letter_valid_from: Mapped[Optional[date]] = mapped_column(Date)
    letter_valid_until: Mapped[Optional[date]] = mapped_column(Date)
    updated_at: Mapped[Optional[datetime]] = mapped_column(UTC)  # any change: the holder index is rebuilt

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


class Permit(Base):
    """An approval or filing (审批/备案) at a place for a period: it makes a report there then "approved" to
    the rules (fact permits_valid). Its place is a GeoJSON Point with a radius in metres, or a Polygon; a
    construction-waste permit also names its designated site (指定消纳场所). Saved only through
    engine.space.permits.save_permit, so the form and the import refuse the same things."""

    __tablename__ = "permits"
    __table_args__ = (Index("ix_permits_stamp", "updated_at"),)  # the spatial index's change check reads it
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # rules.facts.PERMIT_KINDS
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_contact: Mapped[Optional[str]] = mapped_column(String(200))
    holder_id: Mapped[Optional[int]] = mapped_column(ForeignKey("frontage_holders.id"))  # a 门前三包 holder
    holder: Mapped[Optional[FrontageHolder]] = relationship()
    place: Mapped[dict[str, Any]] = mapped_column(JSON)  # GeoJSON Point or Polygon, WGS-84/CGCS2000
    radius_m: Mapped[float] = mapped_column(Float, default=0.0)
    site: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)  # construction waste: the designated site
    site_radius_m: Mapped[float] = mapped_column(Float, default=0.0)
    starts_at: Mapped[datetime] = mapped_column(UTC)
    ends_at: Mapped[datetime] = mapped_column(UTC)
    status: Mapped[str] = mapped_column(String(16), default="valid")  # pending|valid|revoked|expired
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    approved_by: Mapped[Unit] = relationship(foreign_keys=[approved_by_id])
    filed_on: Mapped[Optional[date]] = mapped_column(Date)  # 书面备案 to the committee
    filing_reference: Mapped[Optional[str]] = mapped_column(String(100))
    # A temporary market's two steps before the committee approves (seed 001, duty ⑨): the sub-district that
    # declared it (申报) and the bureau that reviewed it (审定).
    declared_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    declared_by: Mapped[Optional[Unit]] = relationship(foreign_keys=[declared_by_id])
    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    reviewed_by: Mapped[Optional[Unit]] = relationship(foreign_keys=[reviewed_by_id])
    updated_at: Mapped[datetime] = mapped_column(UTC)

    def __str__(self) -> str:
        return f"{self.number} {self.holder_name}"


class PermitKind(Base):
    """Who approves a kind of permit (审批单位), who reviews it first (审定) and whether its approvals are filed in
    writing with the committee (书面备案), as the duty lists say: set by the administrator, so a permit from
    another unit is refused and does not count for the rules. A kind without a row has no approver named."""

    __tablename__ = "permit_kinds"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), unique=True)  # rules.facts.PERMIT_KINDS
    approver_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    approver: Mapped[Optional[Unit]] = relationship(foreign_keys=[approver_id])
    reviewer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    reviewer: Mapped[Optional[Unit]] = relationship(foreign_keys=[reviewer_id])
    filing_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTC)  # the permit index's change check reads it

    def __str__(self) -> str:
        return self.kind


class Zone(Base):
    """A zone on the map (限制经营区, 严管街, school surroundings, residential area): GeoJSON in WGS-84, reaching
    `width_metres / 2` beside a street's line or `buffer_metres` around school points. Only active zones are facts."""

    __tablename__ = "zones"
    # The spatial index's stamp (count, newest change) reads this small index once per evaluation batch.
    __table_args__ = (Index("ix_zones_stamp", "updated_at", "active"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    width_metres: Mapped[Optional[float]] = mapped_column(Float)
    buffer_metres: Mapped[Optional[float]] = mapped_column(Float)
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))  # None: every campaign
    campaign: Mapped[Optional[Campaign]] = relationship()
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTC)

    def __str__(self) -> str:
        return self.name


class InspectionPointType(Base):
    """A type of evaluation point (测评点位类型, rules.facts.POINT_TYPES) and the departments that answer for such
    points under the campaign's duty list (the seeds' 33 创城 duties, e.g. schools -> 教育局)."""

    __tablename__ = "inspection_point_types"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # unit codes, in the duty list's order
    duty: Mapped[Optional[str]] = mapped_column(Text)  # the duty as the source words it
    source: Mapped[Optional[str]] = mapped_column(String(200))  # where the mapping comes from

    def __str__(self) -> str:
        return self.code


class InspectionPoint(Base):
    """A point the national evaluation visits (测评点位): its place (GeoJSON in WGS-84, reaching `reach_metres`),
    its responsible unit and the person who answers for it (包点). A report there carries the fact
    `inspection_point` (the point's type). Saved only through engine.space.points.save_point."""

    __tablename__ = "inspection_points"
    __table_args__ = (Index("ix_inspection_points_stamp", "updated_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type_id: Mapped[int] = mapped_column(ForeignKey("inspection_point_types.id"))
    type: Mapped[InspectionPointType] = relationship()
    address: Mapped[Optional[str]] = mapped_column(String(300))
    place: Mapped[dict[str, Any]] = mapped_column(JSON)
    reach_metres: Mapped[float] = mapped_column(Float, default=50.0, server_default="50")
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    person: Mapped[Optional[Person]] = relationship()
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grids.id"))
    grid: Mapped[Optional[Grid]] = relationship()
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UTC)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ChecklistItem(Base):
    """One item of a point type's checklist (测评内容): what is checked, how, how often, and the most it scores.
    The evaluation's items exist only as documents, so they are imported; `example` marks the demo's few (示例)."""

    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("type_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("inspection_point_types.id"), index=True)
    type: Mapped[InspectionPointType] = relationship()
    code: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)  # 测评内容
    method: Mapped[Optional[str]] = mapped_column(Text)  # 测评方法: how to check
    max_score: Mapped[float] = mapped_column(Float)
    frequency: Mapped[str] = mapped_column(String(16), default="daily")  # daily | weekly | monthly | round
    category_code: Mapped[Optional[str]] = mapped_column(String(16))  # the case a failure opens (else 其他)
    position: Mapped[int] = mapped_column(Integer, default=0)
    example: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # 示例: not the real list
    source: Mapped[Optional[str]] = mapped_column(String(200))


class ReadinessCheck(Base):
    """A point's checklist run on one local day (每日自查) by its responsible person: each item passed or failed,
    with a note and photos; a failed item opens a case for the point's unit (source type `readiness`)."""

    __tablename__ = "readiness_checks"
    __table_args__ = (UniqueConstraint("point_id", "day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("inspection_points.id"))
    point: Mapped[InspectionPoint] = relationship()
    day: Mapped[date] = mapped_column(Date)  # the campaign's local day
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime] = mapped_column(UTC)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{item, passed, note, photos: [evidence ids]}]
    failed: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[Optional[datetime]] = mapped_column(UTC)  # not checked by the deadline: when it was raised


class PlanItem(Base):
    """A row of the campaign's task breakdown table (创建任务分解表): what is to be done, by which lead unit with
    which cooperating units, the named person, by when, and its milestones; units report progress on it.
    Changed only through engine/readiness/plan.py."""

    __tablename__ = "plan_items"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    code: Mapped[str] = mapped_column(String(32))  # its number in the table, e.g. 3.2
    title: Mapped[str] = mapped_column(Text)
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    lead_unit: Mapped[Unit] = relationship()
    cooperating: Mapped[list[int]] = mapped_column(JSON, default=list)  # unit ids
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    person: Mapped[Optional[Person]] = relationship()
    due_on: Mapped[date] = mapped_column(Date)
    percent: Mapped[int] = mapped_column(Integer, default=0)  # the latest progress reported
    done_on: Mapped[Optional[date]] = mapped_column(Date)
    escalated_at: Mapped[Optional[datetime]] = mapped_column(UTC)  # overdue and not done: when it was raised
    created_at: Mapped[datetime] = mapped_column(UTC)
    milestones: Mapped[list["PlanMilestone"]] = relationship(order_by="PlanMilestone.due_on",
                                                             cascade="all, delete-orphan")
    progress: Mapped[list["PlanProgress"]] = relationship(order_by="PlanProgress.id", cascade="all, delete-orphan")


class PlanMilestone(Base):
    __tablename__ = "plan_milestones"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[Optional[date]] = mapped_column(Date)


class PlanProgress(Base):
    """A unit's progress report on a plan item: how far (percent), what was done, photos."""

    __tablename__ = "plan_progress"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    percent: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    photos: Mapped[list[int]] = mapped_column(JSON, default=list)  # evidence ids
    reported_at: Mapped[datetime] = mapped_column(UTC)


class EvaluationRound(Base):
    """A round of the evaluation (测评轮次): a mock one (模拟测评) whose inspectors score a sample of points against the
    checklists, or the official visit whose deductions were imported. Changed only through engine/readiness/."""

    __tablename__ = "evaluation_rounds"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    number: Mapped[int] = mapped_column(Integer)  # 第 n 轮, per campaign, in order
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # mock | official
    starts_on: Mapped[date] = mapped_column(Date)  # the campaign's local days
    ends_on: Mapped[date] = mapped_column(Date)
    run_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    run_by: Mapped[Optional[User]] = relationship()
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    seed: Mapped[Optional[int]] = mapped_column(Integer)  # the sample's seed (None: chosen by hand)
    point_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the sample, in code order
    created_at: Mapped[datetime] = mapped_column(UTC)


class EvaluationScore(Base):
    """One checklist item of one point as a mock round's inspector scored it (at most the item's maximum); the
    point's unit at that time answers for it, and a failed item's case is named."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (UniqueConstraint("round_id", "point_id", "item_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("inspection_points.id"))
    point: Mapped[InspectionPoint] = relationship()
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    item: Mapped[ChecklistItem] = relationship()
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)  # the item's maximum when scored
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[Optional[str]] = mapped_column(Text)
    photos: Mapped[list[int]] = mapped_column(JSON, default=list)  # evidence ids
    inspector_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    scored_at: Mapped[datetime] = mapped_column(UTC)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))


class OfficialDeduction(Base):
    """A deduction of the official evaluation (实地考察扣分) by point and item, imported after the visit and
    attributed to the point's unit and responsible person at import time (谁丢分谁负责), with the case it opened."""

    __tablename__ = "official_deductions"
    __table_args__ = (UniqueConstraint("point_id", "item_id", "visited_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rounds.id"), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    point_id: Mapped[int] = mapped_column(ForeignKey("inspection_points.id"))
    point: Mapped[InspectionPoint] = relationship()
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    item: Mapped[ChecklistItem] = relationship()
    points: Mapped[float] = mapped_column(Float)  # points deducted
    note: Mapped[Optional[str]] = mapped_column(Text)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit] = relationship()
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    person: Mapped[Optional[Person]] = relationship()
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    imported_at: Mapped[datetime] = mapped_column(UTC)


class SupervisionTier(Base):
    """A supervising body (DESIGN 14): its level is its board and its outbox target (`tier:<level>`); the rung
    is the height of the ladder steps it receives, for the unit types it supervises (None: any other unit)."""

    __tablename__ = "supervision_tiers"
    __table_args__ = (UniqueConstraint("campaign_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    level: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    rung: Mapped[Optional[int]] = mapped_column(Integer)  # None: the level
    unit_types: Mapped[Optional[list[str]]] = mapped_column(JSON)  # engine/handling/ladder.py unit_kind
    members: Mapped[list["TierMember"]] = relationship(cascade="all, delete-orphan", back_populates="tier")

    def __str__(self) -> str:
        return f"{self.level} {self.name_zh}"


class TierMember(Base):
    """A user or a unit that belongs to a supervision tier (receives what escalates to it)."""

    __tablename__ = "tier_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    tier_id: Mapped[int] = mapped_column(ForeignKey("supervision_tiers.id"), index=True)
    tier: Mapped[SupervisionTier] = relationship(back_populates="members")
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    user: Mapped[Optional["User"]] = relationship()
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Optional[Unit]] = relationship()


class Timeline(Base):
    __tablename__ = "timelines"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    steps: Mapped[list["TimelineStep"]] = relationship(order_by="TimelineStep.position",
                                                       cascade="all, delete-orphan")


class TimelineStep(Base):
    """A ladder step anchored to the task's deadline (DESIGN 14), counted in the task's own time mode:
    `share` of the limit, `before` it by `after_minutes`, `at` it, or `after` it (overdue by `after_minutes`)."""

    __tablename__ = "timeline_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    timeline_id: Mapped[int] = mapped_column(ForeignKey("timelines.id"))
    position: Mapped[int] = mapped_column(Integer)
    anchor: Mapped[str] = mapped_column(String(16), default="at", server_default="at")  # share|before|at|after
    share: Mapped[Optional[float]] = mapped_column(Float)  # for `share`: 0 < share < 1 of the limit
    after_minutes: Mapped[float] = mapped_column(Float, default=0)  # minutes from the anchor (before / after)
    action: Mapped[str] = mapped_column(String(32))  # remind | order | escalate | list_publicly
    tier_level: Mapped[Optional[int]] = mapped_column(Integer)  # the rung; the body follows the task's unit
    unless_state: Mapped[Optional[str]] = mapped_column(String(32))


class TaskTemplate(Base):
    __tablename__ = "task_templates"
    __table_args__ = (UniqueConstraint("code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    instructions_zh: Mapped[str] = mapped_column(Text, default="")
    instructions_en: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    checklist: Mapped[Optional[list[Any]]] = mapped_column(JSON)  # [{"zh": ..., "en": ...}] steps to tick off
    evidence_rules: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)  # see engine/evidence.py


class RuleList(Base):
    __tablename__ = "rule_lists"
    __table_args__ = (UniqueConstraint("campaign_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    kind: Mapped[str] = mapped_column(String(32))  # zero_tolerance | strict_management | custom
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    items: Mapped[list["ListItem"]] = relationship(order_by="ListItem.position", cascade="all, delete-orphan",
                                                   back_populates="rule_list")


class ListItem(Base):
    """One row of a list's decision table; it expands to a rule on publish."""

    __tablename__ = "list_items"
    __table_args__ = (UniqueConstraint("list_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("rule_lists.id"))
    rule_list: Mapped[RuleList] = relationship(back_populates="items")
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list[Any]] = mapped_column(JSON)
    conditions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    assign: Mapped[str] = mapped_column(String(64), default="grid_unit")
    template_code: Mapped[str] = mapped_column(String(64))
    timeline_code: Mapped[Optional[str]] = mapped_column(String(64))
    limit: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    points: Mapped[float] = mapped_column(Float, default=0)
    # Points lost per happening (overdue | failed_check | rebound | inspection); missing keys fall back to `points`.
    point_rules: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    legal_basis: Mapped[Optional[str]] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The row applies to events on these local dates (inclusive); None = open-ended (rules/lists.py).
    effective_from: Mapped[Optional[date]] = mapped_column(Date)
    effective_to: Mapped[Optional[date]] = mapped_column(Date)

    def as_row(self) -> dict[str, Any]:
        return {"key": self.key, "title": {"zh": self.title_zh, "en": self.title_en},
                "categories": list(self.categories), "conditions": list(self.conditions or []),
                "assign": self.assign, "template": self.template_code, "timeline": self.timeline_code,
                "limit": self.limit, "points": float(self.points or 0), "legal_basis": self.legal_basis,
                "enabled": self.enabled,
                "effective_from": self.effective_from.isoformat() if self.effective_from else None,
                "effective_to": self.effective_to.isoformat() if self.effective_to else None}


class Rule(Base):
    """A hand-written rule document of a campaign (the draft; publishing freezes a copy)."""

    __tablename__ = "rules"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer, default=1)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class Scenario(Base):
    """A campaign's rule scenario: one event and what the rules must make of it, checked on every publish.
    Changed only through engine/authoring/scenarios.py, which validates the event and expectation."""

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("campaign_id", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    title: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)  # list items, unit codes, free words
    event: Mapped[dict[str, Any]] = mapped_column(JSON)  # category, grid or lat/lon, local time, source type, facts
    expected: Mapped[dict[str, Any]] = mapped_column(JSON)  # tasks, rules that fire / do not, stage, nothing
    history: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # stated repeats/rebound/open case
    updated_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class ScenarioOverride(Base):
    """A publish that went ahead despite failing scenarios: the reason, who asked and the second
    administrator who confirmed, with the failures as they were shown."""

    __tablename__ = "scenario_overrides"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    content_hash: Mapped[str] = mapped_column(String(64))  # the draft that was overridden
    version_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ruleset_versions.id"))
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    confirmed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTC)
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class RulesetVersion(Base):
    """An immutable, published bundle of a campaign's rules with its compiled definition."""

    __tablename__ = "ruleset_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)  # rule key -> frozen rule document
    compiled: Mapped[dict[str, Any]] = mapped_column(JSON)  # partitions and category routes
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTC)
    # What the rules name, frozen with them: {"timelines": {code: {...steps}}, "tiers": [...],
    # "templates": {code: version}, "lists": {kind: [rows]}}. None for versions published before 0015.
    bundle: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "source_event_id"),
        Index("ix_events_pending", "status", "lease_until"),
        Index("ix_events_repeats", "category_id", "grid_id", "occurred_at"),
        Index("ix_events_inspection", "inspection_tier", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_event_id: Mapped[str] = mapped_column(String(128))
    source_type: Mapped[str] = mapped_column(String(32))  # rules.facts.SOURCE_TYPES (official_evaluation: 19)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    category: Mapped[Category] = relationship()
    filing_condition: Mapped[Optional[str]] = mapped_column(String(32))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grids.id"))  # none: located outside every grid
    grid: Mapped[Optional[Grid]] = relationship()
    lat: Mapped[Optional[float]] = mapped_column(Float)
    lon: Mapped[Optional[float]] = mapped_column(Float)
    occurred_at: Mapped[datetime] = mapped_column(UTC)
    received_at: Mapped[datetime] = mapped_column(UTC)
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    media_url: Mapped[Optional[str]] = mapped_column(String(500))  # a photo link from Open311 or an import
    reporter_name: Mapped[Optional[str]] = mapped_column(String(64))
    reporter_phone: Mapped[Optional[str]] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    confidence: Mapped[Optional[float]] = mapped_column(Float)  # 0-1, from camera sources only
    # 三级督查 (DESIGN 15): a finding of an inspection round carries the tier that found it and the inspector,
    # both from the inspector's account; None on every other report.
    inspection_tier: Mapped[Optional[int]] = mapped_column(Integer)
    inspector_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[Optional[str]] = mapped_column(String(96))
    lease_until: Mapped[Optional[datetime]] = mapped_column(UTC)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    facts: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    evaluated_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    points: Mapped[float] = mapped_column(Float, default=0)
    rebound_task_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("tasks.id", use_alter=True, name="fk_events_rebound_task_id"))  # 反弹: counts against that task's unit
    case_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("cases.id", use_alter=True, name="fk_events_case_id"), index=True)  # set when evaluated
    case: Mapped[Optional["Case"]] = relationship(foreign_keys=[case_id], back_populates="reports")
    firings: Mapped[list["Firing"]] = relationship(back_populates="event", order_by="Firing.id")
    tasks: Mapped[list["Task"]] = relationship(back_populates="event", order_by="Task.id", foreign_keys="Task.event_id")


class Firing(Base):
    """One rule that fired for one event, with the conditions and fact values that matched."""

    __tablename__ = "firings"
    # A rule fires at most once per event, version and phase (the intake and the filing evaluation, DESIGN 12;
    # `intake+filing` where the case was filed in the job that received the report, evaluated once as both).
    __table_args__ = (UniqueConstraint("event_id", "ruleset_version_id", "rule_key", "phase"),
                      Index("ix_firings_unit_time", "unit_id", "fired_at", "id"),
                      Index("ix_firings_rule_time", "rule_key", "rule_version", "fired_at", "id"),
                      Index("ix_firings_place_time", "category_id", "grid_id", "fired_at", "id"),
                      Index("ix_firings_time", "fired_at", "id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))  # found by the unique key's first column
    event: Mapped[Event] = relationship(back_populates="firings")
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    ruleset_version: Mapped[RulesetVersion] = relationship()
    rule_key: Mapped[str] = mapped_column(String(80))
    rule_version: Mapped[int] = mapped_column(Integer)
    list_kind: Mapped[str] = mapped_column(String(32))
    list_item: Mapped[Optional[str]] = mapped_column(String(32))
    matched: Mapped[list[Any]] = mapped_column(JSON)
    decisions: Mapped[list[Any]] = mapped_column(JSON)
    points: Mapped[float] = mapped_column(Float, default=0)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tasks.id"))
    fired_at: Mapped[datetime] = mapped_column(UTC)
    # Copied at recording (migration 0014) so the history browser filters on one indexed table:
    unit_id: Mapped[Optional[int]] = mapped_column(Integer)  # the unit of the task the firing asked for
    category_id: Mapped[Optional[int]] = mapped_column(Integer)
    grid_id: Mapped[Optional[int]] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16), default="intake", server_default="intake")  # intake | filing | intake+filing
    mac: Mapped[Optional[str]] = mapped_column(String(100), default=audit_mac)  # HMAC, engine/core/macs.py


class IntakePolicy(Base):
    """How reports of one source type enter a case (DESIGN 12): verified by the grid's collector first (核实), or
    filed directly; a camera files directly at or above `trusted_confidence`."""

    __tablename__ = "intake_policies"
    source_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    verify: Mapped[bool] = mapped_column(Boolean, default=True)
    trusted_confidence: Mapped[Optional[float]] = mapped_column(Float)

    def __str__(self) -> str:
        return self.source_type


class Case(Base):
    """One problem (DESIGN 13): the reports of one matter at one spot, their stage and the tasks they made.

    Its stage changes only through engine/cases/stages.py, which appends a CaseStageChange for each move."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_open", "category_id", "stage", "reported_at"),
                      Index("ix_cases_stage_due", "stage", "stage_due_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    category: Mapped[Category] = relationship()
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grids.id"))  # none: located outside every grid
    grid: Mapped[Optional[Grid]] = relationship()
    lat: Mapped[Optional[float]] = mapped_column(Float)
    lon: Mapped[Optional[float]] = mapped_column(Float)
    stage: Mapped[str] = mapped_column(String(24), default=CaseStage.REPORTED)
    stage_due_at: Mapped[Optional[datetime]] = mapped_column(UTC)  # the current stage's clock runs out then
    # 核实: the grid's collector who verifies, and what they found (finding, note, photos, suggested condition).
    verifier_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    verifier: Mapped[Optional[Person]] = relationship()
    verification: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    closing_condition: Mapped[Optional[str]] = mapped_column(String(32))  # 结案条件 the shift leader closed against
    frontage_holder_id: Mapped[Optional[int]] = mapped_column(ForeignKey("frontage_holders.id"), index=True)
    frontage_holder: Mapped[Optional[FrontageHolder]] = relationship()  # 门前三包: whose frontage it is at
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    lead_unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    lead_unit: Mapped[Optional[Unit]] = relationship()
    filing_condition: Mapped[Optional[str]] = mapped_column(String(32))
    reported_at: Mapped[datetime] = mapped_column(UTC)  # when its first report happened: the linking window's start
    opened_at: Mapped[datetime] = mapped_column(UTC)
    closed_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reports: Mapped[list[Event]] = relationship(back_populates="case", foreign_keys=[Event.case_id],
                                                order_by="Event.id")
    stages: Mapped[list["CaseStageChange"]] = relationship(order_by="CaseStageChange.id")
    tasks: Mapped[list["Task"]] = relationship(order_by="Task.id", foreign_keys="Task.case_id",
                                               back_populates="case")
    revisits: Mapped[list["CaseRevisit"]] = relationship(order_by="CaseRevisit.id")
    attachments: Mapped[list["CaseAttachment"]] = relationship(order_by="CaseAttachment.id")


class CaseRevisit(Base):
    """One revisit (回访) of a closed case: by staff on the phone, or the hotline platform's own result sent back.

    Append-only; recording one moves the case closed → revisited (engine/cases/revisits.py)."""

    __tablename__ = "case_revisits"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reached: Mapped[bool] = mapped_column(Boolean)  # False: 未联系上, left out of the rated cases
    rating: Mapped[Optional[str]] = mapped_column(String(24))  # satisfied | basically_satisfied | not_satisfied
    resolved: Mapped[Optional[bool]] = mapped_column(Boolean)  # the reporter calls the problem resolved
    comment: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # staff who called the reporter
    actor: Mapped[Optional["User"]] = relationship(foreign_keys=[actor_id], lazy="joined")
    source: Mapped[Optional[str]] = mapped_column(String(64))  # the hotline platform that sent its result
    at: Mapped[datetime] = mapped_column(UTC)


class CaseStageChange(Base):
    """Append-only: one row per move of a case from stage to stage."""

    __tablename__ = "case_stages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_stage: Mapped[Optional[str]] = mapped_column(String(24))
    to_stage: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTC)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[Optional["User"]] = relationship(foreign_keys=[actor_id], lazy="joined")
    comment: Mapped[str] = mapped_column(Text, default="")


class Task(Base):
    __tablename__ = "tasks"
    # One task per unit per report, and again each time its case is reopened after an unsatisfied revisit (回访).
    __table_args__ = (UniqueConstraint("event_id", "unit_id", "reopening"),
                      Index("ix_tasks_unit_deadline", "unit_id", "deadline_at"),
                      Index("ix_tasks_deadline", "deadline_at", "id"),  # the task list's pages by deadline
                      # the poller's resume round finds the few parked tasks without reading every open one
                      Index("ix_tasks_parked", "park_until", postgresql_where=text("status = 'parked'"),
                            sqlite_where=text("status = 'parked'")))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    event: Mapped[Event] = relationship(back_populates="tasks", foreign_keys=[event_id])
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    ruleset_version_id: Mapped[int] = mapped_column(ForeignKey("ruleset_versions.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    template_id: Mapped[int] = mapped_column(ForeignKey("task_templates.id"))
    template: Mapped[TaskTemplate] = relationship()
    timeline_id: Mapped[Optional[int]] = mapped_column(ForeignKey("timelines.id"))
    frontage_holder_id: Mapped[Optional[int]] = mapped_column(ForeignKey("frontage_holders.id"))
    frontage_holder: Mapped[Optional[FrontageHolder]] = relationship()
    rule_key: Mapped[str] = mapped_column(String(80))
    list_kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.DISPATCHED)
    limit_value: Mapped[float] = mapped_column(Float)
    limit_unit: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime] = mapped_column(UTC)
    points: Mapped[float] = mapped_column(Float, default=0)
    created_at: Mapped[datetime] = mapped_column(UTC)
    # State machine (engine/tasks.py): `version` guards every transition against concurrent writers.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    rework_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # failed checks (返工)
    extension_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # approved (延期)
    previous_status: Mapped[Optional[str]] = mapped_column(String(16))  # where a request or parking returns to
    park_until: Mapped[Optional[datetime]] = mapped_column(UTC)  # requested or approved end of parking (挂账)
    paused_since: Mapped[Optional[datetime]] = mapped_column(UTC)  # set while parked: the clock is stopped
    paused_seconds: Mapped[float] = mapped_column(Float, default=0, server_default="0")  # all parking so far
    # The person in the unit who handles it (我的任务): the grid's 责任人 at dispatch, or whom a leader chose.
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), index=True)
    assignee: Mapped[Optional[Person]] = relationship()
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), index=True)
    case: Mapped[Optional[Case]] = relationship(foreign_keys=[case_id], back_populates="tasks")
    reopening: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the case's reopening it serves
    firings: Mapped[list[Firing]] = relationship(order_by="Firing.id", foreign_keys=[Firing.task_id])
    transitions: Mapped[list["TaskTransition"]] = relationship(order_by="TaskTransition.id")


class TaskTransition(Base):
    """Append-only: one row per change of a task's state."""

    __tablename__ = "task_transitions"
    # a batch's rebound check reads the recent closures only; other transitions never enter this index
    __table_args__ = (Index("ix_task_transitions_closed", "at", postgresql_where=text("to_status = 'closed'"),
                            sqlite_where=text("to_status = 'closed'")),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    from_status: Mapped[Optional[str]] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[Optional["User"]] = relationship(foreign_keys=[actor_id], lazy="joined")
    at: Mapped[datetime] = mapped_column(UTC)
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    mac: Mapped[Optional[str]] = mapped_column(String(100), default=audit_mac)  # HMAC, engine/core/macs.py


class OutboxMessage(Base):
    """A side effect decided in the evaluation transaction, delivered later at least once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),
                      Index("ix_outbox_created_at", "created_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("events.id"))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tasks.id"))
    kind: Mapped[str] = mapped_column(String(32))  # task_dispatched | notify
    channel: Mapped[str] = mapped_column(String(16))  # inbox | webhook
    target: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    created_at: Mapped[datetime] = mapped_column(UTC)
    delivered_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class InboxAddress(Base):
    """One addressee an outbox row names — a unit, a tier, a person of the task's chain, a user — so that
    a user's messages (消息) are an indexed lookup; one row per addressee, never one per reader."""

    __tablename__ = "inbox_addresses"
    __table_args__ = (UniqueConstraint("outbox_id", "scope", "ref"),
                      Index("ix_inbox_addresses_reader", "scope", "ref", "outbox_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id"))
    scope: Mapped[str] = mapped_column(String(8))  # unit | tier | person | user | none (addressed to nobody here)
    ref: Mapped[int] = mapped_column(BigId)


class MessageRead(Base):
    """A user has read one inbox message: the mark is per user, the message is the outbox row."""

    __tablename__ = "message_reads"
    __table_args__ = (UniqueConstraint("user_id", "outbox_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    read_at: Mapped[datetime] = mapped_column(UTC)


class Role(Base):
    __tablename__ = "roles"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(ForeignKey("roles.code"))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Optional[Unit]] = relationship()
    tier_level: Mapped[Optional[int]] = mapped_column(Integer)  # a supervisor's tier (1 squad, 2 inspection, 3 bureau)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTC)
    # Sign-in delay (engine/accounts/lockout.py): failures counted within a window; past the allowance each
    # further attempt waits until locked_until, twice as long as the last.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_login_window_start: Mapped[Optional[datetime]] = mapped_column(UTC)
    locked_until: Mapped[Optional[datetime]] = mapped_column(UTC)
    # Part of the session id: logout, deactivation, a reset or a role change bumps it, so older cookies stop.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by a password reset: every page leads to the change form, and the API refuses, until changed.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The user's chosen interface language (web/i18n.py: after ?lang=, before the session).
    language: Mapped[Optional[str]] = mapped_column(String(16))

    # Flask-Login protocol, kept here so web/ needs no wrapper class.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The id and session generation: a cookie from before a logout or deactivation names an old one."""
        return f"{self.id}:{self.session_epoch or 0}"

    def __str__(self) -> str:
        return self.username


class UnknownSignIn(Base):
    """Failed sign-ins under a username no account has, counted like an account's (engine/accounts/lockout.py),
    so that the wait after repeated failures never tells whether a username exists. Keyed by a digest of the
    name as typed (accounts are looked up exactly so); rows quiet for the lockout window are deleted."""

    __tablename__ = "unknown_sign_ins"
    name_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTC, index=True)
    waits_until: Mapped[Optional[datetime]] = mapped_column(UTC)


class SignInFailure(Base):
    """The latest failed sign-in on an account from one client address: while the account waits, only the
    addresses that failed on it wait, so a guesser cannot keep the real user out (engine/accounts/lockout.py).
    Rows quiet for the lockout window are deleted."""

    __tablename__ = "sign_in_failures"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_failure_at: Mapped[datetime] = mapped_column(UTC, index=True)


#: The datums a source, an import or the map tiles may declare (DESIGN 16); points are stored in WGS-84.
DATUMS = ("wgs84", "gcj02", "bd09")


class ApiToken(Base):
    """Bearer tokens, stored as SHA-256 digests: intake tokens (scoped to a source) and user tokens."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # intake | user
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    source: Mapped[Optional[str]] = mapped_column(String(64))
    source_type: Mapped[Optional[str]] = mapped_column(String(32))
    # The datum an intake source sends its points in (wgs84 | gcj02 | bd09); converted to WGS-84 at intake.
    crs: Mapped[str] = mapped_column(String(8), default="wgs84", server_default="wgs84")
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    user: Mapped[Optional[User]] = relationship()
    created_at: Mapped[datetime] = mapped_column(UTC)
    expires_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class Holiday(Base):
    """A statutory holiday (day off) or a make-up working day (调休上班) in the working-time calendar."""

    __tablename__ = "holidays"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    name: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(32), default="admin")  # chinese-calendar | admin


class CalendarYear(Base):
    """A year whose holidays and make-up days are known; other years count Monday–Friday, with a warning."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), default="admin")
    recorded_at: Mapped[datetime] = mapped_column(UTC)


class TaskStep(Base):
    """One step of a task's timeline (remind, order handling, escalate to tier N, list publicly),
    due at a computed instant and run once by the escalation poller unless the task got far enough."""

    __tablename__ = "task_steps"
    __table_args__ = (UniqueConstraint("task_id", "position"), Index("ix_task_steps_due", "status", "due_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    position: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))  # remind | order | escalate | list_publicly
    tier_level: Mapped[Optional[int]] = mapped_column(Integer)  # the body's level (its board); None: the unit
    unless_state: Mapped[Optional[str]] = mapped_column(String(16))
    # The step's anchor as planned, so an extension can plan it again from the new deadline.
    anchor: Mapped[Optional[str]] = mapped_column(String(16))
    share: Mapped[Optional[float]] = mapped_column(Float)
    offset_minutes: Mapped[Optional[float]] = mapped_column(Float)
    due_at: Mapped[datetime] = mapped_column(UTC)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | skipped
    ran_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    task_status: Mapped[Optional[str]] = mapped_column(String(16))  # the task's state when the step ran
    # The steps planned after this one, not yet rows (engine/handling/ladder.py `first_step`): the poller writes
    # the next when this one runs, so a task closed before its ladder starts never wrote the rest (0054).
    later: Mapped[Optional[list[Any]]] = mapped_column(JSON(none_as_null=True))


class Digest(Base):
    """A unit's daily readiness digest (open and overdue tasks), sent once per campaign, unit and day."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("campaign_id", "unit_id", "day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    day: Mapped[date] = mapped_column(Date)
    open_count: Mapped[int] = mapped_column(Integer)
    overdue_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTC)


class AuditSeal(Base):
    """A sealed segment of an append-only table: the hash of its rows chained to the previous seal.

    One sealer writes seals in id order; writers of the rows themselves are never serialised."""

    __tablename__ = "audit_seals"
    __table_args__ = (UniqueConstraint("kind", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # firings | task_transitions
    seq: Mapped[int] = mapped_column(Integer)
    first_id: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTC)
    row_digests: Mapped[Optional[list[Any]]] = mapped_column(JSON)  # [[id, sha256], ...]: lets verify name the row
    key: Mapped[Optional[str]] = mapped_column(String(40))  # <algorithm>:<key id> of a keyed seal (0049)


class Supervision(Base):
    """A supervisor's action on a task at one tier: urge (催办), order with a reply (督办), list publicly."""

    __tablename__ = "supervisions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    tier_level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # urge | order | list_publicly
    message: Mapped[str] = mapped_column(Text)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # None: a rule escalated it
    creator: Mapped[Optional["User"]] = relationship(foreign_keys=[created_by])
    created_at: Mapped[datetime] = mapped_column(UTC)
    reply_due_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    reply_text: Mapped[Optional[str]] = mapped_column(Text)
    replied_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    replied_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class Recipient(Base):
    """Who receives outbox messages outside the app: a unit's, a tier's or the on-call channel address, or a person's
    own (scope `person`: where an alert for the person's unit goes outside office hours while they are on duty)."""

    __tablename__ = "recipients"
    __table_args__ = (Index("ix_recipients_scope", "scope", "enabled"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    scope: Mapped[str] = mapped_column(String(16))  # unit | tier | oncall | source | person
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Optional[Unit]] = relationship()
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), index=True)  # person scope
    person: Mapped[Optional[Person]] = relationship()
    campaign_id: Mapped[Optional[int]] = mapped_column(ForeignKey("campaigns.id"))  # tier scope; None: every campaign
    campaign: Mapped[Optional[Campaign]] = relationship()
    tier_level: Mapped[Optional[int]] = mapped_column(Integer)
    source: Mapped[Optional[str]] = mapped_column(String(64))  # source scope: the intake source replies go back to
    channel: Mapped[str] = mapped_column(String(16))  # webhook | wecom | dingtalk | email | aliyun_sms | tencent_sms
    # URL (a robot's carries its key), e-mail address or mobile number (E.164); both stored sealed
    address: Mapped[str] = mapped_column(SealedText)
    secret: Mapped[Optional[str]] = mapped_column(SealedText)  # HMAC key or DingTalk sign secret
    language: Mapped[str] = mapped_column(String(8), default="zh")  # zh | en
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return f"{self.name or self.channel} ({self.channel}: {self.address})"


class Delivery(Base):
    """One outbox message to one recipient: retried on its own, so a retry resends only what failed."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("outbox_id", "recipient_id"), Index("ix_deliveries_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbox.id"))
    message: Mapped[OutboxMessage] = relationship()
    recipient_id: Mapped[int] = mapped_column(ForeignKey("recipients.id"))
    recipient: Mapped[Recipient] = relationship()
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    delivered_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class ImportRun(Base):
    """One uploaded file of events: its column mapping, then the import's progress and its report."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(64))
    source_type: Mapped[str] = mapped_column(String(32), default="hotline")
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    crs: Mapped[str] = mapped_column(String(8), default="wgs84", server_default="wgs84")  # the file's datum
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="uploaded")  # uploaded|queued|running|cancelling|cancelled|done|failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTC)


class AssessmentConfig(Base):
    """A campaign's composite-score weights and peer groups (unit type -> group) for the rankings, and whose tasks
    carry a case's points when units cooperate on it."""

    __tablename__ = "assessment_configs"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), unique=True)
    campaign: Mapped[Campaign] = relationship()
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    peer_groups: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Whose tasks carry a case's points (engine/cases/cooperation.py): `lead` (the unit the points row named) or
    # `shared` (split equally among the lead's and the cooperating units' tasks).
    cooperation_points: Mapped[str] = mapped_column(String(16), default="lead", server_default="lead")
    # 响应率: the lead unit signs its task within this many working hours of dispatch (the campaign's calendar).
    response_hours: Mapped[float] = mapped_column(Float, default=2.0, server_default="2")
    # 满意率: what one 基本满意 counts for against one 满意 (1.0: the same).
    basic_satisfaction_weight: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    # 扣完为止: the most each deduction (points_lost, rebounds) may take off; missing keys use the defaults.
    deduction_caps: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # Units with nothing dispatched in the period (无案件): unranked | after | last (engine/assessment/ranking.py).
    no_case_placement: Mapped[str] = mapped_column(String(16), default="unranked", server_default="unranked")


class SanctionRule(Base):
    """A bottom-N rule (this month, K consecutive months or quarters, K months in a year) and its sanction."""

    __tablename__ = "sanction_rules"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    campaign: Mapped[Campaign] = relationship()
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # month | consecutive_months | consecutive_quarters | months_in_year
    bottom_n: Mapped[int] = mapped_column(Integer, default=3)
    periods: Mapped[int] = mapped_column(Integer, default=1)  # K
    peer_group: Mapped[Optional[str]] = mapped_column(String(32))  # None: every peer group
    sanction: Mapped[str] = mapped_column(String(32))  # self_criticism | interview | criticism_bulletin | accountability | elimination
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.code


class SanctionRun(Base):
    """The sanctions list of one campaign for one period was produced (once: the job is idempotent)."""

    __tablename__ = "sanction_runs"
    __table_args__ = (UniqueConstraint("campaign_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    period: Mapped[str] = mapped_column(String(16))  # 2026-11 | 2026-Q4
    produced_at: Mapped[datetime] = mapped_column(UTC)
    entries: Mapped[list["SanctionDue"]] = relationship(back_populates="run", order_by="SanctionDue.id")


class SanctionDue(Base):
    """A unit due for a sanction in a period, with the ranks (period -> rank of size) that caused it."""

    __tablename__ = "sanctions_due"
    __table_args__ = (UniqueConstraint("run_id", "rule_id", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sanction_runs.id"))
    run: Mapped[SanctionRun] = relationship(back_populates="entries")
    rule_id: Mapped[int] = mapped_column(ForeignKey("sanction_rules.id"))
    rule: Mapped[SanctionRule] = relationship()
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    sanction: Mapped[str] = mapped_column(String(32))
    ranks: Mapped[list[Any]] = mapped_column(JSON)


class SanctionRecord(Base):
    """What was done about a sanction (约谈, 通报批评, 问责, 末位淘汰): the unit, the persons it targets (its 主要
    and 分管负责人), when, who attended, the minutes, the commitments made, the follow-up and its result."""

    __tablename__ = "sanction_records"
    __table_args__ = (Index("ix_sanction_records_unit_period", "campaign_id", "unit_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    campaign: Mapped[Campaign] = relationship()
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    unit: Mapped[Unit] = relationship()
    period: Mapped[str] = mapped_column(String(16))  # the ranking period that caused it: 2026-11 | 2026-Q4
    sanction: Mapped[str] = mapped_column(String(32))  # engine/assessment/sanctions.py SANCTIONS
    due_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sanctions_due.id"))  # the kept list's entry, if any
    principal_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))  # 主要负责人
    principal: Mapped[Optional[Person]] = relationship(foreign_keys=[principal_id])
    in_charge_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))  # 分管负责人
    in_charge: Mapped[Optional[Person]] = relationship(foreign_keys=[in_charge_id])
    held_on: Mapped[date] = mapped_column(Date)
    attendees: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    commitments: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[str] = mapped_column(Text, default="")
    follow_up_result: Mapped[str] = mapped_column(String(16), default="pending")  # pending | met | not_met
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTC)


class Evidence(Base):
    """A photo a unit uploaded for a task, or a collector for a case's 核实: stored by content hash, with what
    its EXIF says."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_task", "task_id"), Index("ix_evidence_case", "case_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tasks.id"))
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    field: Mapped[str] = mapped_column(String(64))  # the template's photo field
    stage: Mapped[str] = mapped_column(String(16))  # before | after
    uploader_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    stored_name: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[Optional[int]] = mapped_column(Integer)
    height: Mapped[Optional[int]] = mapped_column(Integer)
    taken_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    lat: Mapped[Optional[float]] = mapped_column(Float)
    lon: Mapped[Optional[float]] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTC)
    # A photo of an inspection finding (三级督查), taken before its case exists.
    finding_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("inspection_findings.id"), index=True)


class CaseAttachment(Base):
    """A document or picture that came with a case (交办 materials): checked by its content, stored once by its
    SHA-256 under the evidence folder, shown to whoever may see the case."""

    __tablename__ = "case_attachments"
    __table_args__ = (Index("ix_case_attachments_case", "case_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(200))  # attachments/<sha256>.<extension>
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploader_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC)


class ChangeLogEntry(Base):
    """One insert, update or delete of configuration or master data: who, when, through what, before/after."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_at", "at", "id"), Index("ix_change_log_object", "object_type", "object_id"))
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTC)
    user_id: Mapped[Optional[int]] = mapped_column(Integer)
    username: Mapped[Optional[str]] = mapped_column(String(64))
    interface: Mapped[str] = mapped_column(String(16))  # admin | api | cli | web | system
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[Optional[str]] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))  # insert | update | delete
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    campaign_id: Mapped[Optional[int]] = mapped_column(Integer)
    mac: Mapped[Optional[str]] = mapped_column(String(100), default=audit_mac)  # HMAC, engine/core/macs.py


class BulletinIssue(Base):
    """One published weekly bulletin (周通报 第N期): its content frozen as JSON with its sha256 and the PDFs as
    sent, kept in the row so the issue, its hash and its files share one transaction and one backup. Never
    regenerated: a correction is a new issue, with the next number, that names the one it corrects."""

    __tablename__ = "bulletin_issues"
    __table_args__ = (UniqueConstraint("campaign_id", "number"), UniqueConstraint("campaign_id", "scheduled_for"))
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    campaign: Mapped[Campaign] = relationship()
    number: Mapped[int] = mapped_column(Integer)  # 第N期, sequential per campaign
    period: Mapped[str] = mapped_column(String(16))  # the week covered: 2026-W48
    scheduled_for: Mapped[Optional[str]] = mapped_column(String(16))  # the week the scheduler published; None: a correction
    period_start: Mapped[datetime] = mapped_column(UTC)
    period_end: Mapped[datetime] = mapped_column(UTC)
    generated_at: Mapped[datetime] = mapped_column(UTC)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    pdf_zh: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    pdf_en: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    corrects_id: Mapped[Optional[int]] = mapped_column(ForeignKey("bulletin_issues.id"))
    corrects: Mapped[Optional["BulletinIssue"]] = relationship(remote_side=[id])
    correction_reason: Mapped[Optional[str]] = mapped_column(Text)
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))  # None: the scheduler
    issued_by: Mapped[Optional["User"]] = relationship()


class InspectionPlan(Base):
    """What one tier of 三级督查 inspects and how often (DESIGN 15): 中队 its own grids daily, 督察中队 from the
    hotspot and overdue lists, 局领导 by special topic. `scope` holds grid, street and category codes and the
    work lists; more kinds (point types) may join it without a migration."""

    __tablename__ = "inspection_plans"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    campaign: Mapped[Campaign] = relationship()
    code: Mapped[str] = mapped_column(String(32))
    tier_level: Mapped[int] = mapped_column(Integer)  # 1 中队内部全面督查, 2 督察中队定向督查, 3 局领导专项督查
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    frequency: Mapped[str] = mapped_column(String(16), default="daily")  # engine/supervision/inspection.py FREQUENCIES
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"grids", "streets", "categories", "worklists"}
    requires_location: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class InspectionRound(Base):
    """One inspection round (一次督查): who went, under which plan and tier, from when to when, and where (its
    track of positions, each with where the position came from)."""

    __tablename__ = "inspection_rounds"
    __table_args__ = (Index("ix_inspection_rounds_started", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plans.id"))
    plan: Mapped[InspectionPlan] = relationship()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    inspector: Mapped["User"] = relationship()
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("units.id"))  # the inspector's unit at the start
    tier_level: Mapped[int] = mapped_column(Integer)  # from the account at the start, never from the payload
    started_at: Mapped[datetime] = mapped_column(UTC)
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTC)
    # [{"at": iso, "lat", "lon", "source": gps|exif|pin, "grid": code|None}], in the order recorded
    track: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    findings: Mapped[list["InspectionFinding"]] = relationship(back_populates="round",
                                                               order_by="InspectionFinding.id")


class InspectionFinding(Base):
    """A problem found on a round: its report (an Event of source type inspection) and where its position came
    from (the phone's GPS, a photo's EXIF, or a pin set by hand)."""

    __tablename__ = "inspection_findings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(BigId, ForeignKey("inspection_rounds.id"), index=True)
    round: Mapped[InspectionRound] = relationship(back_populates="findings")
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"), unique=True)
    event: Mapped[Event] = relationship()
    street_id: Mapped[Optional[int]] = mapped_column(ForeignKey("streets.id"))
    street: Mapped[Optional[Street]] = relationship()
    location_source: Mapped[Optional[str]] = mapped_column(String(8))  # gps | exif | pin; None: no position
    created_at: Mapped[datetime] = mapped_column(UTC)
    photos: Mapped[list[Evidence]] = relationship(foreign_keys=[Evidence.finding_id], order_by="Evidence.id")


class SecurityAuditEntry(Base):
    """One security event for the audit administrator (等保 2.0): a sign-in or its failure, a sign-out, an
    account change, an export, a view of a reporter's phone; who, from which address, when, what."""

    __tablename__ = "security_audit_log"
    __table_args__ = (Index("ix_security_audit_log_at", "at", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTC)
    kind: Mapped[str] = mapped_column(String(24))  # engine.audit.security_log.KINDS
    user_id: Mapped[Optional[int]] = mapped_column(Integer)  # no foreign key: the row outlives nothing it names
    username: Mapped[Optional[str]] = mapped_column(String(64))  # as typed, for a failed sign-in
    address: Mapped[Optional[str]] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    subject: Mapped[Optional[str]] = mapped_column(String(128))  # the record concerned, e.g. "event 12"
