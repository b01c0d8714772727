"""axe-core finds no WCAG 2.1 A or AA violation on any page type, in any language."""

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import PASSWORD, make_app, make_user
from directory import referral_workflow as workflow
from directory.extensions import db
from directory.models import Organization, Service, ShortlistItem, User

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser

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


# The pages bench/lighthouse.py audits in mobile mode, on a 390×844 phone.
PHONE_PAGES = {
    "home": "/{lang}/",
    "search": "/{lang}/?q=centrs",
    "centre": "/{lang}/centres/saskarsme",
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", list(PHONE_PAGES))
def test_no_wcag_violations_on_a_phone(phone_page, live_server, name, lang):
    response = phone_page.goto(live_server + PHONE_PAGES[name].format(lang=lang))
    assert response.status == 200
    assert phone_page.evaluate("window.innerWidth") == 390
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)


def test_narrow_phone_screen_has_no_violations(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{live_server}/ru/?q=centrs")
    violations = axe_violations(page)
    context.close()
    assert violations == [], describe(violations)


# ------------------------------------------------ shortlists and referrals


@pytest.fixture(scope="module")
def referrals(live_server, live_database_uri):
    """A social worker with a saved shortlist, an editor of two centres and
    referrals to them in every state, over three months (for the statistics)."""
    app = make_app(live_database_uri)
    make_user(app, "worker@example.lv", "social_worker")
    make_user(app, "editor@example.lv", "editor", organizations=["saskarsme", "vigante"])
    with app.test_request_context():  # the notifications' links need url_for
        worker = db.session.scalar(select(User).where(User.email == "worker@example.lv"))
        editor = db.session.scalar(select(User).where(User.email == "editor@example.lv"))

        def service_of(slug):
            return db.session.scalar(
                select(Service).join(Organization).where(Organization.slug == slug).order_by(Service.name))

        saskarsme, vigante = service_of("saskarsme"), service_of("vigante")
        for service in (saskarsme, service_of("daugavpils-dienas-aprupes-centrs")):
            db.session.add(ShortlistItem(user_id=worker.id, service_id=service.id))
        now = datetime.now(timezone.utc)
        ids = {}
        for key, service, days_ago, moves in [
            ("completed", saskarsme, 70, [("accepted", None), ("completed", None)]),
            ("declined", vigante, 40, [("declined", "no-places")]),
            ("withdrawn", saskarsme, 35, [("withdrawn", None)]),
            ("accepted", vigante, 10, [("accepted", None)]),
            ("sent", saskarsme, 1, []),
        ]:
            sent_at = now - timedelta(days=days_ago)
            referral = workflow.send_referral(
                db.session, service, worker, client_name="A. K.", client_contact="through me",
                client_language="ru", need="Company in the afternoons;\nhelp with the forms.",
                consent=True, now=sent_at)
            for step, (status, reason) in enumerate(moves, start=1):
                workflow.change_status(
                    db.session, referral, worker if status == "withdrawn" else editor, status,
                    expected_status=referral.status, reason=reason,
                    note="Call on Monday." if status != "completed" else None,
                    now=sent_at + timedelta(days=step))
            ids[key] = referral.id
        db.session.commit()
        result = {"referrals": ids, "saskarsme": saskarsme.id, "vigante": vigante.id,
                  "saskarsme_org": saskarsme.organization_id}
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    return result


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/lv/account/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator(".site-nav form")).to_have_count(1)  # "Sign out"


def check_pages(page, live_server, steps, languages=LANGUAGES) -> dict[str, list]:
    """Each step: (URL, a selector the page must show, optionally an action
    before the check). Returns the violations found, by URL, in every language."""
    found = {}
    for lang in languages:
        for url, shown, *action in steps:
            url = url.format(lang=lang)
            response = page.goto(live_server + url)
            assert response.status == 200, url
            label = url
            for act in action:
                label = f"{url} ({act.__name__})"
                act(page)
            assert page.locator(shown).count() > 0, f"{label}: no {shown}"
            violations = axe_violations(page)
            if violations:
                found[label] = violations
    return found


def check_narrow_screen(page, live_server, urls) -> dict[str, list]:
    """On a 320 px wide phone: no sideways scrolling of the page (WCAG 1.4.10;
    wide tables scroll in a region of their own) and no axe violation."""
    page.set_viewport_size({"width": 320, "height": 640})
    found = {}
    for lang in LANGUAGES:
        for url in urls:
            url = url.format(lang=lang)
            page.goto(live_server + url)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 320:
                found[f"{url} at 320 px"] = [f"the page is {width} px wide"]
            violations = axe_violations(page)
            if violations:
                found[f"{url} at 320 px"] = violations
    return found


def failed_referral(page):
    page.locator("main form.form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#need")).to_have_attribute("aria-invalid", "true")


def failed_decline(page):
    page.locator("#note").fill("No reason given")
    page.locator("button[value=declined]").click()
    expect(page.locator("#reason")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#note")).to_have_value("No reason given")


def add_two_results(page):
    for count in (1, 2):
        page.locator(".result .shortlist-toggle:not(.is-on) button").first.click()
        expect(page.locator("#shortlist-link .count")).to_have_text(f"({count})")


def test_public_shortlist_pages_have_no_wcag_violations(page, live_server, referrals):
    gone = "00000000-0000-0000-0000-000000000000"
    found = check_pages(page, live_server, [
        ("/{lang}/shortlist/", "#empty-shortlist"),
        (f"/{{lang}}/shortlist/shared?s={referrals['saskarsme']}&s={referrals['vigante']}&s={gone}", "#gone"),
        (f"/{{lang}}/shortlist/shared?s={gone}", "#empty-shortlist"),
    ])
    # A visitor's own list (in the session), filled from the search results with htmx.
    found.update(check_pages(page, live_server, [("/lv/?q=centrs", ".shortlist-toggle.is-on", add_two_results)],
                             languages=["lv"]))
    found.update(check_pages(page, live_server, [("/{lang}/shortlist/", ".shortlist-item + .shortlist-item")]))
    assert found == {}, describe(found)


def test_referral_pages_of_a_social_worker_have_no_wcag_violations(page, live_server, referrals):
    sign_in(page, live_server, "worker@example.lv")
    ids = referrals["referrals"]
    new = f"/{{lang}}/referrals/new?service={referrals['saskarsme']}"
    found = check_pages(page, live_server, [
        ("/{lang}/shortlist/", ".shortlist-item + .shortlist-item .item-actions a[href*='/referrals/new']"),
        (new, "#consent"),
        (new, ".error-summary", failed_referral),
        ("/{lang}/referrals/", f"#referral-{ids['sent']}"),
        (f"/{{lang}}/referrals/{ids['sent']}", ".withdraw form"),
        (f"/{{lang}}/referrals/{ids['declined']}", ".badge-declined"),
        (f"/{{lang}}/referrals/{ids['completed']}", ".event-completed"),
        (f"/{{lang}}/referrals/{ids['sent']}/slip", ".slip .card-facts"),
        (f"/{{lang}}/referrals/{ids['withdrawn']}/slip", "#slip-closed"),
    ])
    found.update(check_narrow_screen(page, live_server, [
        "/{lang}/shortlist/", "/{lang}/referrals/?status=all", f"/{{lang}}/referrals/{ids['sent']}"]))
    assert found == {}, describe(found)


def test_referral_pages_of_a_centre_have_no_wcag_violations(page, live_server, referrals):
    sign_in(page, live_server, "editor@example.lv")
    ids = referrals["referrals"]
    answer = f"/{{lang}}/manage/referrals/{ids['sent']}"
    found = check_pages(page, live_server, [
        ("/{lang}/manage/referrals/", f"#referral-{ids['sent']}"),
        ("/{lang}/manage/referrals/?status=all", f"#referral-{ids['completed']}"),
        (answer, "#answer #reason"),
        (answer, "#answer .error-summary", failed_decline),
        (f"/{{lang}}/manage/referrals/{ids['accepted']}", "button[value=completed]"),
        (f"/{{lang}}/manage/referrals/{ids['declined']}", "#closed"),
        ("/{lang}/manage/referrals/stats", "#stats-chart svg"),
        (f"/{{lang}}/manage/referrals/stats?months=3&org={referrals['saskarsme_org']}", "#org"),
    ])
    found.update(check_narrow_screen(page, live_server, [
        "/{lang}/manage/referrals/?status=all", f"/{{lang}}/manage/referrals/{ids['sent']}",
        "/{lang}/manage/referrals/stats"]))
    assert found == {}, describe(found)
