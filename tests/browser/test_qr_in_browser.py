"""QR codes on paper, read back as a phone would (issue 20): the printed
shortlist's code opens the list, the client's slip's opens the service; and
the send form, without JavaScript and accessible."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import PASSWORD, make_app, make_user
from directory.extensions import db
from directory.models import Organization, OutboxMessage, Service

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser

PUBLIC = "http://127.0.0.1:5000"  # PUBLIC_BASE_URL: codes and links point there, not to the test server
SAKSARSME_SERVICE = "Dienas centrs “Saskarsme”"


@pytest.fixture(scope="module")
def people(live_server, live_database_uri):
    app = make_app(live_database_uri)
    make_user(app, "qr-worker@example.lv", "social_worker")
    make_user(app, "saskarsme-editor@example.lv", "editor", organizations=["saskarsme"])
    with app.app_context():
        ids = dict(db.session.execute(
            select(Organization.slug, Service.id).join(Service.organization)
            .where(Organization.slug.in_(["saskarsme", "vigante"]), Service.status == "active")
            .order_by(Service.name)
        ).all())
        db.session.remove()
    yield {"app": app, **ids}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def print_page(browser):
    """A page drawn at twice the pixels, as a printer draws more dots than a screen."""
    context = browser.new_context(locale="lv-LV", device_scale_factor=2)
    page = context.new_page()
    yield page
    context.close()


def decoded(locator) -> list[str]:
    image = Image.open(io.BytesIO(locator.screenshot()))
    return [result.text for result in zxingcpp.read_barcodes(image)]


def add_to_shortlist(page, live_server, slug):
    page.goto(f"{live_server}/lv/centres/{slug}")
    page.locator(".service .shortlist-toggle:not(.is-on) button").first.click()
    expect(page.locator(".service .shortlist-toggle.is-on").first).to_be_visible()


def test_the_printed_shortlist_carries_a_code_that_opens_the_list(print_page, live_server, people):
    page = print_page
    for slug in ("saskarsme", "vigante"):
        add_to_shortlist(page, live_server, slug)
    page.goto(f"{live_server}/en/shortlist/")
    list_url = f"{PUBLIC}/en/shortlist/shared?s={people['saskarsme']}&s={people['vigante']}"
    expect(page.locator("#share-url")).to_have_value(list_url)

    page.emulate_media(media="print")
    code = page.locator("#list-qr svg")
    expect(code).to_be_visible()
    expect(page.locator("#list-qr .qr-url")).to_have_text(list_url)
    expect(page.locator("#send-list")).to_be_hidden()  # a link to click is no use on paper
    assert decoded(code) == [list_url]
    # On screen too, for a phone held up to it.
    page.emulate_media(media="screen")
    expect(code).to_be_visible()
    assert decoded(code) == [list_url]


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/en/account/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/account/login"))


def test_the_clients_slip_carries_a_code_that_opens_the_service(print_page, live_server, people):
    page = print_page
    sign_in(page, live_server, "qr-worker@example.lv")
    service_id = people["saskarsme"]
    page.goto(f"{live_server}/en/referrals/new?service={service_id}")
    page.locator("#client_name").fill("A. K.")
    page.locator("#client_contact").fill("through me")
    page.locator("#client_language").select_option("ru")
    page.locator("#need").fill("Company in the afternoons.")
    page.locator("#consent").check()
    page.get_by_role("button", name="Send the referral").click()
    expect(page).to_have_url(re.compile(r"/en/referrals/\d+$"))
    page.locator("#slip-link").click()
    expect(page).to_have_url(re.compile(r"/ru/referrals/\d+/slip$"))

    service_url = f"{PUBLIC}/ru/centres/saskarsme#service-{service_id}"  # in the client's language
    page.emulate_media(media="print")
    code = page.locator("#service-qr svg")
    expect(code).to_be_visible()
    expect(page.locator("#service-qr .qr-url")).to_have_text(service_url)
    assert decoded(code) == [service_url]
    page.emulate_media(media="screen")


def outbox_to(app, recipient) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)).all()
        db.session.expunge_all()
        db.session.remove()
    return messages


def test_the_send_form_works_without_javascript(page_without_js, live_server, people):
    page = page_without_js
    add_to_shortlist(page, live_server, "saskarsme")
    page.goto(f"{live_server}/en/shortlist/")
    page.locator("#send-list").click()
    expect(page).to_have_url(re.compile(r"/en/shortlist/send$"))
    expect(page.locator(".share-services li")).to_have_count(1)

    page.locator("#email").fill("not an address")
    page.locator("#language").select_option("lt")
    page.get_by_role("button", name="Send by e-mail").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#email")).to_have_value("not an address")
    expect(page.locator("#language")).to_have_value("lt")
    assert outbox_to(people["app"], "not an address") == []

    page.locator("#email").fill("qr-reader@example.lt")
    page.get_by_role("button", name="Send by e-mail").click()
    expect(page.locator("#share-sent")).to_contain_text("qr-reader@example.lt")
    [message] = outbox_to(people["app"], "qr-reader@example.lt")
    assert f"{PUBLIC}/lt/shortlist/shared?s={people['saskarsme']}" in message.body.split()


def test_the_send_pages_have_no_wcag_violations(page, live_server, people):
    found = {}

    def check(label):
        if violations := axe_violations(page):
            found[label] = violations

    add_to_shortlist(page, live_server, "vigante")
    for lang in ("lv", "en"):
        page.goto(f"{live_server}/{lang}/shortlist/send")
        expect(page.locator("#share-email-form")).to_be_visible()
        check(f"{lang}: the form")
    page.locator("#email").fill("x")
    page.locator("#share-email-form button").click()
    expect(page.locator("#email-error")).to_be_visible()
    check("a field error")
    page.locator("#email").fill("axe-reader@example.lv")
    page.locator("#share-email-form button").click()
    expect(page.locator("#share-sent")).to_be_visible()
    check("sent")

    # "Send" on a centre page: one service.
    page.goto(f"{live_server}/en/centres/vigante")
    page.locator(".service a.send-service").first.click()
    expect(page).to_have_url(re.compile(r"/en/centres/vigante/send\?service="))
    expect(page.locator(".share-services li")).to_have_count(1)
    check("one service")
    assert found == {}, describe(found)
