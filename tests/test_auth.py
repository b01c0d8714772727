"""Signing in and out, sign-up requests, password reset, rate limits."""

import re

from sqlalchemy import select

from conftest import PASSWORD, csrf_token, login, soup
from directory.extensions import db
from directory.models import AuditEvent, OutboxMessage, User


def test_sign_in_takes_each_role_home(seeded_app, accounts):
    for email, home in [
        ("admin@example.lv", "/lv/admin/"),
        ("editor@example.lv", "/lv/manage/"),
        ("worker@example.lv", "/lv/"),
    ]:
        client = seeded_app.test_client()
        response = login(client, email)
        assert response.status_code == 302 and response.headers["Location"] == home


def test_wrong_password_and_pending_account_are_refused(seeded_app, accounts):
    client = seeded_app.test_client()
    for email, password in [("editor@example.lv", "wrong password!"), ("pending@example.lv", PASSWORD),
                            ("nobody@example.lv", PASSWORD)]:
        response = login(client, email, password)
        assert response.status_code == 200
        assert "E-pasts vai parole ir nepareiza" in soup(response).select_one(".flash-error").text
        assert soup(response).select_one("#email")["value"] == email  # kept what was typed
    with seeded_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == "login-failed")) == 3


def test_form_errors_are_translated_beside_each_field(seeded_app):
    client = seeded_app.test_client()
    token = csrf_token(client, "/ru/account/login")
    page = soup(client.post("/ru/account/login", data={"csrf_token": token, "email": "not-an-email", "password": ""}))
    assert "name@example.lv" in page.select_one("#email-error").text
    assert page.select_one("#email")["aria-invalid"] == "true"
    assert page.select_one("#password-error").get_text(strip=True) == "Это поле обязательно."


def test_next_goes_back_only_to_this_site(seeded_app, accounts):
    client = seeded_app.test_client()
    response = client.get("/lv/manage/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/lv/account/login?next=")
    token = csrf_token(client, "/lv/account/login")
    ok = client.post("/lv/account/login?next=/lv/manage/", data={"csrf_token": token, "email": "editor@example.lv", "password": PASSWORD})
    assert ok.headers["Location"] == "/lv/manage/"
    other = seeded_app.test_client()
    token = csrf_token(other, "/lv/account/login")
    evil = other.post("/lv/account/login?next=//evil.example/", data={"csrf_token": token, "email": "editor@example.lv", "password": PASSWORD})
    assert evil.headers["Location"] == "/lv/manage/"


def test_sign_out_needs_a_post_with_csrf(seeded_app, accounts):
    client = seeded_app.test_client()
    login(client, "editor@example.lv")
    assert client.get("/lv/account/logout").status_code == 405
    assert client.post("/lv/account/logout").status_code == 400  # no CSRF token
    token = csrf_token(client, "/lv/manage/")
    assert client.post("/lv/account/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/lv/manage/").status_code == 302


def test_login_without_csrf_token_is_refused(seeded_app, accounts):
    client = seeded_app.test_client()
    response = client.post("/lv/account/login", data={"email": "editor@example.lv", "password": PASSWORD})
    assert response.status_code == 400


def test_sign_up_is_a_request_for_an_admin(seeded_app, accounts):
    client = seeded_app.test_client()
    token = csrf_token(client, "/lv/account/signup")
    response = client.post("/lv/account/signup", data={
        "csrf_token": token, "name": "Anna Ozola", "email": "Anna@Example.LV", "role": "editor",
        "note": "Dienas centrs “Saskarsme”", "password": "a long password", "confirm": "a long password",
    })
    assert response.status_code == 200 and "Anna Ozola" in soup(response).text
    with seeded_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "anna@example.lv"))
        assert user.status == "pending" and user.role == "editor"
        # Hashed with scrypt at its full work factor (test accounts use a cheaper one).
        assert user.password_hash.startswith("scrypt:32768:8:1$") and "a long password" not in user.password_hash
        mail = db.session.scalars(select(OutboxMessage)).all()
        assert [m.recipient for m in mail] == ["admin@example.lv"]
    assert login(seeded_app.test_client(), "anna@example.lv", "a long password").status_code == 200  # not yet


def test_sign_up_errors_keep_what_was_typed(seeded_app, accounts):
    client = seeded_app.test_client()
    token = csrf_token(client, "/lv/account/signup")
    page = soup(client.post("/lv/account/signup", data={
        "csrf_token": token, "name": "Jānis", "email": "editor@example.lv", "role": "editor",
        "note": "Vīgante", "password": "short", "confirm": "other",
    }))
    assert page.select_one("#name")["value"] == "Jānis"
    assert page.select_one("#note").text.strip() == "Vīgante"
    assert page.select_one("#password-error") and page.select_one("#confirm-error")
    with seeded_app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 5


def test_password_reset_by_a_signed_expiring_link(seeded_app, accounts):
    client = seeded_app.test_client()
    token = csrf_token(client, "/lv/account/reset")
    client.post("/lv/account/reset", data={"csrf_token": token, "email": "editor@example.lv"})
    client.post("/lv/account/reset", data={"csrf_token": token, "email": "nobody@example.lv"})
    with seeded_app.app_context():
        mail = db.session.scalars(select(OutboxMessage)).all()
        assert [m.recipient for m in mail] == ["editor@example.lv"]
        # On PUBLIC_BASE_URL, whatever host the request named.
        link = re.search(r"http://127\.0\.0\.1:5000(/lv/account/reset/\S+)", mail[0].body).group(1)
    form_token = csrf_token(client, link)
    done = client.post(link, data={"csrf_token": form_token, "password": "a brand new password", "confirm": "a brand new password"})
    assert done.status_code == 302
    assert client.get(link).status_code == 404  # used: the password changed
    assert login(seeded_app.test_client(), "editor@example.lv", "a brand new password").status_code == 302
    assert client.get("/lv/account/reset/not-a-token").status_code == 404


def test_login_is_rate_limited_per_address(seeded_app, accounts):
    client = seeded_app.test_client()
    statuses = [login(client, f"someone{n}@example.lv", "wrong password!").status_code for n in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_login_is_rate_limited_per_account_from_any_address(seeded_app, accounts):
    """Guessing one account's password from many addresses still stops."""
    statuses = []
    for n in range(6):
        client = seeded_app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        statuses.append(login(client, "Editor@Example.lv ", "wrong password!").status_code)
    assert statuses == [200] * 5 + [429]
    other_account = seeded_app.test_client()
    other_account.environ_base["REMOTE_ADDR"] = "203.0.113.99"
    assert login(other_account, "worker@example.lv").status_code == 302


def test_create_admin_command(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "Boss@Example.lv", "--name", "Boss", "--password", "a good long password"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert (user.email, user.role, user.status) == ("boss@example.lv", "admin", "active")
    short = app.test_cli_runner().invoke(args=["create-admin", "--email", "x@example.lv", "--name", "X", "--password", "short"])
    assert short.exit_code != 0


def test_session_cookie_flags(seeded_app, accounts):
    client = seeded_app.test_client()
    response = login(client, "editor@example.lv")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
