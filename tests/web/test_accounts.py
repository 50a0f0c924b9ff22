"""Account lifecycle (issue 19): deactivation, role changes and password resets from the admin and the command
line end sessions and tokens at once and are in the change log; logout ends the session on the server; a reset
forces a password change; passwords refuse common ones and the username; sign-in is throttled per address across
usernames; and `next=` after sign-in only ever leads to a page of this site."""
from __future__ import annotations

import re
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.accounts.users import create_user, issue_user_token
from engine.core.models import ApiToken, ChangeLogEntry, SecurityAuditEntry, User
from rules.problems import InputError
from tests.conftest import DEMO_PASSWORD
from tests.helpers import bearer, csrf_from

PASSWORD = "right-password-1"


def _client(app):
    """A client from a fresh address: the sign-in limits count per address in Redis, beyond the rollback."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    return client


@pytest.fixture()
def account(session) -> str:
    name = f"acct-{uuid.uuid4().hex[:8]}"
    create_user(session, name, "dispatcher", PASSWORD)
    session.commit()
    return name


def _sign_in(client, username: str, password: str = PASSWORD, next_: str | None = None, lang: str = "en"):
    page = client.get(f"/login?lang={lang}").get_data(as_text=True)
    url = "/login" if next_ is None else f"/login?next={next_}"
    return client.post(url, data={"username": username, "password": password, "csrf_token": csrf_from(page)})


def _cli(*args: str):
    from app.cli import main

    return CliRunner().invoke(main, list(args))


def _user(session, name: str) -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.username == name))


def _changes(session, user: User) -> list[ChangeLogEntry]:
    return list(session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.object_type == "User",
                                                             ChangeLogEntry.object_id == str(user.id))
                                .order_by(ChangeLogEntry.id)))


def test_a_deactivated_users_session_and_token_get_401_on_their_next_request(app, csrf_on, account, session):
    client = _client(app)
    assert _sign_in(client, account).status_code == 302
    token = client.post("/api/v1/auth/token", json={"username": account, "password": PASSWORD}).get_json()["token"]
    assert client.get("/tasks").status_code == 200
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200

    result = _cli("user", "deactivate", account)
    assert result.exit_code == 0 and "deactivated" in result.output, result.output

    page = client.get("/tasks")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    api = client.get("/api/v1/tasks", headers=bearer(token))
    assert api.status_code == 401 and api.mimetype == "application/problem+json"
    assert client.post("/api/v1/auth/token", json={"username": account, "password": PASSWORD}).status_code == 401
    user = _user(session, account)
    assert session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == user.id)) is not None
    [entry] = [e for e in _changes(session, user) if e.action == "update" and "active" in e.after]
    assert (entry.interface, entry.before["active"], entry.after["active"]) == ("cli", True, False)
    audited = session.scalars(select(SecurityAuditEntry).where(SecurityAuditEntry.kind == "account",
                                                                SecurityAuditEntry.subject == f"user {account}"))
    assert [(e.username.startswith("cli:"), e.address, e.what) for e in audited] == [
        (True, "cli", f"已停用 {account}，会话已结束，令牌已吊销 / user {account} deactivated; sessions ended, tokens revoked")]

    assert _cli("user", "reactivate", account).exit_code == 0
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401  # old tokens stay dead
    assert _sign_in(_client(app), account).status_code == 302  # but the account signs in again


def test_logout_ends_the_session_on_the_server(app, csrf_on, account):
    client = _client(app)
    assert _sign_in(client, account).status_code == 302
    stolen = client.get_cookie("session").value  # a copy of the cookie, as a thief would keep it
    home = client.get("/").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(home)}).status_code == 302

    thief = _client(app)
    thief.set_cookie("session", stolen)
    replay = thief.get("/tasks")
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]


def test_the_security_administrator_manages_accounts_in_the_admin_and_each_change_is_logged(
        app, csrf_on, account, session, login):
    victim = _client(app)
    assert _sign_in(victim, account).status_code == 302
    system = _client(app)  # 三员分立: the system administrator no longer reaches accounts
    assert login(system, "admin").status_code == 302
    assert system.get(f"/admin/account/?search={account}").status_code == 403
    admin = _client(app)
    assert login(admin, "security_admin").status_code == 302
    user = _user(session, account)
    listing = admin.get(f"/admin/account/?search={account}&lang=en").get_data(as_text=True)
    assert account in listing and "Dispatcher" in listing

    # a field unit needs a unit: the error is next to the field and nothing changes
    form = admin.get(f"/admin/account/edit/?id={user.id}&lang=en").get_data(as_text=True)
    refused = admin.post(f"/admin/account/edit/?id={user.id}", data={"role": "field_unit", "unit_code": "",
                                                                     "csrf_token": csrf_from(form)})
    assert refused.status_code == 200 and "a field-unit account needs a unit" in refused.get_data(as_text=True)
    assert _user(session, account).role == "dispatcher"
    moved = admin.post(f"/admin/account/edit/?id={user.id}", data={"role": "field_unit", "unit_code": "JD-DC",
                                                                   "csrf_token": csrf_from(form)})
    assert moved.status_code == 302
    assert (_user(session, account).role, _user(session, account).unit.code) == ("field_unit", "JD-DC")
    assert victim.get("/tasks").status_code == 302  # a role change ends the old session

    done = admin.post("/admin/account/action/", data={"action": "reset_password", "rowid": str(user.id),
                                                      "csrf_token": csrf_from(listing)}, follow_redirects=True)
    temporary = re.search(rf"Temporary password of {account} \(shown once\): (\S+)\s", done.get_data(as_text=True))
    assert temporary, done.get_data(as_text=True)
    assert _user(session, account).must_change_password
    signed_in = _sign_in(_client(app), account, temporary.group(1))
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/password")

    off = admin.post("/admin/account/action/?lang=en", data={"action": "deactivate", "rowid": str(user.id),
                                                             "csrf_token": csrf_from(listing)}, follow_redirects=True)
    assert not _user(session, account).active
    assert "1 account deactivated." in off.get_data(as_text=True)  # one account, in the singular
    on = admin.post("/admin/account/action/?lang=zh_Hans_CN", data={"action": "reactivate", "rowid": str(user.id),
                                                                    "csrf_token": csrf_from(listing)}, follow_redirects=True)
    assert _user(session, account).active
    assert "已重新启用 1 个账号。" in on.get_data(as_text=True)
    logged = [(e.interface, e.username, sorted(e.after)) for e in _changes(session, user) if e.action == "update"]
    assert ("admin", "security_admin", ["role", "session_epoch", "unit_id"]) in logged
    assert any(i == "admin" and "must_change_password" in keys and "password_hash" in keys for i, _, keys in logged)
    assert [keys for i, _, keys in logged if i == "admin" and "active" in keys] == [
        ["active", "session_epoch"], ["active"]]
    audited = list(session.scalars(select(SecurityAuditEntry).where(
        SecurityAuditEntry.kind == "account", SecurityAuditEntry.subject == f"user {account}")
        .order_by(SecurityAuditEntry.id)))
    assert [(e.username, e.what) for e in audited] == [
        ("security_admin", "角色 dispatcher → field_unit，单位 JD-DC / role dispatcher -> field_unit, unit JD-DC"),
        ("security_admin", "重置密码 / password reset"), ("security_admin", "停用 / deactivated"),
        ("security_admin", "重新启用 / reactivated")]
    assert all(e.address for e in audited)


def test_the_security_administrator_creates_accounts_with_the_password_rules(app, csrf_on, session, login):
    admin = _client(app)
    login(admin, "security_admin")
    form = admin.get("/admin/account/new/?lang=zh_Hans_CN").get_data(as_text=True)
    name = f"new-{uuid.uuid4().hex[:6]}"
    refused = admin.post("/admin/account/new/", data={"username": name, "role": "checker", "unit_code": "",
                                                      "password": "woaini1314", "csrf_token": csrf_from(form)})
    assert refused.status_code == 200 and "常见或已泄露" in refused.get_data(as_text=True)
    assert _user(session, name) is None
    made = admin.post("/admin/account/new/", data={"username": name, "role": "checker", "unit_code": "",
                                                   "password": "sturdy-lantern-42", "csrf_token": csrf_from(form)})
    assert made.status_code == 302
    assert _sign_in(_client(app), name, "sturdy-lantern-42").headers["Location"].endswith("/")


def test_a_reset_password_must_be_changed_before_anything_else(app, csrf_on, account, session):
    result = _cli("user", "reset-password", account)
    assert result.exit_code == 0, result.output
    temporary = re.search(r"temporary password: (\S+)", result.output).group(1)
    assert _sign_in(_client(app), account, PASSWORD).status_code == 200  # the old password is gone
    api = _client(app).post("/api/v1/auth/token", json={"username": account, "password": temporary})
    assert api.status_code == 403 and api.get_json()["type"].endswith("password-change-required")

    client = _client(app)
    assert _sign_in(client, account, temporary).headers["Location"].endswith("/password")
    for path in ("/", "/tasks", "/admin/"):
        assert client.get(path).headers["Location"].endswith("/password")
    form = client.get("/password?lang=zh_Hans_CN").get_data(as_text=True)
    assert "修改密码" in form or "更改密码" in form

    def change(current: str, new: str, confirm: str | None = None):
        return client.post("/password", data={"current": current, "new": new, "confirm": confirm or new,
                                              "csrf_token": csrf_from(form)})
    common = change(temporary, "qq123456").get_data(as_text=True)
    assert re.search(r'id="field-new".*常见或已泄露', common, re.S)
    inside = change(temporary, f"My{account.upper()}pass").get_data(as_text=True)
    assert re.search(r'id="field-new".*密码中不得包含用户名', inside, re.S)
    wrong = change("not-the-password", "sturdy-lantern-42").get_data(as_text=True)
    assert re.search(r'id="field-current".*当前密码不正确', wrong, re.S)
    assert _user(session, account).must_change_password

    done = change(temporary, "sturdy-lantern-42")
    assert done.status_code == 302 and client.get("/tasks").status_code == 200  # this session goes on
    assert not _user(session, account).must_change_password
    assert _client(app).post("/api/v1/auth/token", json={"username": account,
                                                         "password": "sturdy-lantern-42"}).status_code == 201


def test_cli_set_role_and_a_created_password_is_usable_at_once(app, session):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    assert _cli("user", "create", name, "--role", "checker", "--password", "sturdy-lantern-42").exit_code == 0
    assert not _user(session, name).must_change_password
    token = _client(app).post("/api/v1/auth/token", json={"username": name, "password": "sturdy-lantern-42"})
    assert token.status_code == 201
    refused = _cli("user", "set-role", name, "field_unit")
    assert refused.exit_code == 2 and "needs a unit" in refused.output
    assert _cli("user", "set-role", name, "field_unit", "--unit", "JD-DC").exit_code == 0
    assert _user(session, name).role == "field_unit"
    assert _cli("user", "deactivate", "no-such-" + name).exit_code == 2


@pytest.mark.parametrize("password", ["5201314a", "woaini1314", "qq123456", "123456789", "a1234567", "Password1",
                                      "1qaz2wsx"])
def test_common_and_leaked_passwords_are_refused(session, password):
    with pytest.raises(InputError) as refused:
        create_user(session, f"pw-{uuid.uuid4().hex[:6]}", "checker", password)
    assert refused.value.problems[0].where == "password"


def test_the_username_inside_the_password_is_refused_and_the_demo_password_passes(session, env):
    from engine.accounts.passwords import password_problems

    with pytest.raises(InputError):
        create_user(session, "wangfang", "checker", "WangFang2026!")
    assert _cli("user", "create", "zhaolei", "--role", "checker", "--password", "zhaolei-1988").exit_code == 2
    assert password_problems(DEMO_PASSWORD, "admin") == []
    assert password_problems("5201314", "x")[0].en == "at least 8 characters"


def test_one_address_rotating_usernames_is_throttled(app):
    client = _client(app)
    codes = [client.post("/api/v1/auth/token", json={"username": f"rot-{n}", "password": "guess-guess"}).status_code
             for n in range(25)]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    assert _client(app).post("/api/v1/auth/token", json={"username": "rot-0", "password": "x"}).status_code == 401


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/%5C/evil.example", "/%5Cevil.example",
                                    "https://evil.example", "/%0A/evil.example", "%2F%2Fevil.example",
                                    "/%20/evil.example", "javascript:alert(1)", "/%0D%0A/evil.example"])
def test_next_never_leads_to_another_site(app, csrf_on, account, target):
    answer = _sign_in(_client(app), account, next_=target)
    assert answer.status_code == 302 and answer.headers["Location"] == "/", answer.headers["Location"]


def test_next_to_a_page_of_this_site_is_followed(app, csrf_on, account):
    answer = _sign_in(_client(app), account, next_="/tasks%3Fstate%3Dopen")
    assert answer.status_code == 302 and answer.headers["Location"] == "/tasks?state=open"


def test_a_token_of_a_user_who_must_change_the_password_is_refused(app, session, account):
    user = _user(session, account)
    token, _row = issue_user_token(session, user)
    user.must_change_password = True
    session.commit()
    refused = _client(app).get("/api/v1/tasks", headers=bearer(token) | {"Accept-Language": "zh-CN"})
    assert refused.status_code == 403 and refused.get_json()["type"].endswith("password-change-required")


def test_the_last_administrator_is_kept_and_nobody_deactivates_themselves(app, csrf_on, session, login):
    admins = list(session.scalars(select(User).where(User.role == "admin", User.active.is_(True))))
    for other in admins[1:]:
        other.active = False
    session.commit()
    last = admins[0].username
    for args in (("user", "deactivate", last), ("user", "set-role", last, "auditor")):
        refused = _cli(*args)
        assert refused.exit_code == 2 and "last active system administrator" in refused.output
    assert _user(session, last).active and _user(session, last).role == "admin"

    create_user(session, "second-security", "security_admin", "sturdy-lantern-42")
    session.commit()
    admin = _client(app)
    login(admin, "security_admin")
    me = _user(session, "security_admin")
    listing = admin.get("/admin/account/?lang=zh_Hans_CN").get_data(as_text=True)
    own = admin.post("/admin/account/action/", data={"action": "deactivate", "rowid": str(me.id),
                                                     "csrf_token": csrf_from(listing)}, follow_redirects=True)
    assert "不能停用自己的账号" in own.get_data(as_text=True) and _user(session, "security_admin").active
    # nor may the security administrator make themselves the system administrator (三员分立)
    form = admin.get(f"/admin/account/edit/?id={me.id}&lang=zh_Hans_CN").get_data(as_text=True)
    promoted = admin.post(f"/admin/account/edit/?id={me.id}", data={"role": "admin", "unit_code": "",
                                                                    "csrf_token": csrf_from(form)})
    assert promoted.status_code == 200 and _user(session, "security_admin").role == "security_admin"


def test_changing_ones_password_revokes_ones_api_tokens(app, csrf_on, account):
    """A password is changed because it may have leaked; a token taken with it must not outlive it."""
    client = _client(app)
    assert _sign_in(client, account).status_code == 302
    token = client.post("/api/v1/auth/token", json={"username": account, "password": PASSWORD}).get_json()["token"]
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 200
    form = client.get("/password").get_data(as_text=True)
    done = client.post("/password", data={"current": PASSWORD, "new": "sturdy-lantern-42",
                                          "confirm": "sturdy-lantern-42", "csrf_token": csrf_from(form)})
    assert done.status_code == 302
    assert client.get("/api/v1/tasks", headers=bearer(token)).status_code == 401


def test_failures_that_make_accounts_wait_count_towards_the_address_limit(app, session):
    """Each name here has ten failures already; one more from this address starts its wait (429): the guess
    was still tried, so the address's 20 a minute must count it."""
    import hashlib

    from engine.core import clock
    from engine.core.models import UnknownSignIn

    names = [f"waits-{uuid.uuid4().hex[:8]}" for _ in range(20)]
    for name in names:
        session.add(UnknownSignIn(name_digest=hashlib.sha256(name.encode()).hexdigest(), failures=10,
                                  last_failure_at=clock.now()))
    session.commit()
    client = _client(app)
    codes = [client.post("/api/v1/auth/token", json={"username": n, "password": "guess-guess"}).status_code
             for n in names]
    assert codes == [429] * 20
    after = client.post("/api/v1/auth/token", json={"username": "fresh-name", "password": "guess-guess"})
    assert after.status_code == 429 and after.get_json()["type"].endswith("too-many-requests")


def test_guessing_the_current_password_on_the_change_page_is_throttled(app, csrf_on, account):
    """A session left open must not let anyone try passwords without limit through the change form."""
    client = _client(app)
    assert _sign_in(client, account).status_code == 302
    form = client.get("/password").get_data(as_text=True)

    def change(current: str, new: str = "sturdy-lantern-42"):
        return client.post("/password", data={"current": current, "new": new, "confirm": new,
                                              "csrf_token": csrf_from(form)})
    assert change(PASSWORD, "qq123456").status_code == 200  # a weak new password is no guess: not counted
    assert [change(f"guess-{n}").status_code for n in range(5)] == [200] * 5
    refused = change(PASSWORD)
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.get_data(as_text=True)


def test_a_nul_byte_in_a_username_or_unit_code_is_refused_not_a_server_error(app, session, csrf_on):
    """PostgreSQL refuses a query holding a NUL byte; the admin passes both fields to create_user and set_role."""
    with pytest.raises(InputError) as named:
        create_user(session, "li\x00si", "dispatcher", PASSWORD)
    assert named.value.by_field("zh")["username"] == ["1–64 个字符，且不含空字符"]
    with pytest.raises(InputError) as unit:
        create_user(session, f"unit-{uuid.uuid4().hex[:6]}", "field_unit", PASSWORD, unit_code="JD\x00DC")
    assert unit.value.by_field("en")["unit"] == ["a unit code without NUL bytes"]
    assert _sign_in(_client(app), "li\x00si", "whatever-1").status_code == 422  # refused by the request guard, not a 500


def test_the_accounts_admin_shows_local_times_and_ignores_a_crafted_row_id(app, csrf_on, account, session, login):
    """Times were shown in UTC (eight hours off in 东八区); a row id that is no number was a 500."""
    from datetime import datetime, timezone

    user = _user(session, account)
    user.created_at = datetime(2026, 11, 30, 17, 30, tzinfo=timezone.utc)  # 1 Dec 01:30 in Shanghai
    user.locked_until = datetime(2026, 11, 30, 18, 0, tzinfo=timezone.utc)
    session.commit()
    admin = _client(app)
    assert login(admin, "security_admin").status_code == 302
    listing = admin.get(f"/admin/account/?search={account}&lang=en").get_data(as_text=True)
    assert "2026-12-01 01:30" in listing and "2026-11-30 17:30" not in listing
    details = admin.get(f"/admin/account/details/?id={user.id}&lang=en").get_data(as_text=True)
    assert "2026-12-01 02:00" in details
    waits = admin.get(f"/admin/sign_in_lock/?search={account}&lang=en").get_data(as_text=True)
    assert "2026-12-01 02:00" in waits
    for view, name in (("account", "reset_password"), ("sign_in_lock", "unlock"), ("token", "revoke")):
        crafted = admin.post(f"/admin/{view}/action/", data={"action": name, "rowid": "1 OR 1",
                                                             "csrf_token": csrf_from(listing)})
        assert crafted.status_code == 302, view
    assert not _user(session, account).must_change_password


def test_a_temporary_password_never_holds_the_username():
    """A random password holding a three-letter username was refused by the rules: the reset failed."""
    from engine.accounts.passwords import password_problems
    from engine.accounts.users import temporary_password

    assert all(not password_problems(temporary_password("abc"), "abc") for _ in range(20000))


def test_form_mistakes_on_the_change_page_lock_nobody_and_wrong_passwords_lock_only_their_account(
        app, csrf_on, session):
    """Colleagues behind one address (a NAT): one's form mistakes never count, and one's wrong current passwords
    make only that account wait (429 with the page's message), not the colleague's."""
    names = [f"acct-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name, language in zip(names, ("zh_Hans_CN", "en")):
        create_user(session, name, "dispatcher", PASSWORD).language = language
    session.commit()
    a, b = _client(app), app.test_client()
    b.environ_base["REMOTE_ADDR"] = a.environ_base["REMOTE_ADDR"]
    assert _sign_in(a, names[0]).status_code == 302 and _sign_in(b, names[1]).status_code == 302
    forms = {a: a.get("/password").get_data(as_text=True), b: b.get("/password").get_data(as_text=True)}

    def change(client, current: str, new: str = "sturdy-lantern-42", confirm: str | None = None):
        return client.post("/password", data={"current": current, "new": new, "confirm": new if confirm is None
                                              else confirm, "csrf_token": csrf_from(forms[client])})
    mistakes = [change(a, ""), change(a, PASSWORD, confirm="other-lantern-42"), change(a, PASSWORD, "", ""),
                change(a, PASSWORD, "short", "short"), change(a, "", "", "")]
    assert [m.status_code for m in mistakes] == [200] * 5
    assert "当前密码错误次数过多" not in mistakes[-1].get_data(as_text=True)
    assert [change(a, f"guess-{n}").status_code for n in range(5)] == [200] * 5
    locked = change(a, PASSWORD)
    assert locked.status_code == 429 and "当前密码错误次数过多" in locked.get_data(as_text=True)
    assert change(b, PASSWORD).headers["Location"].endswith("/")  # the colleague changes the password


def _field_errors(page: str, field: str) -> list[str]:
    """The errors the login page shows next to a field."""
    block = re.search(rf'<div id="{field}-errors">(.*?)</div>', page, re.S)
    return re.findall(r'<p class="field-error">(.*?)</p>', block.group(1)) if block else []


def test_form_mistakes_on_the_login_page_count_towards_no_limit(app, csrf_on, account):
    """An empty field, a missing or stale CSRF token or an overlong name is no guess at a password: six of each
    (beyond the five a minute) leave the sign-in limits and the account's wait untouched, and the error stands
    next to its field in the user's language; wrong passwords still count."""
    client = _client(app)
    token = csrf_from(client.get("/login?lang=zh_Hans_CN").get_data(as_text=True))

    def post(**data: str):
        return client.post("/login", data=data)
    empty = [post(username=account, password="", csrf_token=token) for _ in range(6)]
    assert [e.status_code for e in empty] == [200] * 6
    assert _field_errors(empty[-1].get_data(as_text=True), "password") == ["该字段是必填字段。"]
    nameless = [post(username="", password="wrong-password", csrf_token=token) for _ in range(6)]
    assert [n.status_code for n in nameless] == [200] * 6
    assert _field_errors(nameless[-1].get_data(as_text=True), "username") == ["该字段是必填字段。"]
    overlong = [post(username=account + "x" * 64, password="wrong-password", csrf_token=token) for _ in range(6)]
    assert [o.status_code for o in overlong] == [200] * 6
    assert _field_errors(overlong[-1].get_data(as_text=True), "username") == ["字段长度不能超过 64 个字符。"]
    tokenless = [post(username=account, password="wrong-password") for _ in range(6)]
    stale = [post(username=account, password="wrong-password", csrf_token=token[:-2]) for _ in range(6)]
    assert [r.status_code for r in tokenless + stale] == [400] * 12
    assert "表单已过期。请刷新页面后重试" in stale[-1].get_data(as_text=True)
    assert _sign_in(client, account).status_code == 302  # neither limit nor the account's wait holds it up
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    assert [_sign_in(client, account, "wrong-password").status_code for _ in range(5)] == [200] * 5
    assert _sign_in(client, account, "wrong-password").status_code == 429


def test_request_mistakes_at_the_token_endpoint_count_towards_no_limit(app, account):
    """The API's sign-in likewise: a body that is no object, a missing, empty or overlong field is refused next to
    its field (422, in the caller's language) before any password is tried, and counts towards nothing."""
    client = _client(app)
    zh = {"Accept-Language": "zh-CN"}
    mistakes = [client.post("/api/v1/auth/token", json=body, headers=zh)
                for body in ([account], {"username": account}, {"username": account, "password": ""},
                             {"username": "", "password": "wrong-password"}, {"username": account, "password": 7},
                             {"username": account + "x" * 64, "password": "wrong-password"})
                for _ in range(4)]
    assert [m.status_code for m in mistakes] == [422] * 24
    assert {"field": "password", "message": "须为 1–256 个字符的文本"} in mistakes[8].get_json()["errors"]
    assert {"field": "username", "message": "须为 1–64 个字符的文本"} in mistakes[-1].get_json()["errors"]
    assert client.post("/api/v1/auth/token", json={"username": account, "password": PASSWORD}).status_code == 201
    wrong = [client.post("/api/v1/auth/token", json={"username": account, "password": "wrong-password"})
             for _ in range(6)]
    assert [w.status_code for w in wrong] == [401] * 5 + [429]
