"""axe-core finds no WCAG 2.1 A or AA violation on any page type, in any language."""

import pytest

from .conftest import axe_violations, describe

LANGUAGES = ["lv", "lt", "en", "ru"]
PAGES = {
    "home": "/{lang}/",
    "search with filters": "/{lang}/?q=centrs&place=Viesīte",
    "no results": "/{lang}/?q=zzzz&type=camp",
    "all centres": "/{lang}/centres/",
    "near a town": "/{lang}/?near=Daugavpils&radius=25",
    "unknown place": "/{lang}/?near=Daugavpil",
    "map": "/{lang}/map?near=Daugavpils",
    "centre": "/{lang}/centres/saskarsme",
    "centre without street": "/{lang}/centres/daugavpils-dienas-aprupes-centrs",
    "source document": "/{lang}/sources/001_9ec5abe830dfe52d.txt",
    "not found": "/{lang}/centres/no-such-centre",
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_wcag_violations(page, live_server, name, lang):
    response = page.goto(live_server + PAGES[name].format(lang=lang))
    assert response.status in (200, 404)
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_no_wcag_violations_after_an_htmx_update(page, live_server):
    page.goto(f"{live_server}/lv/")
    page.locator("#q").fill("dienas")
    page.wait_for_url("**/lv/?q=dienas")
    page.locator("#results-heading").wait_for()
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_narrow_phone_screen_has_no_violations(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{live_server}/ru/?q=centrs")
    violations = axe_violations(page)
    context.close()
    assert violations == [], describe(violations)
