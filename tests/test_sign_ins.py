"""Security of accounts: links in e-mails, sign-ins that can be revoked,
rate limits behind a proxy, no account enumeration (issue 14, items 1, 2, 7, 8)."""

from __future__ import annotations

import re

import time_machine
from sqlalchemy import func, select

from conftest import PASSWORD, clear_all_rows, csrf_token, login, make_app, make_user, signed_in, soup
from directory.extensions import db
from directory.seeding import seed_starter_data
from directory.models import OutboxMessage, User, UserSession

PROTECTED = "/lv/manage/"


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return messages


def reset_link(app, email: str) -> str:
    body = [m.body for m in outbox(app) if m.recipient == email][-1]
    return re.search(r"http://127\.0\.0\.1:5000(/\w\w/account/reset/\S+)", body).group(1)


def request_reset(client, email: str):
    token = csrf_token(client, "/lv/account/reset")
    return client.post("/lv/account/reset", data={"csrf_token": token, "email": email})


def with_cookies(app, **cookies):
    """A fresh browser holding only these cookies (copied from another)."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value, domain="localhost")
    return client


def cookie(client, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def is_signed_out(client) -> bool:
    response = client.get(PROTECTED)
    return response.status_code == 302 and "/account/login" in response.headers["Location"]


# ------------------------------------------------------- 1. links in e-mails

def test_reset_link_comes_from_public_base_url_not_from_the_host_header(database_uri, tmp_path):
    # TRUSTED_HOSTS=[] lets any Host in: the link must not depend on that check.
    app = make_app(database_uri, TRUSTED_HOSTS=[], PUBLIC_BASE_URL="https://directory.example.lv/")
    with app.app_context():
        clear_all_rows()
        seed_starter_data(db.session)
    make_user(app, "editor@example.lv", "editor", organizations=["saskarsme"])
    make_user(app, "admin@example.lv", "admin")
    client = app.test_client()
    client.environ_base.update(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")
    token = csrf_token(client, "/lv/account/reset")
    assert client.post("/lv/account/reset", data={"csrf_token": token, "email": "editor@example.lv"}).status_code == 302
    token = csrf_token(client, "/lv/account/signup")
    client.post("/lv/account/signup", data={
        "csrf_token": token, "name": "Anna", "email": "anna@example.lv", "role": "editor",
        "note": "Vīgante", "password": "a long password", "confirm": "a long password"})
    token = csrf_token(client, "/lv/centres/saskarsme")
    client.post("/lv/centres/saskarsme/report", data={"csrf_token": token, "kind": "hours"})
    bodies = [m.body for m in outbox(app)]
    assert len(bodies) == 4  # the reset link, the sign-up to the admin, the report to the editor and the admin
    for body in bodies:
        assert "evil.example" not in body
        assert "https://directory.example.lv/lv/" in body
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_request_for_an_unknown_host_gets_400(seeded_app):
    client = seeded_app.test_client()
    response = client.get("/lv/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert client.get("/lv/", headers={"Host": "127.0.0.1:5000"}).status_code == 200  # PUBLIC_BASE_URL's host


def test_behind_a_proxy_the_client_address_comes_from_the_trusted_hop(database_uri):
    app = make_app(database_uri, TRUSTED_PROXY_HOPS=1, LOGIN_RATE_LIMIT="2 per minute",
                   LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
    # Two residents behind the same proxy have their own limits…
    first, second = app.test_client(), app.test_client()
    for client, address in ((first, "198.51.100.1"), (second, "198.51.100.2")):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
    assert [login(first, f"x{n}@example.lv").status_code for n in range(3)] == [200, 200, 429]
    assert login(second, "y@example.lv").status_code == 200
    # …and a client cannot escape its limit with a header of its own: only the
    # last hop (the proxy's) is trusted.
    spoofing = app.test_client()
    spoofing.environ_base["HTTP_X_FORWARDED_FOR"] = "10.9.9.9, 198.51.100.1"
    assert login(spoofing, "z@example.lv").status_code == 429
    with app.app_context():
        db.engine.dispose()


def test_without_a_proxy_forwarded_headers_are_ignored(database_uri):
    app = make_app(database_uri, LOGIN_RATE_LIMIT="2 per minute", LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
    statuses = []
    for n in range(3):
        client = app.test_client()
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.51.100.{n}"
        statuses.append(login(client, f"x{n}@example.lv").status_code)
    assert statuses == [200, 200, 429]
    with app.app_context():
        db.engine.dispose()


# ------------------------------------------------ 2. sign-ins can be revoked

def remembered_sign_in(app, email="editor@example.lv"):
    client = app.test_client()
    token = csrf_token(client, "/lv/account/login")
    response = client.post("/lv/account/login",
                           data={"csrf_token": token, "email": email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    return client


def test_old_session_and_remember_cookies_stop_working_after_sign_out(seeded_app, accounts):
    client = remembered_sign_in(seeded_app)
    session_copy = with_cookies(seeded_app, session=cookie(client, "session"))
    remember_copy = with_cookies(seeded_app, remember_token=cookie(client, "remember_token"))
    assert client.get(PROTECTED).status_code == 200
    assert session_copy.get(PROTECTED).status_code == 200 and remember_copy.get(PROTECTED).status_code == 200
    token = csrf_token(client, PROTECTED)
    assert client.post("/lv/account/logout", data={"csrf_token": token}).status_code == 302
    assert is_signed_out(client)
    replayed_session = with_cookies(seeded_app, session=cookie(session_copy, "session"))
    replayed_remember = with_cookies(seeded_app, remember_token=cookie(remember_copy, "remember_token"))
    assert is_signed_out(replayed_session)
    assert is_signed_out(replayed_remember)


def test_the_remember_cookie_differs_at_every_sign_in(seeded_app, accounts):
    first = cookie(remembered_sign_in(seeded_app), "remember_token")
    second = cookie(remembered_sign_in(seeded_app), "remember_token")
    assert first != second


def test_a_password_reset_ends_every_sign_in(seeded_app, accounts):
    laptop = remembered_sign_in(seeded_app)
    stolen = with_cookies(seeded_app, remember_token=cookie(laptop, "remember_token"))
    request_reset(seeded_app.test_client(), "editor@example.lv")
    browser = seeded_app.test_client()
    link = reset_link(seeded_app, "editor@example.lv")
    token = csrf_token(browser, link)
    assert browser.post(link, data={"csrf_token": token, "password": "a brand new password",
                                    "confirm": "a brand new password"}).status_code == 302
    assert is_signed_out(laptop)
    assert is_signed_out(stolen)
    assert login(seeded_app.test_client(), "editor@example.lv", "a brand new password").status_code == 302


def test_disabling_an_account_ends_its_sign_ins_for_good(seeded_app, accounts):
    editor = remembered_sign_in(seeded_app)
    remember_copy = cookie(editor, "remember_token")
    admin = signed_in(seeded_app, "admin@example.lv")
    token = csrf_token(admin, "/lv/admin/")
    assert admin.post(f"/lv/admin/accounts/{accounts['editor']}/disable", data={"csrf_token": token}).status_code == 302
    assert is_signed_out(editor)
    token = csrf_token(admin, "/lv/admin/")
    assert admin.post(f"/lv/admin/accounts/{accounts['editor']}/enable", data={"csrf_token": token}).status_code == 302
    # Enabled again, the old cookies do not come back to life.
    assert is_signed_out(with_cookies(seeded_app, remember_token=remember_copy))
    assert is_signed_out(editor)


def test_sign_out_everywhere_from_the_account_page(seeded_app, accounts):
    phone = remembered_sign_in(seeded_app)
    desk = signed_in(seeded_app, "editor@example.lv")
    page = soup(desk.get("/en/account/"))
    assert page.h1.get_text(strip=True) == "Your account"
    button = page.select_one("form[action='/en/account/sign-out-everywhere'] button")
    assert button.get_text(strip=True) == "Sign out on every device"
    token = page.select_one("form[action='/en/account/sign-out-everywhere'] input[name=csrf_token]")["value"]
    response = desk.post("/en/account/sign-out-everywhere", data={"csrf_token": token}, follow_redirects=True)
    assert "You are signed out on every device." in soup(response).select_one(".flash").text
    assert is_signed_out(desk) and is_signed_out(phone)
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)
                                 .where(UserSession.user_id == accounts["editor"])) == 0


def test_changing_the_password_keeps_this_sign_in_and_ends_the_others(seeded_app, accounts):
    phone = remembered_sign_in(seeded_app)
    desk = signed_in(seeded_app, "editor@example.lv")
    token = csrf_token(desk, "/en/account/")
    wrong = desk.post("/en/account/password", data={
        "csrf_token": token, "current_password": "not it at all", "password": "a brand new password",
        "confirm": "a brand new password"})
    assert wrong.status_code == 400
    assert soup(wrong).select_one("#current_password-error").get_text(strip=True) == "This is not your current password."
    response = desk.post("/en/account/password", data={
        "csrf_token": token, "current_password": PASSWORD, "password": "a brand new password",
        "confirm": "a brand new password"})
    assert response.status_code == 302
    assert desk.get(PROTECTED).status_code == 200
    assert is_signed_out(phone)


def test_sign_in_starts_a_fresh_session(seeded_app, accounts):
    """No session fixation: what was in the session before sign-in, the CSRF
    token included, does not carry over (the shortlist does)."""
    client = seeded_app.test_client()
    old_token = csrf_token(client, "/lv/account/login")
    assert client.post("/lv/account/login", data={"csrf_token": old_token, "email": "editor@example.lv",
                                                   "password": PASSWORD}).status_code == 302
    assert client.post("/lv/account/logout", data={"csrf_token": old_token}).status_code == 400
    assert client.get(PROTECTED).status_code == 200


def test_a_sign_in_ends_after_its_lifetime(seeded_app, accounts):
    with time_machine.travel("2026-12-01 08:00 +0000", tick=False) as clock:
        desk = signed_in(seeded_app, "editor@example.lv")
        remembered = remembered_sign_in(seeded_app)
        session_copy = cookie(desk, "session")
        clock.shift(11 * 3600)
        assert desk.get(PROTECTED).status_code == 200
        clock.shift(2 * 3600)  # 13 hours: past the 12 of a sign-in without "keep me signed in"
        assert is_signed_out(with_cookies(seeded_app, session=session_copy))
        remember_copy = cookie(remembered, "remember_token")
        clock.shift(12 * 86400)
        assert with_cookies(seeded_app, remember_token=remember_copy).get(PROTECTED).status_code == 200
        clock.shift(2 * 86400)  # past 14 days
        assert is_signed_out(with_cookies(seeded_app, remember_token=remember_copy))


# ---------------------------------------------------------- 3. one-line fields

def test_a_name_with_a_line_break_is_refused(seeded_app, accounts):
    client = seeded_app.test_client()
    token = csrf_token(client, "/en/account/signup")
    response = client.post("/en/account/signup", data={
        "csrf_token": token, "name": "Anna\r\nBcc: everyone@example.lv", "email": "anna@example.lv",
        "role": "editor", "note": "Vīgante\nday centre", "password": "a long password",
        "confirm": "a long password"})
    page = soup(response)
    assert page.select_one("#name-error").get_text(strip=True) == "Write this on one line, without line breaks."
    assert page.select_one("#note-error") is None  # a text area may hold lines
    with seeded_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "anna@example.lv")) is None
    assert outbox(seeded_app) == []


# ------------------------------------------------------ 8. no enumeration

def answer(response) -> tuple:
    page = soup(response)
    for token in page.select("input[name=csrf_token]"):
        token.decompose()
    return response.status_code, response.headers.get("Location"), page.select_one("main").get_text(" ", strip=True)


def test_sign_up_answers_the_same_for_a_known_address(seeded_app, accounts):
    answers = []
    for email in ("worker@example.lv", "new.person@example.lv"):
        client = seeded_app.test_client()
        token = csrf_token(client, "/en/account/signup")
        answers.append(answer(client.post("/en/account/signup", data={
            "csrf_token": token, "name": "Anna", "email": email, "role": "editor", "note": "Vīgante",
            "password": "a long password", "confirm": "a long password"})))
    assert answers[0] == answers[1]
    to_owner = [m for m in outbox(seeded_app) if m.recipient == "worker@example.lv"]
    # In the owner's language (Latvian), whatever page the sign-up came from.
    assert len(to_owner) == 1 and "Jums jau ir konts" in to_owner[0].body
    assert "http://127.0.0.1:5000/lv/account/reset" in to_owner[0].body
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "worker@example.lv")) == 1


def test_reset_answers_the_same_for_known_and_unknown_addresses(seeded_app, accounts):
    answers = []
    for email in ("worker@example.lv", "nobody@example.lv"):
        client = seeded_app.test_client()
        response = request_reset(client, email)
        answers.append((response.status_code, response.headers["Location"], answer(client.get(response.headers["Location"]))))
    assert answers[0] == answers[1]
    assert [m.recipient for m in outbox(seeded_app)] == ["worker@example.lv"]


def test_reset_links_for_one_address_are_rate_limited(seeded_app, accounts):
    statuses = []
    for n in range(4):
        client = seeded_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        statuses.append(request_reset(client, "worker@example.lv").status_code)
    assert statuses == [302, 302, 302, 429]
    assert len(outbox(seeded_app)) == 3


def test_purge_deletes_expired_sign_ins(seeded_app, accounts):
    with time_machine.travel("2026-12-01 08:00 +0000", tick=False) as clock:
        signed_in(seeded_app, "editor@example.lv")
        clock.shift(3600)
        current = signed_in(seeded_app, "worker@example.lv")
        clock.shift(int(11.5 * 3600))  # the editor's sign-in (12½ hours old) has expired, the worker's not yet
        result = seeded_app.test_cli_runner().invoke(args=["purge"])
        assert "Expired sign-ins deleted: 1" in result.output
        with seeded_app.app_context():
            left = db.session.scalars(select(UserSession.user_id)).all()
        assert left == [accounts["social_worker"]]
        assert current.get("/lv/referrals/").status_code == 200
