"""Residents report problems with a listing; pending organizations stay private."""

from sqlalchemy import select

from conftest import csrf_token, soup
from directory.extensions import db
from directory.models import Address, Location, OutboxMessage, Organization, ProblemReport, Service, ServiceAtLocation


def report(client, slug="saskarsme", **data):
    token = csrf_token(client, f"/lv/centres/{slug}")
    return client.post(f"/lv/centres/{slug}/report", data={"csrf_token": token, **data})


def test_a_report_reaches_the_centres_editors_and_the_admins(seeded_app, accounts):
    client = seeded_app.test_client()
    response = report(client, kind="hours", comment="Slēgts sestdienās")
    assert response.status_code == 302 and response.headers["Location"].endswith("/lv/centres/saskarsme#report")
    with seeded_app.app_context():
        saved = db.session.scalar(select(ProblemReport))
        assert (saved.kind, saved.comment, saved.status) == ("hours", "Slēgts sestdienās", "open")
        recipients = sorted(m.recipient for m in db.session.scalars(select(OutboxMessage)))
        # The admin and Saskarsme's editor; not the editor of another centre.
        assert recipients == ["admin@example.lv", "editor@example.lv"]


def test_a_report_without_a_kind_is_refused_and_keeps_the_comment(client):
    response = report(client, comment="Nav vairs šeit")
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one("#comment").text.strip() == "Nav vairs šeit"
    assert page.select_one("#kind-error")
    with client.application.app_context():
        assert db.session.scalars(select(ProblemReport)).all() == []


def test_reports_need_a_csrf_token_and_are_rate_limited(client):
    assert client.post("/lv/centres/saskarsme/report", data={"kind": "other"}).status_code == 400
    statuses = [report(client, kind="other").status_code for _ in range(6)]
    assert statuses[:5] == [302] * 5 and statuses[5] == 429


def test_an_app_built_without_rate_limits_leaves_them_on_for_the_next(seeded_app, database_uri):
    # The limiter is one object per process: an app made with limits off (as
    # some tests and tools do) must not switch them off for the next app.
    from conftest import make_app

    make_app(database_uri, RATELIMIT_ENABLED=False)
    client = make_app(database_uri).test_client()
    statuses = [report(client, kind="other").status_code for _ in range(6)]
    assert statuses[5] == 429


def test_reports_on_unknown_centres_are_404(client):
    assert client.post("/lv/centres/nope/report", data={"kind": "other"}).status_code in (400, 404)
    token = csrf_token(client, "/lv/centres/saskarsme")
    assert client.post("/lv/centres/nope/report", data={"csrf_token": token, "kind": "other"}).status_code == 404


def test_pending_organizations_are_not_public(seeded_app):
    with seeded_app.app_context():
        org = Organization(slug="jauns-centrs", name="Jauns zupas virtuves centrs", status="pending")
        location = Location(name="Jauns")
        location.addresses.append(Address(city="Daugavpils", country="LV"))
        org.locations.append(location)
        service = Service(name="Zupas virtuve Jaunā", organization=org)
        service.service_at_locations.append(ServiceAtLocation(location=location))
        db.session.add(org)
        db.session.commit()
    client = seeded_app.test_client()
    assert client.get("/lv/centres/jauns-centrs").status_code == 404
    assert "Zupas virtuve Jaunā" not in client.get("/lv/?q=zupas").get_data(as_text=True)
    assert "jauns-centrs" not in client.get("/lv/centres/").get_data(as_text=True)
    with seeded_app.app_context():
        db.session.scalar(select(Organization).where(Organization.slug == "jauns-centrs")).status = "published"
        db.session.commit()
    assert "Zupas virtuve Jaunā" in client.get("/lv/?q=zupas").get_data(as_text=True)
    assert client.get("/lv/centres/jauns-centrs").status_code == 200


def test_stale_listings_say_they_may_be_out_of_date(seeded_app):
    from datetime import date, timedelta

    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        org.last_verified = date.today() - timedelta(days=400)
        fresh = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        fresh.last_verified = date.today() - timedelta(days=10)
        db.session.commit()
    client = seeded_app.test_client()
    assert soup(client.get("/en/centres/vigante")).select_one(".last-verified .stale").get_text(strip=True) == "may be out of date"
    assert not soup(client.get("/en/centres/saskarsme")).select_one(".last-verified .stale")


def test_the_centres_editor_marks_a_report_resolved(seeded_app, accounts):
    from conftest import login

    client = seeded_app.test_client()
    report(client, kind="closed", comment="Durvis aizslēgtas")
    with seeded_app.app_context():
        org_id = db.session.scalar(select(Organization.id).where(Organization.slug == "saskarsme"))
        report_id = db.session.scalar(select(ProblemReport.id))
    other = seeded_app.test_client()
    login(other, "other@example.lv")
    token = csrf_token(other, "/lv/manage/")
    assert other.post(f"/lv/manage/reports/{report_id}/resolve", data={"csrf_token": token}).status_code == 403
    editor = seeded_app.test_client()
    login(editor, "editor@example.lv")
    page = soup(editor.get(f"/lv/manage/org/{org_id}"))
    row = page.select_one(f"#report-{report_id}")
    assert "Durvis aizslēgtas" in row.text
    token = row.select_one('input[name="csrf_token"]')["value"]
    assert editor.post(f"/lv/manage/reports/{report_id}/resolve", data={"csrf_token": token}).status_code == 302
    with seeded_app.app_context():
        saved = db.session.get(ProblemReport, report_id)
        assert saved.status == "resolved" and saved.resolved_by.email == "editor@example.lv"
    assert not soup(editor.get(f"/lv/manage/org/{org_id}")).select_one(f"#report-{report_id}")
