"""What evaluation needs of one active campaign under one compiled ruleset: its context, read again when its
tables change, with the version's frozen rules and bundle cached per process (versions never change)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.cases.cooperation import DEFAULT_COOPERATION_POINTS
from engine.core.models import AssessmentConfig, Campaign, RulesetVersion, SupervisionTier, TaskTemplate, Timeline
from engine.core.db import kept_while_unchanged
from engine.core.worktime import WorkCalendar, before_inspection, calendar_for, holiday_table
from engine.handling.ladder import DEFAULT_LADDER, Body, FrozenStep
from rules.compiler import CompiledRuleset
from rules.list_facts import ListRows, rows_by_category


Templates = dict[str, dict[int, int]]  # template code -> version -> row id
LiveTimelines = dict[str, tuple[int, list[FrozenStep]]]  # timeline code -> (row id, its steps today)


@dataclass
class CampaignContext:
    """What evaluation needs of one active campaign, kept while its tables do not change."""

    id: int
    timezone: ZoneInfo
    version_id: int
    version_number: int
    compiled: CompiledRuleset
    inspection_starts_at: datetime | None
    inspection_ends_at: datetime | None
    calendar: WorkCalendar
    continuous_time: bool = False
    #: the version's zero-tolerance and strict-management rows by category: what the list facts test per event
    list_rows: ListRows = field(default_factory=dict)
    bundle: dict[str, Any] | None = None  # the version's frozen timelines and template versions (None: live)
    templates: Templates = field(default_factory=dict)
    timelines: LiveTimelines = field(default_factory=dict)
    live_bodies: list[Body] = field(default_factory=list)  # the campaign's tiers today (a version without a bundle)
    #: whose tasks carry a case's points: `lead` or `shared` (AssessmentConfig.cooperation_points)
    cooperation_points: str = DEFAULT_COOPERATION_POINTS
    #: what `bodies` and `steps` read, with the bundle they read it from: a batch reads each once
    _read: dict[Any, tuple[dict[str, Any] | None, tuple]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tag(self) -> str:
        return self.tag_as("v")

    def tag_as(self, prefix: str) -> str:
        """The name the compiled version is registered under in durable_rules, apart per prefix."""
        return f"{prefix}{self.version_id}_{self.compiled.content_hash[:10]}"

    def due(self, start: datetime, value: float, unit: str, at_point: bool = False) -> datetime:
        """A task's deadline from `start`; at an inspection point never after the inspection starts."""
        due = self.calendar.deadline(start, value, unit, self.continuous_time)
        return before_inspection(due, start, self.inspection_starts_at) if at_point else due

    def template_version(self, code: str) -> int | None:
        """The template version frozen in this ruleset version; None for a version without a bundle."""
        return ((self.bundle or {}).get("templates") or {}).get(code)

    def template_id(self, code: str) -> int:
        """The template row a task is made from: the frozen version, else the newest."""
        versions = self.templates[code]
        frozen = versions.get(self.template_version(code))
        return frozen if frozen is not None else versions[max(versions)]

    def timeline_id(self, code: str | None) -> int | None:
        """The live Timeline row a task points at (its steps may be the frozen ones)."""
        live = self.timelines.get(code or "")
        return live[0] if live is not None else None

    def knows(self, code: str | None) -> bool:
        """Whether the campaign has this timeline, frozen in the version or live."""
        return bool(code) and (code in ((self.bundle or {}).get("timelines") or {}) or code in self.timelines)

    def ladder_code(self, *codes: str | None) -> str | None:
        """The first of `codes` the campaign has (the list row's, the category's, the campaign's default)."""
        return next((code for code in codes if self.knows(code)), None)

    def steps(self, code: str | None) -> list[FrozenStep]:
        """The timeline's steps as frozen in the bundle, else the live ones (a version published before
        bundles existed), else the default ladder: every task has one (DESIGN 14). Read once per code and batch."""
        read = self._read.get(("steps", code))
        if read is None or read[0] is not self.bundle:
            read = self._read["steps", code] = (self.bundle, tuple(self._read_steps(code)))
        return list(read[1])

    def _read_steps(self, code: str | None) -> list[FrozenStep]:
        frozen = ((self.bundle or {}).get("timelines") or {}).get(code or "")
        if frozen is not None:
            return [FrozenStep.frozen(step) for step in frozen["steps"]]
        live = self.timelines.get(code or "")
        return list(live[1]) if live is not None and live[1] else list(DEFAULT_LADDER)

    @property
    def bodies(self) -> tuple[Body, ...]:
        """The supervising bodies as frozen in the version (else today's): whom each step goes to. Read once per
        bundle: every task of a batch takes the same (and body_level's cache knows them by it)."""
        read = self._read.get("bodies")
        if read is None or read[0] is not self.bundle:
            if self.bundle is not None and "tiers" in self.bundle:
                read = self._read["bodies"] = (self.bundle, tuple(Body.frozen(tier) for tier in self.bundle["tiers"]))
            else:
                read = self._read["bodies"] = (self.bundle, tuple(self.live_bodies))
        return read[1]


_compiled_cache: dict[tuple[int, str], tuple[CompiledRuleset, dict[str, Any] | None]] = {}


def task_sources(session: Session, campaign_ids: list[int]) -> tuple[Templates, dict[int, LiveTimelines]]:
    """Every template version's row id, and the campaigns' live timelines with their steps: two queries."""
    templates: Templates = {}
    for row_id, code, version in session.execute(select(TaskTemplate.id, TaskTemplate.code, TaskTemplate.version)):
        templates.setdefault(code, {})[version] = row_id
    timelines: dict[int, LiveTimelines] = {}
    for timeline in session.scalars(select(Timeline).where(Timeline.campaign_id.in_(campaign_ids))
                                    .options(selectinload(Timeline.steps))):
        timelines.setdefault(timeline.campaign_id, {})[timeline.code] = (
            timeline.id, [FrozenStep.of(step) for step in timeline.steps])
    return templates, timelines


def cooperation_rules(session: Session, campaign_ids: list[int]) -> dict[int, str]:
    """Each campaign's choice of whose tasks carry a case's points, in one query; a campaign without an
    assessment configuration has none here (the default applies)."""
    return dict(session.execute(select(AssessmentConfig.campaign_id, AssessmentConfig.cooperation_points)
                                .where(AssessmentConfig.campaign_id.in_(campaign_ids))).all())


def context_for(session: Session, campaign: Campaign, version_id: int, version_number: int,
                compiled: CompiledRuleset, bundle: dict[str, Any] | None = None,
                sources: tuple[Templates, dict[int, LiveTimelines]] | None = None,
                cooperation: dict[int, str] | None = None) -> CampaignContext:
    """What evaluation needs of one campaign under one compiled ruleset (published or a draft); `sources` and
    `cooperation` when the caller read them for several campaigns at once."""
    templates, timelines = sources if sources is not None else task_sources(session, [campaign.id])
    if cooperation is None:
        cooperation = cooperation_rules(session, [campaign.id])
    return CampaignContext(
        id=campaign.id, timezone=ZoneInfo(campaign.timezone), version_id=version_id,
        version_number=version_number, compiled=compiled,
        inspection_starts_at=campaign.inspection_starts_at, inspection_ends_at=campaign.inspection_ends_at,
        calendar=calendar_for(session, campaign.timezone, campaign.office_hours),
        continuous_time=campaign.continuous_time, list_rows=_list_rows(compiled), bundle=bundle, templates=templates,
        timelines=timelines.get(campaign.id, {}),
        live_bodies=[] if bundle is not None and "tiers" in bundle else [Body.of(tier) for tier in session.scalars(
            select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id))],
        cooperation_points=cooperation.get(campaign.id) or DEFAULT_COOPERATION_POINTS)


_list_rows_cache: dict[str, ListRows] = {}


def _list_rows(compiled: CompiledRuleset) -> ListRows:
    """The version's list rows by category, built once per content (versions never change; a draft is built anew)."""
    if not compiled.content_hash:
        return rows_by_category(compiled.rules.values())
    found = _list_rows_cache.get(compiled.content_hash)
    if found is None:
        if len(_list_rows_cache) > 64:
            _list_rows_cache.clear()  # a long-lived process publishing often keeps memory flat
        found = _list_rows_cache[compiled.content_hash] = rows_by_category(compiled.rules.values())
    return found


def _frozen_version(session: Session, version_id: int,
                    version_hash: str) -> tuple[CompiledRuleset, dict[str, Any] | None]:
    """A version's compiled rules and bundle, read from the database once per process (versions never change)."""
    key = (version_id, version_hash)  # the hash too: SQLite may reuse the id of a version rolled back in a test
    found = _compiled_cache.get(key)
    if found is None:
        version = session.get(RulesetVersion, version_id)
        compiled = CompiledRuleset.from_dict(version.rules, version.compiled, version.content_hash)
        found = _compiled_cache[key] = (compiled, version.bundle)
    return found


def compiled_version(version: RulesetVersion) -> CompiledRuleset:
    key = (version.id, version.content_hash)
    if key not in _compiled_cache:
        _compiled_cache[key] = (CompiledRuleset.from_dict(version.rules, version.compiled, version.content_hash),
                                version.bundle)
    return _compiled_cache[key][0]


#: What a campaign's context is read from (its published version's content never changes: publishing moves the
#: campaign's row). The holidays are there for the calendar.
CONTEXT_TABLES = ("campaigns", "task_templates", "timelines", "timeline_steps", "assessment_configs",
                  "supervision_tiers", "holidays", "calendar_years")
#: bind URL -> (stamp, contexts) of the last batch: building them again cost about 5 % of a drain's time.
_contexts: dict[str, tuple[tuple, list[CampaignContext]]] = {}


def active_contexts(session: Session) -> list[CampaignContext]:
    """Every active campaign with its published version. On PostgreSQL the contexts are kept per database and
    built again only when their tables' stamp moves (one short query per batch); elsewhere built every batch."""
    if session.get_bind().dialect.name != "postgresql":
        return _read_contexts(session)
    return list(kept_while_unchanged(session, CONTEXT_TABLES, _contexts, lambda: _read_fresh_contexts(session)))


def _read_fresh_contexts(session: Session) -> list[CampaignContext]:
    holiday_table(session, fresh=True)  # the calendar as the tables hold it now, not as read up to 30 s ago
    return _read_contexts(session)


def _read_contexts(session: Session) -> list[CampaignContext]:
    """A batch reads only the version's id and hash; the frozen rules and bundle come from the process's cache."""
    rows = session.execute(select(Campaign, RulesetVersion.id, RulesetVersion.number, RulesetVersion.content_hash)
                           .join(RulesetVersion, RulesetVersion.id == Campaign.published_version_id)
                           .where(Campaign.status == "active").order_by(Campaign.id)).all()
    ids = [campaign.id for campaign, *_ in rows]
    sources, cooperation = task_sources(session, ids), cooperation_rules(session, ids)
    contexts = [context_for(session, campaign, version_id, number, *_frozen_version(session, version_id, version_hash),
                            sources=sources, cooperation=cooperation)
                for campaign, version_id, number, version_hash in rows]
    for stale in set(_compiled_cache) - {(c.version_id, c.compiled.content_hash) for c in contexts}:
        del _compiled_cache[stale]  # a long-lived process keeps only what is active: memory stays flat over publishes
    return contexts
