"""A resident searching in a real browser, with and without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import NEUTRAL_PAGE, axe_violations, describe

pytestmark = pytest.mark.browser


def result_names(page) -> list[str]:
    return page.locator(".result h3 a").all_inner_texts()


def mark_page(page) -> None:
    """A marker that survives only as long as no full page load happens."""
    page.evaluate("window.__stillTheSamePage = true")


def same_page(page) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def test_typing_updates_results_without_a_page_load(page, live_server):
    page.goto(f"{live_server}/lv/")
    expect(page.locator("#results-heading")).to_have_text("15 pakalpojumi atrasti")
    mark_page(page)
    page.locator("#q").press_sequentially("dienas", delay=30)
    expect(page).to_have_url(re.compile(r"/lv/\?q=dienas$"))
    expect(page.locator("#results-heading")).not_to_have_text("15 pakalpojumi atrasti")
    assert "Dienas centrs “Saskarsme”" in result_names(page)
    assert same_page(page)
    # The count is announced to screen readers.
    expect(page.locator("#search-status")).to_have_text(page.locator("#results-heading").inner_text())
    # Facet counts follow the words typed.
    expect(page.locator("#filter-type option[value=camp]")).to_be_disabled()


def test_back_restores_the_previous_results(page, live_server):
    page.goto(f"{live_server}/lv/")
    page.locator("#q").fill("vigante")
    expect(page).to_have_url(re.compile(r"q=vigante"))
    expect(page.locator(".result")).to_have_count(1)
    page.locator("#q").fill("birzu")
    expect(page).to_have_url(re.compile(r"q=birzu"))
    expect(page.locator(".result h3 a").first).to_have_text("Daudzfunkcionālie centri")
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=vigante"))
    expect(page.locator(".result h3 a")).to_have_text(["Sociālās aprūpes un krīzes centrs “Vīgante”"])


def test_a_filter_and_its_chip(page, live_server):
    page.goto(f"{live_server}/lv/?q=centrs")
    mark_page(page)
    page.locator("#filter-place").focus()
    page.locator("#filter-place").select_option("Viesīte")
    expect(page).to_have_url(re.compile(r"place=Vies"))
    expect(page.locator(".chips .chip", has_text="Viesīte")).to_be_visible()
    # The filters were redrawn with new counts; focus stays on the same control.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'filter-place'", timeout=2000)
    narrowed = page.locator(".result").count()
    page.locator(".chips .chip", has_text="Viesīte").click()
    expect(page).not_to_have_url(re.compile(r"place="))
    expect(page.locator(".chips .chip", has_text="Viesīte")).to_have_count(0)
    assert page.locator(".result").count() > narrowed
    assert page.locator("#q").input_value() == "centrs"
    assert page.locator("#filter-place").input_value() == ""
    assert same_page(page)


def test_removing_the_words_chip_clears_the_search_box(page, live_server):
    page.goto(f"{live_server}/lv/?q=dienas&type=day-centre")
    page.locator(".chips .chip", has_text="“dienas”").click()
    expect(page).to_have_url(re.compile(r"/lv/\?type=day-centre$"))
    expect(page.locator("#q")).to_have_value("")


def test_language_switch_keeps_the_search(page, live_server):
    page.goto(f"{live_server}/lv/")
    page.locator("#q").fill("dienas")
    expect(page).to_have_url(re.compile(r"q=dienas"))
    page.locator('.language-switcher a[hreflang="en"]').click()
    expect(page).to_have_url(re.compile(r"/en/\?q=dienas$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#q")).to_have_value("dienas")
    expect(page.locator("h1")).to_have_text("Find a social service")


def test_the_same_search_without_javascript(page_without_js, live_server):
    page = page_without_js
    page.goto(f"{live_server}/lv/")
    page.locator("#q").fill("dienas")
    page.locator("#filters-disclosure summary").click()  # without JavaScript the filters stay folded
    page.locator("#filter-place").select_option("Daugavpils")
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/lv/\?q=dienas&place=Daugavpils"))
    assert "Dienas centrs “Saskarsme”" in result_names(page)
    page.locator(".chips .chip", has_text="Daugavpils").click()
    expect(page).to_have_url(re.compile(r"/lv/\?q=dienas$"))
    page.locator(".result h3 a", has_text="Saskarsme").click()
    expect(page.locator("h1")).to_have_text("Dienas centrs “Saskarsme”")


def test_quick_exit_replaces_the_page_in_history(page, live_server):
    page.goto(f"{live_server}/lv/centres/vigante")
    page.keyboard.press("Escape")
    page.wait_for_url(NEUTRAL_PAGE)
    page.go_back()
    assert "/lv/centres/vigante" not in page.url


def test_quick_exit_button(page, live_server):
    page.goto(f"{live_server}/lv/")
    page.goto(f"{live_server}/lv/centres/saskarsme")
    page.locator("#quick-exit").click()
    page.wait_for_url(NEUTRAL_PAGE)
    page.go_back()
    assert "/lv/centres/saskarsme" not in page.url


def test_keyboard_only_search(page, live_server):
    page.goto(f"{live_server}/lv/")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    else:
        raise AssertionError("the search box cannot be reached with Tab")
    page.keyboard.type("krizes")
    # The crisis centre by name first; a listing for "families in crisis"
    # (a synonym of its group) after it.
    expect(page.locator("#results")).to_have_attribute("data-q", "krizes")
    expect(page.locator(".result").first).to_contain_text("Vīgante")
    # Onwards with Tab to the first result, which shows where focus is.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.result') !== null"):
            break
    else:
        raise AssertionError("the results cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Sociālās aprūpes un krīzes centrs “Vīgante”")


def test_map_of_results_with_markers_and_popups(page, live_server):
    page.goto(f"{live_server}/lv/?near=Daugavpils&radius=25")
    page.locator(".map-link a").click()
    expect(page).to_have_url(re.compile(r"/lv/map\?near=Daugavpils&radius=25$"))
    markers = page.locator(".leaflet-marker-icon")
    expect(markers.first).to_be_visible()
    assert markers.count() >= 2
    markers.first.click()
    popup_link = page.locator(".leaflet-popup-content a").first
    expect(popup_link).to_be_visible()
    assert "/lv/centres/" in popup_link.get_attribute("href")
    # No tiles can load here (no network): the page says so and the list stays.
    expect(page.locator(".notice", has_text="Kartes fonu neizdevās ielādēt")).to_be_visible()
    assert page.locator(".result").count() >= 2


def test_near_search_without_javascript(page_without_js, live_server):
    page = page_without_js
    page.goto(f"{live_server}/lv/")
    expect(page.locator("#use-my-location")).to_be_hidden()
    page.locator("#near").fill("daugavpils")
    page.locator("#filters-disclosure summary").click()  # without JavaScript the filters stay folded
    page.locator("#radius").select_option("10")
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/lv/\?near=daugavpils&radius=10$"))
    assert "Dienas centrs “Saskarsme”" in result_names(page)
    assert "Higiēnas centri" not in result_names(page)
    expect(page.locator(".result .distance").first).to_contain_text("km")


def test_use_my_location(browser, live_server):
    context = browser.new_context(
        geolocation={"latitude": 55.8714, "longitude": 26.5161}, permissions=["geolocation"], locale="lv-LV"
    )
    page = context.new_page()
    page.goto(f"{live_server}/lv/")
    page.locator("#radius").select_option("10")
    page.locator("#use-my-location").click()
    expect(page).to_have_url(re.compile(r"lat=55\.8714.*lon=26\.5161"))
    expect(page.locator(".origin-note")).to_have_text("Vispirms tuvākie jūsu atrašanās vietai.")
    assert "Dienas centrs “Saskarsme”" in result_names(page)
    context.close()


# ------------------------------------------------- serves my place, and age


@pytest.fixture
def youth_service(live_database_uri):
    """A Daugavpils service for ages 16–25 serving only Zarasai district,
    across the border, gone again after the test (the module's other tests
    count the starter services)."""
    from sqlalchemy import select

    from conftest import make_app
    from directory.extensions import db
    from directory.models import Organization, Service, ServiceArea, ServiceAtLocation

    app = make_app(live_database_uri)
    with app.app_context():
        centre = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        service = Service(name="Jauniešu konsultācijas", organization_id=centre.id, minimum_age=16, maximum_age=25,
                          service_at_locations=[ServiceAtLocation(location_id=centre.locations[0].id)],
                          service_areas=[ServiceArea(area_code="LT-60")])
        db.session.add(service)
        db.session.commit()
        service_id = service.id
    yield "Jauniešu konsultācijas"
    with app.app_context():
        db.session.delete(db.session.get(Service, service_id))
        db.session.commit()


def card(page, name):
    return page.locator(".result", has=page.locator("h3 a", has_text=name))


def test_area_and_age_filters_with_javascript(page, live_server, youth_service):
    page.goto(f"{live_server}/en/")
    mark_page(page)
    page.locator("#serves").select_option("LV-DGV")
    expect(page).to_have_url(re.compile(r"serves=LV-DGV"))
    expect(page.locator(".served-note")).to_contain_text("Services serving Daugavpils.")
    # The starter services state no area: kept, counted and marked.
    expect(page.locator(".served-note")).to_contain_text("15 of them do not say which area they serve.")
    expect(card(page, "Dienas centrs “Saskarsme”")).to_contain_text("Area served not stated")
    assert youth_service not in result_names(page)
    page.locator("#serves").select_option("LT-60")
    expect(card(page, youth_service)).to_contain_text("Serves: Zarasai District Municipality")
    expect(card(page, youth_service)).to_contain_text("Ages 16–25")
    page.locator("#age").fill("15")
    page.locator("#age").press("Enter")
    expect(page).to_have_url(re.compile(r"age=15"))
    expect(card(page, youth_service)).to_have_count(0)
    expect(card(page, "Dienas centrs “Saskarsme”")).to_contain_text("Age range not stated")
    page.locator("#age").fill("16")
    page.locator("#age").press("Enter")
    expect(card(page, youth_service)).to_have_count(1)
    # A bad age: the field says so and keeps it; no age filter meanwhile.
    page.locator("#age").fill("sixteen")
    page.locator("#age").press("Enter")
    expect(page.locator("#age-error")).to_contain_text("whole number of years")
    expect(page.locator("#age")).to_have_value("sixteen")
    expect(page.locator("#age")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".age-note")).to_have_count(0)
    assert same_page(page)
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_area_and_age_filters_without_javascript(page_without_js, live_server, youth_service):
    page = page_without_js
    page.goto(f"{live_server}/en/")
    page.locator("#near").fill("Zarasai")
    page.locator("#filters-disclosure summary").click()  # without JavaScript the filters stay folded
    page.locator("#serves").select_option("here")
    page.locator("#age").fill("16")
    page.locator("#search-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/en/\?near=Zarasai&serves=here&age=16$"))
    expect(page.locator(".served-note")).to_contain_text(
        "Services serving Zarasai (the municipality of Zarasai District Municipality).")
    expect(card(page, youth_service)).to_contain_text("Ages 16–25")
    page.locator("#near").fill("Dūkštas")
    page.locator("#filters-disclosure summary").click()  # without JavaScript the filters stay folded
    page.locator("#age").fill("-3")
    page.locator("#search-form button[type=submit]").click()
    expect(page.locator(".area-notice")).to_contain_text("We could not tell which municipality “Dūkštas” is in")
    expect(page.locator("#age-error")).to_be_visible()
    expect(page.locator("#age")).to_have_value("-3")
    assert youth_service in result_names(page)  # neither filter applied
