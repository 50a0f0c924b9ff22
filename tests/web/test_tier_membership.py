"""Tier membership decides which supervision board a supervisor works: their own membership first, then
their unit's, then the level on their account. Tiers are part of the published bundle, so a membership
edited in the admin takes effect when the campaign is published (and a rollback takes it back)."""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts.users import create_user
from engine.authoring.drafts import publish
from engine.core.models import Campaign, SupervisionTier, TierMember, Unit
from engine.supervision.board import tier_for


def _tiers(session) -> tuple[Campaign, dict[int, SupervisionTier]]:
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    return campaign, {t.level: t for t in session.scalars(
        select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id))}


def test_membership_decides_the_board_once_published(session):
    campaign, tiers = _tiers(session)
    bureau = session.scalar(select(Unit).where(Unit.code == "CGJ"))
    user = create_user(session, "tier-sup", "supervisor", "civicrules-demo-pw", unit_code=None)
    session.commit()
    assert tier_for(session, user) is None  # no tier anywhere: the board refuses them
    user.unit_id = bureau.id  # the bureau is a member of tier 3 in the demo's published version
    session.commit()
    assert tier_for(session, user) == 3
    member = TierMember(tier=tiers[1], user=user)  # their own membership wins over their unit's ...
    session.add(member)
    session.commit()
    assert tier_for(session, user) == 3  # ... once published: until then it is a draft
    publish(session, campaign, comment="tier 1 member")
    session.commit()
    assert tier_for(session, user) == 1
    session.delete(member)  # removing the membership takes effect once published too
    session.commit()
    session.expire_all()  # the tier's members collection was loaded with the member in it
    publish(session, campaign, comment="tier 1 member removed")
    session.commit()
    assert tier_for(session, user) == 3


def test_a_member_supervisor_sees_their_board(app, session, csrf_on, login):
    campaign, tiers = _tiers(session)
    name = "tier-sup"
    user = create_user(session, name, "supervisor", "civicrules-demo-pw", unit_code=None)
    member = TierMember(tier=tiers[2], user=user)
    session.add(member)
    session.commit()
    client = app.test_client()
    login(client, name, "civicrules-demo-pw")
    assert client.get("/supervision").status_code == 403  # saved, not yet published
    publish(session, campaign, comment="tier 2 member")
    session.commit()
    page = client.get("/supervision", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Supervision board · Inspection squad" in page.get_data(as_text=True)
