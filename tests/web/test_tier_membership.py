"""Tier membership set in the admin decides which supervision board a supervisor works: their own
membership first, then their unit's, then the level on their account."""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import create_user
from engine.models import Campaign, SupervisionTier, TierMember, Unit
from engine.supervision import tier_for
from tests.conftest import unique


def test_membership_decides_the_board(session):
    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    tiers = {t.level: t for t in session.scalars(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id))}
    bureau = session.scalar(select(Unit).where(Unit.code == "CGJ"))
    user = create_user(session, unique("sup"), "supervisor", "civicrules-demo-pw", unit_code=None)
    session.flush()
    assert tier_for(session, user) is None  # no tier anywhere: the board refuses them
    user.unit_id = bureau.id  # the bureau is a member of tier 3 in the demo
    session.flush()
    assert tier_for(session, user) == 3
    session.add(TierMember(tier=tiers[1], user=user))  # their own membership wins over their unit's
    session.flush()
    assert tier_for(session, user) == 1
    session.rollback()


def test_a_member_supervisor_sees_their_board(app, session, csrf_on):
    from tests.helpers import login

    campaign = session.scalar(select(Campaign).where(Campaign.code == "chuangcheng-2026"))
    tier2 = session.scalar(select(SupervisionTier).where(SupervisionTier.campaign_id == campaign.id,
                                                         SupervisionTier.level == 2))
    name = unique("sup")
    user = create_user(session, name, "supervisor", "civicrules-demo-pw", unit_code=None)
    session.flush()
    member = TierMember(tier=tier2, user=user)
    session.add(member)
    session.commit()
    try:
        client = app.test_client()
        login(client, name, "civicrules-demo-pw")
        page = client.get("/supervision", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        assert "tier 2" in page.get_data(as_text=True).lower()
    finally:
        session.delete(member)  # later publishes freeze the tiers' members: leave them as the demo has them
        session.commit()
