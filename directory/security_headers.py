"""Security headers on every response the application makes (pages, htmx
fragments, error pages, the API, CSV): one `after_request` hook.

- Content-Security-Policy: scripts, styles, fonts and requests from this site
  only (htmx and Leaflet are vendored; the templates have no inline script,
  style or event handler); images also from the map's tile host, taken from
  MAP_TILE_URL; no framing, no plugins, forms post to this site only.
- X-Content-Type-Options, Referrer-Policy, X-Frame-Options (for browsers
  that do not know frame-ancestors), and Strict-Transport-Security when
  HSTS_SECONDS says the site is served over HTTPS.
- Cache-Control: no-store on the pages that show client data (referrals,
  slips, the centres' referral lists, statistics), so that neither the
  browser nor a proxy keeps a copy (Back after signing out shows nothing).
- Cache-Control: private, no-store on every response to a signed-in user
  (only staff have accounts): no cache keeps anything for staff, and the
  offline service worker (static/js/sw.js) never stores such a response.
- Clear-Site-Data on signing in and out (see CLEAR_SITE_DATA).

Static files are served by WhiteNoise before Flask sees the request; they
carry none of this, and need none: they are the site's own files.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_login import current_user, user_logged_in, user_logged_out

# Endpoints whose responses show client data: every view of the senders'
# referrals blueprint, and the centres' referral views and statistics on the
# manage blueprint (manage.referrals, manage.referral, manage.referral_status,
# manage.referral_stats, manage.referral_stats_csv, and any later
# manage.referral… view). A prefix, so that a new referral route is covered.
NO_STORE_ENDPOINT_PREFIXES = ("referrals.", "manage.referral")

# Sent with the response that signs someone in or out. "cache": the HTTP
# cache. "storage": the service worker's registration and its caches (pages
# a visitor saved for reading offline on this device), and local storage
# (htmx's history snapshots). Signing in, the device is a staff member's
# from now on: whatever was kept for a visitor goes, and no worker runs
# while they are signed in; signing out, whatever the session left goes.
# Nothing of a visitor's is lost that matters: their shortlist lives in the
# signed session cookie (and joins the account's saved list on signing in).
# Not "cookies": that would end the sign-in the same response starts.
CLEAR_SITE_DATA = '"cache", "storage"'

# A Leaflet URL template's placeholder: {s}, {z}, {r}, {apikey}, …
PLACEHOLDER = re.compile(r"\{[^}]*\}")


def tile_source(tile_url: str) -> str | None:
    """The CSP source that allows the map's tiles: the origin of the URL
    template (scheme, host, port), with a templated leading part of the host
    (`{s}.tile.example.org`) as a wildcard (`*.tile.example.org`). None for a
    template on this site (a relative URL), which 'self' already allows."""
    parts = urlsplit(tile_url)
    if not parts.scheme and not parts.netloc:
        return None
    # The host as written (urlsplit's .hostname would lower-case and mangle braces).
    host = parts.netloc.rpartition("@")[2]
    port = ""
    if not host.startswith("[") and ":" in host:
        host, _, port = host.partition(":")
        port = ":" + port
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if PLACEHOLDER.search(label)]
    if templated:
        rest = labels[templated[-1] + 1 :]
        if len(rest) < 2:
            raise ValueError(f"MAP_TILE_URL {tile_url!r}: only the start of the host name may be a placeholder")
        host = ".".join(["*", *rest])
    if PLACEHOLDER.search(port):
        port = ":*"
    return f"{parts.scheme}://{host}{port}"


def content_security_policy(tile_url: str) -> str:
    images = ["'self'", "data:"]  # Leaflet aborts a tile by pointing it at a data: GIF
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def headers_for(app: Flask) -> dict[str, str]:
    """The headers every response gets, worked out once from the settings."""
    headers = {
        "Content-Security-Policy": content_security_policy(app.config["MAP_TILE_URL"]),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    hsts_seconds = int(app.config.get("HSTS_SECONDS") or 0)
    if hsts_seconds > 0:
        headers["Strict-Transport-Security"] = f"max-age={hsts_seconds}"
    return headers


def shows_client_data(endpoint: str | None) -> bool:
    return bool(endpoint) and endpoint.startswith(NO_STORE_ENDPOINT_PREFIXES)


def signed_in() -> bool:
    """Whether a user is signed in on this request. A request with neither
    the session nor the remember cookie is a visitor's, without a look at
    the session or the database."""
    config = current_app.config
    cookies = (config["SESSION_COOKIE_NAME"], config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    if not any(name in request.cookies for name in cookies):
        return False
    return bool(current_user.is_authenticated)


def _clear_site_data(sender, **extra) -> None:
    g.clear_site_data = True


def init_app(app: Flask) -> None:
    headers = headers_for(app)
    # Flask-Login sends these from login_user() and logout_user(), with the app as sender.
    user_logged_in.connect(_clear_site_data, app)
    user_logged_out.connect(_clear_site_data, app)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(headers)
        if shows_client_data(request.endpoint):
            response.headers["Cache-Control"] = "no-store"
        elif signed_in() and "no-store" not in (response.headers.get("Cache-Control") or ""):
            response.headers["Cache-Control"] = "private, no-store"
        if g.get("clear_site_data"):
            response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
