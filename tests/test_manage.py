"""Centres keep their own listings: publishing.py without a request, then the
whole edit flow through the test client (the manage blueprint)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from conftest import csrf_token, make_user, signed_in, soup
from directory import publishing
from directory.extensions import db
from directory.models import (
    AuditEvent,
    Location,
    Organization,
    ProblemReport,
    RequiredDocument,
    Revision,
    Service,
    User,
)
from directory.seeding import stable_id

SASKARSME = stable_id("organization", "saskarsme")
SASKARSME_SERVICE = stable_id("service", "saskarsme-dienas-centrs")
SASKARSME_LOCATION = stable_id("location", "saskarsme")
VIGANTE = stable_id("organization", "vigante")


def get(model, key):
    return db.session.get(model, key)


def editor(app):
    return db.session.scalar(select(User).where(User.email == "editor@example.lv"))


# ------------------------------------------------------------ publishing.py


def test_apply_changes_records_only_real_changes(seeded_app, accounts):
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        user = editor(seeded_app)
        version = service.version
        old_name = service.name
        values = publishing.current_values(service)
        assert publishing.apply_changes(db.session, service, values, user) is None  # nothing changed
        values.update(name="Krīzes atbalsts", description=service.description + "\r\n", languages=["ru", "lv"],
                      hours=[{"day": "TU", "opens": "9:00", "closes": "17:00", "holidays": False},
                             {"day": "MO", "opens": "09:00", "closes": "12:00", "holidays": True}],
                      service_types=["day-centre", "crisis-centre"], minimum_age="18")
        revision = publishing.apply_changes(db.session, service, values, user)
        db.session.commit()
        changes = json.loads(revision.changes)
        assert set(changes) == {"name", "languages", "hours", "service_types", "minimum_age"}
        assert changes["name"] == [old_name, "Krīzes atbalsts"]
        assert changes["hours"][1][0] == {"day": "MO", "opens": "09:00", "closes": "12:00", "holidays": True}
        assert (revision.action, revision.organization_id, revision.entity_type, revision.user_id) == (
            "update", SASKARSME, "service", user.id)
        assert service.version == version + 1
        assert publishing.current_values(service)["languages"] == ["lv", "ru"]
        assert [s.byday for s in sorted(service.schedules, key=lambda s: s.byday)] == ["MO", "TU"]
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "service-update")) is not None
        # Only rows elsewhere changed: the service's version moves all the same.
        before = service.version
        publishing.apply_changes(db.session, service, {"phones": [{"number": "+371 65400000", "description": ""}]}, user)
        db.session.commit()
        assert service.version == before + 1 and service.phones[0].number == "+371 65400000"


def test_location_address_edit_moves_the_version(seeded_app, accounts):
    with seeded_app.app_context():
        location = get(Location, SASKARSME_LOCATION)
        version = location.version
        revision = publishing.apply_changes(
            db.session, location, {"address_1": "Liepājas iela 6", "accessibility": "Uzbrauktuve pie ieejas",
                                   "wheelchair_accessible": True, "country": "lv"}, editor(seeded_app))
        db.session.commit()
        assert set(json.loads(revision.changes)) == {"address_1", "accessibility", "wheelchair_accessible"}
        assert location.version == version + 1
        assert location.physical_address.address_1 == "Liepājas iela 6"
        with pytest.raises(ValueError):
            publishing.apply_changes(db.session, location, {"country": "EE"}, None)
        with pytest.raises(ValueError):
            publishing.apply_changes(db.session, location, {"latitude": 1.0}, None)


def test_check_version_and_a_race_at_commit_are_conflicts(seeded_app, accounts):
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        publishing.check_version(service, service.version)
        with pytest.raises(publishing.EditConflict) as caught:
            publishing.check_version(service, service.version - 1)
        assert caught.value.current["name"] == service.name
        # Someone else saves between our read and our commit. (On SQLite a
        # transaction outside a request holds the write lock from its first
        # read, so the race can only come between two transactions: ours ends
        # here, keeping what it read, as a form shown in an earlier request.)
        publishing.check_version(service, service.version)
        db.session().expire_on_commit = False
        db.session.commit()
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE service SET name = 'Theirs', version = version + 1 WHERE id = :id"),
                               {"id": SASKARSME_SERVICE})
        publishing.apply_changes(db.session, service, {"name": "Mine"}, editor(seeded_app))
        with pytest.raises(publishing.EditConflict) as caught:
            publishing.commit(db.session, service)
        assert caught.value.current["name"] == "Theirs"
        assert db.session.scalar(select(Service.name).where(Service.id == SASKARSME_SERVICE)) == "Theirs"
        assert db.session.scalar(select(db.func.count()).select_from(Revision)) == 0


def test_verify_retire_create_and_revert(seeded_app, accounts):
    with seeded_app.app_context():
        user = editor(seeded_app)
        org = get(Organization, SASKARSME)
        assert publishing.is_stale(org)
        publishing.verify(db.session, org, user)
        db.session.commit()
        assert org.last_verified == publishing.local_today()
        assert all(s.last_verified == org.last_verified for s in org.services + org.locations)
        assert not publishing.is_stale(org)
        assert publishing.is_stale(org, today=org.last_verified + timedelta(days=366))
        assert not publishing.is_stale(org, today=org.last_verified + timedelta(days=30), days=30)

        service = get(Service, SASKARSME_SERVICE)
        retired = publishing.retire_service(db.session, service, user)
        db.session.commit()
        assert service.status == "inactive" and retired.action == "retire"
        assert publishing.retire_service(db.session, service, user) is None

        undo = publishing.revert(db.session, retired, user)
        db.session.commit()
        assert service.status == "active" and undo.action == "revert" and retired.reverted_by_id == undo.id
        with pytest.raises(ValueError):
            publishing.revert(db.session, retired, user)  # once only

        new = publishing.create_service(db.session, org, {"name": "Zupas virtuve", "service_types": ["day-centre"]}, user)
        db.session.commit()
        assert new.status == "active" and [sal.location_id for sal in new.service_at_locations] == [SASKARSME_LOCATION]
        created = publishing.latest_revision(db.session, new)
        assert created.action == "create" and json.loads(created.changes)["name"] == [None, "Zupas virtuve"]
        with pytest.raises(ValueError):
            publishing.revert(db.session, created, user)  # a creation is not undone

        update = publishing.apply_changes(db.session, new, {"name": "Zupas virtuve 2"}, user)
        db.session.commit()
        db.session.delete(new)
        db.session.commit()
        with pytest.raises(ValueError):
            publishing.revert(db.session, update, user)  # gone


def test_propose_organization_waits_for_review(seeded_app, accounts):
    with seeded_app.app_context():
        user = editor(seeded_app)
        org = publishing.propose_organization(db.session, {
            "name": "Zarasų dienos centras", "description": "Naujas centras",
            "location": {"city": "Zarasai", "country": "LT", "address_1": "Sėlių g. 1"},
        }, user)
        db.session.commit()
        assert org.status == "pending" and org.slug == "zarasu-dienos-centras"
        assert org in user.organizations
        assert org.locations[0].name == "Zarasų dienos centras"
        assert org.locations[0].physical_address.country == "LT"
        assert {r.action for r in publishing.history(db.session, org)} == {"create"}
        again = publishing.propose_organization(db.session, {"name": "Zarasų dienos centras"}, user)
        db.session.flush()
        assert again.slug == "zarasu-dienos-centras-2"


def test_what_to_bring_keeps_its_order_and_is_revised_like_any_field(seeded_app, accounts):
    with seeded_app.app_context():
        user = editor(seeded_app)
        service = get(Service, SASKARSME_SERVICE)
        assert publishing.current_values(service)["required_documents"] == []
        revision = publishing.apply_changes(
            db.session, service, {"required_documents": ["  Pase vai ID karte ", "", "Ārsta nosūtījums"]}, user)
        db.session.commit()
        assert json.loads(revision.changes) == {
            "required_documents": [[], ["Pase vai ID karte", "Ārsta nosūtījums"]]}
        assert [(d.position, d.document) for d in service.required_documents] == [
            (0, "Pase vai ID karte"), (1, "Ārsta nosūtījums")]
        # A link given by an import stays with its document when the list is reordered.
        service.required_documents[1].uri = "https://www.example.lv/nosutijums.pdf"
        db.session.commit()
        assert publishing.apply_changes(db.session, service, publishing.current_values(service), user) is None
        reordered = publishing.apply_changes(
            db.session, service, {"required_documents": ["Ārsta nosūtījums", "Pase vai ID karte", "Izziņa"]}, user)
        db.session.commit()
        assert [(d.position, d.document, d.uri) for d in service.required_documents] == [
            (0, "Ārsta nosūtījums", "https://www.example.lv/nosutijums.pdf"),
            (1, "Pase vai ID karte", None),
            (2, "Izziņa", None),
        ]
        # Undone: the earlier list is back, in its order, and the extra row is gone.
        publishing.revert(db.session, reordered, user)
        db.session.commit()
        assert publishing.current_values(service)["required_documents"] == ["Pase vai ID karte", "Ārsta nosūtījums"]
        assert db.session.scalar(select(db.func.count()).select_from(RequiredDocument)) == 2
        with pytest.raises(ValueError):
            publishing.apply_changes(db.session, service, {"required_documents": ["x" * 501]}, user)
        with pytest.raises(ValueError):
            publishing.apply_changes(db.session, service, {"required_documents": "Pase"}, user)


# ------------------------------------------------------------ through the browser's eyes

SERVICE_URL = f"/en/manage/services/{SASKARSME_SERVICE}"
ORG_URL = f"/en/manage/org/{SASKARSME}"


def form_values(page, form_selector):
    """What a browser would send for the form as shown (no button pressed)."""
    data = []
    form = page.select_one(form_selector)
    for element in form.select("input, textarea, select"):
        name = element.get("name")
        if not name or element.name == "button":
            continue
        if element.name == "textarea":
            data.append((name, element.text))
        elif element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            data.append((name, chosen["value"] if chosen else ""))
        elif element.get("type") in ("checkbox", "radio"):
            if element.has_attr("checked"):
                data.append((name, element.get("value", "y")))
        elif element.get("type") not in ("submit",):
            data.append((name, element.get("value", "")))
    return data


def replace(data, **changes):
    result = [(k, v) for k, v in data if k not in changes]
    for key, value in changes.items():
        if isinstance(value, list):
            result += [(key, v) for v in value]
        else:
            result.append((key, value))
    return result


def post(client, url, data, **kwargs):
    from werkzeug.datastructures import MultiDict

    return client.post(url, data=MultiDict(data), **kwargs)


def found(client, q):
    """Ids of the services the public search finds for `q`."""
    page = soup(client.get("/lv/", query_string={"q": q}))
    return {a["href"].split("#service-")[1] for a in page.select(".result h3 a")}


def service_form(client, url=SERVICE_URL):
    page = soup(client.get(url))
    return page, form_values(page, "#service-form")


def test_edit_shows_in_search_at_once_and_an_admin_can_undo_it(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    assert SASKARSME_SERVICE not in found(client, "krīzes")
    with seeded_app.app_context():
        old_description = get(Service, SASKARSME_SERVICE).description

    page, data = service_form(client)
    description = page.select_one("#description").text.strip()
    response = post(client, SERVICE_URL, replace(data, description=description + " Krīzes intervence.", save="1"))
    assert response.status_code == 302 and response.headers["Location"] == ORG_URL
    page = soup(client.get(ORG_URL))
    assert page.select_one(".flash").get_text(strip=True) == "Saved. The change is public now."

    # Public at once: the search index follows the write.
    assert SASKARSME_SERVICE in found(client, "krīzes")
    assert SASKARSME_SERVICE in found(client, "krizes intervence")

    # The history says who changed what, before and after.
    revision = page.select_one("#history li.revision-update")
    assert "Editor" in revision.select_one(".revision-summary").text
    row = revision.select_one('tr[data-field="description"]')
    assert row.select_one(".before").get_text(strip=True) == old_description
    assert row.select_one(".after").get_text(strip=True).endswith("Krīzes intervence.")
    assert not page.select(".revert-form")  # only admins undo
    with seeded_app.app_context():
        saved = db.session.scalar(select(Revision).where(Revision.action == "update"))
        assert json.loads(saved.changes)["description"][0] == old_description
        assert saved.entity_id == SASKARSME_SERVICE and saved.organization_id == SASKARSME
    token = csrf_token(client, ORG_URL)
    assert client.post(f"/en/manage/revisions/{saved.id}/revert", data={"csrf_token": token}).status_code == 403

    admin = signed_in(seeded_app, "admin@example.lv")
    page = soup(admin.get(ORG_URL))
    form = page.select_one(f"#revision-{saved.id} form.revert-form")
    response = admin.post(form["action"], data={"csrf_token": form.select_one("[name=csrf_token]")["value"]})
    assert response.status_code == 302 and response.headers["Location"] == ORG_URL
    page = soup(admin.get(ORG_URL))
    assert page.select_one(".flash").get_text(strip=True) == "The change is undone: the earlier values are back."
    assert page.select_one(f"#revision-{saved.id} .badge") and not page.select(f"#revision-{saved.id} form.revert-form")
    assert page.select_one("#history li.revision-revert")
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).description == old_description
        assert get(Revision, saved.id).reverted_by_id is not None
    assert SASKARSME_SERVICE not in found(client, "krīzes")
    # Once only.
    admin.post(form["action"], data={"csrf_token": csrf_token(admin, ORG_URL)})
    assert soup(admin.get(ORG_URL)).select_one(".flash-error")


def test_hours_and_phone_rows_without_javascript(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    assert not page.select("#hours-block fieldset.row")
    # "Add a row" saves nothing and brings the page back with an empty row.
    page = soup(post(client, SERVICE_URL, replace(data, name="Renamed meanwhile", add_hours="1")))
    assert page.select_one("#name")["value"] == "Renamed meanwhile"
    assert page.select_one("#hours-0-day") and page.select_one("#hours-0-remove")["type"] == "checkbox"
    assert page.select_one("#hours-block fieldset.row legend")
    data = form_values(page, "#service-form")
    data = replace(data, **{"hours-0-day": "MO", "hours-0-opens": "09:00", "hours-0-closes": "17:00"})
    page = soup(post(client, SERVICE_URL, replace(data, add_hours="1")))
    assert page.select_one("#hours-0-opens")["value"] == "09:00"
    assert page.select_one("#hours-0-day option[selected]")["value"] == "MO"
    assert page.select_one("#hours-1-day")
    data = form_values(page, "#service-form")
    data = replace(data, **{"hours-1-day": "TU", "hours-1-opens": "10:00", "hours-1-closes": "14:00",
                            "hours-1-holidays": "y"})
    page = soup(post(client, SERVICE_URL, replace(data, add_phones="1")))
    data = replace(form_values(page, "#service-form"), **{"phones-0-number": "+371 654 00000",
                                                         "phones-0-description": "Reception"})
    page = soup(post(client, SERVICE_URL, replace(data, add_hours="1")))  # an empty third row, left empty
    data = form_values(page, "#service-form")
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).schedules == []  # nothing saved yet
    assert post(client, SERVICE_URL, replace(data, save="1")).status_code == 302
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        assert service.name == "Renamed meanwhile"
        assert publishing.current_values(service)["hours"] == [
            {"day": "MO", "opens": "09:00", "closes": "17:00", "holidays": False},
            {"day": "TU", "opens": "10:00", "closes": "14:00", "holidays": True},
        ]
        assert [(p.number, p.description) for p in service.phones] == [("+371 654 00000", "Reception")]

    # The saved rows come back; "Remove" drops one.
    page, data = service_form(client)
    assert page.select_one("#hours-1-day option[selected]")["value"] == "TU"
    assert page.select_one("#hours-1-holidays").has_attr("checked")
    assert post(client, SERVICE_URL, replace(data, **{"hours-0-remove": "y", "save": "1"})).status_code == 302
    with seeded_app.app_context():
        assert [s.byday for s in get(Service, SASKARSME_SERVICE).schedules] == ["TU"]
    # Residents' search reads the new hours at once ("open now" / "closed, opens …").
    result = soup(client.get("/en/?q=Saskarsme")).select_one(f'.result:has(a[href$="#service-{SASKARSME_SERVICE}"])')
    assert "open-status-unknown" not in result.select_one(".open-status")["class"]


def test_htmx_add_row_answers_with_the_rows_only(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    button = page.select_one('#hours-block button[name="add_hours"]')
    assert button["hx-post"] == SERVICE_URL and button["hx-target"] == "#hours-block"
    response = post(client, SERVICE_URL, replace(data, add_hours="1"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="hours-block"') and "<html" not in body
    fragment = soup(response)
    assert fragment.select_one("#hours-0-day") and fragment.select_one("#hours-0-row")["value"] == "1"
    assert fragment.select_one('button[name="add_hours"]')


def test_a_validation_error_keeps_everything_typed_and_saves_nothing(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    typed = replace(data, **{
        "name": "", "description": "Jauns apraksts", "minimum_age": "abc", "email": "not-an-email",
        "service_types": ["crisis-centre", "hygiene"], "languages": ["ru"],
        "hours-0-row": "1", "hours-0-day": "MO", "hours-0-opens": "18:00", "hours-0-closes": "09:00",
        "hours-1-row": "1", "hours-1-day": "", "hours-1-opens": "9", "hours-1-closes": "",
        "phones-0-row": "1", "phones-0-number": "call us", "save": "1",
    })
    response = post(client, SERVICE_URL, typed)
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one(".error-summary")
    assert page.select_one("#name-error").get_text(strip=True) == "This field is required."
    assert page.select_one("#name")["aria-invalid"] == "true"
    assert "name-error" in page.select_one("#name")["aria-describedby"]
    assert page.select_one("#minimum_age")["value"] == "abc"
    assert page.select_one("#minimum_age-error").get_text(strip=True) == "Enter a whole number, such as 18."
    assert page.select_one("#email-error")
    assert page.select_one("#description").text.strip() == "Jauns apraksts"
    assert {box["value"] for box in page.select("#service_types input[checked]")} == {"crisis-centre", "hygiene"}
    assert {box["value"] for box in page.select("#languages input[checked]")} == {"ru"}
    assert page.select_one("#hours-0-closes-error").get_text(strip=True) == "The closing time must come after the opening time."
    assert page.select_one("#hours-0-opens")["value"] == "18:00"
    assert page.select_one("#hours-1-day-error").get_text(strip=True) == "Choose a day."
    assert page.select_one("#hours-1-opens-error") and page.select_one("#hours-1-closes-error")
    assert page.select_one("#phones-0-number")["value"] == "call us" and page.select_one("#phones-0-number-error")
    # No English default of WTForms slips through.
    for default in ("Not a valid", "Invalid", "is not a valid choice"):
        assert default not in page.text
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        assert service.name == "Dienas centrs “Saskarsme”" and service.schedules == [] and service.version == 1
        assert db.session.scalar(select(db.func.count()).select_from(Revision)) == 0


def test_a_second_save_on_an_old_version_is_a_conflict(seeded_app, accounts):
    make_user(seeded_app, "second@example.lv", "editor", organizations=["saskarsme"])
    first, second = signed_in(seeded_app, "editor@example.lv"), signed_in(seeded_app, "second@example.lv")
    _, first_data = service_form(first)
    _, second_data = service_form(second)
    assert post(first, SERVICE_URL, replace(first_data, name="Version A", save="1")).status_code == 302
    response = post(second, SERVICE_URL, replace(second_data, name="Version B", languages=["lt"], save="1"))
    assert response.status_code == 409
    page = soup(response)
    name_row = page.select_one('#conflict tr[data-field="name"]')
    assert name_row.select_one(".yours").get_text(strip=True) == "Version B"
    assert name_row.select_one(".theirs").get_text(strip=True) == "Version A"
    assert "differs" in name_row["class"]
    assert "same" in page.select_one('#conflict tr[data-field="description"]')["class"]
    assert "Editor" in page.select_one("#conflict-notice").text  # who saved theirs
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).name == "Version A"
        current_version = get(Service, SASKARSME_SERVICE).version

    # Back to the form with my values, now based on the saved version.
    back = page.select_one("#back-to-form")
    data = [(i["name"], i["value"]) for i in back.select("input[type=hidden]")] + [("back_to_form", "1")]
    page = soup(post(second, back["action"], data))
    assert page.select_one("#name")["value"] == "Version B"
    assert page.select_one("#version")["value"] == str(current_version)
    assert {box["value"] for box in page.select("#languages input[checked]")} == {"lt"}
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).name == "Version A"  # still nothing overwritten
    assert post(second, SERVICE_URL, replace(form_values(page, "#service-form"), save="1")).status_code == 302
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).name == "Version B"


def test_still_correct_and_the_dashboard_flags(seeded_app, accounts):
    with seeded_app.app_context():
        db.session.add(ProblemReport(organization_id=SASKARSME, kind="hours", comment="Closed on Mondays"))
        db.session.add(ProblemReport(organization_id=SASKARSME, kind="other", status="resolved"))
        db.session.commit()
    client = signed_in(seeded_app, "editor@example.lv")
    page = soup(client.get("/en/manage/"))
    rows = page.select("#organizations .organization-row")
    assert [row["id"] for row in rows] == [f"org-{SASKARSME}"]  # the editor's own only
    assert rows[0].select_one("a")["href"] == ORG_URL
    assert rows[0].select_one(".badge-stale")
    assert rows[0].select_one(".problems").get_text(strip=True) == "1 open report"

    token = csrf_token(client, ORG_URL)
    response = client.post(f"/en/manage/org/{SASKARSME}/verify", data={"csrf_token": token})
    assert response.status_code == 302
    with seeded_app.app_context():
        org = get(Organization, SASKARSME)
        assert org.last_verified == publishing.local_today()
        assert all(item.last_verified == org.last_verified for item in org.services + org.locations)
        assert db.session.scalar(select(Revision.action)) == "verify"
    assert not soup(client.get("/en/manage/")).select(".badge-stale")
    assert not soup(client.get(ORG_URL)).select("#last-verified .badge-stale")
    # Admins see every organization.
    admin = signed_in(seeded_app, "admin@example.lv")
    assert len(soup(admin.get("/en/manage/")).select("#organizations .organization-row")) > 10


def test_retiring_a_service_hides_it_from_residents(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    assert SASKARSME_SERVICE in found(client, "Saskarsme")
    page = soup(client.get(ORG_URL))
    form = page.select_one(f"#service-{SASKARSME_SERVICE} form.retire-form")
    response = client.post(form["action"], data={"csrf_token": form.select_one("[name=csrf_token]")["value"]})
    assert response.status_code == 302
    assert SASKARSME_SERVICE not in found(client, "Saskarsme")
    page = soup(client.get(ORG_URL))
    item = page.select_one(f"#service-{SASKARSME_SERVICE}")
    assert "service-retired" in item["class"] and not item.select("form.retire-form")
    assert page.select_one("#history li.revision-retire")
    # It can be made active again from its form.
    _, data = service_form(client)
    assert post(client, SERVICE_URL, replace(data, status="active", save="1")).status_code == 302
    assert SASKARSME_SERVICE in found(client, "Saskarsme")


def test_a_new_service_with_hours(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    url = f"/en/manage/org/{SASKARSME}/services/new"
    page = soup(client.get(url))
    data = replace(form_values(page, "#service-form"), add_hours="1")
    page = soup(post(client, url, data))
    data = replace(form_values(page, "#service-form"), **{
        "name": "Zupas virtuve", "description": "Silta zupa katru dienu", "service_types": ["soup-kitchen"],
        "hours-0-day": "WE", "hours-0-opens": "12:00", "hours-0-closes": "14:00", "save": "1"})
    assert post(client, url, data).status_code == 302
    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Zupas virtuve"))
        assert service.status == "active" and service.organization_id == SASKARSME
        assert publishing.current_values(service)["service_types"] == ["soup-kitchen"]
        assert [s.byday for s in service.schedules] == ["WE"]
    assert service.id in found(client, "zupa")


def test_location_form_edits_the_address(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    url = f"/en/manage/locations/{SASKARSME_LOCATION}"
    page = soup(client.get(url))
    assert page.select_one("#address_1")["value"] == "Liepājas iela 4"
    assert [o["value"] for o in page.select("#country option")] == ["LV", "LT"]
    data = form_values(page, "#location-form")
    response = post(client, url, replace(data, address_1="Liepājas iela 6", wheelchair_accessible="yes",
                                         accessibility="Uzbrauktuve", save="1"))
    assert response.status_code == 302
    with seeded_app.app_context():
        location = get(Location, SASKARSME_LOCATION)
        assert location.physical_address.address_1 == "Liepājas iela 6"
        assert location.wheelchair_accessible is True
        assert location.accessibility[0].description == "Uzbrauktuve"
    page = soup(post(client, url, replace(data, city="", country="EE", save="1")))
    assert page.select_one("#city-error") and page.select_one("#country-error")


def test_labels_follow_the_language(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    for lang, label in [("lv", "Dienas centrs"), ("ru", "Дневной центр")]:
        page = soup(client.get(f"/{lang}/manage/services/{SASKARSME_SERVICE}"))
        box = page.select_one('#service_types input[value="day-centre"]')
        assert box.has_attr("checked")
        assert page.select_one(f'label[for="{box["id"]}"]').get_text(strip=True) == label
    page = soup(client.get(f"/en/manage/services/{SASKARSME_SERVICE}"))
    languages = {box["value"]: page.select_one(f'label[for="{box["id"]}"]').get_text(strip=True)
                 for box in page.select("#languages input")}
    assert languages["lt"] == "Lithuanian" and list(languages) == ["lv", "lt", "ru", "en", "pl", "be", "uk"]


def test_propose_an_organization(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page = soup(client.get("/en/manage/propose"))
    data = replace(form_values(page, "#propose-form"), name="Zarasų dienos centras", city="Zarasai",
                   country="LT", description="Naujas centras")
    response = post(client, "/en/manage/propose", data)
    assert response.status_code == 302
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.name == "Zarasų dienos centras"))
        assert org.status == "pending"
        assert org in db.session.get(User, accounts["editor"]).organizations
        org_id, slug = org.id, org.slug
    assert response.headers["Location"] == f"/en/manage/org/{org_id}"
    page = soup(client.get(f"/en/manage/org/{org_id}"))
    assert page.select_one("#pending-notice") and not page.select("#public-link")
    assert soup(client.get("/en/manage/")).select_one(f"#org-{org_id} .badge-pending")
    # Not public: no page, not in search.
    assert client.get(f"/lv/centres/{slug}").status_code == 404
    assert soup(client.get("/lv/centres/")).find(string=lambda s: s and "Zarasų dienos" in s) is None
    # Its editor edits it, and it stays pending.
    data = form_values(soup(client.get(f"/en/manage/org/{org_id}/edit")), "#organization-form")
    response = post(client, f"/en/manage/org/{org_id}/edit", replace(data, website="https://zarasai.lt", save="1"))
    assert response.status_code == 302
    assert "waits for an administrator" in soup(client.get(f"/en/manage/org/{org_id}")).select_one(".flash").text
    with seeded_app.app_context():
        assert get(Organization, org_id).status == "pending"
    other = signed_in(seeded_app, "other@example.lv")
    assert other.get(f"/en/manage/org/{org_id}").status_code == 403
    # Errors keep what was typed.
    page = soup(post(client, "/en/manage/propose", replace(data, name="Bez adreses", city="")))
    assert page.select_one("#city-error") and page.select_one("#name")["value"] == "Bez adreses"


def saskarsme_urls():
    """(method, URL) of every manage page of Saskarsme."""
    return [
        ("GET", ORG_URL),
        ("GET", f"/en/manage/org/{SASKARSME}/edit"),
        ("POST", f"/en/manage/org/{SASKARSME}/edit"),
        ("POST", f"/en/manage/org/{SASKARSME}/verify"),
        ("GET", f"/en/manage/locations/{SASKARSME_LOCATION}"),
        ("POST", f"/en/manage/locations/{SASKARSME_LOCATION}"),
        ("GET", SERVICE_URL),
        ("POST", SERVICE_URL),
        ("POST", f"/en/manage/services/{SASKARSME_SERVICE}/retire"),
        ("GET", f"/en/manage/org/{SASKARSME}/services/new"),
        ("POST", f"/en/manage/org/{SASKARSME}/services/new"),
    ]


def request(client, method, url, token):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, "name": "Hijacked", "save": "1"})


def test_only_the_centres_editors_and_admins_reach_its_pages(seeded_app, accounts):
    other = signed_in(seeded_app, "other@example.lv")
    token = csrf_token(other, "/en/manage/")
    for method, url in saskarsme_urls():
        assert request(other, method, url, token).status_code == 403, (method, url)
    # The other centre's editor still reaches their own.
    assert other.get(f"/en/manage/org/{VIGANTE}").status_code == 200

    worker = signed_in(seeded_app, "worker@example.lv")
    token = csrf_token(worker, "/en/")
    for method, url in saskarsme_urls() + [("GET", "/en/manage/"), ("GET", "/en/manage/propose")]:
        assert request(worker, method, url, token).status_code == 403, (method, url)

    anonymous = seeded_app.test_client()
    token = csrf_token(anonymous, "/en/account/login")
    for method, url in saskarsme_urls() + [("GET", "/en/manage/")]:
        response = request(anonymous, method, url, token)
        assert response.status_code == 302 and response.headers["Location"].startswith("/en/account/login?next="), url

    editor_client = signed_in(seeded_app, "editor@example.lv")
    token = csrf_token(editor_client, "/en/manage/")
    assert editor_client.get("/en/manage/org/no-such-id").status_code == 404
    assert editor_client.get("/en/manage/services/no-such-id").status_code == 404
    assert editor_client.get("/en/manage/locations/no-such-id").status_code == 404
    assert editor_client.post("/en/manage/revisions/12345/revert", data={"csrf_token": token}).status_code == 403
    admin = signed_in(seeded_app, "admin@example.lv")
    token = csrf_token(admin, "/en/manage/")
    assert admin.post("/en/manage/revisions/12345/revert", data={"csrf_token": token}).status_code == 404
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).name == "Dienas centrs “Saskarsme”"
        assert get(Organization, SASKARSME).name == "Dienas centrs “Saskarsme”"


def test_a_post_without_csrf_token_is_refused(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    _, data = service_form(client)
    data = [(k, v) for k, v in data if k != "csrf_token"]
    assert post(client, SERVICE_URL, replace(data, name="No token", save="1")).status_code == 400
    assert client.post(f"/en/manage/org/{SASKARSME}/verify").status_code == 400
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).name == "Dienas centrs “Saskarsme”"
        assert get(Organization, SASKARSME).last_verified is None


def test_history_shows_markup_as_text(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    _, data = service_form(client)
    evil = "<script>alert('x')</script>"
    assert post(client, SERVICE_URL, replace(data, name=evil, save="1")).status_code == 302
    response = client.get(ORG_URL)
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body
    page = soup(response)
    assert page.select_one('#history tr[data-field="name"] .after').get_text(strip=True) == evil
    assert not [s for s in page.select("script") if "alert" in s.text]


def test_what_to_bring_one_item_a_line(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    assert page.select_one('label[for="required_documents"]').get_text(strip=True) == "What to bring"
    assert page.select_one("#required_documents").text.strip() == ""
    typed = "  Pase vai personas apliecība \r\n\r\nĀrsta nosūtījums\r\n   \r\nIenākumu izziņa\r\n"
    assert post(client, SERVICE_URL, replace(data, required_documents=typed, save="1")).status_code == 302
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        assert [(d.position, d.document) for d in service.required_documents] == [
            (0, "Pase vai personas apliecība"), (1, "Ārsta nosūtījums"), (2, "Ienākumu izziņa")]

    # The list comes back in the form, one item a line, in its order.
    page, data = service_form(client)
    assert page.select_one("#required_documents").text.split("\n")[-3:] == [
        "Pase vai personas apliecība", "Ārsta nosūtījums", "Ienākumu izziņa"]
    # The history shows the list before and after.
    row = soup(client.get(ORG_URL)).select_one('#history li.revision-update tr[data-field="required_documents"]')
    assert row.select_one("th").get_text(strip=True) == "What to bring"
    assert row.select_one(".before").get_text(strip=True) == "empty"
    assert list(row.select_one(".after").stripped_strings) == [
        "Pase vai personas apliecība", "Ārsta nosūtījums", "Ienākumu izziņa"]
    # Saving the form with another change leaves the list out of that revision.
    assert post(client, SERVICE_URL, replace(data, name="Saskarsme", save="1")).status_code == 302
    with seeded_app.app_context():
        latest = publishing.latest_revision(db.session, get(Service, SASKARSME_SERVICE))
        assert set(json.loads(latest.changes)) == {"name"}
    # Residents see it on the centre page.
    items = soup(client.get("/en/centres/saskarsme")).select(".required-documents li")
    assert [li.get_text(strip=True) for li in items] == [
        "Pase vai personas apliecība", "Ārsta nosūtījums", "Ienākumu izziņa"]

    # Emptied: the list is gone.
    _, data = service_form(client)
    assert post(client, SERVICE_URL, replace(data, required_documents="\r\n", save="1")).status_code == 302
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).required_documents == []
        assert db.session.scalar(select(db.func.count()).select_from(RequiredDocument)) == 0


@pytest.mark.parametrize("typed, message", [
    ("\r\n".join(f"Dokuments {n}" for n in range(1, 22)), "List at most 20 things to bring, one a line."),
    ("Pase\r\n" + "x" * 501, "Use at most 500 characters on each line."),
])
def test_what_to_bring_too_long_keeps_what_was_typed(seeded_app, accounts, typed, message):
    client = signed_in(seeded_app, "editor@example.lv")
    _, data = service_form(client)
    response = post(client, SERVICE_URL, replace(data, required_documents=typed, save="1"))
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one(".error-summary")
    assert page.select_one("#required_documents-error").get_text(strip=True) == message
    assert page.select_one("#required_documents")["aria-invalid"] == "true"
    assert page.select_one("#required_documents").text.strip().splitlines() == typed.splitlines()
    with seeded_app.app_context():
        assert get(Service, SASKARSME_SERVICE).required_documents == []
        assert db.session.scalar(select(db.func.count()).select_from(Revision)) == 0
    # Twenty lines, blank lines between them, are fine.
    twenty = "\r\n\r\n".join(f"Dokuments {n}" for n in range(1, 21))
    assert post(client, SERVICE_URL, replace(data, required_documents=twenty, save="1")).status_code == 302
    with seeded_app.app_context():
        assert len(get(Service, SASKARSME_SERVICE).required_documents) == 20


def test_what_to_bring_on_the_conflict_page_and_back_to_the_form(seeded_app, accounts):
    make_user(seeded_app, "second@example.lv", "editor", organizations=["saskarsme"])
    first, second = signed_in(seeded_app, "editor@example.lv"), signed_in(seeded_app, "second@example.lv")
    _, first_data = service_form(first)
    _, second_data = service_form(second)
    assert post(first, SERVICE_URL, replace(first_data, required_documents="Pase", save="1")).status_code == 302
    response = post(second, SERVICE_URL,
                    replace(second_data, required_documents="ID karte\r\nNosūtījums", save="1"))
    assert response.status_code == 409
    page = soup(response)
    row = page.select_one('#conflict tr[data-field="required_documents"]')
    assert "differs" in row["class"]
    assert list(row.select_one(".yours").stripped_strings) == ["ID karte", "Nosūtījums"]
    assert list(row.select_one(".theirs").stripped_strings) == ["Pase"]
    back = page.select_one("#back-to-form")
    data = [(i["name"], i["value"]) for i in back.select("input[type=hidden]")] + [("back_to_form", "1")]
    page = soup(post(second, back["action"], data))
    assert page.select_one("#required_documents").text.strip().splitlines() == ["ID karte", "Nosūtījums"]
    with seeded_app.app_context():
        assert [d.document for d in get(Service, SASKARSME_SERVICE).required_documents] == ["Pase"]


def test_undoing_a_change_never_overwrites_a_later_edit(seeded_app, accounts):
    """A's change, then B's edit of the same field: undoing A would lose B's
    edit, so it is refused and says which field; other fields still undo."""
    with seeded_app.app_context():
        user = editor(seeded_app)
        service = get(Service, SASKARSME_SERVICE)
        first = publishing.apply_changes(db.session, service, {"name": "First", "email": "a@example.lv"}, user)
        db.session.commit()
        later = publishing.apply_changes(db.session, service, {"name": "Later"}, user)
        db.session.commit()
        revision_ids = first.id, later.id
    admin = signed_in(seeded_app, "admin@example.lv")
    token = csrf_token(admin, ORG_URL)
    response = admin.post(f"/en/manage/revisions/{revision_ids[0]}/revert", data={"csrf_token": token})
    assert response.status_code == 302
    flash = soup(admin.get(ORG_URL)).select_one(".flash-error").get_text(" ", strip=True)
    assert "changed again since" in flash and "Title" in flash  # the form's label of "name"
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        assert service.name == "Later" and service.email == "a@example.lv"
        assert get(Revision, revision_ids[0]).reverted_by_id is None
    # Undo the later change first, then the earlier one goes too.
    admin.post(f"/en/manage/revisions/{revision_ids[1]}/revert", data={"csrf_token": token})
    admin.post(f"/en/manage/revisions/{revision_ids[0]}/revert", data={"csrf_token": token})
    with seeded_app.app_context():
        service = get(Service, SASKARSME_SERVICE)
        assert service.email != "a@example.lv" and service.name not in ("First", "Later")
