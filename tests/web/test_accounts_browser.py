"""A reset password in a real browser, in Chinese: the user signs in with the temporary password, every page
leads to the change form, a common password is refused next to its field, and a good one lets the user on.
Deactivating the account then ends the browser's session at its next page. Screenshots are kept."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from engine.accounts.users import create_user, deactivate, reset_password
from engine.core.models import User
from tests.helpers import PHONE, artifacts


def test_a_reset_user_changes_the_password_in_the_browser_and_deactivation_ends_the_session(
        live_server, browser, factory, tmp_path):
    shots = artifacts(tmp_path, "accounts")
    name = f"reset-{uuid.uuid4().hex[:6]}"
    with factory() as session:
        user = create_user(session, name, "dispatcher", "first-lantern-42")
        temporary = reset_password(session, user)
        session.commit()

    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", temporary)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/password") and "修改密码" in page.locator("h1").inner_text()
    page.goto(f"{live_server}/tasks")
    assert page.url.endswith("/password")  # every page leads to the form first

    page.fill("input[name=current]", temporary)
    page.fill("input[name=new]", "woaini1314")
    page.fill("input[name=confirm]", "woaini1314")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "常见或已泄露" in page.locator("#field-new").inner_text()
    page.screenshot(path=str(shots / "1-common-password-refused-360.png"), full_page=True)

    page.fill("input[name=current]", temporary)
    page.fill("input[name=new]", "sturdy-lantern-42")
    page.fill("input[name=confirm]", "sturdy-lantern-42")
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "密码已修改" in page.locator(".flash").first.inner_text()
    page.goto(f"{live_server}/tasks")
    assert page.url.endswith("/tasks")

    with factory() as session:
        deactivate(session, session.scalar(select(User).where(User.username == name)))
        session.commit()
    page.goto(f"{live_server}/tasks")
    assert "/login" in page.url  # the session ended at once
    page.screenshot(path=str(shots / "2-deactivated-back-at-login-360.png"), full_page=True)
