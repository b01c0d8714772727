"""A live server on a free loopback port and Debian's headless Chromium,
driven by Playwright. The server runs on a seeded copy of the test database (SQLite, or
PostgreSQL under scripts/with-postgres.sh), one per module."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from conftest import close_apps_made, make_app
from directory import live_index
from directory.extensions import db

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NEUTRAL_PAGE = "about:blank"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def live_database_uri(database_templates):
    """The live server's database: a seeded copy shared by a module's tests
    (they build on each other's accounts, as people do on one server)."""
    uri = database_templates.copy(seeded=True)
    yield uri
    live_index.forget_all()
    close_apps_made()
    database_templates.give_back(uri, seeded=True, reusable=False)


@pytest.fixture(scope="module")
def live_server(live_database_uri):
    app = make_app(live_database_uri, QUICK_EXIT_URL=NEUTRAL_PAGE)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations(browser, monkeypatch):
    """Fails a test whose pages break the Content-Security-Policy (an inline
    script, style or handler, a resource from elsewhere): Chromium logs each
    violation to the console. Every context a test opens is watched."""
    violations = []
    new_context = browser.new_context

    def note(message):
        if "Content Security Policy" in message.text:
            violations.append(f"{message.location['url']}: {message.text}")

    def watched_context(**options):
        context = new_context(**options)
        context.on("console", note)
        return context

    monkeypatch.setattr(browser, "new_context", watched_context)
    yield violations
    assert violations == [], "\n".join(violations)


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="lv-LV")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(java_script_enabled=False, locale="lv-LV")
    page = context.new_page()
    yield page
    context.close()


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}


@pytest.fixture
def phone_page(browser):
    """A 390×844 phone, JavaScript on."""
    context = browser.new_context(locale="lv-LV", **PHONE)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page_without_js(browser):
    """A 390×844 phone, JavaScript off."""
    context = browser.new_context(java_script_enabled=False, locale="lv-LV", **PHONE)
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    """WCAG 2.1 A and AA violations axe-core finds on the current page."""
    # Evaluated, not added as an inline <script>, which the CSP would block.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    result = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]},
    )
    return [
        {
            "id": violation["id"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
    ]


def describe(violations: list[dict]) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)
