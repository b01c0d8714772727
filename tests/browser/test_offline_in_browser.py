"""Reading offline in Chromium (issue 20): the service worker keeps the centre
pages and the shortlist a visitor opened and shows them offline under a "You
are offline" banner; a search offline says it needs a connection; nothing a
signed-in social worker sees (a referral above all) is ever kept."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import Error as PlaywrightError, expect
from sqlalchemy import select

from conftest import PASSWORD, make_app, make_user
from directory.extensions import db
from directory.models import Organization, Referral, Service

from .conftest import PHONE, axe_violations, describe

pytestmark = pytest.mark.browser

CENTRE = "saskarsme"
OTHER_CENTRE = "vigante"
CLIENT_NAME = "Offline A. B."
BANNER = "You are offline. This is what you saved on this device."

ALL_CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


@pytest.fixture(scope="module")
def referral(live_server, live_database_uri):
    """A social worker and a referral they sent to Saskarsme, with the client's name."""
    app = make_app(live_database_uri)
    worker_id = make_user(app, "offline-worker@example.lv", "social_worker")
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == CENTRE))
        service = db.session.scalar(select(Service).where(Service.organization_id == org.id).order_by(Service.name))
        item = Referral(service=service, organization=org, service_name=service.name, organization_name=org.name,
                        sender_id=worker_id, client_name=CLIENT_NAME, client_contact="+371 20000000",
                        need="A warm place.", consent_at=datetime.now(timezone.utc))
        db.session.add(item)
        db.session.commit()
        referral_id = item.id
        db.session.remove()
    yield referral_id
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="en-GB")
    yield context
    context.close()


def controlled_by_the_worker(page) -> None:
    """Wait until the service worker controls the page (it claims the pages
    open when it starts), then load the page again through it."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()


def cached_urls(page) -> list[str]:
    return page.evaluate(ALL_CACHED_URLS)


def reload_offline_fails(page) -> str:
    """Offline, with no worker to answer: Chromium's own error page. Its text."""
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.reload()
    page.wait_for_load_state()
    return page.locator("body").inner_text()


def test_a_centre_page_opened_before_reads_offline_with_the_banner(context, live_server):
    page = context.new_page()
    page.goto(f"{live_server}/en/centres/{CENTRE}")
    controlled_by_the_worker(page)
    title = page.locator("main h1").inner_text()
    banner = page.locator(".offline-banner")
    expect(banner).to_be_hidden()  # online: neither seen nor announced

    context.set_offline(True)
    page.reload()
    expect(page.locator("main h1")).to_have_text(title)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(BANNER)
    assert axe_violations(page) == [], describe(axe_violations(page))

    # The banner's link: the pages saved on this device, this one among them.
    banner.get_by_role("link", name="Pages saved on this device").click()
    expect(page).to_have_url(re.compile(r"/en/offline$"))
    saved = page.locator("#saved-pages a")
    expect(saved).to_have_count(1)
    expect(saved).to_have_text(title)
    expect(saved).to_have_attribute("href", f"/en/centres/{CENTRE}")
    expect(page.locator("#no-saved-pages")).to_be_hidden()
    saved.click()
    expect(page.locator("main h1")).to_have_text(title)
    expect(banner).to_be_visible()

    # Back online, the page comes from the site again, without the banner.
    context.set_offline(False)
    page.reload()
    expect(banner).to_be_hidden()
    expect(page.locator("body")).not_to_have_attribute("data-offline-copy", "")


def test_the_shortlist_reads_offline_on_a_phone(browser, live_server):
    context = browser.new_context(locale="lv-LV", **PHONE)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/en/centres/{CENTRE}")
        controlled_by_the_worker(page)
        page.get_by_role("button", name=re.compile(r"^Add to shortlist")).first.click()
        expect(page.locator("#shortlist-link")).to_have_text("Shortlist (1)")
        page.locator("#shortlist-link").click()
        expect(page).to_have_url(re.compile(r"/en/shortlist/$"))
        names = page.locator(".shortlist-item h2").all_inner_texts()
        assert len(names) == 1

        context.set_offline(True)
        page.reload()
        expect(page.locator(".offline-banner")).to_be_visible()
        expect(page.locator(".shortlist-item h2")).to_have_text(names)
        assert axe_violations(page) == [], describe(axe_violations(page))
        # A page never opened is not there: the offline page says so.
        page.goto(f"{live_server}/en/centres/{OTHER_CENTRE}")
        expect(page.locator("main h1")).to_have_text("You are offline")
        expect(page.locator("#saved-pages a")).to_have_count(2)  # the centre page and the shortlist
    finally:
        context.close()


def test_searching_offline_says_it_needs_a_connection(context, live_server):
    page = context.new_page()
    page.goto(f"{live_server}/en/")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    note = page.locator("#connection-needed")
    expect(note).to_be_hidden()

    context.set_offline(True)
    page.locator("#q").fill("dienas")
    page.locator("#q").press("Enter")
    expect(note).to_be_visible()
    expect(note).to_have_text("Searching needs a connection.")
    expect(note).to_have_attribute("role", "alert")

    # A search address opened offline: the offline page, in its language.
    page.goto(f"{live_server}/ru/?q=centrs")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.goto(f"{live_server}/en/?q=centrs")
    expect(page.locator("main h1")).to_have_text("You are offline")
    expect(page.locator("main")).to_contain_text("Searching needs a connection.")
    expect(page.locator("#no-saved-pages")).to_be_visible()  # nothing opened in this browser yet
    expect(page.locator(".offline-banner")).to_be_hidden()  # not a saved copy: the page says it all
    assert axe_violations(page) == [], describe(axe_violations(page))


def sign_in(page, live_server, email) -> None:
    page.goto(f"{live_server}/en/account/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/account/login"))


def test_a_referral_is_never_kept(browser, context, live_server, referral):
    page = context.new_page()
    # A visitor's page first: the worker installs and keeps the offline pages.
    page.goto(f"{live_server}/en/account/login")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    assert any(url == "/en/offline" for url in cached_urls(page))

    # Signing in clears it all (Clear-Site-Data), and no worker comes back.
    sign_in(page, live_server, "offline-worker@example.lv")
    page.goto(f"{live_server}/en/referrals/{referral}")
    expect(page.locator(".referral-facts .client-name")).to_have_text(CLIENT_NAME)
    page.wait_for_function("async () => (await navigator.serviceWorker.getRegistrations()).length === 0")
    assert page.evaluate("navigator.serviceWorker.controller") is None
    assert cached_urls(page) == []

    context.set_offline(True)
    assert CLIENT_NAME not in reload_offline_fails(page)
    context.set_offline(False)

    # A browser that ignores Clear-Site-Data: a visitor's worker still runs
    # when the social worker's sign-in arrives. It keeps nothing of theirs,
    # not even a centre page it would keep for a visitor.
    other = browser.new_context(locale="en-GB")
    try:
        visitor = other.new_page()
        visitor.goto(f"{live_server}/en/centres/{OTHER_CENTRE}")
        controlled_by_the_worker(visitor)
        assert f"/en/centres/{OTHER_CENTRE}" in cached_urls(visitor)
        other.add_cookies(context.cookies())  # now signed in as the social worker
        visitor.goto(f"{live_server}/en/centres/{CENTRE}")
        expect(visitor.locator("#shortlist-link")).to_be_visible()
        expect(visitor.get_by_role("link", name="Your referrals")).to_be_visible()
        urls = cached_urls(visitor)
        assert f"/en/centres/{CENTRE}" not in urls
        assert not [url for url in urls if re.search(r"/(referrals|manage|admin|account)\b", url)], urls
        visitor.goto(f"{live_server}/en/referrals/{referral}")
        expect(visitor.locator(".referral-facts .client-name")).to_have_text(CLIENT_NAME)
        assert not [url for url in cached_urls(visitor) if "/referrals" in url]
        other.set_offline(True)
        assert CLIENT_NAME not in reload_offline_fails(visitor)  # the worker is gone: none answers
    finally:
        other.close()
