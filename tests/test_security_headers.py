"""Security headers: a Content-Security-Policy and the other headers on every
response (pages, htmx fragments, error pages), HSTS when configured, and
Cache-Control: no-store on every page that shows client data. The browser
suite (tests/browser/conftest.py) fails on any CSP violation a page reports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import csrf_token, make_app, signed_in, soup
from directory.extensions import db
from directory.models import Organization, Referral, Service
from directory.security_headers import tile_source

OSM_TILES = "https://tile.openstreetmap.org"


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", OSM_TILES]  # the map's tiles, from MAP_TILE_URL
    assert csp["connect-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # HSTS_SECONDS = 0 by default


def service_of(app, slug: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Service.id).join(Service.organization)
                                 .where(Organization.slug == slug).order_by(Service.name))


@pytest.fixture
def referral(seeded_app, accounts):
    """A referral the social worker sent to a Saskarsme service through the
    form, and the signed-in clients of the worker and of Saskarsme's editor."""
    worker = signed_in(seeded_app, "worker@example.lv")
    service_id = service_of(seeded_app, "saskarsme")
    response = worker.post("/lv/referrals/new", data={
        "csrf_token": csrf_token(worker, f"/lv/referrals/new?service={service_id}"),
        "service_id": service_id, "client_name": "Anna K.", "client_contact": "+371 20000000",
        "client_language": "lt", "need": "A warm place during the day.", "consent": "y",
    })
    assert response.status_code == 302
    with seeded_app.app_context():
        referral_id = db.session.scalar(select(Referral.id))
    return {
        "id": referral_id,
        "service_id": service_id,
        "worker": worker,
        "editor": signed_in(seeded_app, "editor@example.lv"),
    }


# ------------------------------------------------------------ every response


def test_public_page_has_the_security_headers_and_may_be_cached(client):
    response = client.get("/lv/centres/saskarsme")
    assert response.status_code == 200
    assert_security_headers(response)
    # No client data here: the browser may keep it (Back works offline).
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_htmx_fragment_has_the_security_headers(client):
    response = client.get("/lv/?q=dienas", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)  # the fragment, not the page
    assert_security_headers(response)


def test_shortlist_toggle_fragment_has_the_security_headers(client, seeded_app):
    service_id = service_of(seeded_app, "saskarsme")
    token = csrf_token(client, "/lv/centres/saskarsme")
    response = client.post("/lv/shortlist/add", data={"csrf_token": token, "service_id": service_id},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
    assert_security_headers(response)


def test_error_page_has_the_security_headers(client):
    response = client.get("/lv/centres/no-such-centre")
    assert response.status_code == 404
    assert_security_headers(response)


def test_referral_page_has_the_security_headers_and_is_never_stored(referral):
    response = referral["worker"].get(f"/lv/referrals/{referral['id']}")
    assert response.status_code == 200
    assert "Anna K." in response.get_data(as_text=True)  # the client's name is on it
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_when_the_site_is_served_over_https(database_uri):
    client = make_app(database_uri, HSTS_SECONDS=31536000).test_client()
    response = client.get("/lv/account/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_tiles_from_a_host_with_subdomains_are_allowed(database_uri):
    app = make_app(database_uri, MAP_TILE_URL="https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png")
    response = app.test_client().get("/lv/account/login")
    assert "https://*.tiles.example.org:8443" in policy(response)["img-src"]


@pytest.mark.parametrize(("template", "source"), [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.tile.example.org/{z}/{x}/{y}{r}.png", "https://*.tile.example.org"),
    ("https://tiles-{s}.example.org/{z}/{x}/{y}.png", "https://*.example.org"),
    ("http://localhost:8080/osm/{z}/{x}/{y}.png", "http://localhost:8080"),
    ("/tiles/{z}/{x}/{y}.png", None),  # this site: 'self' allows it
])
def test_tile_source(template, source):
    assert tile_source(template) == source


def test_a_tile_host_that_is_all_placeholder_is_refused():
    with pytest.raises(ValueError, match="MAP_TILE_URL"):
        tile_source("https://{s}.{tld}/{z}/{x}/{y}.png")


def test_pages_need_nothing_the_policy_forbids(referral):
    """No inline script, style or event handler (the policy would block
    them), and htmx told not to inject its indicator <style> or evaluate
    attributes."""
    for client, url in [
        (referral["worker"], "/lv/?q=centrs"),
        (referral["worker"], "/lv/map?near=Daugavpils"),
        (referral["worker"], f"/lv/referrals/{referral['id']}"),
        (referral["editor"], "/lv/manage/referrals/stats"),
    ]:
        page = soup(client.get(url))
        assert page.select("style, [style]") == [], url
        inline = [s for s in page.select("script:not([src])") if s.get("type") != "application/json"]
        assert inline == [], url
        handlers = [(tag.name, name) for tag in page.find_all(True) for name in tag.attrs if name.startswith("on")]
        assert handlers == [], url
        config = page.select_one('meta[name="htmx-config"]')
        assert config is not None, url
        assert '"includeIndicatorStyles": false' in config["content"]
        assert '"allowEval": false' in config["content"]


# ------------------------------------------------------ pages with client data


def referral_rules(app):
    """Every route with "referral" in its URL or name: the pages of referrals,
    slips, the centres' lists and statistics. Found from the URL map, so that
    a route added later is checked too."""
    return [rule for rule in app.url_map.iter_rules() if "referral" in rule.rule or "referral" in rule.endpoint]


def test_every_page_with_client_data_is_never_stored(seeded_app, referral):
    rules = referral_rules(seeded_app)
    admin = signed_in(seeded_app, "admin@example.lv")
    # The routes known today; more are welcome, none may be missed.
    assert {rule.endpoint for rule in rules} >= {
        "referrals.index", "referrals.new", "referrals.referral", "referrals.withdraw", "referrals.slip",
        "manage.referrals", "manage.referral", "manage.referral_status",
        "manage.referral_stats", "manage.referral_stats_csv",
    }
    checked = []
    for rule in rules:
        # The sender's pages as the social worker, the centre's as its editor, others as an admin.
        blueprint = rule.endpoint.partition(".")[0]
        client = {"referrals": referral["worker"], "manage": referral["editor"]}.get(blueprint) or admin
        values = {"referral_id": referral["id"]} if "referral_id" in rule.arguments else {}
        with seeded_app.test_request_context():
            url = seeded_app.url_for(rule.endpoint, lang_code="lv", **values)
        token = csrf_token(client, "/lv/")  # the sign-out form's
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                query = {"service": referral["service_id"]} if rule.endpoint == "referrals.new" else {}
                response = client.get(url, query_string=query)
                assert response.status_code == 200, url  # the real page, with its data
            else:
                # A form sent back incomplete: the answer shows the form again or redirects.
                response = client.post(url, data={"csrf_token": token, "service_id": referral["service_id"]})
                assert response.status_code in (302, 400), (method, url)
            assert response.headers.get("Cache-Control") == "no-store", (method, url)
            assert "Content-Security-Policy" in response.headers
            checked.append((method, rule.endpoint))
    assert ("GET", "manage.referral_stats_csv") in checked and ("POST", "referrals.new") in checked
