"""The web app manifest, the service worker and the offline page (issue 20).
What the worker keeps and why: directory/offline.py."""

from __future__ import annotations

import json

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import i18n, offline
from ..extensions import static_digest
from . import bp, root


@bp.app_context_processor
def offline_context() -> dict:
    return {"offline_theme_colour": offline.THEME_COLOUR, "offline_worker_url": worker_url_for_visitor}


def worker_url_for_visitor() -> str:
    """The worker's address for a visitor's page; "none" for a signed-in user,
    whose pages remove it (static/js/site.js): nothing is kept for staff."""
    return "none" if current_user.is_authenticated else url_for("root.service_worker")


@root.get("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope covers every
    /<lang>/ page; never fingerprinted, revalidated on every check."""
    body = current_app.extensions.get("offline_worker")
    if body is None:
        config = offline.worker_config(
            {lang: url_for("public.offline_page", lang_code=lang) for lang in i18n.supported_languages()},
            i18n.default_language(),
            current_app.static_url_path,
        )
        body = current_app.extensions["offline_worker"] = offline.worker_script(config)
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@root.get("/favicon.ico")
def favicon():
    """For whatever asks for /favicon.ico without reading a page (pages link
    their icon): the site's icon. Not permanent: its address is fingerprinted."""
    return redirect(static_digest.static_url_for("static", filename="icons/icon-192.png"), 302)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest, in the page's language."""
    def icon(file_name: str, size: str, kind: str, purpose: str = "any") -> dict:
        return {"src": static_digest.static_url_for("static", filename=f"icons/{file_name}"),
                "sizes": size, "type": kind, "purpose": purpose}

    body = offline.manifest(
        name=_("Social services directory"),
        short_name=_("Social services"),
        description=_("Social services of the Latvia–Lithuania border region: day centres, crisis centres, "
                      "care at home and more."),
        lang=i18n.select_locale(),
        start_url=url_for("public.home"),
        icons=[
            icon("icon.svg", "any", "image/svg+xml"),
            icon("icon-192.png", "192x192", "image/png"),
            icon("icon-512.png", "512x512", "image/png"),
            icon("icon-512.png", "512x512", "image/png", "maskable"),
        ],
    )
    response = make_response(json.dumps(body, ensure_ascii=False))
    response.headers["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


@bp.get("/offline")
def offline_page():
    """What a visitor sees offline when a page was not saved: searching needs
    a connection, and the pages saved on this device (listed by
    static/js/offline.js). The worker keeps it from when it installs."""
    return render_template("public/offline.html", pages_cache=offline.PAGES_CACHE)
