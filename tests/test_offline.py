"""Reading offline (issue 20), without a browser: the service worker as
served, what it may keep (an allowlist that leaves out every page with client
data), the web app manifest and the offline page in each language, and the
headers that keep anything from being stored for signed-in staff.
tests/browser/test_offline_in_browser.py shows it all working in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext

from conftest import csrf_token, login, signed_in, soup
from directory import offline

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ["lv", "lt", "en", "ru"]
KEPT_ENDPOINTS = {"public.centre", "public.shortlist", "public.shortlist_shared"}
CLEAR = '"cache", "storage"'


def worker_config(client) -> dict:
    """The CONFIG object the /sw.js route puts before the worker's source."""
    body = client.get("/sw.js").get_data(as_text=True)
    first_line = body.split("\n", 1)[0]
    match = re.fullmatch(r"const CONFIG = (\{.*\});", first_line)
    assert match, first_line
    return json.loads(match[1])


def kept(config: dict, path: str) -> bool:
    """Whether the worker would keep the page at `path`: its own test, in Python
    (the patterns are written in the syntax both languages share)."""
    return any(re.search(pattern, path) for pattern in config["savedPages"])


# ------------------------------------------------------------ the worker


def test_the_worker_is_served_at_the_root_as_javascript_and_always_revalidated(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"  # an update reaches the browser at its next visit
    body = response.get_data(as_text=True)
    assert 'self.addEventListener("fetch"' in body
    assert body.startswith("const CONFIG = ")
    # Unchanged, the browser's check costs no body.
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"].strip('"')})
    assert again.status_code == 304


def test_favicon_ico_leads_to_the_sites_icon(client):
    """A tool asking for /favicon.ico gets the icon, not a language redirect to a 404."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert "/static/icons/icon-192" in response.location
    assert response.location.endswith(".png")


def test_a_visitors_pages_register_the_worker_for_the_whole_site(client):
    page = soup(client.get("/en/centres/saskarsme"))
    # A worker at /sw.js controls every page under / (its default scope), /<lang>/ included.
    assert page.select_one('meta[name="service-worker"]')["content"] == "/sw.js"
    assert "/sw.js" not in [tag.get("src") for tag in page.select("script")]  # not a page script
    script = (ROOT / "static" / "js" / "site.js").read_text(encoding="utf-8")
    assert 'navigator.serviceWorker.register(worker.content, { scope: "/" })' in script


def test_the_worker_precaches_the_offline_page_of_every_language(client):
    config = worker_config(client)
    assert config["offlinePages"] == {lang: f"/{lang}/offline" for lang in LANGUAGES}
    assert config["defaultLanguage"] == "lv"
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    assert config["maxPages"] == 50  # bounded: the oldest page goes first


def test_the_worker_keeps_centre_pages_and_shortlists_only(seeded_app, client):
    """Every URL the site has, with a value for each argument: the worker's
    allowlist takes the centre pages, the shortlist and a shared list, and
    nothing else (referrals, slips, manage, admin, account pages included)."""
    config = worker_config(client)
    checked = set()
    for rule in seeded_app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?lang_code>", "en", rule.rule)
        path = re.sub(r"<(?:int:)?[^>]+>", "1", path)
        assert kept(config, path) == (rule.endpoint in KEPT_ENDPOINTS), (rule.rule, rule.endpoint)
        checked.add(rule.endpoint.split(".")[0])
    assert {"public", "referrals", "manage", "admin", "auth", "api"} <= checked
    for path in ["/lv/referrals/1", "/lv/referrals/1/slip", "/lv/manage/", "/lv/manage/referrals/1",
                 "/lv/admin/", "/lv/account/login", "/lv/", "/lv/centres/saskarsme/claim"]:
        assert not kept(config, path), path
    for path in ["/lv/centres/saskarsme", "/ru/shortlist/", "/lt/shortlist/shared"]:
        assert kept(config, path), path


def test_the_python_and_served_allowlists_agree(client):
    config = worker_config(client)
    assert config["savedPages"] == offline.saved_page_patterns(LANGUAGES)
    assert offline.is_saved_page("/en/centres/saskarsme", LANGUAGES)
    assert not offline.is_saved_page("/en/referrals/", LANGUAGES)


# ------------------------------------------------------------ the manifest


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_manifest_speaks_the_pages_language(seeded_app, client, lang):
    page = soup(client.get(f"/{lang}/centres/saskarsme"))
    href = page.select_one('link[rel="manifest"]')["href"]
    assert href == f"/{lang}/manifest.webmanifest"
    response = client.get(href)
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    with seeded_app.test_request_context(), force_locale(lang):
        assert manifest["name"] == gettext("Social services directory")
    assert manifest["lang"] == lang
    assert manifest["start_url"] == f"/{lang}/"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200, icon["src"]
            assert image.mimetype == icon["type"]
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


def test_the_manifest_is_translated(client):
    english = json.loads(client.get("/en/manifest.webmanifest").get_data(as_text=True))
    latvian = json.loads(client.get("/lv/manifest.webmanifest").get_data(as_text=True))
    assert english["name"] == "Social services directory"
    assert latvian["name"] != english["name"]


def test_the_browser_is_told_the_sites_colours(client):
    accent = re.search(r"--accent:\s*(#[0-9a-f]{6})", (ROOT / "static/css/site.css").read_text()).group(1)
    paper = re.search(r"--paper:\s*(#[0-9a-f]{6})", (ROOT / "static/css/site.css").read_text()).group(1)
    page = soup(client.get("/en/"))
    assert page.select_one('meta[name="theme-color"]')["content"] == accent
    manifest = json.loads(client.get("/en/manifest.webmanifest").get_data(as_text=True))
    assert (manifest["theme_color"], manifest["background_color"]) == (accent, paper)


# ------------------------------------------------------------ the offline page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_offline_page_says_searching_needs_a_connection(seeded_app, client, lang):
    response = client.get(f"/{lang}/offline")
    assert response.status_code == 200
    page = soup(response)
    assert page.html["lang"] == lang
    with seeded_app.test_request_context(), force_locale(lang):
        assert page.select_one("main h1").get_text(strip=True) == gettext("You are offline")
        assert gettext("Searching needs a connection.") in page.select_one("main").get_text(" ", strip=True)
        assert page.select_one("#no-saved-pages").get_text(strip=True) == gettext(
            "No page is saved on this device yet.")
    # offline.js lists what the worker kept, from the cache it keeps pages in.
    assert page.select_one("#saved-pages")["data-cache"] == worker_config(client)["pagesCache"]
    assert page.select_one('meta[name="robots"]')["content"] == "noindex"


def test_the_offline_page_in_english(client):
    page = soup(client.get("/en/offline"))
    assert page.select_one("main h1").get_text(strip=True) == "You are offline"
    assert page.select_one("main .lead").get_text(" ", strip=True).startswith("Searching needs a connection.")


def test_the_banner_is_in_every_page_and_hidden_unless_served_offline(client):
    page = soup(client.get("/en/centres/saskarsme"))
    banner = page.select_one(".offline-banner")
    assert banner.get_text(" ", strip=True).startswith("You are offline. This is what you saved on this device.")
    assert banner.select_one("a")["href"] == "/en/offline"
    assert page.body.get("data-offline-copy") is None  # only the worker's copy carries it
    css = (ROOT / "static/css/site.css").read_text()
    assert re.search(r"^\.offline-banner \{ display: none; \}", css, re.MULTILINE)
    assert "[data-offline-copy] .offline-banner { display: block;" in css
    note = page.select_one("#connection-needed")
    assert note.has_attr("hidden")
    assert note["data-search"] == "Searching needs a connection."


# ------------------------------------------------------------ nothing for staff


PAGES = ["/lv/", "/lv/centres/saskarsme", "/lv/shortlist/", "/lv/offline", "/lv/manifest.webmanifest", "/sw.js"]


def test_nothing_a_visitor_sees_is_marked_no_store(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" not in response.headers.get("Cache-Control", ""), url


@pytest.mark.parametrize("email", ["worker@example.lv", "editor@example.lv", "admin@example.lv"])
def test_every_response_to_a_signed_in_user_is_kept_by_no_cache(seeded_app, accounts, email):
    user = signed_in(seeded_app, email)
    for url in PAGES + ["/api/services", "/lv/account/"]:
        response = user.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url
    # And their pages remove the worker instead of registering it.
    assert soup(user.get("/lv/centres/saskarsme")).select_one('meta[name="service-worker"]')["content"] == "none"


def test_client_data_pages_keep_their_own_no_store(seeded_app, accounts):
    user = signed_in(seeded_app, "worker@example.lv")
    assert user.get("/lv/referrals/").headers["Cache-Control"] == "no-store"


def test_signing_in_and_out_clears_what_the_browser_kept(seeded_app, accounts):
    client = seeded_app.test_client()
    assert "Clear-Site-Data" not in client.get("/lv/account/login").headers
    failed = login(client, "worker@example.lv", password="not the password")
    assert "Clear-Site-Data" not in failed.headers
    response = login(client, "worker@example.lv")
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == CLEAR
    assert "Clear-Site-Data" not in client.get("/lv/").headers  # only the moment it changes
    token = csrf_token(client, "/lv/")
    response = client.post("/lv/account/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == CLEAR
    assert "no-store" not in client.get("/lv/centres/saskarsme").headers.get("Cache-Control", "")


def test_signing_out_everywhere_clears_it_too(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    token = csrf_token(client, "/lv/account/")
    response = client.post("/lv/account/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Clear-Site-Data"] == CLEAR
