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

Static files are served by WhiteNoise before Flask sees the request; they
carry none of this, and need none: they are the site's own files.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, request

# Endpoints whose responses show client data: every view of the senders'
# referrals blueprint, and the centres' referral views and statistics on the
# manage blueprint (manage.referrals, manage.referral, manage.referral_status,
# manage.referral_stats, manage.referral_stats_csv, and any later
# manage.referral… view). A prefix, so that a new referral route is covered.
NO_STORE_ENDPOINT_PREFIXES = ("referrals.", "manage.referral")

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


def init_app(app: Flask) -> None:
    headers = headers_for(app)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(headers)
        if shows_client_data(request.endpoint):
            response.headers["Cache-Control"] = "no-store"
        return response
