"""Merging two organizations in a real browser: an admin names them, sees
what moves, confirms, and undoes it; every page passes axe."""

import re

import pytest
from conftest import PASSWORD, make_app, make_user
from playwright.sync_api import expect

from directory.extensions import db
from directory.models import Organization, Service

from .conftest import axe_violations, describe

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def duplicate(live_server, live_database_uri):
    app = make_app(live_database_uri)
    make_user(app, "merge-admin@example.lv", "admin")
    with app.app_context():
        org = Organization(slug="saskarsme-dublikats", name="Saskarsme (dublikāts)", description="")
        db.session.add_all([org, Service(organization=org, name="Zupas virtuve Kvarcs", description="")])
        db.session.commit()
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()


def test_an_admin_merges_and_undoes_and_the_pages_are_accessible(page, live_server, duplicate):
    page.goto(f"{live_server}/lv/account/login")
    page.locator("#email").fill("merge-admin@example.lv")
    page.locator("#password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/lv/"))

    page.goto(f"{live_server}/en/admin/merge")
    page.locator("#merge-keep").fill("saskarsme")
    page.locator("#merge-merge").fill("saskarsme-dublikats")
    page.locator("#merge-pick button").click()
    expect(page.locator("#merge-preview")).to_be_visible()
    expect(page.locator("#merge-preview")).to_contain_text("Zupas virtuve Kvarcs")
    violations = axe_violations(page)
    assert violations == [], describe(violations)

    page.locator("#merge-confirm button").click()
    expect(page).to_have_url(re.compile(r"/en/admin/merges/\d+$"))
    expect(page.locator(".flash").first).to_contain_text("Merged")
    violations = axe_violations(page)
    assert violations == [], describe(violations)

    # The merged centre's address leads to the kept one.
    page.goto(f"{live_server}/lv/centres/saskarsme-dublikats")
    expect(page).to_have_url(f"{live_server}/lv/centres/saskarsme")
    expect(page.locator("main")).to_contain_text("Zupas virtuve Kvarcs")

    page.go_back()
    page.goto(f"{live_server}/en/admin/merge")
    page.locator("#recent-merges a").first.click()
    page.locator(".action-form button").click()
    expect(page.locator(".flash").first).to_contain_text("Undone")
    expect(page.locator("#merge-undo-refused")).to_contain_text("undone already")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    page.goto(f"{live_server}/lv/centres/saskarsme-dublikats")
    expect(page).to_have_url(f"{live_server}/lv/centres/saskarsme-dublikats")
