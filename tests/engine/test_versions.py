"""Frozen bundles: a timeline-only change makes a new content hash, a task takes the template version and
timeline steps frozen in its ruleset version (live ones for a version published before bundles), and
rollback from the CLI republishes an older version's content."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.evaluation.context import active_contexts
from engine.authoring.drafts import draft_view, publish
from engine.handling.ladder import Clock, plan_steps
from engine.core.models import Campaign, RulesetVersion, TaskTemplate, Timeline
from engine.authoring.versions import draft_against_active


def _campaign(session) -> Campaign:
    return session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))


def test_the_bundle_holds_what_the_rules_name(session):
    campaign = _campaign(session)
    version = publish(session, campaign, comment="bundle contents")
    bundle = version.bundle
    assert [(s["anchor"], s["share"], s["after_minutes"]) for s in bundle["timelines"]["zt-ladder"]["steps"]][:3] == [
        ("share", 0.8, 0.0), ("at", None, 0.0), ("after", None, 240.0)]
    assert {"default", "hotspot-ladder"} <= set(bundle["timelines"])  # the campaign's default ladder is frozen too
    assert {"zt-clearance", "sm-rectify", "night-patrol"} <= set(bundle["templates"])
    assert [(t["level"], t["rung"]) for t in bundle["tiers"]] == [(1, 1), (2, 2), (3, 3), (4, 1), (5, 2), (6, 3)]
    assert bundle["tiers"][3]["unit_types"] == ["department", "subdistrict"]
    assert {r["key"] for r in bundle["lists"]["zero_tolerance"]} >= {"ZT1", "ZT2"}
    assert draft_view(session, campaign).content_hash == version.content_hash
    session.rollback()


def test_a_task_keeps_the_template_version_and_timeline_steps_of_its_ruleset_version(session):
    campaign = _campaign(session)
    version = publish(session, campaign, comment="frozen steps")
    frozen_template = version.bundle["templates"]["zt-clearance"]
    timeline = session.scalar(select(Timeline).where(Timeline.campaign_id == campaign.id, Timeline.code == "zt-ladder"))
    timeline.steps[2].after_minutes = 5
    session.flush()
    draft, active, changes = draft_against_active(session, campaign)
    assert active.id == version.id and draft.content_hash != version.content_hash  # a timeline-only change counts
    assert [(c.section, c.subject, c.path, c.old, c.new) for c in changes] == [
        ("timelines", "zt-ladder", "steps[2].after_minutes", 240.0, 5.0)]

    newest = session.scalar(select(func.max(TaskTemplate.version)).where(TaskTemplate.code == "zt-clearance")) + 1
    session.add(TaskTemplate(code="zt-clearance", version=newest, name_zh="新版", name_en="Newer", fields=[]))
    session.flush()
    ctx = next(c for c in active_contexts(session) if c.id == campaign.id)
    now = datetime.now(timezone.utc)

    template, steps = session.get(TaskTemplate, ctx.template_id("zt-clearance")), ctx.steps("zt-ladder")
    assert (template.version, ctx.timeline_id("zt-ladder")) == (frozen_template, timeline.id)
    assert [s.after_minutes for s in steps][2:4] == [240.0, 1440.0]
    assert [s.position for s in steps] == list(range(len(steps)))
    deadline = now + timedelta(hours=2)
    rows = plan_steps(None, now, deadline, Clock.of(ctx.calendar, 2, "urgent_hours", True), steps)
    assert [round((r["due_at"] - now).total_seconds() / 60) for r in rows][:3] == [96, 120, 360]

    ctx.bundle = None  # a version published before bundles were frozen: live template and steps
    template, steps = session.get(TaskTemplate, ctx.template_id("zt-clearance")), ctx.steps("zt-ladder")
    assert (template.version, steps[2].after_minutes) == (newest, 5)
    session.rollback()


def test_rollback_from_the_cli_republishes_the_content_of_an_older_version(env, factory):
    from app.cli import main

    with factory() as session:
        active = session.get(RulesetVersion, _campaign(session).published_version_id)
    result = CliRunner().invoke(main, ["rules", "rollback", "--campaign", "chuangcheng-2026",
                                       "--to", str(active.number), "--comment", "same content again"])
    assert result.exit_code == 0, result.output
    with factory() as session:
        campaign = _campaign(session)
        now_active = session.get(RulesetVersion, campaign.published_version_id)
    assert now_active.number > active.number and now_active.content_hash == active.content_hash
    assert now_active.comment == "same content again"  # the reason alone: the version it went to is shown beside it
    assert f"published version {now_active.number}" in result.output
    missing = CliRunner().invoke(main, ["rules", "rollback", "--campaign", "chuangcheng-2026", "--to", "99999", "--comment", "试一下"])
    assert missing.exit_code != 0 and "no published version 99999" in missing.output
