"""A social worker shortlists a service and refers a client to it, the centre
answers, in a real browser: with JavaScript (htmx) and without."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from conftest import PASSWORD, make_app, make_user
from directory.extensions import db
from directory.models import Referral, Service

pytestmark = pytest.mark.browser

SERVICE_NAME = "Dienas centrs “Saskarsme”"
ADDRESS = "Liepājas iela 4"


@pytest.fixture(scope="module")
def people(live_server, live_database_uri):
    app = make_app(live_database_uri)
    make_user(app, "worker@example.lv", "social_worker")
    make_user(app, "nojs-worker@example.lv", "social_worker")
    make_user(app, "editor@example.lv", "editor", organizations=["saskarsme"])
    with app.app_context():
        service_id = db.session.scalar(select(Service.id).where(Service.name == SERVICE_NAME))
        db.session.remove()
    yield {"app": app, "service_id": service_id}
    with app.app_context():
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()


def referrals_in_database(app) -> list[tuple[int, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Referral.id, Referral.status, Referral.client_name).order_by(Referral.id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def referral_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Referral))
        db.session.remove()
    return count


def sign_in(page, live_server, email, lang="en"):
    page.goto(f"{live_server}/{lang}/account/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("#shortlist-link")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/account/login"))


def mark_page(page) -> None:
    """A marker that survives only as long as no full page load happens."""
    page.evaluate("window.__stillTheSamePage = true")


def same_page(page) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def result_item(page, name=SERVICE_NAME):
    return page.locator(".result").filter(has=page.locator("h3 a", has_text=name))


def test_shortlist_refer_and_answer_with_javascript(browser, page, live_server, people):
    app = people["app"]
    before = referral_count(app)
    sign_in(page, live_server, "worker@example.lv")

    # Search, and add a result to the shortlist without leaving the page.
    page.goto(f"{live_server}/en/")
    page.locator("#q").fill("saskarsme")
    expect(page).to_have_url(re.compile(r"/en/\?q=saskarsme$"))
    expect(result_item(page)).to_have_count(1)
    expect(page.locator("#shortlist-link")).not_to_contain_text("(")
    mark_page(page)
    result_item(page).get_by_role("button", name=re.compile(r"^Add to shortlist")).click()
    expect(page.locator("#shortlist-link")).to_have_text("Shortlist (1)")
    button = result_item(page).locator(".shortlist-toggle button")
    expect(button).to_have_text(re.compile(r"^Remove"))
    expect(button).to_be_focused()  # the new button, in place of the one pressed
    expect(result_item(page).locator(".shortlist-toggle .on-list")).to_have_text("On your shortlist")
    assert same_page(page), "adding to the shortlist reloaded the page"
    expect(page).to_have_url(re.compile(r"/en/\?q=saskarsme$"))

    # The shortlist, on screen and on paper.
    page.locator("#shortlist-link").click()
    expect(page).to_have_url(re.compile(r"/en/shortlist/$"))
    item = page.locator(".shortlist-item")
    expect(item).to_have_count(1)
    expect(item.locator("h2")).to_have_text(SERVICE_NAME)
    expect(item.locator(".address")).to_contain_text(ADDRESS)
    expect(page.locator("[data-print]")).to_be_visible()  # shown by site.js
    expect(page.locator("#share-url")).to_have_value(
        re.compile(r"/en/shortlist/shared\?s=" + re.escape(people["service_id"]) + "$"))

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    buttons = page.locator("main button")
    assert buttons.count() >= 3  # print, remove, empty the shortlist
    for index in range(buttons.count()):
        expect(buttons.nth(index)).to_be_hidden()
    expect(page.get_by_role("link", name=re.compile(r"^Refer a client"))).to_be_hidden()
    expect(page.locator("#share-url")).to_be_hidden()
    expect(item.locator("h2")).to_be_visible()
    expect(item.locator(".address")).to_be_visible()
    expect(item.locator(".address")).to_contain_text(ADDRESS)
    expect(page.locator(".print-footer")).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.locator(".site-header")).to_be_visible()
    expect(page.locator(".print-footer")).to_be_hidden()

    # The referral form: an empty submit sends nothing and says what is missing.
    page.get_by_role("link", name=re.compile(r"^Refer a client")).click()
    expect(page).to_have_url(re.compile(r"/en/referrals/new\?service=" + re.escape(people["service_id"]) + "$"))
    expect(page.locator("#service-heading")).to_have_text(SERVICE_NAME)
    expect(page.locator("#client_language")).to_have_value("en")
    page.get_by_role("button", name="Send the referral").click()
    expect(page.locator(".error-summary")).to_have_text("Please correct the marked fields.")
    expect(page.locator("#client_name-error")).to_have_text("Write the client's first name or initials.")
    expect(page.locator("#client_contact-error")).to_have_text("Write how the centre can reach the client.")
    expect(page.locator("#need-error")).to_have_text("Describe what the client needs.")
    expect(page.locator("#consent-error")).to_have_text(
        "The client's consent is needed before anything about them is sent.")
    for name in ("client_name", "client_contact", "need", "consent"):
        expect(page.locator(f"#{name}")).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{name}")).to_have_attribute(
            "aria-describedby", re.compile(rf"\b{name}-error\b"))
    expect(page.locator("#service-heading")).to_have_text(SERVICE_NAME)  # still the same service
    expect(page.locator("#client_language")).to_have_value("en")
    expect(page.locator(".error-summary")).to_be_focused()
    assert referral_count(app) == before

    # Half filled: what was typed stays, only the consent is asked for.
    page.locator("#client_name").fill("A. K.")
    page.locator("#client_contact").fill("through me")
    page.locator("#client_language").select_option("ru")
    page.locator("#need").fill("Company in the afternoons;\nhelp with the forms.")
    page.get_by_role("button", name="Send the referral").click()
    expect(page.locator("#consent-error")).to_be_visible()
    expect(page.locator("#client_name-error")).to_have_count(0)
    expect(page.locator("#client_name")).to_have_value("A. K.")
    expect(page.locator("#client_contact")).to_have_value("through me")
    expect(page.locator("#client_language")).to_have_value("ru")
    expect(page.locator("#need")).to_have_value("Company in the afternoons;\nhelp with the forms.")
    expect(page.locator("#consent")).not_to_be_checked()
    expect(page.locator(".error-summary")).to_be_focused()
    assert referral_count(app) == before

    page.locator("#consent").check()
    page.get_by_role("button", name="Send the referral").click()
    expect(page).to_have_url(re.compile(r"/en/referrals/\d+$"))
    referral_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-info")).to_contain_text("The referral is sent.")
    expect(page.locator(".referral-facts .status")).to_have_text("Sent, waiting for an answer")
    expect(page.locator(".referral-facts .client-name")).to_have_text("A. K.")
    expect(page.locator(".referral-facts .service")).to_have_text(SERVICE_NAME)
    expect(page.locator(".history .history-event")).to_have_count(1)
    expect(page.locator("#slip-link")).to_have_attribute("href", f"/ru/referrals/{referral_id}/slip")
    assert referrals_in_database(app)[-1] == (referral_id, "sent", "A. K.")
    assert referral_count(app) == before + 1

    # The client's slip, in the client's language, printable.
    page.locator("#slip-link").click()
    expect(page).to_have_url(re.compile(rf"/ru/referrals/{referral_id}/slip$"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator(".slip .client-name")).to_have_text("A. K.")
    expect(page.locator(".slip .address")).to_contain_text(ADDRESS)
    expect(page.locator(".slip [data-print]")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".slip [data-print]")).to_be_hidden()
    expect(page.locator(".slip .address")).to_be_visible()
    page.emulate_media(media="screen")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/en/referrals/{referral_id}$"))

    # The centre's editor answers, in a browser of their own.
    context = browser.new_context(locale="lv-LV")
    editor = context.new_page()
    sign_in(editor, live_server, "editor@example.lv")
    editor.goto(f"{live_server}/en/manage/referrals/")
    row = editor.locator(f"#referral-{referral_id}")
    expect(row).to_contain_text("A. K.")
    expect(row.locator(".badge-referral")).to_have_text("Sent, waiting for an answer")
    row.get_by_role("link", name=f"No. {referral_id}").click()
    expect(editor).to_have_url(re.compile(rf"/en/manage/referrals/{referral_id}$"))
    expect(editor.locator(".referral-facts .need")).to_have_text("Company in the afternoons;\nhelp with the forms.")
    editor.locator("button[value=accepted]").click()
    expect(editor.locator(".referral-facts .status")).to_have_text("Accepted")
    expect(editor.locator("button[value=accepted]")).to_have_count(0)
    expect(editor.locator("button[value=completed]")).to_have_text("Mark as completed")
    context.close()
    assert referrals_in_database(app)[-1] == (referral_id, "accepted", "A. K.")

    # The social worker sees the answer.
    page.reload()
    expect(page.locator(".referral-facts .status")).to_have_text("Accepted")
    events = page.locator(".history .history-event")
    expect(events).to_have_count(2)
    expect(events.nth(0).locator("strong")).to_have_text("Sent, waiting for an answer")
    expect(events.nth(1).locator("strong")).to_have_text("Accepted")
    expect(events.nth(1)).to_contain_text("Editor")  # who answered


def test_shortlist_and_referral_without_javascript(page_without_js, live_server, people):
    page = page_without_js
    app = people["app"]
    before = referral_count(app)
    sign_in(page, live_server, "nojs-worker@example.lv")

    # The search form is sent as a plain GET.
    page.goto(f"{live_server}/en/")
    page.locator("#q").fill("saskarsme")
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/en/\?q=saskarsme"))
    search_url = page.url
    expect(page.locator("#shortlist-link")).to_have_text("Shortlist")

    # The button posts and comes back to the same search, with the count.
    result_item(page).get_by_role("button", name=re.compile(r"^Add to shortlist")).click()
    expect(page).to_have_url(search_url)
    expect(page.locator(".flash-info")).to_have_text("Added to your shortlist.")
    expect(page.locator("#shortlist-link")).to_have_text("Shortlist (1)")
    expect(result_item(page).locator(".shortlist-toggle button")).to_have_text(re.compile(r"^Remove"))

    # The shortlist: no Print button without JavaScript, the hint instead.
    page.locator("#shortlist-link").click()
    expect(page).to_have_url(re.compile(r"/en/shortlist/$"))
    expect(page.locator(".shortlist-item h2")).to_have_text([SERVICE_NAME])
    expect(page.locator(".shortlist-item .address")).to_contain_text(ADDRESS)
    expect(page.locator("[data-print]")).to_have_count(1)
    expect(page.locator("[data-print]")).to_be_hidden()
    expect(page.locator(".print-hint")).to_be_visible()
    expect(page.locator(".print-hint")).to_contain_text("use your browser’s Print command")

    # The referral: the server's messages, then sent.
    page.get_by_role("link", name=re.compile(r"^Refer a client")).click()
    page.get_by_role("button", name="Send the referral").click()
    expect(page.locator("#need-error")).to_have_text("Describe what the client needs.")
    assert referral_count(app) == before
    page.locator("#client_name").fill("J.")
    page.locator("#client_contact").fill("+371 20000000")
    page.locator("#client_language").select_option("lt")
    page.locator("#need").fill("A place in the day centre.")
    page.locator("#consent").check()
    page.get_by_role("button", name="Send the referral").click()
    expect(page).to_have_url(re.compile(r"/en/referrals/\d+$"))
    expect(page.locator(".referral-facts .status")).to_have_text("Sent, waiting for an answer")
    expect(page.locator(".referral-facts .client-language")).to_have_attribute("lang", "lt")
    expect(page.locator("#slip-link")).to_have_attribute("href", re.compile(r"^/lt/referrals/\d+/slip$"))
    assert referral_count(app) == before + 1
    assert referrals_in_database(app)[-1][1:] == ("sent", "J.")

    # The slip: the hint, no Print button.
    page.locator("#slip-link").click()
    expect(page.locator(".slip [data-print]")).to_be_hidden()
    expect(page.locator(".slip .print-hint")).to_be_visible()
