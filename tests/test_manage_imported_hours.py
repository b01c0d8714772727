"""Hours imported from other Open Referral publishers hold whole recurrence
rules (fortnightly, monthly, weekday lists, dates, UTC offsets, only a
description) that the dashboard's hours form cannot show. Editing the hours
changes only the rows the form shows; every other rule stays as it was, is
shown read-only on the form, and reads in words in the history and on the
conflict page."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from sqlalchemy import select

from conftest import signed_in, soup
from directory import publishing
from directory.extensions import db
from directory.models import Revision, Schedule, Service, User, new_id
from test_manage import ORG_URL, SASKARSME, SASKARSME_SERVICE, SERVICE_URL, post, replace, service_form

FORTNIGHTLY = "fortnightly-monday"
WEEKDAY_LIST = "list-monday-tuesday"
FRIDAY = "dashboard-friday"
MONTHLY = "monthly-first-monday"
DESCRIBED = "description-only"
IN_UTC = "utc-offset"

# Every column of a schedule, to tell whether a row was left untouched.
COLUMNS = [column.key for column in Schedule.__table__.columns]


def snapshot(schedule: Schedule) -> dict:
    return {name: getattr(schedule, name) for name in COLUMNS}


def add_schedules(app, *extra: str) -> dict[str, dict]:
    """The Saskarsme service's hours: an imported fortnightly rule, an
    imported "MO,TU" weekday list and a Friday row as the dashboard writes it
    (and `extra` further imported rules). Their columns, by id."""
    rows = {
        FORTNIGHTLY: dict(freq="WEEKLY", interval=2, byday="MO", dtstart=date(2025, 1, 6),
                          opens_at=time(9), closes_at=time(12)),
        WEEKDAY_LIST: dict(freq="WEEKLY", byday="MO,TU", opens_at=time(10), closes_at=time(16)),
        FRIDAY: dict(freq="WEEKLY", byday="FR", opens_at=time(9), closes_at=time(17)),
        MONTHLY: dict(freq="MONTHLY", byday="1MO", opens_at=time(14), closes_at=time(15)),
        # No days, no times (the column's default makes it WEEKLY, as an import does).
        DESCRIBED: dict(freq=None, description="Pēc iepriekšēja pieraksta"),
        IN_UTC: dict(freq="WEEKLY", byday="WE", opens_at=time(7), closes_at=time(15), timezone=0.0),
    }
    with app.app_context():
        service = db.session.get(Service, SASKARSME_SERVICE)
        for key in (FORTNIGHTLY, WEEKDAY_LIST, FRIDAY, *extra):
            service.schedules.append(Schedule(id=key, **rows[key]))
        db.session.commit()
        return {s.id: snapshot(s) for s in service.schedules}


def schedules(app) -> dict[str, dict]:
    with app.app_context():
        return {s.id: snapshot(s) for s in db.session.get(Service, SASKARSME_SERVICE).schedules}


def editor() -> User:
    return db.session.scalar(select(User).where(User.email == "editor@example.lv"))


def hour_rows(page) -> list[tuple[str, str, str]]:
    """The rows of the hours form as shown: (day, opens, closes)."""
    rows = []
    for row in page.select("#hours-block fieldset.row"):
        day = row.select_one("select option[selected]")
        rows.append((day["value"] if day else "", row.select_one("input[name$=-opens]")["value"],
                     row.select_one("input[name$=-closes]")["value"]))
    return rows


def row_index(page, day: str) -> int:
    return [row[0] for row in hour_rows(page)].index(day)


# ------------------------------------------------------------ through the dashboard


def test_saving_the_hours_keeps_the_imported_rules(seeded_app, accounts):
    before = add_schedules(seeded_app)
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)

    # The form shows the rows it can edit: the weekday list as a row a day…
    assert hour_rows(page) == [("MO", "10:00", "16:00"), ("TU", "10:00", "16:00"), ("FR", "09:00", "17:00")]
    # …and the fortnightly rule read-only, in words.
    kept = page.select_one("#hours-kept-rules")
    assert kept is not None and "Also:" in kept.get_text(" ", strip=True)
    assert [li.get_text(" ", strip=True) for li in kept.select("li")] == [
        "Every other week on Monday, 9:00\u202fAM–12:00\u202fPM, from January 6, 2025 · kept as imported"]
    assert not page.select("#hours-block .no-rows")

    # Saving it as it is changes nothing.
    response = post(client, SERVICE_URL, replace(data, save="1"))
    assert response.status_code == 302
    assert soup(client.get(ORG_URL)).select_one(".flash").get_text(strip=True) == "Nothing was changed."
    assert schedules(seeded_app) == before

    # Friday changes: only the Friday row is written.
    friday = row_index(page, "FR")
    response = post(client, SERVICE_URL, replace(data, **{f"hours-{friday}-opens": "10:00",
                                                          f"hours-{friday}-closes": "14:00", "save": "1"}))
    assert response.status_code == 302
    after = schedules(seeded_app)
    assert after[FORTNIGHTLY] == before[FORTNIGHTLY]
    assert after[WEEKDAY_LIST] == before[WEEKDAY_LIST]  # every one of its days saved as it was
    assert FRIDAY not in after
    (written,) = [row for key, row in after.items() if key not in before]
    assert (written["freq"], written["byday"], written["interval"], written["opens_at"], written["closes_at"]) == (
        "WEEKLY", "FR", None, time(10), time(14))
    with seeded_app.app_context():
        revision = db.session.scalar(select(Revision).where(Revision.action == "update"))
        changes = json.loads(revision.changes)
        assert set(changes) == {"hours"}
        # The revision records the kept rule, unchanged on both sides, in parts that read back.
        rule = {"rule": {"freq": "WEEKLY", "interval": 2, "byday": "MO", "dtstart": "2025-01-06",
                         "opens_at": "09:00", "closes_at": "12:00"}, "holidays": False}
        assert changes["hours"][0][-1] == rule and changes["hours"][1][-1] == rule
        assert {"day": "FR", "opens": "10:00", "closes": "14:00", "holidays": False} in changes["hours"][1]
        revision_id = revision.id

    # The history renders and names the imported rule in words.
    response = client.get(ORG_URL)
    assert response.status_code == 200
    row = soup(response).select_one(f'#revision-{revision_id} tr[data-field="hours"]')
    before_text, after_text = (row.select_one(cell).get_text(" ", strip=True) for cell in (".before", ".after"))
    assert "Friday 09:00–17:00" in before_text and "Friday 10:00–14:00" in after_text
    for text in (before_text, after_text):
        assert "Every other week on Monday" in text and "kept as imported" in text
        assert "Monday 10:00–16:00" in text and "Tuesday 10:00–16:00" in text

    # The form shows the kept rule still.
    page, _ = service_form(client)
    assert "Every other week on Monday" in page.select_one("#hours-kept-rules").get_text(" ", strip=True)


def test_a_changed_day_of_a_weekday_list_gives_way_to_rows_of_a_day(seeded_app, accounts):
    before = add_schedules(seeded_app)
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    tuesday = row_index(page, "TU")
    response = post(client, SERVICE_URL, replace(data, **{f"hours-{tuesday}-closes": "18:00", "save": "1"}))
    assert response.status_code == 302
    after = schedules(seeded_app)
    assert WEEKDAY_LIST not in after  # replaced by what the form saved for its days
    assert after[FORTNIGHTLY] == before[FORTNIGHTLY] and after[FRIDAY] == before[FRIDAY]
    new = sorted((row["byday"], row["opens_at"], row["closes_at"]) for key, row in after.items() if key not in before)
    assert new == [("MO", time(10), time(16)), ("TU", time(10), time(18))]
    # Removing a day the same way.
    page, data = service_form(client)
    assert hour_rows(page) == [("MO", "10:00", "16:00"), ("TU", "10:00", "18:00"), ("FR", "09:00", "17:00")]
    monday = row_index(page, "MO")
    assert post(client, SERVICE_URL, replace(data, **{f"hours-{monday}-remove": "y", "save": "1"})).status_code == 302
    with seeded_app.app_context():
        days = sorted((s.byday, s.interval) for s in db.session.get(Service, SASKARSME_SERVICE).schedules)
    assert days == [("FR", None), ("MO", 2), ("TU", None)]


def test_removing_every_row_of_the_form_keeps_the_imported_rules(seeded_app, accounts):
    before = add_schedules(seeded_app, MONTHLY, DESCRIBED, IN_UTC)
    client = signed_in(seeded_app, "editor@example.lv")
    page, data = service_form(client)
    kept = [li.get_text(" ", strip=True) for li in page.select("#hours-kept-rules li")]
    assert len(kept) == 4
    assert any(line.startswith("On the first Monday of every month") for line in kept)
    assert any("Pēc iepriekšēja pieraksta" in line for line in kept)
    assert any("(UTC+00:00)" in line for line in kept)
    removed = {f"hours-{index}-remove": "y" for index in range(len(hour_rows(page)))}
    assert post(client, SERVICE_URL, replace(data, save="1", **removed)).status_code == 302
    after = schedules(seeded_app)
    assert set(after) == {FORTNIGHTLY, MONTHLY, DESCRIBED, IN_UTC}
    assert all(after[key] == before[key] for key in after)


def test_a_row_added_or_an_error_keeps_showing_the_imported_rules(seeded_app, accounts):
    add_schedules(seeded_app)
    client = signed_in(seeded_app, "editor@example.lv")
    _, data = service_form(client)
    fragment = soup(post(client, SERVICE_URL, replace(data, add_hours="1"), headers={"HX-Request": "true"}))
    assert "Every other week on Monday" in fragment.select_one("#hours-kept-rules").get_text(" ", strip=True)
    assert fragment.select_one('input[name="hours-kept"]')["value"]
    page = soup(post(client, SERVICE_URL, replace(data, name="", save="1")))
    assert page.select_one("#name-error")
    assert "Every other week on Monday" in page.select_one("#hours-kept-rules").get_text(" ", strip=True)
    # What a form sends of the kept rules is only shown, never saved.
    forged = json.dumps([{"rule": {"freq": "DAILY"}, "holidays": True}])
    before = schedules(seeded_app)
    assert post(client, SERVICE_URL, replace(data, **{"hours-kept": forged, "save": "1"})).status_code == 302
    assert schedules(seeded_app) == before


def test_the_conflict_page_shows_the_imported_rules_in_words(seeded_app, accounts):
    add_schedules(seeded_app)
    client = signed_in(seeded_app, "editor@example.lv")
    _, data = service_form(client)
    with seeded_app.app_context():  # someone saves meanwhile
        publishing.apply_changes(db.session, db.session.get(Service, SASKARSME_SERVICE), {"name": "Theirs"}, None)
        db.session.commit()
    response = post(client, SERVICE_URL, replace(data, save="1"))
    assert response.status_code == 409
    row = soup(response).select_one('#conflict tr[data-field="hours"]')
    assert "same" in row["class"]
    for cell in (".yours", ".theirs"):
        assert "Every other week on Monday" in row.select_one(cell).get_text(" ", strip=True)


# ------------------------------------------------------------ publishing.py


def test_history_of_older_revisions_reads_weekday_lists_in_words(seeded_app, accounts):
    """Revisions recorded before kept rules existed hold a schedule's BYDAY
    as it was ("MO,TU", "1MO", None): the history reads them all."""
    with seeded_app.app_context():
        old = [{"day": "MO,TU", "opens": "10:00", "closes": "16:00", "holidays": True},
               {"day": "1MO", "opens": None, "closes": None, "holidays": False},
               {"day": None, "opens": None, "closes": None, "holidays": False},
               {"day": "FR", "opens": "09:00", "closes": "17:00", "holidays": False}]
        db.session.add(Revision(organization_id=SASKARSME, entity_type="service", entity_id=SASKARSME_SERVICE,
                                action="update", changes=json.dumps({"hours": [old, old[-1:]]}),
                                user_id=editor().id, created_at=publishing.utcnow()))
        db.session.commit()
    client = signed_in(seeded_app, "editor@example.lv")
    response = client.get(ORG_URL)
    assert response.status_code == 200
    lines = [line.strip() for line in
             soup(response).select_one('tr[data-field="hours"] .before').get_text("\n").splitlines() if line.strip()]
    assert lines == ["Every week on Monday and Tuesday, 10:00\u202fAM–4:00\u202fPM · also on public holidays",
                     "By the recurrence rule BYDAY=1MO", "no days or times given", "Friday 09:00–17:00"]


def test_an_admin_undoes_an_hours_change_and_the_imported_rules_stay(seeded_app, accounts):
    before = add_schedules(seeded_app)
    with seeded_app.app_context():
        service = db.session.get(Service, SASKARSME_SERVICE)
        values = publishing.current_values(service)["hours"]
        assert publishing.apply_changes(db.session, service, {"hours": values}, editor()) is None
        # Only the form's rows: the kept rule stays all the same.
        rows = [row for row in values if not publishing.is_kept_hours(row) and row["day"] != "FR"]
        revision = publishing.apply_changes(db.session, service, {"hours": rows}, editor())
        db.session.commit()
        after = schedules(seeded_app)
        assert set(after) == {FORTNIGHTLY, WEEKDAY_LIST}
        assert after[FORTNIGHTLY] == before[FORTNIGHTLY] and after[WEEKDAY_LIST] == before[WEEKDAY_LIST]
        # An import changes the kept rule meanwhile: the editor's change can be undone all the same.
        db.session.get(Schedule, FORTNIGHTLY).closes_at = time(13)
        db.session.commit()
        publishing.revert(db.session, revision, editor())
        db.session.commit()
        after = schedules(seeded_app)
        assert after[FORTNIGHTLY] == {**before[FORTNIGHTLY], "closes_at": time(13)}
        assert after[WEEKDAY_LIST] == before[WEEKDAY_LIST]
        assert sorted(row["byday"] for row in after.values()) == ["FR", "MO", "MO,TU"]


def test_an_older_revision_with_a_weekday_list_is_undone_as_rows_of_a_day(seeded_app, accounts):
    """The bug this replaces dropped imported weekday lists on saving: undoing
    such a save puts the days back, one row a day."""
    with seeded_app.app_context():
        service = db.session.get(Service, SASKARSME_SERVICE)
        service.schedules.append(Schedule(id=new_id(), byday="FR", opens_at=time(9), closes_at=time(17)))
        old = [{"day": "MO,TU", "opens": "10:00", "closes": "16:00", "holidays": False},
               {"day": "FR", "opens": "09:00", "closes": "17:00", "holidays": False}]
        revision = Revision(organization_id=SASKARSME, entity_type="service", entity_id=SASKARSME_SERVICE,
                            action="update", changes=json.dumps({"hours": [old, old[-1:]]}),
                            user_id=editor().id, created_at=publishing.utcnow())
        db.session.add(revision)
        db.session.commit()
        publishing.revert(db.session, revision, editor())
        db.session.commit()
        assert publishing.current_values(service)["hours"] == [
            {"day": "MO", "opens": "10:00", "closes": "16:00", "holidays": False},
            {"day": "TU", "opens": "10:00", "closes": "16:00", "holidays": False},
            {"day": "FR", "opens": "09:00", "closes": "17:00", "holidays": False},
        ]


@pytest.mark.parametrize("value", [
    [{"rule": "FREQ=WEEKLY"}],
    [{"rule": {"dtstart": "6 January"}}],
    [{"rule": {"interval": True}}],
    [{"rule": {"interval": [2]}}],
    [{"day": "MO,XX", "opens": "09:00", "closes": "10:00"}],
    "MO 09:00-10:00",
])
def test_hours_values_that_do_not_read_are_refused(seeded_app, value):
    with seeded_app.app_context(), pytest.raises(ValueError):
        publishing.apply_changes(db.session, db.session.get(Service, SASKARSME_SERVICE), {"hours": value}, None)
