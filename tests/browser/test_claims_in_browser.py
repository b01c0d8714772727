"""Asking to keep a centre's listing in a real browser, with and without
JavaScript: the link on the centre page, the form's errors keep what was
typed, the thank-you page; every step stays accessible (axe, with JavaScript)."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser


def assert_accessible(page, javascript):
    # axe runs as a script: a page without JavaScript cannot run it (the
    # same HTML is checked in the run with JavaScript).
    if javascript:
        violations = axe_violations(page)
        assert violations == [], describe(violations)


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_someone_at_a_centre_asks_to_keep_its_listing(request, live_server, javascript):
    page = request.getfixturevalue("page" if javascript else "page_without_js")
    slug = "sarkana-skola" if javascript else "vigante"  # one claim per centre and run
    page.goto(f"{live_server}/lv/centres/{slug}")
    page.locator(".claim-link a").click()
    expect(page).to_have_url(re.compile(rf"/lv/centres/{slug}/claim$"))
    assert_accessible(page, javascript)

    page.locator("#name").fill("Ilze Ozola")
    page.locator("#email").fill("ilze-at-centre")
    page.locator("#message").fill("Es vadu šo centru.")
    page.locator("#claim-form button[type=submit]").click()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#role-error")).to_be_visible()
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email")).to_have_value("ilze-at-centre")
    expect(page.locator("#name")).to_have_value("Ilze Ozola")
    expect(page.locator("#message")).to_have_value("Es vadu šo centru.")
    assert_accessible(page, javascript)

    page.locator("#email").fill(f"ilze@{slug}.example.lv")
    page.locator("#role").fill("Vadītāja")
    page.locator("#claim-form button[type=submit]").click()
    expect(page.locator("#claim-sent")).to_be_visible()
    assert_accessible(page, javascript)
