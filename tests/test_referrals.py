"""Referrals: a social worker sends a client to a service, the centre answers,
the social worker follows it; who may see what; the purge; the client's slip."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pytest
from flask import url_for
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from conftest import csrf_token, make_user, signed_in, soup
from directory.extensions import db
from directory.referral_workflow import STATUS_LABELS
from directory.models import (
    AuditEvent,
    Organization,
    OutboxMessage,
    Referral,
    ReferralEvent,
    RequiredDocument,
    Schedule,
    Service,
    User,
)


def service_of(app, slug: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Service.id).join(Service.organization)
            .where(Organization.slug == slug, Service.status == "active").order_by(Service.name)
        )


def referral_form(client, service_id, **values):
    page = client.get(f"/en/referrals/new?service={service_id}")
    assert page.status_code == 200
    data = {
        "csrf_token": soup(page).select_one('input[name="csrf_token"]')["value"],
        "service_id": service_id,
        "client_name": "Anna K.",
        "client_contact": "+371 20000000",
        "client_language": "lt",
        "need": "Needs a warm place during the day and a meal.",
        "consent": "y",
    }
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def send(client, service_id, **values):
    return client.post("/en/referrals/new", data=referral_form(client, service_id, **values))


def answer(client, referral_id, status, expected, **extra):
    url = f"/en/manage/referrals/{referral_id}"
    data = {"csrf_token": csrf_token(client, url), "status": status, "expected": expected}
    data.update(extra)
    return client.post(f"{url}/status", data=data)


def outbox(app):
    with app.app_context():
        return [(m.recipient, m.subject, m.body) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def the_referral(app, referral_id=None) -> Referral:
    with app.app_context():
        query = select(Referral).order_by(Referral.id.desc())
        referral = db.session.get(Referral, referral_id) if referral_id else db.session.scalar(query)
        if referral is not None:
            db.session.expunge(referral)
        return referral


@pytest.fixture
def sent(seeded_app, accounts):
    """A referral from the social worker to a Saskarsme service, and the clients."""
    worker = signed_in(seeded_app, "worker@example.lv")
    editor = signed_in(seeded_app, "editor@example.lv")
    service_id = service_of(seeded_app, "saskarsme")
    response = send(worker, service_id)
    assert response.status_code == 302
    referral = the_referral(seeded_app)
    return {"worker": worker, "editor": editor, "service_id": service_id, "id": referral.id,
            "url": f"/en/referrals/{referral.id}", "centre_url": f"/en/manage/referrals/{referral.id}"}


# ------------------------------------------------------------ the whole loop


def test_send_accept_complete_loop(seeded_app, sent):
    worker, editor = sent["worker"], sent["editor"]
    page = soup(worker.get(sent["url"]))
    assert page.select_one(".status").get_text(strip=True).startswith("Sent") or "sent" in page.select_one(".badge")["class"][-1]
    assert page.select_one(".client-name").get_text(strip=True) == "Anna K."

    # The centre is told, without the client's name in the e-mail.
    mails = outbox(seeded_app)
    assert [m[0] for m in mails] == ["editor@example.lv"]
    assert "Anna" not in mails[0][1] + mails[0][2]
    assert f"/lv/manage/referrals/{sent['id']}" in mails[0][2]

    # The centre sees it in its list, waiting, and accepts it.
    listing = soup(editor.get("/en/manage/referrals/"))
    assert listing.select_one(f"#referral-{sent['id']}") is not None
    assert "Anna K." in listing.select_one(f"#referral-{sent['id']}").get_text()
    assert answer(editor, sent["id"], "accepted", "sent", note="Come on Monday at 10.").status_code == 302
    assert the_referral(seeded_app, sent["id"]).status == "accepted"
    assert outbox(seeded_app)[-1][0] == "worker@example.lv"

    # The social worker sees the change and the centre's note.
    page = soup(worker.get(sent["url"]))
    assert "badge-accepted" in page.select_one(".status .badge")["class"]
    assert "Come on Monday at 10." in page.select_one(".referral-history").get_text()

    assert answer(editor, sent["id"], "completed", "accepted").status_code == 302
    referral = the_referral(seeded_app, sent["id"])
    assert referral.status == "completed" and referral.closed_at is not None
    page = soup(worker.get(sent["url"]))
    assert [li["class"][-1] for li in page.select(".history-event")] == ["event-sent", "event-accepted", "event-completed"]
    assert len(outbox(seeded_app)) == 3
    # Nothing left to answer.
    assert soup(editor.get(sent["centre_url"])).select_one("#answer") is None


def test_decline_needs_a_reason_and_tells_the_worker(seeded_app, sent):
    editor = sent["editor"]
    response = answer(editor, sent["id"], "declined", "sent", reason="")
    assert response.status_code == 400
    assert soup(response).select_one(".field-error") is not None
    assert the_referral(seeded_app, sent["id"]).status == "sent"

    assert answer(editor, sent["id"], "declined", "sent", reason="no-places").status_code == 302
    referral = the_referral(seeded_app, sent["id"])
    assert referral.status == "declined" and referral.decline_reason == "no-places"
    page = soup(sent["worker"].get(sent["url"]))
    assert "No places available" in page.select_one(".status").get_text()
    recipient, subject, _body = outbox(seeded_app)[-1]
    with seeded_app.test_request_context(), force_locale("lv"):  # the worker's language
        declined = str(STATUS_LABELS["declined"])
    assert recipient == "worker@example.lv" and declined in subject


def test_the_sender_withdraws_and_the_centre_is_told(seeded_app, sent):
    worker = sent["worker"]
    token = csrf_token(worker, sent["url"])
    response = worker.post(f"{sent['url']}/withdraw",
                           data={"csrf_token": token, "status": "withdrawn", "expected": "sent"})
    assert response.status_code == 302
    assert the_referral(seeded_app, sent["id"]).status == "withdrawn"
    assert outbox(seeded_app)[-1][0] == "editor@example.lv"
    # A closed referral cannot be answered any more.
    response = answer(sent["editor"], sent["id"], "accepted", "withdrawn")
    assert response.status_code == 409
    assert the_referral(seeded_app, sent["id"]).status == "withdrawn"


# ------------------------------------------------------------ bad input changes nothing


def counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Referral)),
                db.session.scalar(select(func.count()).select_from(ReferralEvent)),
                db.session.scalar(select(func.count()).select_from(OutboxMessage)))


def test_an_empty_need_is_refused_and_what_was_typed_stays(seeded_app, accounts):
    worker = signed_in(seeded_app, "worker@example.lv")
    service_id = service_of(seeded_app, "saskarsme")
    before = counts(seeded_app)
    response = send(worker, service_id, need="   ", client_name="J. B.")
    assert response.status_code == 400
    page = soup(response)
    assert "Describe what the client needs." in page.select_one("#need-error").get_text()
    assert page.select_one("#client_name")["value"] == "J. B."
    assert page.select_one("#client_language option[selected]")["value"] == "lt"
    assert counts(seeded_app) == before


def test_consent_is_required(seeded_app, accounts):
    worker = signed_in(seeded_app, "worker@example.lv")
    before = counts(seeded_app)
    response = send(worker, service_of(seeded_app, "saskarsme"), consent=None)
    assert response.status_code == 400
    assert soup(response).select_one("#consent-error") is not None
    assert counts(seeded_app) == before


def test_a_service_retired_meanwhile_takes_no_referral(seeded_app, accounts):
    worker = signed_in(seeded_app, "worker@example.lv")
    service_id = service_of(seeded_app, "saskarsme")
    data = referral_form(worker, service_id)
    with seeded_app.app_context():
        db.session.get(Service, service_id).status = "inactive"
        db.session.commit()
    before = counts(seeded_app)
    response = worker.post("/en/referrals/new", data=data)
    assert response.status_code == 409
    page = soup(response)
    assert "no longer offered" in page.select_one(".flash-error").get_text()
    assert page.select_one("#not-referrable") is not None
    assert counts(seeded_app) == before


def test_a_status_change_out_of_order_is_refused(seeded_app, sent):
    before = counts(seeded_app)
    response = answer(sent["editor"], sent["id"], "completed", "sent")
    assert response.status_code == 409
    assert "cannot become" in soup(response).select_one(".flash-error").get_text()
    assert the_referral(seeded_app, sent["id"]).status == "sent"
    assert counts(seeded_app) == before


def test_an_answer_based_on_an_old_page_is_refused(seeded_app, sent):
    """Two editors open the page; the first accepts, the second declines."""
    assert answer(sent["editor"], sent["id"], "accepted", "sent").status_code == 302
    before = counts(seeded_app)
    response = answer(sent["editor"], sent["id"], "declined", "sent", reason="no-places")
    assert response.status_code == 409
    assert "changed this referral meanwhile" in soup(response).select_one(".flash-error").get_text()
    assert the_referral(seeded_app, sent["id"]).status == "accepted"
    assert counts(seeded_app) == before


def test_an_unknown_status_is_refused(seeded_app, sent):
    response = answer(sent["editor"], sent["id"], "approved", "sent")
    assert response.status_code == 400
    assert the_referral(seeded_app, sent["id"]).status == "sent"


# ------------------------------------------------------------ who sees what


def referral_urls(app, referral_id, service_id):
    """(method, url, endpoint) of every referral URL in the URL map."""
    values = {"referral_id": referral_id}
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if not (rule.endpoint.startswith("referrals.") or rule.endpoint in (
                    "manage.referrals", "manage.referral", "manage.referral_status")):
                continue
            args = {"lang_code": "lv", **{k: values[k] for k in rule.arguments - {"lang_code"}}}
            url = url_for(rule.endpoint, **args)
            if rule.endpoint == "referrals.new":
                url += f"?service={service_id}"
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, url, rule.endpoint))
    assert len(urls) >= 9
    return urls


def try_url(client, method, url):
    if method == "GET":
        return client.get(url)
    token = csrf_token(client, "/lv/centres/saskarsme")
    return client.post(url, data={"csrf_token": token})


# What each kind of user gets: "ok" (a page or a refusal of the empty form,
# never 403) or 403.
def expected(role, endpoint):
    if endpoint in ("referrals.index", "manage.referrals"):
        # Lists: each user sees their own (tested below), if the role has one.
        own = {"referrals.index": ("sender", "other_worker", "admin"),
               "manage.referrals": ("receiver", "other_editor", "admin")}
        return "ok" if role in own[endpoint] else 403
    sender_pages = endpoint.startswith("referrals.")
    if role == "sender":
        return "ok" if sender_pages else 403
    if role == "other_worker":
        return "ok" if endpoint == "referrals.new" else 403
    if role == "receiver":
        return 403 if sender_pages else "ok"
    if role == "other_editor":
        return 403
    if role == "admin":
        return 403 if endpoint == "referrals.new" else "ok"
    raise AssertionError(role)


@pytest.mark.parametrize("role, email", [
    ("sender", "worker@example.lv"),
    ("other_worker", "worker2@example.lv"),
    ("receiver", "editor@example.lv"),
    ("other_editor", "other@example.lv"),
    ("admin", "admin@example.lv"),
])
def test_every_role_against_every_referral_url(seeded_app, sent, role, email):
    if role == "other_worker":
        make_user(seeded_app, email, "social_worker")
    client = signed_in(seeded_app, email)
    for method, url, endpoint in referral_urls(seeded_app, sent["id"], sent["service_id"]):
        response = try_url(client, method, url)
        want = expected(role, endpoint)
        if want == 403:
            assert response.status_code == 403, (role, method, url, response.status_code)
        else:
            # An empty POST is refused as incomplete (400, or 404 for a
            # referral form naming no service), never with 403 or a 500.
            assert response.status_code in (200, 302, 400, 404, 409), (role, method, url, response.status_code)
            if method == "GET" and endpoint != "referrals.new":
                assert response.status_code == 200
                if role not in ("other_worker", "other_editor"):
                    assert "Anna K." in response.get_data(as_text=True), (role, url)
                else:
                    assert "Anna K." not in response.get_data(as_text=True), (role, url)


def test_anonymous_visitors_are_sent_to_sign_in(seeded_app, sent):
    client = seeded_app.test_client()
    for method, url, _endpoint in referral_urls(seeded_app, sent["id"], sent["service_id"]):
        response = try_url(client, method, url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], (method, url)


def test_the_client_is_shown_only_to_those_who_may_see_it(seeded_app, sent):
    assert "Anna K." in sent["worker"].get(sent["url"]).get_data(as_text=True)
    assert "Anna K." in sent["editor"].get(sent["centre_url"]).get_data(as_text=True)
    other_editor = signed_in(seeded_app, "other@example.lv")
    assert "Anna K." not in other_editor.get("/en/manage/referrals/").get_data(as_text=True)
    make_user(seeded_app, "worker2@example.lv", "social_worker")
    other_worker = signed_in(seeded_app, "worker2@example.lv")
    assert "Anna K." not in other_worker.get("/en/referrals/").get_data(as_text=True)


def test_every_view_is_in_the_audit_log(seeded_app, sent, accounts):
    sent["worker"].get(sent["url"])
    sent["editor"].get(sent["centre_url"])
    sent["worker"].get(f"{sent['url']}/slip")
    sent["editor"].get("/en/manage/referrals/")
    with seeded_app.app_context():
        views = db.session.execute(
            select(AuditEvent.user_id, AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.action.in_(("referral-view", "referral-list-view")))
            .order_by(AuditEvent.id)
        ).all()
    pages = [(user_id, json.loads(detail)["page"]) for user_id, _action, detail in views]
    assert (accounts["social_worker"], "sender") in pages
    assert (accounts["editor"], "centre") in pages
    assert (accounts["social_worker"], "slip") in pages
    list_views = [json.loads(detail) for _u, action, detail in views if action == "referral-list-view"]
    assert any(sent["id"] in view["referrals"] for view in list_views)


# ------------------------------------------------------------ who is told


def test_a_centre_without_editors_sends_the_referral_to_the_administrators(seeded_app, accounts):
    worker = signed_in(seeded_app, "worker@example.lv")
    service_id = service_of(seeded_app, "vigante")
    with seeded_app.app_context():
        db.session.get(User, accounts["other_editor"]).status = "disabled"
        db.session.commit()
    page = soup(worker.get(f"/en/referrals/new?service={service_id}"))
    assert page.select_one("#no-receivers") is not None
    assert send(worker, service_id).status_code == 302
    assert [m[0] for m in outbox(seeded_app)] == ["admin@example.lv"]


def test_e_mails_are_in_the_recipients_language(seeded_app, accounts):
    with seeded_app.app_context():
        db.session.get(User, accounts["editor"]).language = "en"
        db.session.commit()
    worker = signed_in(seeded_app, "worker@example.lv")
    send(worker, service_of(seeded_app, "saskarsme"))
    recipient, subject, body = outbox(seeded_app)[-1]
    assert recipient == "editor@example.lv"
    assert subject.startswith("New referral to")
    assert "/en/manage/referrals/" in body


# ------------------------------------------------------------ purge


def age(app, referral_id, *, closed_days_ago=None, created_days_ago=None):
    with app.app_context():
        referral = db.session.get(Referral, referral_id)
        now = datetime.now(timezone.utc)
        if closed_days_ago is not None:
            referral.closed_at = now - timedelta(days=closed_days_ago)
        if created_days_ago is not None:
            referral.created_at = now - timedelta(days=created_days_ago)
        db.session.commit()


def test_purge_removes_client_data_and_keeps_the_counts(seeded_app, sent):
    worker, editor = sent["worker"], sent["editor"]
    old = sent["id"]
    answer(editor, old, "accepted", "sent", note="Anna comes on Monday")
    answer(editor, old, "completed", "accepted")
    send(worker, sent["service_id"], client_name="B. R.")
    recent = the_referral(seeded_app).id
    answer(editor, recent, "declined", "sent", reason="no-places")
    send(worker, sent["service_id"], client_name="C. S.")
    still_open = the_referral(seeded_app).id
    age(seeded_app, old, closed_days_ago=181)
    age(seeded_app, recent, closed_days_ago=10)

    result = seeded_app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "client data was deleted (closed more than 180 days ago): 1" in result.output

    purged = the_referral(seeded_app, old)
    assert purged.client_name is None and purged.client_contact is None and purged.need is None
    assert purged.anonymised_at is not None
    assert purged.status == "completed" and purged.service_name and purged.service_id == sent["service_id"]
    with seeded_app.app_context():
        notes = db.session.scalars(select(ReferralEvent.note).where(ReferralEvent.referral_id == old)).all()
        assert notes and all(note is None for note in notes)
        by_status = dict(db.session.execute(select(Referral.status, func.count()).group_by(Referral.status)).all())
    assert by_status == {"completed": 1, "declined": 1, "sent": 1}
    assert the_referral(seeded_app, recent).client_name == "B. R."
    assert the_referral(seeded_app, still_open).client_name == "C. S."

    # Its pages say the data was deleted, and show no trace of it.
    page = soup(worker.get(f"/en/referrals/{old}"))
    assert "Anna" not in page.get_text()
    assert page.select_one(".client-removed") is not None and page.select_one(".client-name") is None

    # A second run finds nothing more; --days shortens the period.
    assert "ago): 0" in seeded_app.test_cli_runner().invoke(args=["purge"]).output
    result = seeded_app.test_cli_runner().invoke(args=["purge", "--days", "5"])
    assert "(closed more than 5 days ago): 1" in result.output
    assert the_referral(seeded_app, recent).client_name is None


def test_unanswered_referrals_expire_and_the_sender_is_told(seeded_app, sent):
    age(seeded_app, sent["id"], created_days_ago=91)
    result = seeded_app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "closed as expired (no answer in 90 days): 1" in result.output
    referral = the_referral(seeded_app, sent["id"])
    assert referral.status == "expired" and referral.closed_at is not None
    assert referral.client_name == "Anna K."  # the retention period starts now
    recipient, subject, body = outbox(seeded_app)[-1]
    assert recipient == "worker@example.lv"
    assert f"/lv/referrals/{sent['id']}" in body


# ------------------------------------------------------------ the client's slip


def test_the_slip_shows_address_hours_and_what_to_bring_in_the_clients_language(seeded_app, sent):
    with seeded_app.app_context():
        service = db.session.get(Service, sent["service_id"])
        location = service.organization.locations[0]
        location.schedules.append(Schedule(byday="MO", opens_at=time(9), closes_at=time(17)))
        service.required_documents.append(RequiredDocument(document="Personas apliecība", position=0))
        db.session.commit()
        city = location.physical_address.city
    page = soup(sent["worker"].get(sent["url"]))
    slip_link = page.select_one("#slip-link")["href"]
    assert slip_link == f"/lt/referrals/{sent['id']}/slip"  # the client's language

    response = sent["worker"].get(slip_link)
    assert response.status_code == 200
    slip = soup(response)
    assert slip.html["lang"] == "lt"
    with seeded_app.test_request_context("/lt/"), force_locale("lt"):
        heading = gettext("Referral to a social service")
    assert slip.select_one("h1").get_text(strip=True) == heading
    assert city in slip.select_one(".address").get_text()
    hours = slip.select_one(".hours").get_text(" ", strip=True)
    assert "9:00" in hours or "09:00" in hours
    assert "17:00" in hours
    assert "Personas apliecība" in slip.select_one(".required-documents").get_text()
    assert slip.select_one(".client-name").get_text(strip=True) == "Anna K."


def test_the_slip_says_when_the_listing_gives_no_hours(seeded_app, sent):
    slip = soup(sent["worker"].get(f"/en/referrals/{sent['id']}/slip"))
    assert "not yet provided" in slip.select_one(".hours").get_text()
    assert slip.select_one(".required-documents") is None


# ------------------------------------------------------------ CSRF


def test_every_referral_post_needs_a_csrf_token(seeded_app, sent):
    worker, editor = sent["worker"], sent["editor"]
    before = counts(seeded_app)
    data = referral_form(worker, sent["service_id"])
    del data["csrf_token"]
    assert worker.post("/en/referrals/new", data=data).status_code == 400
    assert worker.post(f"{sent['url']}/withdraw", data={"status": "withdrawn", "expected": "sent"}).status_code == 400
    assert editor.post(f"{sent['centre_url']}/status", data={"status": "accepted", "expected": "sent"}).status_code == 400
    assert counts(seeded_app) == before
    assert the_referral(seeded_app, sent["id"]).status == "sent"


def test_the_dashboard_counts_referrals_waiting_for_an_answer(seeded_app, sent):
    link = soup(sent["editor"].get("/lv/manage/")).select_one("#waiting-referrals a")
    assert link["href"] == "/lv/manage/referrals/?status=waiting" and "1" in link.get_text()
    answer(sent["editor"], sent["id"], "accepted", "sent")
    assert "/lv/manage/referrals/?status=waiting" not in str(soup(sent["editor"].get("/lv/manage/")).select_one("#waiting-referrals"))


def test_centres_are_reminded_once_of_a_referral_waiting_for_an_answer(seeded_app, sent):
    runner = seeded_app.test_cli_runner()
    assert runner.invoke(args=["remind"]).output.strip().endswith(": 0")  # too early
    age(seeded_app, sent["id"], created_days_ago=8)
    before = len(outbox(seeded_app))
    result = runner.invoke(args=["remind"])
    assert result.exit_code == 0 and result.output.strip().endswith(": 1")
    mails = outbox(seeded_app)[before:]
    assert [m[0] for m in mails] == ["editor@example.lv"]
    assert f"/lv/manage/referrals/{sent['id']}" in mails[0][2] and "Anna" not in mails[0][1] + mails[0][2]
    assert runner.invoke(args=["remind"]).output.strip().endswith(": 0")  # once only
    assert len(outbox(seeded_app)) == before + 1


def test_answered_referrals_get_no_reminder(seeded_app, sent):
    answer(sent["editor"], sent["id"], "accepted", "sent")
    age(seeded_app, sent["id"], created_days_ago=30)
    assert seeded_app.test_cli_runner().invoke(args=["remind"]).output.strip().endswith(": 0")


@pytest.mark.parametrize("field, text", [
    ("client_name", "Anna 120385-12345"),
    ("client_contact", "personas kods 12038512345"),
    ("need", "Asmens kodas 38501150123, reikia pagalbos."),
])
def test_a_personal_code_is_refused_wherever_it_is_written(seeded_app, accounts, field, text):
    worker = signed_in(seeded_app, "worker@example.lv")
    before = counts(seeded_app)
    response = send(worker, service_of(seeded_app, "saskarsme"), **{field: text})
    assert response.status_code == 400
    page = soup(response)
    assert "personal code" in page.select_one(f"#{field}-error").get_text()
    assert counts(seeded_app) == before


def test_phone_numbers_are_not_mistaken_for_personal_codes(seeded_app, accounts):
    worker = signed_in(seeded_app, "worker@example.lv")
    for contact in ("+371 20000000", "37120000000", "+370 612 34567", "8 612 34567"):
        assert send(worker, service_of(seeded_app, "saskarsme"), client_contact=contact).status_code == 302, contact


def test_a_centres_note_with_a_personal_code_is_refused(seeded_app, sent):
    response = answer(sent["editor"], sent["id"], "accepted", "sent", note="Kods 120385-12345")
    assert response.status_code == 400
    assert "personal code" in soup(response).select_one("#note-error").get_text()
    assert the_referral(seeded_app, sent["id"]).status == "sent"
