"""A centre editor and an administrator in a real browser."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from conftest import PASSWORD, make_app, make_user
from directory.extensions import db
from directory.models import ImportJob, Service

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(live_server, live_database_uri):
    app = make_app(live_database_uri)
    make_user(app, "editor@example.lv", "editor", organizations=["saskarsme"])
    make_user(app, "admin@example.lv", "admin")
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Dienas centrs “Saskarsme”"))
        service_id, org_id = service.id, service.organization_id
        location_id = service.service_at_locations[0].location_id
        job = ImportJob(file_name="package.zip", status="running", stage="writing", done=40, total=100)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    return {"service_id": service_id, "job_id": job_id, "org_id": org_id, "location_id": location_id}


def sign_in(page, live_server, email):
    page.goto(f"{live_server}/lv/account/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()


def test_an_editor_edits_a_service_and_residents_see_it(page, live_server, people):
    sign_in(page, live_server, "editor@example.lv")
    expect(page).to_have_url(re.compile(r"/lv/manage/$"))
    page.goto(f"{live_server}/lv/manage/services/{people['service_id']}")
    page.locator("#description").fill("Novusa turnīri un zolītes vakari ceturtdienās.")
    page.locator(".form-actions button[name=save]").click()
    expect(page.locator(".flash").first).to_be_visible()
    page.goto(f"{live_server}/lv/?q=zolites")
    expect(page.locator(".result h3 a")).to_have_text(["Dienas centrs “Saskarsme”"])


def test_manage_and_admin_pages_have_no_wcag_violations(browser, live_server, people):
    for email, urls in [
        ("editor@example.lv", ["/lv/manage/", f"/lv/manage/services/{people['service_id']}", "/lv/manage/propose",
                               f"/lv/manage/org/{people['org_id']}/edit",
                               f"/lv/manage/locations/{people['location_id']}"]),
        ("admin@example.lv", ["/lv/admin/", "/lv/admin/accounts", "/lv/admin/taxonomy", "/lv/admin/audit",
                              "/lv/admin/reports", "/lv/admin/review", "/lv/admin/import",
                              f"/lv/admin/imports/{people['job_id']}"]),
    ]:
        context = browser.new_context(locale="lv-LV")
        page = context.new_page()
        sign_in(page, live_server, email)
        for url in urls:
            page.goto(live_server + url)
            violations = axe_violations(page)
            assert violations == [], url + describe(violations)
        context.close()


def test_a_cost_and_a_registration_number_are_added_as_rows_with_and_without_javascript(browser, live_server,
                                                                                      people):
    for javascript in (True, False):
        context = browser.new_context(locale="lv-LV", java_script_enabled=javascript)
        page = context.new_page()
        sign_in(page, live_server, "editor@example.lv")
        page.goto(f"{live_server}/lv/manage/services/{people['service_id']}")
        page.locator("button[name=add_cost_options]").click()
        page.locator("#cost_options-0-amount").fill("0")
        page.locator("#cost_options-0-option").fill("Pusdienas" if javascript else "Vakariņas")
        if javascript:  # axe runs as a script
            assert axe_violations(page) == []
        page.locator(".form-actions button[name=save]").click()
        expect(page.locator(".flash").first).to_be_visible()
        page.goto(f"{live_server}/lv/manage/org/{people['org_id']}/edit")
        if page.locator("#identifiers-0-identifier").count() == 0:
            page.locator("button[name=add_identifiers]").click()
        page.locator("#identifiers-0-identifier").fill("123")
        page.locator(".form-actions button[name=save]").click()
        expect(page.locator("#identifiers-0-identifier-error")).to_contain_text("11")
        if javascript:
            assert axe_violations(page) == []
        page.locator("#identifiers-0-identifier").fill("40008000001")
        page.locator(".form-actions button[name=save]").click()
        expect(page.locator(".flash").first).to_be_visible()
        context.close()
