"""Admins configure weights, peer groups, points and sanction rules; bad configuration is refused."""
from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from engine.models import AssessmentConfig, Campaign, SanctionRule
from tests.helpers import csrf_from, login


def test_admin_edits_rules_and_bad_weights_are_refused(app, factory):
    client = app.test_client()
    login(client, "admin")
    with factory() as session:
        campaign = Campaign(code=f"adm-{uuid.uuid4().hex[:6]}", name_zh="配置测试", name_en="config test")
        session.add(campaign)
        session.commit()
        campaign_id = campaign.id
    form = client.get("/admin/assessmentconfig/new/?lang=en").get_data(as_text=True)
    bad = client.post("/admin/assessmentconfig/new/?lang=en", data={
        "csrf_token": csrf_from(form), "campaign": str(campaign_id), "weights": json.dumps({"speed": 5}),
        "peer_groups": json.dumps({"subdistrict": "subdistricts"})})
    assert "unknown key speed" in bad.get_data(as_text=True)
    good = client.post("/admin/assessmentconfig/new/?lang=en", data={
        "csrf_token": csrf_from(form), "campaign": str(campaign_id), "weights": json.dumps({"handling_rate": 50}),
        "peer_groups": json.dumps({"subdistrict": "subdistricts"})}, follow_redirects=True)
    assert good.status_code == 200
    form = client.get("/admin/sanctionrule/new/?lang=en").get_data(as_text=True)
    client.post("/admin/sanctionrule/new/?lang=en", data={
        "csrf_token": csrf_from(form), "campaign": str(campaign_id), "code": "xian-2-consecutive",
        "kind": "consecutive_months", "bottom_n": "3", "periods": "2", "peer_group": "subdistricts",
        "sanction": "interview", "enabled": "y"}, follow_redirects=True)
    with factory() as session:
        config = session.scalar(select(AssessmentConfig).where(AssessmentConfig.campaign_id == campaign_id))
        assert config.weights == {"handling_rate": 50}
        rule = session.scalar(select(SanctionRule).where(SanctionRule.campaign_id == campaign_id))
        assert (rule.kind, rule.periods, rule.sanction) == ("consecutive_months", 2, "interview")


def test_only_admins_configure(app):
    """Assessors read the configuration (issue #3: read-only for assessors) but cannot change it."""
    client = app.test_client()
    login(client, "assessor")
    listing = client.get("/admin/sanctionrule/")
    assert listing.status_code == 200 and "/admin/sanctionrule/new/" not in listing.get_data(as_text=True)
    assert client.get("/admin/sanctionrule/new/").status_code == 403
    assert client.get("/admin/sanctiondue/").status_code == 200
