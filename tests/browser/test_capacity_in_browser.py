"""Free places in a real browser: a centre's editor saves the number with
htmx (and without JavaScript), the page stays accessible, residents see it."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import PASSWORD, make_app, make_user
from directory.extensions import db
from directory.models import Organization, Service

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def centre(live_server, live_database_uri):
    app = make_app(live_database_uri)
    make_user(app, "capacity-editor@example.lv", "editor", organizations=["saskarsme"])
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        service_id = db.session.scalar(select(Service.id).where(
            Service.organization_id == org.id, Service.status == "active").order_by(Service.name))
        result = {"org_id": org.id, "service_id": service_id}
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    return result


def sign_in(page, live_server):
    page.goto(f"{live_server}/lv/account/login")
    page.locator("#email").fill("capacity-editor@example.lv")
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/lv/manage/$"))


def test_an_editor_saves_free_places_with_htmx_and_the_page_stays_accessible(page, live_server, centre):
    sign_in(page, live_server)
    service = centre["service_id"]
    page.goto(f"{live_server}/lv/manage/org/{centre['org_id']}")
    block = page.locator(f"#capacity-{service}")
    number, save = block.locator("input[type=number]"), block.locator("button[name$='-save']")
    violations = axe_violations(page)
    assert violations == [], describe(violations)

    number.fill("-2")
    save.click()
    expect(block.locator(".field-error")).to_be_visible()
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_value("-2")
    violations = axe_violations(page)
    assert violations == [], describe(violations)

    number.fill("4")
    block.locator("select").select_option("bed")
    save.click()
    expect(block.locator(".capacity-free")).to_have_text(re.compile("4"))
    expect(page.locator(f"#capacity-said-{service}")).not_to_be_empty()  # told to screen readers
    expect(save).to_be_focused()  # htmx keeps the focus on the button pressed
    expect(page.locator(".flashes")).to_have_count(0)  # the page was not reloaded
    violations = axe_violations(page)
    assert violations == [], describe(violations)

    page.goto(f"{live_server}/lv/centres/saskarsme")
    expect(page.locator(f"section[aria-labelledby='service-{service}'] .capacity .capacity-free")).to_have_text(
        re.compile("4"))
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_without_javascript_the_form_posts_and_comes_back(page_without_js, live_server, centre):
    page = page_without_js
    sign_in(page, live_server)
    service = centre["service_id"]
    page.goto(f"{live_server}/lv/manage/org/{centre['org_id']}")
    block = page.locator(f"#capacity-{service}")
    block.locator("input[type=number]").fill("2")
    block.locator("select").select_option("place")
    block.locator("button[name$='-save']").click()
    expect(page).to_have_url(re.compile(rf"/lv/manage/org/{centre['org_id']}#capacity-{service}$"))
    expect(page.locator(".flashes .flash")).to_be_visible()
    expect(page.locator(f"#capacity-{service} input[type=number]")).to_have_value("2")
    page.locator(f"#capacity-{service} button[name$='-clear']").click()
    expect(page.locator(f"#capacity-{service} .capacity")).to_have_count(0)
