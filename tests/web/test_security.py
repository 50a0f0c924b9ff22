"""Security: sign-in rate limits and the per-account wait, security headers and cookie flags, revocable intake tokens."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import select

from engine.core import clock
from engine.accounts.users import create_user, issue_intake_token
from engine.core.models import ApiToken, Event, User
from tests.helpers import bearer, csrf_from, event

PASSWORD = "right-password-1"


def _address() -> str:
    """A fresh client address: the limiter's counts live in Redis, which the per-test rollback does not reach."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def _client(app, address: str | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or _address()
    return client


@pytest.fixture()
def account(session) -> str:
    """A fresh dispatcher account per test: the sign-in limiter counts per address and name in Redis, beyond
    the rollback."""
    name = f"sec-{uuid.uuid4().hex[:8]}"
    create_user(session, name, "dispatcher", PASSWORD)
    session.commit()
    return name


def _page_login(client, username: str, password: str, lang: str = "en"):
    page = client.get(f"/login?lang={lang}").get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page)})


def test_the_sixth_wrong_password_in_a_minute_is_refused_on_the_page(app, account):
    app.config["WTF_CSRF_ENABLED"] = True
    client = _client(app)
    for _ in range(5):
        assert _page_login(client, account, "wrong-password").status_code == 200
    sixth = _page_login(client, account, "wrong-password")
    assert sixth.status_code == 429
    assert int(sixth.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins. Try again in" in sixth.get_data(as_text=True)
    zh = _page_login(client, account, PASSWORD, lang="zh_Hans_CN")  # even the right password waits
    assert zh.status_code == 429 and "登录失败次数过多" in zh.get_data(as_text=True)
    elsewhere = _page_login(_client(app), account, PASSWORD)  # another address is not held up
    assert elsewhere.status_code == 302


def test_the_sixth_wrong_password_in_a_minute_is_refused_by_the_api(app, account, redis_url):
    client = _client(app)
    for _ in range(3):  # successful sign-ins do not count towards the limit
        assert client.post("/api/v1/auth/token", json={"username": account, "password": PASSWORD}).status_code == 201
    for _ in range(5):
        wrong = client.post("/api/v1/auth/token", json={"username": account, "password": "nope-nope"})
        assert wrong.status_code == 401
    sixth = client.post("/api/v1/auth/token", json={"username": account, "password": "nope-nope"},
                        headers={"Accept-Language": "zh-CN"})
    assert sixth.status_code == 429 and sixth.mimetype == "application/problem+json"
    assert int(sixth.headers["Retry-After"]) > 0 and sixth.get_json()["retry_after"] > 0
    assert "登录失败次数过多" in sixth.get_json()["detail"]
    # The count is kept in Redis (shared by every web process), under this deployment's prefix.
    keys = redis.Redis.from_url(redis_url).keys(f"*{app.config['RATELIMIT_KEY_PREFIX']}*login*")
    assert keys, "no rate-limit key in Redis"


def test_the_page_and_the_api_share_one_count(app, account):
    app.config["WTF_CSRF_ENABLED"] = True
    client = _client(app)
    for _ in range(3):
        _page_login(client, account, "wrong-password")
    for _ in range(2):
        client.post("/api/v1/auth/token", json={"username": account, "password": "wrong-password"})
    assert client.post("/api/v1/auth/token", json={"username": account, "password": "x"}).status_code == 429


def test_the_limiter_uses_the_unix_socket_scheme_of_the_limits_library():
    from web.ratelimit import storage_uri

    assert storage_uri("unix:///srv/instance/redis.sock") == "redis+unix:///srv/instance/redis.sock"
    assert storage_uri("unix:///tmp/r.sock?db=7") == "redis+unix:///tmp/r.sock?db=7"
    assert storage_uri("redis://127.0.0.1:6379/7") == "redis://127.0.0.1:6379/7"


def test_past_the_allowance_an_account_waits_briefly_with_429_and_retry_after(app, account, session, settings):
    """Ten wrong passwords from ten addresses no longer lock the account for a quarter of an hour: the address of
    the next failure waits seconds (429, Retry-After, in the caller's language), even with the right password,
    while the real user at an address that never failed gets in; the wait ends by itself."""
    def attempt(username: str, password: str, address: str | None = None, **headers):
        return _client(app, address).post("/api/v1/auth/token", json={"username": username, "password": password},
                                          headers=headers)

    start = clock.now()
    clock.set_clock(lambda: start)
    for _ in range(10):  # from ten addresses: the rate limit alone would not stop this
        assert attempt(account, "guess-guess").status_code == 401
    guesser = _address()
    eleventh = attempt(account, "guess-guess", guesser)
    assert eleventh.status_code == 429 and eleventh.headers["Retry-After"] == "2"
    waiting = attempt(account, PASSWORD, guesser, **{"Accept-Language": "zh-CN"})  # even the right password waits
    assert waiting.status_code == 429 and waiting.mimetype == "application/problem+json"
    assert "登录失败次数过多" in waiting.get_json()["detail"] and waiting.get_json()["retry_after"] == 2
    nobody = f"nobody-{uuid.uuid4().hex[:6]}"  # a name no account has waits just the same: no existence oracle
    assert [attempt(nobody, "guess-guess").status_code for _ in range(10)] == [401] * 10
    assert attempt(nobody, "guess-guess", guesser).status_code == 429
    unknown = attempt(nobody, PASSWORD, guesser, **{"Accept-Language": "zh-CN"})
    assert unknown.status_code == 429 and unknown.headers["Retry-After"] == waiting.headers["Retry-After"]
    assert unknown.get_json() == waiting.get_json()
    session.expire_all()
    user = session.scalar(select(User).where(User.username == account))
    assert user.failed_logins == 11 and user.locked_until is not None
    assert attempt(account, PASSWORD).status_code == 201  # the guesser cannot keep the real user out

    clock.set_clock(lambda: start + timedelta(seconds=3))
    assert attempt(account, PASSWORD, guesser).status_code == 201  # and seconds later the wait is over


def test_the_login_page_answers_a_waiting_account_with_429(app, account):
    app.config["WTF_CSRF_ENABLED"] = True
    start = clock.now()
    clock.set_clock(lambda: start)
    for _ in range(10):
        _page_login(_client(app), account, "wrong-password")
    guesser = _address()
    _page_login(_client(app, guesser), account, "wrong-password")
    page = _page_login(_client(app, guesser), account, PASSWORD, lang="zh_Hans_CN")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in page.get_data(as_text=True)


def test_an_administrator_unlocks_an_account_from_the_admin_and_the_cli(app, account, session, settings, login):
    from app.cli import main

    def attempt(password: str, address: str | None = None):
        return _client(app, address).post("/api/v1/auth/token", json={"username": account, "password": password})

    def fail_until_waiting() -> str:
        """Ten failures from ten addresses, the eleventh from the address returned, which then waits."""
        for _ in range(10):
            attempt("guess-guess")
        address = _address()
        attempt("guess-guess", address)
        return address

    address = fail_until_waiting()
    assert attempt(PASSWORD, address).status_code == 429
    result = CliRunner().invoke(main, ["user", "unlock", account])
    assert result.exit_code == 0, result.output
    assert attempt(PASSWORD, address).status_code == 201

    address = fail_until_waiting()
    app.config["WTF_CSRF_ENABLED"] = True
    admin = _client(app)
    assert login(admin, "security_admin").status_code == 302  # sign-in waits are the security administrator's
    listing = admin.get(f"/admin/sign_in_lock/?search={account}&lang=en").get_data(as_text=True)
    user_id = session.scalar(select(User.id).where(User.username == account))
    assert account in listing and "Sign-in waits until" in listing
    done = admin.post("/admin/sign_in_lock/action/", data={"action": "unlock", "rowid": str(user_id),
                                                          "csrf_token": csrf_from(listing)})
    assert done.status_code == 302
    assert attempt(PASSWORD, address).status_code == 201


def test_pages_carry_a_strict_content_security_policy(app, client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert re.search(r"script-src 'self'(;|$)", csp), csp  # no inline script on our pages
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS
    assert not re.search(r"<script>|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=", response.get_data(as_text=True))


def test_the_admin_pages_work_under_their_policy(app, login):
    app.config["WTF_CSRF_ENABLED"] = True
    client = _client(app)
    login(client, "security_admin")
    page = client.get("/admin/token/")
    assert page.status_code == 200
    assert "script-src 'self' 'unsafe-inline'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_behind_a_tls_proxy_hsts_and_secure_cookies(settings, factory):
    from app import create_app

    proxied = create_app(settings, {"TESTING": True, "CIVICRULES_PROXY_FIX": "1", "WTF_CSRF_ENABLED": True})
    client = proxied.test_client()
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    page = client.get("/login", headers=tls)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = proxied.test_client().get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    assert "Secure" not in plain.headers["Set-Cookie"] and "HttpOnly" in plain.headers["Set-Cookie"]


def test_a_revoked_intake_token_gets_401(app, client, session, settings):
    from app.cli import main

    token = issue_intake_token(session, "camera-revoked", "camera")
    session.commit()
    assert client.post("/api/v1/events", json=event(), headers=bearer(token)).status_code == 202
    listed = CliRunner().invoke(main, ["token", "list"])
    assert token[:10] in listed.output
    result = CliRunner().invoke(main, ["token", "revoke", token[:10]])
    assert result.exit_code == 0 and "revoked" in result.output
    refused = client.post("/api/v1/events", json=event(), headers=bearer(token))
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert token[:10] not in CliRunner().invoke(main, ["token", "list"]).output


def test_the_security_administrator_revokes_a_token_in_the_admin(app, session, login):
    token = issue_intake_token(session, "patrol-revoked", "patrol")
    session.commit()
    row = session.scalar(select(ApiToken).where(ApiToken.prefix == token[:10]))
    app.config["WTF_CSRF_ENABLED"] = True
    admin = _client(app)
    login(admin, "security_admin")
    listing = admin.get("/admin/token/").get_data(as_text=True)
    assert token[:10] in listing and token not in listing
    admin.post("/admin/token/action/", data={"action": "revoke", "rowid": str(row.id),
                                             "csrf_token": csrf_from(listing)})
    assert _client(app).post("/api/v1/events", json=event(), headers=bearer(token)).status_code == 401


def test_an_intake_token_is_scoped_to_its_source(app, client, session):
    first = issue_intake_token(session, "src-a")
    second = issue_intake_token(session, "src-b")
    session.commit()
    claimed = client.post("/api/v1/events", json=event(source="someone-else"), headers=bearer(first))
    assert claimed.status_code == 422  # a body cannot name another source
    created = client.post("/api/v1/events", json=event(), headers=bearer(first))
    assert created.status_code == 202
    stored = session.get(Event, created.get_json()["id"])
    assert stored.source == "src-a"  # the token decides the source
    assert client.get(f"/api/v1/events/{stored.id}", headers=bearer(first)).status_code == 200
    assert client.get(f"/api/v1/events/{stored.id}", headers=bearer(second)).status_code == 404
    assert client.get("/api/v1/tasks", headers=bearer(first)).status_code == 403


def test_intake_is_limited_per_token(app, session):
    token = issue_intake_token(session, "burst")
    other = issue_intake_token(session, "calm")
    session.commit()
    app.config["CIVICRULES_INTAKE_RATE_LIMIT"] = "3 per minute"
    client = _client(app)
    codes = [client.post("/api/v1/events", json=event(), headers=bearer(token)).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    assert client.post("/api/v1/events", json=event(), headers=bearer(other)).status_code == 202


@pytest.mark.parametrize("name, content, mimetype, inline", [
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png", True),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 32, "image/jpeg", True),
    ("report.pdf", b"%PDF-1.7\n", "application/pdf", False),
    ("photo.jpg.html", b"<html><script>alert(document.cookie)</script></html>", "application/octet-stream", False),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "application/octet-stream", False),
    ("hotline.csv", "编号,类别\n1,06029\n".encode(), "application/octet-stream", False),
])
def test_uploaded_files_are_never_served_as_something_that_runs(app, tmp_path, name, content, mimetype, inline):
    from web.uploads import send_upload

    path = tmp_path / name
    path.write_bytes(content)
    with app.test_request_context(f"/evidence/{name}"):
        response = app.process_response(send_upload(path, name))
        response.direct_passthrough = False
        assert response.mimetype == mimetype
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"].startswith("sandbox")
        assert response.headers.get("Content-Disposition", "").startswith("attachment") is not inline
        assert response.get_data() == content


def test_open311_reads_show_citizen_requests_only(client, intake_token, session):
    hotline = client.post("/api/v1/events", json=event(description="张先生 13800000000 反映露天烧烤"),
                          headers=bearer(intake_token))
    assert hotline.status_code == 202
    hotline_id = hotline.get_json()["id"]
    assert client.get(f"/open311/v2/requests/{hotline_id}.json").status_code == 404
    listed = client.get(f"/open311/v2/requests.json?service_request_id={hotline_id}")
    assert listed.status_code == 200 and listed.get_json() == []
    citizen_token = issue_intake_token(session, "citizen-app-security", "citizen")  # a request takes its key's type
    session.commit()
    filed = client.post("/open311/v2/requests.json", data={"api_key": citizen_token, "service_code": "06029",
                                                           "lat": "35.025", "long": "110.995"})
    assert filed.status_code == 201, filed.get_json()
    filed_id = filed.get_json()[0]["service_request_id"]
    assert client.get(f"/open311/v2/requests/{filed_id}.json").status_code == 200
