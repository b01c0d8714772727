"""Free places (directory/capacity.py): set in one click by the centre's
editors, with and without JavaScript; refused to anyone else; shown to
residents and social workers with its age, "may be out of date" after two
weeks; untouched by referrals; served by the API and its change feed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import func, select

from conftest import csrf_token, edit_csv, signed_in, soup
from directory import capacity
from directory.extensions import db
from directory.hsds import export as hsds_export
from directory.hsds import importer
from directory.models import AuditEvent, Referral, Service, ServiceCapacity, Unit, User
from directory.seeding import stable_id

SASKARSME = stable_id("organization", "saskarsme")
SERVICE = stable_id("service", "saskarsme-dienas-centrs")
ORG_PAGE = f"/en/manage/org/{SASKARSME}"
CAPACITY_URL = f"/en/manage/services/{SERVICE}/capacity"
PREFIX = f"capacity-{SERVICE}-"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def aware(moment: datetime) -> datetime:
    """SQLite hands stored UTC times back without their zone."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def capacities(app) -> list[tuple[float, str | None, str | None]]:
    with app.app_context():
        return [(c.available, c.unit.scheme, c.unit.identifier)
                for c in db.session.scalars(select(ServiceCapacity).where(ServiceCapacity.service_id == SERVICE))]


def form_data(token: str, available="3", unit="place", button="save") -> dict[str, str]:
    return {f"{PREFIX}csrf_token": token, f"{PREFIX}available": available, f"{PREFIX}unit": unit,
            f"{PREFIX}{button}": "1"}


def set_directly(app, available, unit="place", at=None) -> None:
    """A capacity stated at a given moment, as the dashboard would."""
    with app.app_context(), time_machine.travel(at or datetime.now(timezone.utc), tick=False):
        capacity.set_capacity(db.session, db.session.get(Service, SERVICE), available, unit)
        db.session.commit()


def htmx(client, data):
    return client.post(CAPACITY_URL, data=data, headers={"HX-Request": "true"})


# ------------------------------------------------------------ the module


def test_the_starter_data_states_no_capacity(seeded_app):
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ServiceCapacity)) == 0
        assert db.session.scalar(select(func.count()).select_from(Unit)) == 0
    page = soup(seeded_app.test_client().get("/en/centres/saskarsme"))
    assert page.select(".service") and not page.select(".capacity")  # nothing at all is said


def test_set_makes_its_unit_once_records_who_and_moves_last_modified(seeded_app, accounts):
    with seeded_app.app_context():
        service = db.session.get(Service, SERVICE)
        version, before = service.version, aware(service.updated_at)
        editor = user("editor@example.lv")
        capacity.set_capacity(db.session, service, 3, "place", user=editor)
        db.session.commit()
        assert aware(service.updated_at) > before
        assert service.version == version  # an editor's open edit form is no conflict
        capacity.set_capacity(db.session, service, 2, "bed", maximum=10, user=editor)
        capacity.set_capacity(db.session, service, 4, "place", user=editor)
        db.session.commit()
        # One figure: the unit changed, no second row.
        assert [(c.available, c.maximum, c.unit.identifier) for c in service.capacities] == [(4, None, "place")]
        units = db.session.scalars(select(Unit).order_by(Unit.identifier)).all()
        assert [(u.name, u.scheme, u.identifier) for u in units] == [
            ("Bed", "directory", "bed"), ("Place", "directory", "place")]
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "capacity-set")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.user_id, e.subject_type, e.subject_id) for e in events] == [(editor.id, "service", SERVICE)] * 3
        assert capacity.clear_capacity(db.session, service, user=editor) == 1
        db.session.commit()
        assert service.capacities == []
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "capacity-clear")) == 1
        # The dashboard asks only for the free places: a maximum already stated stays while it fits.
        capacity.set_capacity(db.session, service, 2, "bed", maximum=10, user=editor)
        capacity.set_capacity(db.session, service, 3, "bed", user=editor)
        assert [(c.available, c.maximum) for c in service.capacities] == [(3, 10)]
        capacity.set_capacity(db.session, service, 12, "bed", user=editor)
        assert [(c.available, c.maximum) for c in service.capacities] == [(12, None)]
        for wrong in (-1, capacity.MAX_AVAILABLE + 1, float("nan")):
            with pytest.raises(ValueError):
                capacity.set_capacity(db.session, service, wrong, "place")
        with pytest.raises(ValueError):
            capacity.set_capacity(db.session, service, 3, "hour")


def test_imported_units_are_kept_and_shown_by_their_name(seeded_app):
    with seeded_app.app_context(), force_locale("en"):
        service = db.session.get(Service, SERVICE)
        kilogram = Unit(name="Kilogram", scheme="SI", identifier="kg")
        service.capacities.append(ServiceCapacity(unit=kilogram, available=2.5, updated=T0))
        db.session.commit()
        assert [item.text for item in capacity.shown(service)] == ["Kilogram: 2.5 free"]
        assert capacity.tracked(service).unit is kilogram
        assert capacity.unit_choices(service) == [
            ("place", "places"), ("bed", "beds"), (f"unit:{kilogram.id}", "Kilogram")]
        capacity.set_capacity(db.session, service, 7, f"unit:{kilogram.id}")
        capacity.set_capacity(db.session, service, 3, "place")
        db.session.commit()
        assert sorted((c.unit.name, c.available) for c in service.capacities) == [("Kilogram", 7), ("Place", 3)]
        assert (kilogram.name, kilogram.scheme, kilogram.identifier) == ("Kilogram", "SI", "kg")  # as it came
        assert capacity.tracked(service).unit.identifier == "place"  # the dashboard's own figure first


def test_the_presenter_says_how_many_and_how_old(seeded_app):
    with seeded_app.app_context(), force_locale("en"):
        unit = capacity.unit_for(db.session, "place")
        bed = capacity.unit_for(db.session, "bed")

        def text(available, of=unit):
            return capacity.free_text(ServiceCapacity(unit=of, available=available))

        assert [text(3), text(1), text(0), text(0, bed), text(2, bed)] == [
            "3 places free", "1 place free", "No places free", "No beds free", "2 beds free"]
        now = T0
        ages = {delta: capacity.age_text(now - delta, now) for delta in (
            timedelta(seconds=20), timedelta(minutes=5), timedelta(hours=3), timedelta(days=2))}
        assert list(ages.values()) == ["updated just now", "updated 5 minutes ago", "updated 3 hours ago",
                                       "updated 2 days ago"]
        assert capacity.STALE_AFTER_DAYS == 14
        fresh = ServiceCapacity(unit=unit, available=1, updated=now - timedelta(days=14))
        old = ServiceCapacity(unit=unit, available=1, updated=now - timedelta(days=14, minutes=1))
        assert not capacity.is_stale(fresh, now) and capacity.is_stale(old, now)
        db.session.rollback()


# ------------------------------------------------------------ the dashboard


def test_the_centres_editor_sets_free_places_in_one_click_without_javascript(seeded_app, accounts):
    editor = signed_in(seeded_app, "editor@example.lv")
    page = soup(editor.get(ORG_PAGE))
    block = page.select_one(f"#capacity-{SERVICE}")
    assert block is not None and block.select_one("form")["action"].endswith(f"/capacity#capacity-{SERVICE}")
    assert block.select_one(f"label[for='{PREFIX}available']").get_text(" ", strip=True).startswith("Free places now")
    assert [o["value"] for o in block.select("select option")] == ["place", "bed"]
    assert "Not tracked" in block.get_text() and not block.select(f"button[name='{PREFIX}clear']")
    token = block.select_one(f"input[name='{PREFIX}csrf_token']")["value"]

    response = editor.post(CAPACITY_URL, data=form_data(token, "3"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"{ORG_PAGE}#capacity-{SERVICE}"
    assert capacities(seeded_app) == [(3, "directory", "place")]
    page = soup(editor.get(ORG_PAGE))
    assert "Saved: 3 places free." in page.select_one(".flashes").get_text()
    block = page.select_one(f"#capacity-{SERVICE}")
    assert block.select_one(f"#{PREFIX}available")["value"] == "3"
    assert block.select_one(".capacity").get_text(" ", strip=True) == "3 places free · updated just now"
    assert block.select_one(".capacity time")["datetime"].startswith(str(datetime.now(timezone.utc).year))

    response = editor.post(CAPACITY_URL, data=form_data(token, button="clear", available=""))
    assert response.status_code == 302 and capacities(seeded_app) == []
    assert "Not tracked" in soup(editor.get(ORG_PAGE)).select_one(".flashes").get_text()


def test_the_dashboard_sets_free_places_in_one_click_and_comes_back_to_it(seeded_app, accounts):
    editor = signed_in(seeded_app, "editor@example.lv")
    page = soup(editor.get("/en/manage/"))
    block = page.select_one(f"#free-places #capacity-{SERVICE}")
    assert block is not None
    action = block.select_one("form")["action"]
    assert action.startswith(f"{CAPACITY_URL}?from=dashboard")
    token = block.select_one(f"input[name='{PREFIX}csrf_token']")["value"]
    url = action.split("#")[0]
    response = editor.post(url, data=form_data(token, "2"))
    assert response.status_code == 302 and response.headers["Location"] == f"/en/manage/#capacity-{SERVICE}"
    assert capacities(seeded_app) == [(2, "directory", "place")]
    # A bad number: the dashboard again, with the field's error and what was typed.
    response = editor.post(url, data=form_data(token, "many"))
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one(f"#free-places #{PREFIX}available")["value"] == "many"
    assert page.select_one(f"#free-places #{PREFIX}available-error")
    assert capacities(seeded_app) == [(2, "directory", "place")]
    # htmx: the block alone, its next save still coming back to the dashboard.
    response = editor.post(url, data=form_data(token, "4"), headers={"HX-Request": "true"})
    assert soup(response).select_one("form")["action"].startswith(f"{CAPACITY_URL}?from=dashboard")


def test_with_htmx_only_that_services_block_comes_back(seeded_app, accounts):
    editor = signed_in(seeded_app, "editor@example.lv")
    token = csrf_token(editor, ORG_PAGE)
    response = htmx(editor, form_data(token, "0", "bed"))
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<h1" not in body
    fragment = soup(response)
    assert fragment.select_one(f"div#capacity-{SERVICE}.capacity-block") is not None
    assert fragment.select_one(".capacity-free").get_text() == "No beds free"
    assert fragment.select_one(f"#{PREFIX}unit option[selected]")["value"] == "bed"
    said = fragment.select_one(f"#capacity-said-{SERVICE}")  # for the status region the swap leaves in place
    assert said["hx-swap-oob"] == "innerHTML" and said.get_text() == "Saved: No beds free."
    assert capacities(seeded_app) == [(0, "directory", "bed")]
    # The page keeps an empty status region of its own for that message.
    region = soup(editor.get(ORG_PAGE)).select_one(f"#capacity-said-{SERVICE}")
    assert region["role"] == "status" and region.get_text() == ""

    response = htmx(editor, form_data(token, "", button="clear"))
    assert response.status_code == 200 and capacities(seeded_app) == []
    assert "Not tracked" in soup(response).select_one(".capacity-now").get_text()


@pytest.mark.parametrize("typed, message", [
    ("", "Enter how many are free now, such as 3 (0 if none)."),
    ("many", "Enter a whole number, such as 3."),
    ("2.5", "Enter a whole number, such as 3."),
    ("-1", "Enter a number from 0 to 100000."),
    ("100001", "Enter a number from 0 to 100000."),
])
def test_a_bad_number_is_a_field_error_and_keeps_what_was_typed(seeded_app, accounts, typed, message):
    editor = signed_in(seeded_app, "editor@example.lv")
    token = csrf_token(editor, ORG_PAGE)
    response = editor.post(CAPACITY_URL, data=form_data(token, typed))
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one("h1").get_text(strip=True) == "Dienas centrs “Saskarsme”"  # the organization page
    field = page.select_one(f"#{PREFIX}available")
    assert field.get("value", "") == typed and field["aria-invalid"] == "true"
    error = page.select_one(f"#{field['aria-describedby']}")
    assert error.get_text(strip=True) == message
    assert page.select_one(f"#capacity-{SERVICE} .error-summary") is not None

    fragment = soup(htmx(editor, form_data(token, typed)))  # htmx swaps 2xx answers only: 200
    assert fragment.select_one(f"#{PREFIX}available-error").get_text(strip=True) == message
    assert fragment.select_one(f"#{PREFIX}available").get("value", "") == typed
    assert capacities(seeded_app) == []


def test_an_unknown_unit_is_refused(seeded_app, accounts):
    editor = signed_in(seeded_app, "editor@example.lv")
    response = htmx(editor, form_data(csrf_token(editor, ORG_PAGE), "3", "hour"))
    assert soup(response).select_one(f"#{PREFIX}unit-error").get_text(strip=True) == "Choose one of the listed options."
    assert capacities(seeded_app) == []


def test_only_the_centres_editors_and_admins_set_free_places(seeded_app, accounts):
    other = signed_in(seeded_app, "other@example.lv")
    assert other.post(CAPACITY_URL, data=form_data(csrf_token(other, "/en/manage/"))).status_code == 403
    worker = signed_in(seeded_app, "worker@example.lv")
    assert worker.post(CAPACITY_URL, data=form_data(csrf_token(worker, "/en/"))).status_code == 403
    anonymous = seeded_app.test_client()
    response = anonymous.post(CAPACITY_URL, data=form_data(csrf_token(anonymous, "/en/account/login")))
    assert response.status_code == 302 and response.headers["Location"].startswith("/en/account/login?next=")
    editor = signed_in(seeded_app, "editor@example.lv")
    assert editor.post(CAPACITY_URL, data={f"{PREFIX}available": "3", f"{PREFIX}unit": "place"}).status_code == 400
    assert htmx(editor, {f"{PREFIX}available": "3", f"{PREFIX}unit": "place"}).status_code == 400
    assert editor.post("/en/manage/services/no-such-id/capacity",
                       data=form_data(csrf_token(editor, ORG_PAGE))).status_code == 404
    assert capacities(seeded_app) == []
    # Another centre's page has no form for this service; an admin may set it.
    assert not soup(other.get(f"/en/manage/org/{stable_id('organization', 'vigante')}")).select(
        f"#capacity-{SERVICE}")
    admin = signed_in(seeded_app, "admin@example.lv")
    assert admin.post(CAPACITY_URL, data=form_data(csrf_token(admin, ORG_PAGE), "5")).status_code == 302
    assert capacities(seeded_app) == [(5, "directory", "place")]


def test_a_retired_service_has_no_form(seeded_app, accounts):
    with seeded_app.app_context():
        db.session.get(Service, SERVICE).status = "inactive"
        db.session.commit()
    editor = signed_in(seeded_app, "editor@example.lv")
    assert not soup(editor.get(ORG_PAGE)).select(f"#capacity-{SERVICE}")
    assert editor.post(CAPACITY_URL, data=form_data(csrf_token(editor, ORG_PAGE))).status_code == 404
    assert capacities(seeded_app) == []


# ------------------------------------------------------------ residents and social workers


def service_section(page):
    return page.select_one(f"section[aria-labelledby='service-{SERVICE}']")


def test_shown_with_its_age_and_out_of_date_after_two_weeks(seeded_app, accounts):
    set_directly(seeded_app, 3, at=T0)
    client = seeded_app.test_client()
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        page = soup(client.get("/en/centres/saskarsme"))
        shown = page.select(".capacity")
        assert len(shown) == 1 and service_section(page).select_one(".capacity") is shown[0]
        assert shown[0].get_text(" ", strip=True) == "3 places free · updated 2 days ago"
        assert shown[0].select_one("time")["datetime"] == T0.isoformat()
        worker = signed_in(seeded_app, "worker@example.lv")
        form = soup(worker.get(f"/en/referrals/new?service={SERVICE}"))
        assert form.select_one(".referral-service .capacity").get_text(" ", strip=True) == \
            "3 places free · updated 2 days ago"
    with time_machine.travel(T0 + timedelta(days=14), tick=False):
        assert not soup(client.get("/en/centres/saskarsme")).select(".capacity .stale")
    with time_machine.travel(T0 + timedelta(days=15), tick=False):
        shown = soup(client.get("/en/centres/saskarsme")).select_one(".capacity")
        assert "capacity-stale" in shown["class"]
        assert shown.get_text(" ", strip=True) == "3 places free · updated 2 weeks ago may be out of date"
    # In the visitor's language (the number and the age through Babel).
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        latvian = soup(client.get("/lv/centres/saskarsme")).select_one(".capacity time").get_text()
        assert "2" in latvian and "ago" not in latvian


def test_an_accepted_referral_leaves_free_places_as_they_were(seeded_app, accounts):
    set_directly(seeded_app, 3, at=T0)
    worker = signed_in(seeded_app, "worker@example.lv")
    page = soup(worker.get(f"/en/referrals/new?service={SERVICE}"))
    data = {"csrf_token": page.select_one("input[name=csrf_token]")["value"], "service_id": SERVICE,
            "client_name": "Anna K.", "client_contact": "+371 20000000", "client_language": "lv",
            "need": "A warm place during the day.", "consent": "y"}
    assert worker.post("/en/referrals/new", data=data).status_code == 302
    editor = signed_in(seeded_app, "editor@example.lv")
    with seeded_app.app_context():
        referral_id = db.session.scalar(select(func.max(Referral.id)))
    url = f"/en/manage/referrals/{referral_id}"
    response = editor.post(f"{url}/status", data={"csrf_token": csrf_token(editor, url), "status": "accepted",
                                                  "expected": "sent"})
    assert response.status_code == 302
    with seeded_app.app_context():
        assert db.session.get(Referral, referral_id).status == "accepted"
        (row,) = db.session.get(Service, SERVICE).capacities
        assert (row.available, aware(row.updated)) == (3, T0)


# ------------------------------------------------------------ the API


def changed_since(client, moment: datetime) -> list[str]:
    value = moment.isoformat().replace("+00:00", "Z")
    response = client.get(f"/api/services?modified_after={value}")
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["contents"]]


def test_the_api_serves_it_and_its_change_feed_lists_the_service(seeded_app, accounts):
    client = seeded_app.test_client()
    now = datetime.now(timezone.utc)
    started = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the API reads milliseconds
    assert changed_since(client, started) == []
    editor = signed_in(seeded_app, "editor@example.lv")
    assert editor.post(CAPACITY_URL, data=form_data(csrf_token(editor, ORG_PAGE), "3")).status_code == 302
    assert changed_since(client, started) == [SERVICE]
    record = client.get(f"/api/services/{SERVICE}").get_json()
    assert datetime.fromisoformat(record["last_modified"].replace("Z", "+00:00")) >= started
    (stated,) = record["capacities"]
    assert stated["available"] == 3 and "maximum" not in stated
    assert stated["unit"]["name"] == "Place" and stated["unit"]["scheme"] == "directory"
    assert stated["unit"]["identifier"] == "place"
    assert datetime.fromisoformat(stated["updated"].replace("Z", "+00:00")) >= started
    # "No longer tracked" is a change of the record too.
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        assert htmx(editor, form_data(csrf_token(editor, ORG_PAGE), button="clear")).status_code == 200
    assert changed_since(client, later - timedelta(milliseconds=1)) == [SERVICE]
    assert client.get(f"/api/services/{SERVICE}").get_json()["capacities"] == []


def test_an_imported_capacity_and_its_unit_move_the_service_too(seeded_app):
    """What an import writes through the ORM (change_tracking's listener):
    an imported unit's capacity, and the unit itself."""
    client = seeded_app.test_client()
    with seeded_app.app_context():
        other = db.session.scalar(select(Service.id).where(Service.id != SERVICE).order_by(Service.id))
        started = datetime.now(timezone.utc)
        kilogram = Unit(name="Kilogram", scheme="SI", identifier="kg")
        db.session.add(ServiceCapacity(service_id=SERVICE, unit=kilogram, available=4, updated=T0))
        db.session.commit()
        assert changed_since(client, started) == [SERVICE]
        db.session.add(ServiceCapacity(service_id=other, unit=kilogram, available=1, updated=T0))
        db.session.commit()
        renamed = datetime.now(timezone.utc)
        kilogram.name = "Kilograms"  # the unit is part of both records
        db.session.commit()
        assert sorted(changed_since(client, renamed)) == sorted([SERVICE, other])
    assert client.get(f"/api/services/{SERVICE}").get_json()["capacities"][0]["unit"]["name"] == "Kilograms"




def test_a_bulk_import_that_changes_a_capacity_moves_its_service(seeded_app, tmp_path):
    """The bulk writer (directory/hsds/bulk.py) follows service_capacity
    rows too, for a publisher that states no last_modified of its own."""
    with seeded_app.app_context():
        kilogram = Unit(name="Kilogram", scheme="SI", identifier="kg")
        db.session.add(ServiceCapacity(service_id=SERVICE, unit=kilogram, available=4, updated=T0))
        db.session.commit()
        hsds_export.export_package(db.session, tmp_path)
        db.session.rollback()
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    paths = {resource["name"]: tmp_path / resource["path"] for resource in descriptor["resources"]}
    edit_csv(paths["service"], lambda row: row.update(last_modified=""))
    edit_csv(paths["service_capacity"], lambda row: row.update(available="2"))
    started = datetime.now(timezone.utc)
    with seeded_app.app_context():
        report = importer.import_package(db.session, tmp_path)
        assert report.imported, [str(problem) for problem in report.problems]
        (row,) = db.session.get(Service, SERVICE).capacities
        assert (row.available, row.unit.name, row.unit.scheme) == (2, "Kilogram", "SI")
    assert changed_since(seeded_app.test_client(), started) == [SERVICE]

