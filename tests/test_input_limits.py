"""Bounded input: request bodies, repeatable rows, shortlist ids, NUL
characters; and what a failure must not turn into (a 500, a second shortlist
row, an error page that fails too, a referral to a centre not yet public)."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, insert, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from conftest import csrf_token, signed_in, soup
from directory import publishing, shortlists
from directory.hsds.export import export_package
from directory.extensions import db
from directory.models import Phone, Referral, Revision, Service, ShortlistItem
from test_manage import SASKARSME_SERVICE, SERVICE_URL, form_values, post, replace, service_form


def phone_rows(count: int) -> dict[str, str]:
    rows = {}
    for index in range(count):
        rows[f"phones-{index}-row"] = "1"
        rows[f"phones-{index}-number"] = f"+371 6{index:07d}"
    return rows


# ------------------------------------------------------------ repeatable rows


def test_a_form_with_10000_phone_rows_is_refused_with_a_clear_message(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    typed = replace(data, description="Typed before the phones", save="1", **phone_rows(10_000))
    response = post(client, SERVICE_URL, typed)
    assert response.status_code == 200  # the form again, not a bare 400 or 413
    page = soup(response)
    assert page.select_one(".error-summary")
    assert page.select_one("#phones-error").get_text(" ", strip=True) == (
        f"There can be at most {publishing.MAX_PHONES} rows here, and there were 10000: only the first "
        f"{publishing.MAX_PHONES} are shown. Check them and save again.")
    # What was typed stays: the other fields and the first rows.
    assert page.select_one("#description").text.strip() == "Typed before the phones"
    assert len(page.select("#phones-block fieldset.row")) == publishing.MAX_PHONES
    assert page.select_one("#phones-0-number")["value"] == "+371 60000000"
    assert page.select_one(f"#phones-{publishing.MAX_PHONES - 1}-number")
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Phone)) == 0
        assert db.session.scalar(select(func.count()).select_from(Revision)) == 0
    # Saved again as shown (the cap exactly), it is taken.
    response = post(client, SERVICE_URL, replace(form_values(page, "#service-form"), save="1"))
    assert response.status_code == 302
    with seeded_app.app_context():
        assert len(db.session.get(Service, SASKARSME_SERVICE).phones) == publishing.MAX_PHONES


def test_add_a_row_on_a_full_list_adds_nothing_and_says_it_is_full(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    _, data = service_form(client)
    full = replace(data, **phone_rows(publishing.MAX_PHONES))
    page = soup(post(client, SERVICE_URL, replace(full, add_phones="1")))
    assert len(page.select("#phones-block fieldset.row")) == publishing.MAX_PHONES
    assert not page.select_one('#phones-block button[name="add_phones"]')
    assert page.select_one("#phones-full").get_text(strip=True) == \
        f"This list is full: it holds at most {publishing.MAX_PHONES} rows."
    # The hours list has room still.
    assert page.select_one('#hours-block button[name="add_hours"]')


def test_the_save_path_refuses_more_phones_or_hours_than_a_record_holds(seeded_app, accounts):
    with seeded_app.app_context():
        service = db.session.get(Service, SASKARSME_SERVICE)
        too_many_phones = [{"number": f"+371 6{i:07d}"} for i in range(publishing.MAX_PHONES + 1)]
        with pytest.raises(ValueError, match="at most 50 phones"):
            publishing.apply_changes(db.session, service, {"phones": too_many_phones}, None)
        too_many_hours = [{"day": "MO", "opens": "09:00", "closes": "10:00"}] * (publishing.MAX_HOUR_ROWS + 1)
        with pytest.raises(ValueError, match="at most 50 opening hours rows"):
            publishing.apply_changes(db.session, service, {"hours": too_many_hours}, None)
        db.session.rollback()
        assert publishing.apply_changes(db.session, service, {"phones": too_many_phones[:-1]}, None)
        db.session.commit()
        assert len(service.phones) == publishing.MAX_PHONES


# ------------------------------------------------------------ request bodies


def test_a_body_over_the_limit_is_413_with_a_friendly_page(client, seeded_app):
    token = csrf_token(client, "/en/account/login")
    response = client.post("/en/account/login",
                           data={"csrf_token": token, "email": "x" * (seeded_app.config["MAX_CONTENT_LENGTH"] + 1)})
    assert response.status_code == 413
    page = soup(response)
    assert page.select_one("h1").get_text(strip=True) == "Something went wrong"
    assert page.select_one("#error-message").get_text(strip=True) == (
        "What you sent is too large: this site takes at most 1 MB at once. Go back, shorten it and try again.")
    assert page.select_one("nav, header")  # the site's own page, with its menu


def test_the_admin_import_still_takes_a_file_over_the_general_limit(seeded_app, accounts, tmp_path):
    with seeded_app.app_context():
        export_package(db.session, tmp_path)
        db.session.rollback()
    data = (tmp_path / "directory.json").read_bytes()
    padded = data + b" " * (2 * seeded_app.config["MAX_CONTENT_LENGTH"] - len(data))  # still valid JSON
    assert json.loads(padded)
    admin = signed_in(seeded_app, "admin@example.lv")
    token = csrf_token(admin, "/en/admin/import")
    # Encoded here, in memory: the test client would spool a body this size to
    # a temporary file it never closes.
    boundary, body = encode_multipart({"csrf_token": token, "package": FileStorage(io.BytesIO(padded), "directory.json")})
    response = admin.post("/en/admin/import", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                          follow_redirects=True)  # to the import job's page
    assert response.status_code == 200
    assert soup(response).select_one("#import-success"), soup(response).select_one("main").get_text(" ", strip=True)


# ------------------------------------------------------------ NUL characters


@pytest.mark.parametrize("url", [
    "/en/centres/saska%00rsme",
    "/en/?q=kr%C4%ABzes%00",
    "/en/?place%00=Daugavpils",
    "/en/map?near=Daugavpils%00",
])
def test_a_nul_character_in_the_address_is_a_400_with_the_friendly_page(client, url):
    response = client.get(url)
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one("h1").get_text(strip=True) == "Something went wrong"
    assert page.select_one("#error-message").get_text(strip=True).startswith(
        "The address or the form holds a character this site cannot read.")


@pytest.mark.parametrize("field", ["email", "email\x00"])
def test_a_nul_character_in_a_form_is_a_400_and_changes_nothing(client, seeded_app, accounts, field):
    token = csrf_token(client, "/en/account/login")
    value = "worker@example.lv\x00" if field == "email" else "worker@example.lv"
    response = client.post("/en/account/login", data={"csrf_token": token, field: value, "password": "x"})
    assert response.status_code == 400
    assert soup(response).select_one("#error-message").get_text(strip=True).startswith(
        "The address or the form holds a character this site cannot read.")


def test_a_nul_character_in_a_shortlist_add_is_a_400(client, seeded_app):
    token = csrf_token(client, "/en/")
    response = client.post("/en/shortlist/add", data={"csrf_token": token, "service_id": "abc\x00"})
    assert response.status_code == 400


# ------------------------------------------------------------ shortlists


def active_service_ids(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Service.id).where(Service.status == "active").order_by(Service.id)))


def test_a_double_add_to_a_saved_shortlist_keeps_one_row_and_no_500(seeded_app, accounts, monkeypatch):
    """Two clicks at once: both requests read the list before either wrote.
    Here the other click's row lands right after this request read the list."""
    service_id = active_service_ids(seeded_app)[0]
    client = signed_in(seeded_app, "worker@example.lv")
    read_list = shortlists.SavedShortlist.ids

    def read_then_the_other_click_writes(self):
        seen = read_list(self)
        if service_id not in seen:
            self.session.execute(insert(ShortlistItem).values(user_id=self.user.id, service_id=service_id))
        return seen

    monkeypatch.setattr(shortlists.SavedShortlist, "ids", read_then_the_other_click_writes)
    token = csrf_token(client, "/lv/")
    response = client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": service_id,
                                                      "next": "/lv/"})
    assert response.status_code == 302
    monkeypatch.undo()
    with seeded_app.app_context():
        assert db.session.scalars(select(ShortlistItem.service_id)).all() == [service_id]
    # And the same with htmx: the button, now "on the list".
    with seeded_app.app_context():
        db.session.execute(ShortlistItem.__table__.delete())
        db.session.commit()
    monkeypatch.setattr(shortlists.SavedShortlist, "ids", read_then_the_other_click_writes)
    response = client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": service_id},
                           headers={"HX-Request": "true"})
    monkeypatch.undo()
    assert response.status_code == 200
    assert soup(response).select_one("form.shortlist-toggle")["action"] == "/lv/shortlist/remove"
    with seeded_app.app_context():
        assert db.session.scalars(select(ShortlistItem.service_id)).all() == [service_id]


def test_250k_shortlist_ids_answer_without_a_500_and_keep_at_most_the_limit(seeded_app):
    # The body limit alone would refuse such a form (413); the shortlist must
    # cope on its own too.
    seeded_app.config.update(MAX_CONTENT_LENGTH=64 * 1024 * 1024, SHORTLIST_LIMIT=3)
    real = active_service_ids(seeded_app)
    assert len(real) > 3
    ids = real + [f"not-a-service-{number}" for number in range(250_000)]
    client = seeded_app.test_client()
    token = csrf_token(client, "/en/")
    response = client.post("/en/shortlist/add", data={"csrf_token": token, "service_id": ids, "next": "/en/"})
    assert response.status_code == 302
    page = soup(client.get("/en/shortlist/"))
    assert len(page.select(".shortlist-item")) == 3
    assert "Your shortlist is full" in page.select_one(".flash-error").get_text()
    # A shared link as long.
    response = client.get("/en/shortlist/shared", query_string=[("s", value) for value in ids])
    assert response.status_code == 200
    assert len(soup(response).select(".shortlist-item")) == 3


# ------------------------------------------------------------ referrals


def test_the_referral_form_of_a_service_waiting_for_review_is_404(seeded_app, accounts):
    with seeded_app.app_context():
        organization = publishing.propose_organization(db.session, {"name": "Jauns centrs", "location": {
            "city": "Daugavpils", "country": "LV"}}, None)
        service = publishing.create_service(db.session, organization, {"name": "Zupas virtuve"}, None)
        db.session.commit()
        service_id = service.id
    worker = signed_in(seeded_app, "worker@example.lv")
    assert worker.get(f"/en/referrals/new?service={service_id}").status_code == 404
    token = csrf_token(worker, "/en/")
    response = worker.post("/en/referrals/new", data={
        "csrf_token": token, "service_id": service_id, "client_name": "A. B.", "client_contact": "+371 20000000",
        "client_language": "lv", "need": "A warm meal", "consent": "y"})
    assert response.status_code == 404
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


# ------------------------------------------------------------ error pages


def test_a_failed_save_gives_the_friendly_500_page_also_to_a_signed_in_user(seeded_app, accounts):
    """A flush that fails leaves the session unusable until it is rolled back;
    the error page's own queries (the menu, the shortlist count) need it."""
    from flask_login import current_user

    service_id = active_service_ids(seeded_app)[0]

    def save_twice():
        db.session.execute(insert(ShortlistItem).values(user_id=current_user.id, service_id=service_id))
        db.session.add(ShortlistItem(user_id=current_user.id, service_id=service_id))
        db.session.flush()  # IntegrityError: the row exists

    seeded_app.add_url_rule("/broken-save", view_func=save_twice)
    seeded_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    client = signed_in(seeded_app, "worker@example.lv")
    response = client.get("/broken-save")
    assert response.status_code == 500
    page = soup(response)
    assert page.select_one("h1") and "500" in page.select_one("#error-message").get_text()
    assert page.select_one("#shortlist-link")  # drawn with the database: the menu's count
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ShortlistItem)) == 0
