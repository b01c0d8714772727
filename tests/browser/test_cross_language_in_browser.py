"""A resident on a phone searching in any of the four languages, and an
administrator adding a word the search then knows, in a real browser."""

import re

import pytest
from conftest import PASSWORD, make_app, make_user
from playwright.sync_api import expect
from sqlalchemy import select

from directory.extensions import db
from directory.models import Taxonomy, TaxonomyTerm

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser

DAY_CENTRES = ["Dienas centrs", "Dienas centrs “Saskarsme”"]
HYGIENE = "Higiēnas centri"
SENIORS = "Daudzfunkcionālais sociālo pakalpojumu centrs"


def result_names(page) -> list[str]:
    return page.locator(".result h3 a").all_inner_texts()


def test_a_russian_query_finds_the_latvian_day_centres(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/ru/")
    page.locator("#q").press_sequentially("дневной центр", delay=20)
    expect(page).to_have_url(re.compile(r"/ru/\?q=%D0%B4%D0%BD%D0%B5%D0%B2%D0%BD%D0%BE%D0%B9(\+|%20)"
                                        r"%D1%86%D0%B5%D0%BD%D1%82%D1%80$"))
    expect(page.locator(".result h3 a", has_text="Saskarsme")).to_be_visible()
    names = result_names(page)
    assert set(DAY_CENTRES) <= set(names) and HYGIENE not in names
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_a_lithuanian_word_for_laundry_finds_the_hygiene_centre(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/lt/")
    page.locator("#q").press_sequentially("skalbimas", delay=20)
    expect(page).to_have_url(re.compile(r"/lt/\?q=skalbimas$"))
    expect(page.locator(".result h3 a")).to_have_text([HYGIENE])


def test_a_query_for_the_elderly_without_javascript(phone_page_without_js, live_server):
    page = phone_page_without_js
    page.goto(f"{live_server}/ru/")
    page.locator("#q").fill("для пожилых")
    page.locator("#q").press("Enter")  # submits the search form
    expect(page).to_have_url(re.compile(r"/ru/\?q="))
    expect(page.locator(".result h3 a")).to_have_text([SENIORS])


@pytest.fixture(scope="module")
def admin(live_server, live_database_uri):
    app = make_app(live_database_uri)
    make_user(app, "admin@example.lv", "admin")
    with app.app_context():
        hygiene = db.session.scalar(select(TaxonomyTerm.id).join(Taxonomy).where(
            Taxonomy.code == "service-type", TaxonomyTerm.code == "hygiene"))
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    return {"hygiene": hygiene}


def test_an_administrator_adds_a_word_and_residents_find_it(browser, live_server, admin):
    resident = browser.new_context(locale="en-GB").new_page()
    resident.goto(f"{live_server}/en/?q=launderette")
    expect(resident.locator(".result")).to_have_count(0)

    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server}/en/account/login")
    page.locator("#email").fill("admin@example.lv")
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator(".site-nav form")).to_have_count(1)  # "Sign out"

    page.goto(f"{live_server}/en/admin/taxonomy/terms/{admin['hygiene']}")
    expect(page.locator("#synonyms_en")).to_contain_text("laundry")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    # Too long a line: the error says so, and what was typed stays.
    typed = page.locator("#synonyms_en").input_value() + "\nlaunderette\n" + "x" * 81
    page.locator("#synonyms_en").fill(typed)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("#synonyms_en-error")).to_have_text("Use at most 80 characters on a line.")
    assert page.locator("#synonyms_en").input_value().strip() == typed.strip()
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    page.locator("#synonyms_en").fill(typed.rsplit("\n", 1)[0])
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/en/admin/taxonomy#term-"))
    context.close()

    resident.goto(f"{live_server}/en/?q=launderette")
    expect(resident.locator(".result h3 a")).to_have_text([HYGIENE])
    resident.context.close()
