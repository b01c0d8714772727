"""Administrators: accounts, editors' organizations, the review queue,
taxonomy translations, the audit log, problem reports, and who may do it.

The lv / lt / ru catalogues are translated after the code is written: these
tests assert structure, addresses, field ids and the database, or read the
English pages (/en/…), whose catalogue is the identity."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from conftest import csrf_token, login, make_user, soup
from directory import administration
from directory.extensions import db
from directory.models import (
    Address,
    AuditEvent,
    Location,
    Organization,
    OutboxMessage,
    ProblemReport,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    User,
)


# ---------------------------------------------------------------- helpers


def admin_client(app, email="admin@example.lv"):
    client = app.test_client()
    response = login(client, email)
    assert response.status_code == 302, "admin could not sign in"
    return client


def post(client, url, data=None, token_page="/en/admin/"):
    """A POST as the browser sends it: with the CSRF token of a form."""
    return client.post(url, data={"csrf_token": csrf_token(client, token_page), **(data or {})})


def user_id(app, email):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def org_id(app, slug):
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def term_id(app, taxonomy_code, code):
    with app.app_context():
        return db.session.scalar(
            select(TaxonomyTerm.id).join(Taxonomy).where(Taxonomy.code == taxonomy_code, TaxonomyTerm.code == code)
        )


def flash_text(page, category="info"):
    flash = page.select_one(f".flash-{category}")
    return flash.get_text(strip=True) if flash else None


def outbox(app):
    with app.app_context():
        return [(m.recipient, m.subject, m.body) for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def audit_actions(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def result_names(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return [a.get_text(strip=True) for a in soup(response).select(".result h3 a")]


PENDING_NAME = "Zvaigznīšu atbalsta centrs"


def make_pending_organization(app, editors=("editor@example.lv",)) -> str:
    """An organization an editor proposed: a service at an address, waiting."""
    with app.app_context():
        org = Organization(slug="zvaigznites", name=PENDING_NAME, status="pending",
                           description="Atbalsts ģimenēm ar bērniem.", text_language="lv")
        location = Location(name=PENDING_NAME)
        location.addresses.append(Address(address_1="Rīgas iela 1", city="Bauska", country="LV"))
        org.locations.append(location)
        service = Service(name=PENDING_NAME, description="Dienas centrs ģimenēm.")
        service.service_at_locations.append(ServiceAtLocation(location=location))
        org.services.append(service)
        db.session.add(org)
        for email in editors:
            editor = db.session.scalar(select(User).where(User.email == email))
            editor.organizations.append(org)
        db.session.commit()
        return org.id


# ---------------------------------------------------------------- accounts


def test_approving_a_request_lets_it_sign_in_and_emails_it(seeded_app, accounts):
    with seeded_app.app_context():
        db.session.get(User, accounts["pending"]).language = "en"
        db.session.commit()
    assert login(seeded_app.test_client(), "pending@example.lv").status_code == 200  # not yet

    client = admin_client(seeded_app)
    page = soup(client.get("/en/admin/accounts"))
    pending_row = page.select_one(f"#pending-accounts #account-{accounts['pending']}")
    assert "pending@example.lv" in pending_row.get_text()
    # Pending requests come first, before the active accounts.
    assert str(page).index("pending-accounts") < str(page).index("active-accounts")

    response = post(client, f"/en/admin/accounts/{accounts['pending']}/approve")
    assert response.status_code == 302 and response.headers["Location"] == "/en/admin/accounts"
    assert "Account approved" in flash_text(soup(client.get(response.headers["Location"])))

    with seeded_app.app_context():
        user = db.session.get(User, accounts["pending"])
        assert user.status == "active" and user.approved_at is not None
    mail = [m for m in outbox(seeded_app) if m[0] == "pending@example.lv"]
    assert len(mail) == 1
    recipient, subject, body = mail[0]
    assert subject == "Your account is approved"  # in the person's language (English here)
    assert "http://127.0.0.1:5000/en/account/login" in body  # PUBLIC_BASE_URL
    assert login(seeded_app.test_client(), "pending@example.lv").status_code == 302


def test_refusing_a_request_deletes_it(seeded_app, accounts):
    client = admin_client(seeded_app)
    response = post(client, f"/lv/admin/accounts/{accounts['pending']}/refuse")
    assert response.status_code == 302
    with seeded_app.app_context():
        assert db.session.get(User, accounts["pending"]) is None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account-refuse"))
        assert event.user_id == accounts["admin"] and "pending@example.lv" in event.detail
    assert f"account-{accounts['pending']}" not in client.get("/lv/admin/accounts").get_data(as_text=True)
    # An active account is not a request: it cannot be refused.
    response = post(client, f"/en/admin/accounts/{accounts['editor']}/refuse")
    assert response.status_code == 302
    assert flash_text(soup(client.get("/en/admin/accounts")), "error")
    with seeded_app.app_context():
        assert db.session.get(User, accounts["editor"]).status == "active"


def test_disabling_an_account_stops_its_sign_in_and_enabling_restores_it(seeded_app, accounts):
    signed_in = seeded_app.test_client()
    login(signed_in, "editor@example.lv")
    assert signed_in.get("/lv/manage/").status_code == 200
    client = admin_client(seeded_app)
    assert post(client, f"/lv/admin/accounts/{accounts['editor']}/disable").status_code == 302
    with seeded_app.app_context():
        assert db.session.get(User, accounts["editor"]).status == "disabled"
    assert login(seeded_app.test_client(), "editor@example.lv").status_code == 200  # refused
    assert signed_in.get("/lv/manage/").status_code == 302  # and a session already open ends
    page = soup(client.get("/en/admin/accounts"))
    assert page.select_one(f"#disabled-accounts #account-{accounts['editor']}")

    assert post(client, f"/lv/admin/accounts/{accounts['editor']}/enable").status_code == 302
    assert login(seeded_app.test_client(), "editor@example.lv").status_code == 302


def test_you_cannot_disable_yourself_or_change_your_own_role(seeded_app, accounts):
    client = admin_client(seeded_app)
    page = soup(client.get("/en/admin/accounts"))
    own_row = page.select_one(f"#account-{accounts['admin']}")
    assert not own_row.select("form[action$='/disable']")  # no button offered

    response = post(client, f"/en/admin/accounts/{accounts['admin']}/disable")
    assert response.status_code == 302
    assert flash_text(soup(client.get("/en/admin/accounts")), "error") == "You cannot disable your own account."
    response = post(client, f"/en/admin/accounts/{accounts['admin']}/role", {"role": "editor"})
    assert flash_text(soup(client.get(response.headers["Location"])), "error") == "You cannot change your own role."
    with seeded_app.app_context():
        admin = db.session.get(User, accounts["admin"])
        assert (admin.status, admin.role) == ("active", "admin")
    assert client.get("/lv/admin/").status_code == 200  # still signed in and an admin


def test_changing_a_role(seeded_app, accounts):
    client = admin_client(seeded_app)
    page = soup(client.get(f"/en/admin/accounts/{accounts['social_worker']}"))
    assert page.select_one("label[for=role]") and page.select_one("select#role option[selected]")["value"] == "social_worker"

    response = post(client, f"/en/admin/accounts/{accounts['social_worker']}/role", {"role": "editor"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/en/admin/accounts/{accounts['social_worker']}"
    # An editor who becomes a social worker loses the organizations they edited.
    post(client, f"/en/admin/accounts/{accounts['editor']}/role", {"role": "social_worker"})
    with seeded_app.app_context():
        assert db.session.get(User, accounts["social_worker"]).role == "editor"
        editor = db.session.get(User, accounts["editor"])
        assert editor.role == "social_worker" and editor.organizations == []

    bad = post(client, f"/en/admin/accounts/{accounts['other_editor']}/role", {"role": "superuser"})
    assert bad.status_code == 200 and soup(bad).select_one("#role-error")
    with seeded_app.app_context():
        assert db.session.get(User, accounts["other_editor"]).role == "editor"


# ---------------------------------------------------------------- editors


def test_linking_an_editor_to_an_organization(seeded_app, accounts):
    new_editor = make_user(seeded_app, "new.editor@example.lv", "editor")
    vigante = org_id(seeded_app, "vigante")
    with seeded_app.app_context():
        name = db.session.get(Organization, vigante).name
    editor_client = seeded_app.test_client()
    login(editor_client, "new.editor@example.lv")
    listed = lambda: name in soup(editor_client.get("/lv/manage/")).select_one("main").get_text()
    assert not listed()

    client = admin_client(seeded_app)
    page = soup(client.get(f"/en/admin/accounts/{new_editor}"))
    assert page.select_one("#no-linked-organizations")
    assert page.select_one("label[for=organization]")
    assert page.select_one(f"select#organization option[value='{vigante}']")

    response = post(client, f"/en/admin/accounts/{new_editor}/organizations", {"organization": vigante})
    assert response.status_code == 302
    page = soup(client.get(f"/en/admin/accounts/{new_editor}"))
    assert page.select_one(f"#linked-{vigante}")
    assert not page.select_one(f"select#organization option[value='{vigante}']")  # offered no more

    assert editor_client.get("/lv/manage/").status_code == 200
    assert listed()  # the dashboard lists the editor's organizations

    response = post(client, f"/en/admin/accounts/{new_editor}/organizations/{vigante}/remove")
    assert response.status_code == 302 and response.headers["Location"] == f"/en/admin/accounts/{new_editor}"
    assert not listed()
    assert audit_actions(seeded_app)[-2:] == ["editor-link", "editor-unlink"]


def test_only_editors_are_linked(seeded_app, accounts):
    client = admin_client(seeded_app)
    vigante = org_id(seeded_app, "vigante")
    page = soup(client.get(f"/en/admin/accounts/{accounts['social_worker']}"))
    assert page.select_one("#not-an-editor") and not page.select_one("select#organization")
    post(client, f"/en/admin/accounts/{accounts['social_worker']}/organizations", {"organization": vigante})
    with seeded_app.app_context():
        assert db.session.get(User, accounts["social_worker"]).organizations == []
    # An organization that is not offered (already linked, or no such) is refused beside the field.
    saskarsme = org_id(seeded_app, "saskarsme")
    response = post(client, f"/en/admin/accounts/{accounts['editor']}/organizations", {"organization": saskarsme})
    assert response.status_code == 200 and soup(response).select_one("#organization-error")


# ---------------------------------------------------------------- review queue


def test_approving_a_pending_organization_publishes_it(seeded_app, accounts):
    pending = make_pending_organization(seeded_app)
    public = seeded_app.test_client()
    assert PENDING_NAME not in result_names(public, f"/lv/?q={PENDING_NAME}")

    client = admin_client(seeded_app)
    assert "1 organization waiting for review" in soup(client.get("/en/admin/")).select_one("#count-pending-organizations").text
    page = soup(client.get("/en/admin/review"))
    item = page.select_one(f"#review-{pending}")
    assert PENDING_NAME in item.h2.text and "Bauska" in item.text and "editor@example.lv" in item.text

    response = post(client, f"/en/admin/review/{pending}/approve")
    assert response.status_code == 302 and response.headers["Location"] == "/en/admin/review"
    with seeded_app.app_context():
        assert db.session.get(Organization, pending).status == "published"
    assert PENDING_NAME in result_names(public, f"/lv/?q={PENDING_NAME}")
    assert public.get("/lv/centres/zvaigznites").status_code == 200
    mail = [m for m in outbox(seeded_app) if m[0] == "editor@example.lv"]
    assert len(mail) == 1 and PENDING_NAME in mail[0][1] and "/lv/centres/zvaigznites" in mail[0][2]
    assert "organization-approve" in audit_actions(seeded_app)
    assert soup(client.get("/en/admin/review")).select_one("#review-empty")


def test_rejecting_a_pending_organization_deletes_it(seeded_app, accounts):
    pending = make_pending_organization(seeded_app)
    client = admin_client(seeded_app)
    response = post(client, f"/en/admin/review/{pending}/reject")
    assert response.status_code == 302
    with seeded_app.app_context():
        assert db.session.get(Organization, pending) is None
        assert db.session.scalar(select(func.count()).select_from(Service).where(Service.organization_id == pending)) == 0
        editor = db.session.get(User, accounts["editor"])
        assert [org.slug for org in editor.organizations] == ["saskarsme"]
    assert [m[0] for m in outbox(seeded_app)] == ["editor@example.lv"]
    # A published organization is not in the queue: it cannot be rejected.
    saskarsme = org_id(seeded_app, "saskarsme")
    post(client, f"/en/admin/review/{saskarsme}/reject")
    with seeded_app.app_context():
        assert db.session.get(Organization, saskarsme) is not None


# ---------------------------------------------------------------- taxonomy


def test_taxonomy_page_lists_both_vocabularies_with_their_labels(seeded_app, accounts):
    client = admin_client(seeded_app)
    page = soup(client.get("/en/admin/taxonomy"))
    assert page.select_one("#taxonomy-service-type") and page.select_one("#taxonomy-target-group")
    row = page.select_one(f"#term-{term_id(seeded_app, 'service-type', 'information')}")
    assert row.select_one("th[scope=row]").get_text(strip=True) == "information"
    assert row.select_one(".lt-code").get_text(strip=True) == "201, 202"
    assert row.select_one(".label-lt").get_text(strip=True) == "Informavimas ir konsultavimas"
    assert row.select_one(".label-ru")["lang"] == "ru"
    assert len(page.select("#taxonomy-service-type thead th[scope=col]")) == 7


def test_editing_a_lithuanian_label_changes_the_search_tags(seeded_app, accounts):
    day_centre = term_id(seeded_app, "service-type", "day-centre")
    public = seeded_app.test_client()
    tags = lambda: {li.get_text(strip=True) for li in soup(public.get("/lt/?type=day-centre")).select(".result .tags li")}
    assert "Dienos centras" in tags()

    client = admin_client(seeded_app)
    page = soup(client.get(f"/en/admin/taxonomy/terms/{day_centre}"))
    assert page.select_one("#label_lt")["value"] == "Dienos centras"
    assert page.select_one("label[for=label_lt]") and page.select_one("#label_lt")["lang"] == "lt"
    response = post(client, f"/en/admin/taxonomy/terms/{day_centre}", {
        "label_lv": " Dienas centrs ", "label_lt": "  Dienos užimtumo centras ", "label_en": "Day centre",
        "label_ru": "Дневной центр", "lt_catalogue_code": " 301 ",
    })
    assert response.status_code == 302
    assert response.headers["Location"] == f"/en/admin/taxonomy#term-{day_centre}"

    assert "Dienos užimtumo centras" in tags() and "Dienos centras" not in tags()
    with seeded_app.app_context():
        term = db.session.get(TaxonomyTerm, day_centre)
        assert term.label("lt") == "Dienos užimtumo centras"  # trimmed
        assert term.lt_catalogue_code == "301" and term.name == "Dienas centrs"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "term-update"))
        assert "Dienos užimtumo centras" in event.detail


def test_a_term_needs_every_label(seeded_app, accounts):
    day_centre = term_id(seeded_app, "service-type", "day-centre")
    client = admin_client(seeded_app)
    response = post(client, f"/en/admin/taxonomy/terms/{day_centre}", {
        "label_lv": "Dienas centrs", "label_lt": "   ", "label_en": "Day centre (changed)", "label_ru": "Дневной центр",
    })
    page = soup(response)
    assert response.status_code == 200
    assert page.select_one("#label_lt-error").get_text(strip=True) == "This field is required."
    assert page.select_one("#label_lt")["aria-invalid"] == "true"
    assert page.select_one("#label_en")["value"] == "Day centre (changed)"  # kept
    with seeded_app.app_context():
        assert db.session.get(TaxonomyTerm, day_centre).label("en") == "Day centre"  # nothing saved


def test_adding_a_term_checks_its_code_and_labels(seeded_app, accounts):
    client = admin_client(seeded_app)
    with seeded_app.app_context():
        count = db.session.scalar(select(func.count()).select_from(TaxonomyTerm))
    url = "/en/admin/taxonomy/target-group/new"
    page = soup(client.get(url))
    for name in ("code", "label_lv", "label_lt", "label_en", "label_ru", "lt_catalogue_code"):
        assert page.select_one(f"label[for={name}]") and page.select_one(f"#{name}"), name

    response = post(client, url, {"code": "Young People!", "label_lv": "Jaunieši", "label_lt": "",
                                  "label_en": "Young people", "label_ru": "Молодёжь"})
    page = soup(response)
    assert response.status_code == 200
    assert "lowercase letters" in page.select_one("#code-error").text
    assert page.select_one("#label_lt-error").get_text(strip=True) == "This field is required."
    assert not page.select_one("#label_lv-error")
    assert page.select_one("#code")["value"] == "Young People!" and page.select_one("#label_lv")["value"] == "Jaunieši"
    assert page.select_one(".error-summary")

    duplicate = post(client, url, {"code": "youth", "label_lv": "Jaunieši", "label_lt": "Jaunimas",
                                   "label_en": "Young people", "label_ru": "Молодёжь"})
    assert duplicate.status_code == 200
    assert soup(duplicate).select_one("#code-error").get_text(strip=True) == "A term with this code already exists in this vocabulary."
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TaxonomyTerm)) == count

    added = post(client, url, {"code": "young-carers", "label_lv": " Jaunie aprūpētāji ", "label_lt": "Jaunieji globėjai",
                               "label_en": "Young carers", "label_ru": "Молодые опекуны", "lt_catalogue_code": ""})
    assert added.status_code == 302
    with seeded_app.app_context():
        taxonomy = db.session.scalar(select(Taxonomy).where(Taxonomy.code == "target-group"))
        term = taxonomy.terms[-1]
        assert (term.code, term.name, term.lt_catalogue_code) == ("young-carers", "Jaunie aprūpētāji", None)
        assert term.position == max(t.position for t in taxonomy.terms[:-1]) + 1
        assert {label.locale: label.name for label in term.labels}["lt"] == "Jaunieji globėjai"
    options = [o.get_text(strip=True) for o in soup(seeded_app.test_client().get("/en/")).select("select[name=group] option")]
    assert any(option.startswith("Young carers") for option in options)  # residents may filter by it
    assert client.get("/en/admin/taxonomy/no-such-vocabulary/new").status_code == 404


def test_the_same_code_may_be_used_in_the_other_vocabulary(seeded_app, accounts):
    client = admin_client(seeded_app)
    response = post(client, "/en/admin/taxonomy/service-type/new", {
        "code": "youth", "label_lv": "Jauniešu pakalpojumi", "label_lt": "Jaunimo paslaugos",
        "label_en": "Youth services", "label_ru": "Услуги для молодёжи"})
    assert response.status_code == 302
    assert term_id(seeded_app, "service-type", "youth") != term_id(seeded_app, "target-group", "youth")


# ---------------------------------------------------------------- audit log


def test_audit_log_lists_the_actions_newest_first(seeded_app, accounts):
    client = admin_client(seeded_app)
    post(client, f"/en/admin/accounts/{accounts['pending']}/approve")
    post(client, f"/en/admin/accounts/{accounts['other_editor']}/disable")
    post(client, f"/en/admin/accounts/{accounts['social_worker']}/role", {"role": "editor"})
    page = soup(client.get("/en/admin/audit"))
    rows = page.select("#audit-events tbody tr")
    actions = [row.select_one(".event-action").get_text(strip=True) for row in rows]
    assert actions[:3] == ["account-role", "account-disable", "account-approve"]
    assert actions[-1] == "login"  # the admin's own sign-in, the oldest
    newest = rows[0]
    assert newest.select_one(".event-who").get_text(strip=True) == "Admin"
    assert newest.select_one(".event-subject").get_text(strip=True) == f"user {accounts['social_worker']}"
    assert "before: social_worker" in newest.select_one(".event-detail").text
    assert newest.select_one(".event-time time")["datetime"]
    assert page.select_one("label[for=action]") and page.select_one("#audit-events th[scope=col]")

    filtered = soup(client.get("/en/admin/audit?action=account-disable"))
    assert [r.select_one(".event-action").get_text(strip=True) for r in filtered.select("#audit-events tbody tr")] == ["account-disable"]
    assert filtered.select_one("#action option[selected]")["value"] == "account-disable"


def test_audit_log_pages_and_escapes(seeded_app, accounts):
    with seeded_app.app_context():
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        for n in range(120):
            db.session.add(AuditEvent(action="test-event", created_at=start + timedelta(minutes=n),
                                      subject_type="thing", subject_id=str(n), detail=f'{{"n": {n}, "note": "<b>{n}</b>"}}'))
        db.session.add(AuditEvent(action="anonymous-event", created_at=start - timedelta(days=1)))
        db.session.commit()
    client = admin_client(seeded_app)

    def subjects(url):
        page = soup(client.get(url))
        return [r.select_one(".event-subject").get_text(strip=True) for r in page.select("#audit-events tbody tr")]

    first = subjects("/en/admin/audit?action=test-event")
    assert len(first) == 50 and first[0] == "thing 119" and first[-1] == "thing 70"
    assert subjects("/en/admin/audit?action=test-event&page=3") == [f"thing {n}" for n in range(19, -1, -1)]
    for bad in ("0", "-1", "abc", "999", ""):
        assert subjects(f"/en/admin/audit?action=test-event&page={bad}") == first, bad
    page = soup(client.get("/en/admin/audit?action=test-event&page=2"))
    assert page.select_one("a[rel=next]")["href"] == "/en/admin/audit?page=3&action=test-event"
    assert page.select_one("a[rel=prev]")["href"] == "/en/admin/audit?page=1&action=test-event"
    raw = client.get("/en/admin/audit?action=test-event").get_data(as_text=True)
    assert "<b>119</b>" not in raw and "&lt;b&gt;119&lt;/b&gt;" in raw
    anonymous = soup(client.get("/en/admin/audit?action=anonymous-event")).select_one("#audit-events tbody tr")
    assert anonymous.select_one(".event-who").get_text(strip=True) == "—"
    # An unknown action shows everything.
    assert len(subjects("/en/admin/audit?action=no-such-action")) == 50


# ---------------------------------------------------------------- problem reports


def test_marking_a_report_resolved(seeded_app, accounts):
    vigante, saskarsme = org_id(seeded_app, "vigante"), org_id(seeded_app, "saskarsme")
    with seeded_app.app_context():
        old = ProblemReport(organization_id=saskarsme, kind="hours", comment="Closed on Mondays.",
                            status="resolved", created_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
        report = ProblemReport(organization_id=vigante, kind="address", comment="The street is <wrong>.",
                               created_at=datetime(2023, 1, 1, tzinfo=timezone.utc))
        db.session.add_all([old, report])
        db.session.commit()
        report_id, old_id = report.id, old.id
    client = admin_client(seeded_app)
    assert "1 open report" in soup(client.get("/en/admin/")).select_one("#count-open-reports").text
    response = client.get("/en/admin/reports")
    page = soup(response)
    rows = page.select("#problem-reports tbody tr")
    assert [row["id"] for row in rows] == [f"report-{report_id}", f"report-{old_id}"]  # open first
    assert rows[0].select_one("th a")["href"] == "/en/centres/vigante"
    assert "Wrong address" in rows[0].text and "&lt;wrong&gt;" in response.get_data(as_text=True)

    response = post(client, f"/en/admin/reports/{report_id}/resolve")
    assert response.status_code == 302 and response.headers["Location"] == "/en/admin/reports"
    with seeded_app.app_context():
        report = db.session.get(ProblemReport, report_id)
        assert report.status == "resolved" and report.resolved_by_id == accounts["admin"]
        assert report.resolved_at is not None
    assert not soup(client.get("/en/admin/reports")).select("form[action$='/resolve']")
    assert "report-resolve" in audit_actions(seeded_app)


# ---------------------------------------------------------------- index


def test_index_links_everything_with_counts(seeded_app, accounts):
    client = admin_client(seeded_app)
    page = soup(client.get("/en/admin/"))
    links = {a["href"] for a in page.select(".admin-overview a")}
    assert links == {"/en/admin/accounts", "/en/admin/review", "/en/admin/reports", "/en/admin/taxonomy", "/en/admin/audit",
                     "/en/admin/claims"}
    assert page.select_one("#count-pending-accounts").get_text(strip=True) == "1 sign-up request waiting"
    assert page.select_one("#count-pending-organizations").get_text(strip=True) == "0 organizations waiting for review"


# ---------------------------------------------------------------- who may


def admin_urls(app, accounts):
    """Every admin URL, with real ids: (method, url, form data)."""
    editor, pending = accounts["editor"], accounts["pending"]
    vigante = org_id(app, "vigante")
    day_centre = term_id(app, "service-type", "day-centre")
    return [
        ("GET", "/lv/admin/", None),
        ("GET", "/lv/admin/accounts", None),
        ("GET", f"/lv/admin/accounts/{editor}", None),
        ("POST", f"/lv/admin/accounts/{pending}/approve", {}),
        ("POST", f"/lv/admin/accounts/{pending}/refuse", {}),
        ("POST", f"/lv/admin/accounts/{editor}/disable", {}),
        ("POST", f"/lv/admin/accounts/{editor}/enable", {}),
        ("POST", f"/lv/admin/accounts/{editor}/role", {"role": "admin"}),
        ("POST", f"/lv/admin/accounts/{editor}/organizations", {"organization": vigante}),
        ("POST", f"/lv/admin/accounts/{editor}/organizations/{vigante}/remove", {}),
        ("GET", "/lv/admin/review", None),
        ("POST", f"/lv/admin/review/{vigante}/approve", {}),
        ("POST", f"/lv/admin/review/{vigante}/reject", {}),
        ("GET", "/lv/admin/taxonomy", None),
        ("GET", f"/lv/admin/taxonomy/terms/{day_centre}", None),
        ("POST", f"/lv/admin/taxonomy/terms/{day_centre}", {"label_lv": "x", "label_lt": "x", "label_en": "x", "label_ru": "x"}),
        ("GET", "/lv/admin/taxonomy/service-type/new", None),
        ("POST", "/lv/admin/taxonomy/service-type/new", {"code": "x", "label_lv": "x", "label_lt": "x", "label_en": "x", "label_ru": "x"}),
        ("GET", "/lv/admin/audit", None),
        ("GET", "/lv/admin/reports", None),
        ("POST", "/lv/admin/reports/1/resolve", {}),
    ]


def test_every_admin_url_needs_an_admin(seeded_app, accounts):
    with seeded_app.app_context():
        before = (db.session.scalar(select(func.count()).select_from(AuditEvent)),
                  db.session.get(User, accounts["pending"]).status)
    urls = admin_urls(seeded_app, accounts)

    anonymous = seeded_app.test_client()
    token = csrf_token(anonymous, "/lv/account/login")
    for method, url, data in urls:
        response = (anonymous.get(url) if method == "GET"
                    else anonymous.post(url, data={"csrf_token": token, **data}))
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/lv/account/login?next="), (method, url)

    for email in ("editor@example.lv", "worker@example.lv"):
        client = seeded_app.test_client()
        assert login(client, email).status_code == 302
        token = csrf_token(client, "/lv/")
        for method, url, data in urls:
            response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token, **data})
            assert response.status_code == 403, (email, method, url)

    with seeded_app.app_context():
        # Nothing changed but the two sign-ins.
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before[0] + 2
        assert db.session.get(User, accounts["pending"]).status == before[1]


def test_every_post_needs_a_csrf_token(seeded_app, accounts):
    client = admin_client(seeded_app)
    for method, url, data in admin_urls(seeded_app, accounts):
        if method == "POST":
            assert client.post(url, data=data).status_code == 400, url
            assert client.post(url, data={"csrf_token": "forged", **data}).status_code == 400, url
    with seeded_app.app_context():
        assert db.session.get(User, accounts["pending"]).status == "pending"
        assert db.session.get(User, accounts["editor"]).status == "active"


def test_names_are_shown_escaped(seeded_app, accounts):
    with seeded_app.app_context():
        user = db.session.get(User, accounts["pending"])
        user.name = '<script>alert("x")</script>'
        user.request_note = "<img src=x onerror=alert(1)>"
        db.session.commit()
    client = admin_client(seeded_app)
    for url in ("/en/admin/accounts", f"/en/admin/accounts/{accounts['pending']}"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html, url
        assert "<img src=x" not in html, url
    response = post(client, f"/en/admin/accounts/{accounts['pending']}/approve")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html  # in the flash message too


def test_admin_pages_have_labelled_controls(seeded_app, accounts):
    """Every form control has a label or an accessible name; tables have headers."""
    make_pending_organization(seeded_app)
    with seeded_app.app_context():
        db.session.add(ProblemReport(organization_id=org_id(seeded_app, "vigante"), kind="other", comment="?"))
        db.session.commit()
    client = admin_client(seeded_app)
    urls = ["/en/admin/", "/en/admin/accounts", f"/en/admin/accounts/{accounts['editor']}",
            f"/en/admin/accounts/{accounts['admin']}", "/en/admin/review", "/en/admin/taxonomy",
            f"/en/admin/taxonomy/terms/{term_id(seeded_app, 'service-type', 'day-centre')}",
            "/en/admin/taxonomy/target-group/new", "/en/admin/audit", "/en/admin/reports"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert '="None"' not in html, url
        page = soup(response)
        ids = [element["id"] for element in page.select("[id]")]
        assert len(ids) == len(set(ids)), (url, [i for i in ids if ids.count(i) > 1])
        for control in page.select("main input:not([type=hidden]), main select, main textarea"):
            assert page.select_one(f"label[for='{control['id']}']"), (url, control)
        for button in page.select("main button"):
            assert button.get_text(strip=True), (url, button)
        for table in page.select("main table"):
            assert table.select("th[scope=col]"), url
        for form in page.select("main form[method=post]"):
            assert form.select_one("input[name=csrf_token]"), url


# ---------------------------------------------------------------- plain functions


def test_functions_work_without_a_request(seeded_app, accounts):
    with seeded_app.app_context():
        admin = db.session.get(User, accounts["admin"])
        pending = db.session.get(User, accounts["pending"])
        pending.language = "en"
        administration.approve_account(db.session, pending, admin)
        db.session.commit()
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "pending@example.lv"))
        assert message.subject == "Your account is approved" and "http" not in message.body

        with pytest.raises(administration.Refused):
            administration.disable_account(db.session, admin, admin)
        with pytest.raises(administration.Refused):
            administration.approve_account(db.session, pending, admin)  # no longer pending

        counts = administration.counts(db.session)
        assert counts == {"pending_accounts": 0, "pending_organizations": 0, "open_reports": 0}

        taxonomy = administration.get_taxonomy(db.session, "service-type")
        with pytest.raises(administration.Refused):
            administration.add_term(db.session, taxonomy, admin, code="Bad Code", labels={"lv": "a", "lt": "b", "en": "c", "ru": "d"}, lt_catalogue_code=None)
        with pytest.raises(administration.Refused):
            administration.add_term(db.session, taxonomy, admin, code="ok-code", labels={"lv": "a", "lt": " ", "en": "c", "ru": "d"}, lt_catalogue_code=None)
        with pytest.raises(administration.Refused):
            administration.add_term(db.session, taxonomy, admin, code="day-centre", labels={"lv": "a", "lt": "b", "en": "c", "ru": "d"}, lt_catalogue_code=None)
        assert administration.get_taxonomy(db.session, "no-such") is None

        assert [administration.parse_page(v) for v in (None, "", "x", "0", "-2", "3")] == [1, 1, 1, 1, 1, 3]
        result = administration.audit_page(db.session, page=7)
        assert result.page == 1 and [e.action for e in result.events][:1] == ["account-approve"]
        assert administration.audit_actions(db.session) == sorted(set(administration.audit_actions(db.session)))
