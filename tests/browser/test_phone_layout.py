"""The search on a 390×844 phone: the first result shows without scrolling,
the filters fold into "Filters (N active)", the header stays compact, and
each shortcut to a common need leads to results; with and without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import NEUTRAL_PAGE, axe_violations, describe

pytestmark = pytest.mark.browser

PHONE_HEIGHT = 844
LANGUAGES = ["lv", "lt", "en", "ru"]


def mark_page(page) -> None:
    """A marker that survives only as long as no full page load happens."""
    page.evaluate("window.__stillTheSamePage = true")


def same_page(page) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def assert_first_result_in_view(page) -> None:
    first = page.locator(".result").first
    expect(first).to_be_visible()
    assert page.evaluate("window.scrollY") == 0
    box = first.bounding_box()
    assert 0 < box["y"] < PHONE_HEIGHT, box
    # Its name too, not only the card's top edge.
    name = first.locator("h3 a").bounding_box()
    assert name["y"] + name["height"] <= PHONE_HEIGHT, name


def test_first_result_in_view_after_typing(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/lv/")
    mark_page(page)
    page.locator("#q").press_sequentially("centrs", delay=20)
    expect(page).to_have_url(re.compile(r"/lv/\?q=centrs$"))
    expect(page.locator("#shortcuts a")).to_have_count(0)
    assert_first_result_in_view(page)
    assert same_page(page)
    # The count is still announced.
    expect(page.locator("#search-status")).to_have_text(page.locator("#results-heading").inner_text())


def test_first_result_in_view_without_javascript(phone_page_without_js, live_server):
    page = phone_page_without_js
    page.goto(f"{live_server}/lv/")
    page.locator("#q").fill("centrs")
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/lv/\?q=centrs$"))
    assert_first_result_in_view(page)


@pytest.mark.parametrize("query", ["q=centrs&near=Daugavpils&radius=50", "type=day-centre&place=Daugavpils&age=70"])
def test_first_result_in_view_with_notes_and_chips(phone_page_without_js, live_server, query):
    """Notes ("Nearest to … first") and a row of chips still leave it in view."""
    page = phone_page_without_js
    page.goto(f"{live_server}/lv/?{query}")
    expect(page.locator(".chips")).to_be_visible()
    if page.locator(".result").count():
        assert_first_result_in_view(page)
    else:
        box = page.locator(".no-results").bounding_box()
        assert box["y"] < PHONE_HEIGHT


def test_filters_fold_and_count_with_javascript(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/en/?q=centrs")
    mark_page(page)
    disclosure = page.locator("#filters-disclosure")
    summary = disclosure.locator("summary")
    expect(summary).to_have_text("Filters")
    expect(page.locator("#filter-type")).to_be_hidden()
    before = page.locator(".result").count()
    summary.click()
    expect(page.locator("#filter-type")).to_be_visible()
    page.locator("#filter-type").focus()
    page.locator("#filter-type").select_option("day-centre")
    expect(page).to_have_url(re.compile(r"type=day-centre"))
    expect(summary).to_have_text("Filters (1 active)")
    expect(page.locator(".chips .chip", has_text="Day centre")).to_be_visible()
    expect(page.locator(".result")).not_to_have_count(before)
    # Still open, with the control in use still focused after the redraw.
    expect(page.locator("#filter-type")).to_be_visible()
    expect(page.locator("#filter-type")).to_be_focused()
    page.locator("#filter-place").select_option("Daugavpils")
    expect(page).to_have_url(re.compile(r"place=Daugavpils"))
    expect(summary).to_have_text("Filters (2 active)")
    # Removing a chip updates the count; the Search button needs no unfolding.
    page.locator(".chips .chip", has_text="Day centre").click()
    expect(summary).to_have_text("Filters (1 active)")
    expect(page.locator("#filter-type")).to_have_value("")
    assert same_page(page)
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_filters_fold_and_count_without_javascript(phone_page_without_js, live_server):
    page = phone_page_without_js
    page.goto(f"{live_server}/en/?q=centrs")
    summary = page.locator("#filters-disclosure summary")
    expect(page.locator("#filter-type")).to_be_hidden()
    expect(page.locator("#search-form button[type=submit]")).to_be_visible()
    summary.click()
    page.locator("#filter-type").select_option("day-centre")
    page.locator("#radius").select_option("25")
    page.locator("#near").fill("Daugavpils")
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"q=centrs&type=day-centre&near=Daugavpils&radius=25$"))
    # Folded again, counting the type and the distance (the place is above the fold).
    expect(summary).to_have_text("Filters (2 active)")
    expect(page.locator("#filter-type")).to_be_hidden()
    expect(page.locator(".chips .chip", has_text="Day centre")).to_be_visible()
    assert_first_result_in_view(page)


def test_every_shortcut_leads_to_results(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/lv/")
    shortcuts = page.locator("#shortcuts a")
    count = shortcuts.count()
    assert 8 <= count <= 10
    hrefs = [shortcuts.nth(i).get_attribute("href") for i in range(count)]
    for i, href in enumerate(hrefs):
        page.goto(f"{live_server}/lv/")
        mark_page(page)
        link = page.locator("#shortcuts a").nth(i)
        # A large target, in two columns.
        box = link.bounding_box()
        assert box["height"] >= 44 and 120 <= box["width"] <= 200, box
        link.tap()
        expect(page).to_have_url(re.compile(re.escape(href) + "$"))
        expect(page.locator(".result").first).to_be_visible()
        expect(page.locator("#shortcuts a")).to_have_count(0)
        expect(page.locator(".chips .chip:not(.chip-clear)")).to_have_count(1)
        assert_first_result_in_view(page)
        # Focus goes to the results, whose count is announced.
        expect(page.locator("#results-heading")).to_be_focused()
        assert same_page(page)


def test_a_shortcut_and_back(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/en/")
    page.locator("#shortcuts a", has_text="Camps").tap()
    expect(page).to_have_url(re.compile(r"/en/\?type=camp$"))
    expect(page.locator("#filters-summary")).to_have_text("Filters (1 active)")
    expect(page.locator("#filter-type")).to_have_value("camp")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/en/$"))
    expect(page.locator("#shortcuts a", has_text="Camps")).to_be_visible()
    expect(page.locator("#filters-summary")).to_have_text("Filters")


def test_a_shortcut_without_javascript(phone_page_without_js, live_server):
    page = phone_page_without_js
    page.goto(f"{live_server}/en/")
    page.locator("#shortcuts a", has_text="For seniors").click()
    expect(page).to_have_url(re.compile(r"/en/\?group=seniors$"))
    expect(page.locator("#filter-group")).to_have_value("seniors")
    expect(page.locator("#shortcuts a")).to_have_count(0)
    assert_first_result_in_view(page)


def test_compact_header_with_quick_exit(phone_page, live_server):
    page = phone_page
    page.goto(f"{live_server}/lt/?q=centras")
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 150, header
    exit_link = page.locator("#quick-exit")
    expect(exit_link).to_be_visible()
    box = exit_link.bounding_box()
    assert box["y"] + box["height"] <= header["height"] and box["x"] + box["width"] <= 390
    # No sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    exit_link.tap()
    page.wait_for_url(NEUTRAL_PAGE)


def test_wide_screen_shows_the_filters_open(page, live_server):
    page.goto(f"{live_server}/lv/?q=centrs")
    expect(page.locator("#filters-disclosure")).to_have_attribute("open", "")
    expect(page.locator("#filter-type")).to_be_visible()
    expect(page.locator("#age")).to_be_visible()
    expect(page.locator("#radius")).to_be_visible()


def test_wide_screen_without_javascript_shows_an_obvious_summary(page_without_js, live_server):
    page = page_without_js
    page.goto(f"{live_server}/en/?type=camp")
    summary = page.locator("#filters-disclosure summary")
    expect(summary).to_have_text("Filters (1 active)")
    box = summary.bounding_box()
    assert box["height"] >= 40 and box["width"] >= 300, box
    summary.click()
    expect(page.locator("#filter-type")).to_be_visible()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", ["/{lang}/", "/{lang}/?type=day-centre&age=70"])
def test_no_wcag_violations_on_a_phone(phone_page, live_server, lang, path):
    page = phone_page
    page.goto(live_server + path.format(lang=lang))
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    # Unfolded too.
    page.locator("#filters-disclosure summary").click()
    violations = axe_violations(page)
    assert violations == [], describe(violations)
