"""Each editable field is said once, in the registry (publishing.FIELDS), and
every place a field must appear reads it from there: the edit form has an
input for it under the registry's label, the history of changes names a
change to it by that label, the conflict page compares it, and the centre
page shows a value set through it (or NOT_PUBLIC says why residents never
see it). A new registry entry is checked here with no change to this file
(a new kind needs a sample in `sample`)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import g
from flask_babel import force_locale
from sqlalchemy import select

from conftest import signed_in, soup
from directory import publishing
from directory.extensions import db
from directory.manage.forms import FORM_KINDS, GROUPS
from directory.models import Location, Organization, Service, User
from test_manage import SASKARSME, SASKARSME_LOCATION, SASKARSME_SERVICE, form_values, post, replace

# The Saskarsme record of each entity type, its edit page and its form.
RECORDS = {
    "organization": (Organization, SASKARSME, f"/en/manage/org/{SASKARSME}/edit", "#organization-form"),
    "location": (Location, SASKARSME_LOCATION, f"/en/manage/locations/{SASKARSME_LOCATION}", "#location-form"),
    "service": (Service, SASKARSME_SERVICE, f"/en/manage/services/{SASKARSME_SERVICE}", "#service-form"),
}
CENTRE_PAGE = "/en/centres/saskarsme"

# Fields residents never see on the centre page, and why.
NOT_PUBLIC = {
    ("service", "status"): "it decides whether residents see the service at all (the centre page and the "
                           "search list active services only); the status itself is the editors' business",
    ("location", "confidential"): "it decides whether residents see the address at all "
                                  "(tests/test_confidential_addresses.py); the tick itself is the editors' business",
}

ENTITY_TYPES = sorted(publishing.FIELDS)


def fields_of(entity_type: str) -> list[publishing.Field]:
    return list(publishing.FIELDS[entity_type].values())


@contextmanager
def english(app):
    """A request context in English, as the pages the test reads."""
    with app.test_request_context("/en/"):
        g.lang = "en"
        with force_locale("en"):
            yield


def record(entity_type: str):
    model, id_, _url, _form = RECORDS[entity_type]
    return db.session.get(model, id_)


def sample(entity_type: str, field: publishing.Field, current) -> tuple[object, str, str | None]:
    """A value for the field that differs from `current`, the text the
    history shows of it, and the text the centre page shows (None: any
    value at all, not "not yet provided"). Needs an English request context."""
    probe = f"{entity_type[:3]}-{field.name}"
    kind = field.kind
    if kind == publishing.TEXT:
        return probe, probe, probe
    if kind == publishing.LONG_TEXT:
        return f"{probe} first line\nsecond line", f"{probe} first line", f"{probe} first line"
    if kind == publishing.URL:
        return f"https://example.lv/{probe}", f"https://example.lv/{probe}", f"example.lv/{probe}"
    if kind == publishing.EMAIL:
        return f"{probe}@example.lv", f"{probe}@example.lv", f"{probe}@example.lv"
    if kind == publishing.YES_NO:
        return True, str(field.present(True)[0]), None
    if kind == publishing.AGE:
        number = 40 + len(field.name)
        return number, str(number), str(number)
    if kind == publishing.CHOICE:
        code, label = next((code, label) for code, label in field.choices() if code != current)
        return code, str(label), str(label)
    if kind == publishing.CODES:
        code, label = next((code, label) for code, label in field.choices() if code not in (current or []))
        return [code], str(label), str(label)
    if kind == publishing.HOURS:
        return [{"day": "TU", "opens": "10:00", "closes": "12:00", "holidays": False}], "Tuesday", "Tuesday"
    if kind == publishing.PHONES:
        return [{"number": "+371 65 400 999", "description": probe}], "+371 65 400 999", "+371 65 400 999"
    if kind == publishing.DOCUMENTS:
        return [f"{probe} document"], f"{probe} document", f"{probe} document"
    if kind == publishing.CHECK:
        return (not current), str(field.present(not current)[0]) if not current else "", None
    if kind == publishing.COSTS:
        return ([{"amount": 5.5, "currency": "EUR", "option": probe, "amount_description": None}],
                f"€5.50 — {probe}", f"€5.50 — {probe}")
    if kind == publishing.IDENTIFIERS:
        return [{"scheme": "LV-RE", "identifier": "40008000001"}], "40008000001", "40008000001"
    pytest.fail(f"no sample value for the kind {kind!r} of {entity_type}.{field.name}: add one to sample()")


def editor():
    return db.session.scalar(select(User).where(User.email == "editor@example.lv"))


def text(element) -> str:
    return element.get_text(" ", strip=True) if element is not None else ""


# ------------------------------------------------------------ the registry itself


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_every_field_says_all_it_needs(seeded_app, entity_type):
    with english(seeded_app):
        for field in fields_of(entity_type):
            where = f"{entity_type}.{field.name}"
            assert str(field.label).strip(), where
            assert field.kind in publishing.KINDS and field.kind in FORM_KINDS, where
            assert field.group is None or field.group in GROUPS, where
            assert field.public in (publishing.FACTS, publishing.PLACED, None), where
            assert field.macro in publishing.DISPLAYS, where
            if field.kind in (publishing.CHOICE, publishing.CODES):
                assert field.choices is not None and list(field.choices()), where
    hidden = {(entity_type, field.name) for field in fields_of(entity_type) if field.public is None}
    assert hidden == {key for key in NOT_PUBLIC if key[0] == entity_type}


# ------------------------------------------------------------ the edit form


def form_label(page, name: str) -> str:
    """The label an input of the form carries: a <label>, or the legend of
    its fieldset (checkboxes, repeatable rows)."""
    label = page.select_one(f'label[for="{name}"]')
    if label is not None:
        return text(label)
    group = page.select_one(f"fieldset#{name}") or page.select_one(f"#{name}-block fieldset")
    return text(group.select_one("legend")) if group is not None else ""


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_the_edit_form_has_an_input_for_each_field_under_its_label(seeded_app, accounts, entity_type):
    client = signed_in(seeded_app, "editor@example.lv")
    _model, _id, url, form_id = RECORDS[entity_type]
    form = soup(client.get(url)).select_one(form_id)
    with english(seeded_app):
        for field in fields_of(entity_type):
            where = f"{entity_type}.{field.name}"
            assert form.select(f'[name="{field.name}"]') or form.select(f'button[name="add_{field.name}"]'), where
            assert form_label(form, field.name) == str(field.label), where


# ------------------------------------------------------------ the history


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_the_history_names_a_change_of_each_field_by_its_label(seeded_app, accounts, entity_type):
    with english(seeded_app):
        entity = record(entity_type)
        expected, values = {}, {}
        for field in fields_of(entity_type):
            value, history_text, _public = sample(entity_type, field, field.get(entity))
            values[field.name] = value
            expected[field.name] = (str(field.label), history_text)
        revision = publishing.apply_changes(db.session, entity, values, editor())
        db.session.commit()
        assert set(publishing.decode_changes(revision)) == set(expected)  # every field really changed
        revision_id = revision.id
    client = signed_in(seeded_app, "editor@example.lv")
    changes = soup(client.get(f"/en/manage/org/{SASKARSME}")).select_one(f"#revision-{revision_id} table.changes")
    for name, (label, history_text) in expected.items():
        row = changes.select_one(f'tr[data-field="{name}"]')
        assert row is not None, f"{entity_type}.{name} is not in the history"
        assert text(row.select_one("th")) == label, name
        assert history_text in text(row.select_one(".after")), name


# ------------------------------------------------------------ the conflict page


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_the_conflict_page_compares_each_field(seeded_app, accounts, entity_type):
    client = signed_in(seeded_app, "editor@example.lv")
    _model, _id, url, form_id = RECORDS[entity_type]
    data = form_values(soup(client.get(url)), form_id)
    with seeded_app.app_context():  # someone saves meanwhile
        publishing.apply_changes(db.session, record(entity_type), {"name": "Saved meanwhile"}, None)
        db.session.commit()
    response = post(client, url, replace(data, save="1"))
    assert response.status_code == 409
    table = soup(response).select_one("#conflict")
    with english(seeded_app):
        for field in fields_of(entity_type):
            row = table.select_one(f'tr[data-field="{field.name}"]')
            assert row is not None, f"{entity_type}.{field.name} is not on the conflict page"
            assert text(row.select_one("th")).startswith(str(field.label)), field.name
            assert row.select_one(".yours") and row.select_one(".theirs")
    assert "differs" in table.select_one('tr[data-field="name"]')["class"]


# ------------------------------------------------------------ the centre page


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_the_centre_page_shows_a_value_set_through_each_public_field(seeded_app, entity_type):
    client = seeded_app.test_client()
    for field in fields_of(entity_type):
        if (entity_type, field.name) in NOT_PUBLIC:
            continue
        where = f"{entity_type}.{field.name}"
        with english(seeded_app):
            entity = record(entity_type)
            before = field.get(entity)
            value, _history, shown = sample(entity_type, field, before)
            assert publishing.apply_changes(db.session, entity, {field.name: value}, None) is not None, where
            db.session.commit()
        page = soup(client.get(CENTRE_PAGE))
        elements = page.select(f'[data-fields~="{field.name}"]')
        assert elements, f"{where} is not on the centre page"
        if shown is None:
            assert any(text(element) and not element.select(".missing") for element in elements), where
        else:
            assert any(shown in text(element) for element in elements), (where, [text(e) for e in elements])
        if field.public == publishing.FACTS:  # a row drawn from the registry: its label, its value
            row = next(element for element in elements if element.name == "dd")
            with english(seeded_app):
                assert text(row.find_previous_sibling("dt")) == str(field.fact_label), where
        with seeded_app.app_context():  # back as it was: fields shown together stay apart
            publishing.apply_changes(db.session, record(entity_type), {field.name: before}, None)
            db.session.commit()


def test_a_field_not_public_stays_off_the_centre_page(seeded_app):
    """The one field residents never read: a service that is not active is
    not on the page at all."""
    client = seeded_app.test_client()
    assert soup(client.get(CENTRE_PAGE)).select(f'section.service[aria-labelledby="service-{SASKARSME_SERVICE}"]')
    with seeded_app.app_context():
        publishing.apply_changes(db.session, record("service"), {"status": "temporarily closed"}, None)
        db.session.commit()
    assert not soup(client.get(CENTRE_PAGE)).select(f'section.service[aria-labelledby="service-{SASKARSME_SERVICE}"]')
