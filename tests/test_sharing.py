"""Sending a shortlist or a service by e-mail or SMS (issue 20): one outbox
message with the services and the link on PUBLIC_BASE_URL, in the language
chosen; limited per client address and per recipient; the SMS form only
with a gateway; a QR code to the list on the printed shortlist."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select

from conftest import csrf_token, make_app, soup
from directory import sharing, sms
from directory.extensions import db
from directory.models import Organization, OutboxMessage, Service

PUBLIC = "https://directory.example.lv"
SLUG = "saskarsme"
STREET = "Liepājas iela 4"  # Saskarsme's street: never in a message


@pytest.fixture
def public_app(seeded_app, database_uri):
    """The seeded directory, published at PUBLIC (its pages are asked for on localhost)."""
    return make_app(database_uri, PUBLIC_BASE_URL=PUBLIC)


def services_of(app, slug=SLUG) -> list[tuple[str, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Service.id, Service.name).join(Service.organization)
            .where(Organization.slug == slug, Service.status == "active").order_by(Service.name)
        )]


def all_services(app, count) -> list[tuple[str, str]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Service.id, Service.name).join(Service.organization)
            .where(Service.status == "active", Organization.status == "published").order_by(Service.name).limit(count)
        )]


def shortlist(client, service_ids):
    token = csrf_token(client, "/lv/centres/saskarsme")
    response = client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": list(service_ids)})
    assert response.status_code == 302


def send(client, url="/en/shortlist/send", headers=None, **fields):
    data = {"channel": "email", "email": "anna@example.lt", "language": "en", **fields}
    if "csrf_token" not in data:
        page = soup(client.get(url))
        form = page.select_one(f'form:has(input[name="channel"][value="{data["channel"]}"])')
        assert form is not None, f"no {data['channel']} form on {url}"
        token_field = form.select_one('input[name$="csrf_token"]')
        data[token_field["name"]] = token_field["value"]
    if data["channel"] == "sms":
        data = {("sms-" + key if key in ("phone", "language") else key): value for key, value in data.items()}
    return client.post(url, data=data, headers=headers or {})


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return messages


def from_address(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_shortlist_goes_by_email_in_the_chosen_language_with_the_public_link(public_app):
    client = public_app.test_client()
    services = services_of(public_app)[:1] + services_of(public_app, "vigante")[:1]
    shortlist(client, [service_id for service_id, _ in services])
    link = soup(client.get("/lv/shortlist/")).select_one("#send-list")
    assert link["href"] == "/lv/shortlist/send"
    page = soup(client.get("/lt/shortlist/send"))
    assert [li.select_one("span").text for li in page.select(".share-services li")] == [n for _, n in services]
    assert page.select_one("#language option[selected]")["value"] == "lt"  # the page's language by default

    # Asked for on another host name, with a forged forwarded host: the link is still the public one.
    response = send(client, url="/lt/shortlist/send", email="Anna@Example.lt", language="lt",
                    headers={"X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    assert "Anna@Example.lt" in soup(response).select_one("#share-sent").text
    [message] = outbox(public_app)
    assert message.recipient == "Anna@Example.lt"
    shared = f"{PUBLIC}/lt/shortlist/shared?s={services[0][0]}&s={services[1][0]}"
    assert shared in message.body.split()
    for _, name in services:
        assert name in message.body
    with public_app.test_request_context("/lt/"), force_locale("lt"):
        assert message.subject == ngettext("%(num)d social service", "%(num)d social services", 2)
        assert gettext("Addresses, opening hours and phone numbers:") in message.body
    # Nothing else: no street, no other link, nothing about the sender.
    assert STREET not in message.body and "evil.example" not in message.body and "localhost" not in message.body
    assert [word for word in message.body.split() if "://" in word] == [shared]


def test_one_service_is_sent_as_its_section_of_the_centre_page(public_app):
    client = public_app.test_client()
    service_id, name = services_of(public_app)[0]
    centre = soup(client.get(f"/lv/centres/{SLUG}"))
    link = centre.select_one(f'section.service:has(h3#service-{service_id}) a.send-service')
    assert link["href"] == f"/lv/centres/{SLUG}/send?service={service_id}"
    assert send(client, url=f"/en/centres/{SLUG}/send?service={service_id}", language="ru").status_code == 200
    [message] = outbox(public_app)
    assert f"{PUBLIC}/ru/centres/{SLUG}#service-{service_id}" in message.body.split()
    assert name in message.subject and name in message.body
    # A service of another centre is not sent from this one.
    other = services_of(public_app, "vigante")[0][0]
    assert client.get(f"/en/centres/{SLUG}/send?service={other}").status_code == 404


def test_a_centre_without_a_chosen_service_is_sent_whole(public_app):
    client = public_app.test_client()
    services = services_of(public_app, "vigante")
    page = soup(client.get("/en/centres/vigante/send"))
    assert [li.select_one("span").text for li in page.select(".share-services li")] == [n for _, n in services]
    assert send(client, url="/en/centres/vigante/send").status_code == 200
    [message] = outbox(public_app)
    assert f"{PUBLIC}/en/centres/vigante" in message.body.split()
    assert all(name in message.body for _, name in services)


def test_the_sixth_message_to_one_address_in_an_hour_is_refused(seeded_app):
    service_id = services_of(seeded_app)[0][0]
    statuses = []
    for n in range(6):
        client = from_address(seeded_app, f"192.0.2.{n + 1}")  # each from its own address
        shortlist(client, [service_id])
        statuses.append(send(client, email="Same@example.lv" if n % 2 else "same@example.lv").status_code)
    assert statuses == [200] * 5 + [429]
    assert len(outbox(seeded_app)) == 5
    refused = send(client, email="same@example.lv")
    page = soup(refused)
    assert refused.status_code == 429 and "Too many messages" in page.select_one("#share-refused").text
    assert page.select_one("#email")["value"] == "same@example.lv"  # what was typed stays
    # Another address is not held up.
    client = from_address(seeded_app, "192.0.2.99")
    shortlist(client, [service_id])
    assert send(client, email="other@example.lv").status_code == 200
    assert len(outbox(seeded_app)) == 6


def test_the_sixth_message_from_one_client_in_an_hour_is_refused(client, seeded_app):
    shortlist(client, [services_of(seeded_app)[0][0]])
    statuses = [send(client, email=f"person{n}@example.lv").status_code for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert [message.recipient for message in outbox(seeded_app)] == [f"person{n}@example.lv" for n in range(5)]


def test_only_messages_sent_are_counted(seeded_app, database_uri):
    app = make_app(database_uri, SHARE_RATE_LIMIT="1 per hour")
    client = app.test_client()
    shortlist(client, [services_of(app)[0][0]])
    assert send(client, email="not-an-address").status_code == 400
    assert send(client, email="anna@example.lv").status_code == 200
    assert send(client, email="anna@example.lv").status_code == 429
    assert len(outbox(app)) == 1


def test_a_form_without_its_csrf_token_sends_nothing(client, seeded_app):
    shortlist(client, [services_of(seeded_app)[0][0]])
    response = client.post("/en/shortlist/send", data={"channel": "email", "email": "a@example.lv", "language": "en"})
    assert response.status_code == 400
    assert outbox(seeded_app) == []


def test_a_bad_address_is_said_in_the_field_and_what_was_typed_stays(client, seeded_app):
    shortlist(client, [services_of(seeded_app)[0][0]])
    response = send(client, email="anna at example", language="lt")
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one("#email")["value"] == "anna at example"
    assert page.select_one("#email")["aria-invalid"] == "true"
    assert "valid e-mail address" in page.select_one("#email-error").text
    assert page.select_one("#language option[selected]")["value"] == "lt"
    assert send(client, email="a@b.lv\nBcc: x@example.lv").status_code == 400  # one line only
    assert outbox(seeded_app) == []


def test_an_empty_list_sends_nothing_and_says_so(client, seeded_app):
    page = soup(client.get("/en/shortlist/send"))
    assert "shortlist is empty" in page.select_one("#nothing-to-send").text
    assert page.select_one("#share-email-form") is None
    token = csrf_token(client, "/lv/centres/saskarsme")
    response = send(client, csrf_token=token)
    assert response.status_code == 400 and soup(response).select_one("#nothing-to-send")
    assert outbox(seeded_app) == []


def test_without_an_sms_gateway_there_is_no_sms(client, seeded_app):
    service_id = services_of(seeded_app)[0][0]
    shortlist(client, [service_id])
    for url in ("/en/shortlist/send", f"/en/centres/{SLUG}/send?service={service_id}"):
        page = soup(client.get(url))
        assert page.select_one("#share-email-form") and page.select_one("#share-sms-form") is None
        assert "SMS" not in page.get_text()
    token = csrf_token(client, "/en/shortlist/send")
    response = client.post("/en/shortlist/send", data={"csrf_token": token, "channel": "sms",
                                                       "sms-phone": "+37120000000", "sms-language": "en"})
    assert response.status_code == 404


@pytest.fixture
def sms_app(seeded_app, database_uri):
    return make_app(database_uri, SMS_GATEWAY="log", PUBLIC_BASE_URL=PUBLIC)


def test_with_the_logging_gateway_the_text_holds_the_link(sms_app):
    client = sms_app.test_client()
    service_id, name = services_of(sms_app)[0]
    url = f"/lv/centres/{SLUG}/send?service={service_id}"
    assert soup(client.get(url)).select_one("#share-sms-form #sms-phone")
    response = send(client, url=url, channel="sms", phone="+371 2000-0000", language="en")
    assert response.status_code == 200
    assert "+37120000000" in soup(response).select_one("#share-sent").text
    gateway = sms.gateway(sms_app)
    [(number, text)] = gateway.sent
    assert number == "+37120000000"
    assert text.endswith(f" {PUBLIC}/en/centres/{SLUG}#service-{service_id}") and name in text
    assert len(text) <= sharing.SMS_LENGTH
    assert outbox(sms_app) == []  # an SMS is not an e-mail


def test_a_bad_phone_number_is_said_in_the_field_and_what_was_typed_stays(sms_app):
    client = sms_app.test_client()
    shortlist(client, [services_of(sms_app)[0][0]])
    response = send(client, url="/en/shortlist/send", channel="sms", phone="2000 0000")
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one("#sms-phone")["value"] == "2000 0000"
    assert "country code" in page.select_one("#sms-phone-error").text
    assert page.select_one("#email").get("aria-invalid") is None  # the e-mail form is untouched
    assert send(client, url="/en/shortlist/send", channel="sms", phone="+3" + "1" * 40).status_code == 400
    assert list(sms.gateway(sms_app).sent) == []


def test_the_sms_limit_counts_each_number_however_it_is_written(sms_app, database_uri):
    app = make_app(database_uri, SMS_GATEWAY="log", SHARE_RECIPIENT_RATE_LIMIT="2 per hour")
    service_id = services_of(app)[0][0]
    statuses = []
    for n, written in enumerate(["+370 612 34567", "00370 61234567", "+370-612-345-67"]):
        client = from_address(app, f"192.0.2.{n + 1}")
        shortlist(client, [service_id])
        statuses.append(send(client, channel="sms", phone=written).status_code)
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("written, number", [
    ("+371 2000 0000", "+37120000000"),
    ("00370 612 34567", "+37061234567"),
    ("+370 (612) 34567", "+37061234567"),
    ("+49 151 23456789", "+4915123456789"),
    ("+371 2000 000", None),  # a Latvian number has 8 digits
    ("+370 612 345678", None),  # so has a Lithuanian one
    ("20000000", None),  # no country code
    ("+0 123456789", None),
    ("+371 2000 0000 ext 5", None),
    ("+１２３４５６７８９", None),  # other digits than 0–9
    ("", None),
])
def test_phone_numbers(written, number):
    assert sharing.normalise_phone(written) == number


def test_a_long_list_keeps_its_whole_link_in_a_text_message(seeded_app):
    centre = SimpleNamespace(name="Centrs")
    services = [SimpleNamespace(id=str(n), name=f"Pakalpojums numur {n}", organization=centre) for n in range(30)]
    link = PUBLIC + "/lv/shortlist/shared?" + "&".join(f"s={n:036d}" for n in range(3))
    with seeded_app.test_request_context("/en/"), force_locale("en"):
        text = sharing.sms_text(services, link)
    assert text.endswith(" " + link) and len(text) <= sharing.SMS_LENGTH
    assert text.startswith("Social services directory, 30 services: Pakalpojums numur 0; ")
    assert "…" in text


def test_the_printed_list_has_a_qr_code_to_the_public_list(public_app):
    client = public_app.test_client()
    service_id = services_of(public_app)[0][0]
    shortlist(client, [service_id])
    page = soup(client.get("/en/shortlist/"))
    figure = page.select_one("#list-qr")
    svg = figure.select_one("svg.qr-code")
    assert svg["role"] == "img" and svg["aria-label"] and svg.select_one("title")
    assert svg.get("style") is None and not svg.select("[style]")  # the CSP allows no inline style
    assert figure.select_one(".qr-url").text == f"{PUBLIC}/en/shortlist/shared?s={service_id}"
    assert page.select_one("#share-url")["value"] == f"{PUBLIC}/en/shortlist/shared?s={service_id}"
    assert soup(client.get("/en/shortlist/shared?s=" + service_id)).select_one("#list-qr svg")
    # An empty list has none.
    client.post("/lv/shortlist/clear", data={"csrf_token": csrf_token(client, "/lv/shortlist/")})
    assert soup(client.get("/en/shortlist/")).select_one("#list-qr") is None
