"""Centre staff ask to keep a listing; an administrator approves or refuses
(directory/claims.py, issue 19)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from conftest import PASSWORD, csrf_token, make_app, signed_in, soup
from directory import claims
from directory.extensions import db
from directory.models import AuditEvent, ListingClaim, Organization, OutboxMessage, User

CLAIMED = "sarkana-skola"  # no editor in the `accounts` fixture
CLAIM = {"name": "Ilze Ozola", "email": "Ilze.Ozola@Example.lv", "role": "Vadītāja", "message": "Es vadu centru."}


def claim_url(slug=CLAIMED, lang="lv"):
    return f"/{lang}/centres/{slug}/claim"


def ask(client, slug=CLAIMED, lang="lv", **data):
    token = csrf_token(client, claim_url(slug, lang))
    return client.post(claim_url(slug, lang), data={"csrf_token": token, **CLAIM, **data})


def admin_post(client, url, **data):
    token = csrf_token(client, "/lv/admin/claims")
    return client.post(url, data={"csrf_token": token, **data})


def outbox_to(app, recipient):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                  .order_by(OutboxMessage.id)).all()


def only_claim(app):
    with app.app_context():
        return db.session.scalar(select(ListingClaim))


def test_a_claim_end_to_end(seeded_app, accounts):
    visitor = seeded_app.test_client()
    centre = soup(visitor.get(f"/lt/centres/{CLAIMED}"))
    link = centre.select_one(".claim-link a")
    assert link["href"] == claim_url(lang="lt") and not centre.select(".kept-by-centre")

    response = ask(visitor, lang="lt")
    assert response.status_code == 200 and soup(response).select_one("#claim-sent")
    # Asked twice: one claim, the same answer, the admin e-mailed once.
    assert ask(visitor, lang="lt").status_code == 200
    with seeded_app.app_context():
        claim = db.session.scalars(select(ListingClaim)).one()
        assert (claim.email, claim.language, claim.status) == ("ilze.ozola@example.lv", "lt", "pending")
        claim_id = claim.id
    assert len(outbox_to(seeded_app, "admin@example.lv")) == 1

    admin = signed_in(seeded_app, "admin@example.lv")
    assert "1" in soup(admin.get("/lv/admin/")).select_one("#count-pending-claims").text
    queue = soup(admin.get("/lv/admin/claims"))
    assert "Ilze Ozola" in queue.select_one(f"#claim-{claim_id}").text
    response = admin_post(admin, f"/lv/admin/claims/{claim_id}/approve")
    assert response.status_code == 302 and response.headers["Location"].endswith("/lv/admin/claims")

    with seeded_app.app_context():
        claim = db.session.get(ListingClaim, claim_id)
        user = db.session.scalar(select(User).where(User.email == "ilze.ozola@example.lv"))
        assert (claim.status, claim.user_id, claim.decided_by_id) == ("approved", user.id, accounts["admin"])
        assert (user.role, user.status, user.language) == ("editor", "active", "lt")
        assert [org.slug for org in user.organizations] == [CLAIMED]
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim-approve"))
        assert audit.subject_id == str(claim_id) and '"created"' in audit.detail
    [mail] = outbox_to(seeded_app, "ilze.ozola@example.lv")
    # In the claim's language, on PUBLIC_BASE_URL: a link to choose the password.
    reset_link = re.search(r"http://127\.0\.0\.1:5000/lt/account/reset/\S+", mail.body).group(0)
    assert f"http://127.0.0.1:5000/lt/centres/{CLAIMED}" in mail.body

    # The link is the ordinary password-reset flow: a password, then sign-in.
    person = seeded_app.test_client()
    path = reset_link.removeprefix("http://127.0.0.1:5000")
    token = csrf_token(person, path)
    assert person.post(path, data={"csrf_token": token, "password": PASSWORD, "confirm": PASSWORD}).status_code == 302
    signed_in(seeded_app, "ilze.ozola@example.lv")

    centre = soup(visitor.get(f"/lt/centres/{CLAIMED}"))
    assert centre.select_one(".kept-by-centre") and not centre.select(".claim-link")
    # A claim on a centre kept already is refused politely.
    assert visitor.get(claim_url()).status_code == 200
    response = visitor.post(claim_url(), data={"csrf_token": csrf_token(visitor, "/lv/centres/saskarsme"), **CLAIM})
    assert response.status_code == 409 and soup(response).select_one("#claim-kept")
    assert soup(admin.get("/lv/admin/claims")).select_one("#claims-empty")


def test_an_existing_account_is_linked_not_made_again(seeded_app, accounts):
    ask(seeded_app.test_client(), email="worker-at-centre@example.lv")
    with seeded_app.app_context():
        db.session.add(User(email="worker-at-centre@example.lv", name="Ilze", role="editor", status="active",
                            password_hash="x", language="ru"))
        db.session.commit()
    admin = signed_in(seeded_app, "admin@example.lv")
    admin_post(admin, f"/lv/admin/claims/{only_claim(seeded_app).id}/approve")
    with seeded_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "worker-at-centre@example.lv"))
        assert [org.slug for org in user.organizations] == [CLAIMED]
        assert db.session.scalar(select(ListingClaim)).user_id == user.id
    [mail] = outbox_to(seeded_app, "worker-at-centre@example.lv")
    assert "/lv/account/login" in mail.body and "/reset/" not in mail.body


def test_a_refusal_needs_a_reason_and_the_person_receives_it(seeded_app, accounts):
    ask(seeded_app.test_client(), lang="ru")
    claim_id = only_claim(seeded_app).id
    admin = signed_in(seeded_app, "admin@example.lv")
    response = admin_post(admin, f"/lv/admin/claims/{claim_id}/refuse", **{f"claim-{claim_id}-reason": "  "})
    assert response.status_code == 200 and soup(response).select_one(f"#claim-{claim_id}-reason-error")
    assert only_claim(seeded_app).status == "pending"

    reason = "Šis e-pasts nav centra adrese."
    response = admin_post(admin, f"/lv/admin/claims/{claim_id}/refuse", **{f"claim-{claim_id}-reason": reason})
    assert response.status_code == 302
    claim = only_claim(seeded_app)
    assert (claim.status, claim.reason, claim.user_id) == ("refused", reason, None)
    [mail] = outbox_to(seeded_app, "ilze.ozola@example.lv")
    assert reason in mail.body
    with seeded_app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim-refuse")) is not None
        assert db.session.scalar(select(User).where(User.email == "ilze.ozola@example.lv")) is None
    # Decided once: a second decision is refused.
    admin_post(admin, f"/lv/admin/claims/{claim_id}/approve")
    assert only_claim(seeded_app).status == "refused"


def test_a_claim_needs_a_csrf_token(client):
    assert client.post(claim_url(), data=CLAIM).status_code == 400
    assert only_claim(client.application) is None


def test_field_errors_are_translated_and_keep_what_was_typed(client):
    response = ask(client, email="not-an-address", role="", message="Rinda\notrā rinda", name="Ilze\nOzola")
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one("#email")["value"] == "not-an-address"
    assert page.select_one("#message").text.strip() == "Rinda\notrā rinda"
    assert page.select_one("#email-error") and page.select_one("#role-error") and page.select_one("#name-error")
    assert page.select_one("#email").get("aria-invalid") == "true"
    assert only_claim(client.application) is None
    long = ask(client, message="x" * (claims.MAX_MESSAGE + 1))
    assert long.status_code == 400 and soup(long).select_one("#message-error")


def test_claims_are_rate_limited_per_address(client):
    # CLAIM_RATE_LIMIT: 5 a minute from one address; the 6th gets a translated 429 page.
    statuses = [ask(client, email=f"person{n}@example.lv").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    page = soup(ask(client, lang="en", email="late@example.lv"))
    assert "sent too many times" in page.select_one("#error-message").text
    assert page.html["lang"] == "en"


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_claims_are_rate_limited_per_organization(seeded_app, database_uri):
    app = make_app(database_uri, CLAIM_ORGANIZATION_RATE_LIMIT="2 per day")
    # A form sent back with errors is not counted against the centre.
    statuses = [ask(from_address(app, "192.0.2.100"), email="").status_code]
    for n in range(3):
        statuses.append(ask(from_address(app, f"192.0.2.{n + 1}"), email=f"person{n}@example.lv").status_code)
    assert statuses == [400, 200, 200, 429]
    # Another centre is not held up.
    assert ask(from_address(app, "192.0.2.9"), slug="vigante").status_code == 200


@pytest.mark.parametrize("email", ["editor@example.lv", "worker@example.lv"])
def test_only_admins_see_and_decide_claims(seeded_app, accounts, email):
    ask(seeded_app.test_client())
    claim_id = only_claim(seeded_app).id
    someone = signed_in(seeded_app, email)
    token = csrf_token(someone, "/lv/account/")
    assert someone.get("/lv/admin/claims").status_code == 403
    assert someone.post(f"/lv/admin/claims/{claim_id}/approve", data={"csrf_token": token}).status_code == 403
    assert someone.post(f"/lv/admin/claims/{claim_id}/refuse",
                        data={"csrf_token": token, f"claim-{claim_id}-reason": "no"}).status_code == 403
    anonymous = seeded_app.test_client()
    assert anonymous.get("/lv/admin/claims").status_code == 302  # to the sign-in page
    assert only_claim(seeded_app).status == "pending"


def test_kept_by_the_centre_needs_an_active_editor(seeded_app, accounts):
    with seeded_app.app_context():
        saskarsme = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        assert claims.is_kept_by_centre(db.session, saskarsme)
        db.session.get(User, accounts["editor"]).status = "disabled"
        db.session.commit()
        assert not claims.is_kept_by_centre(db.session, saskarsme)
