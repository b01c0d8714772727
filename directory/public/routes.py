"""Public pages. Every URL but `/` carries the language: /<lang>/…"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for

from .. import i18n, listings
from ..extensions import db

root = Blueprint("root", __name__)
bp = Blueprint("public", __name__, url_prefix="/<lang_code>")


@root.get("/")
def language_root():
    return redirect(url_for("public.home", lang_code=i18n.negotiated_language()))


@bp.url_value_preprocessor
def pull_language(endpoint, values):
    lang = (values or {}).pop("lang_code", None)
    if lang not in i18n.supported_languages():
        abort(404, "Unknown language prefix")
    g.lang = lang


@bp.url_defaults
def add_language(endpoint, values):
    if "lang_code" not in values and getattr(g, "lang", None):
        values["lang_code"] = g.lang


@bp.get("/")
def home():
    centres = listings.list_centres(db.session)
    return render_template("public/home.html", centres=centres)


@bp.get("/centres/<slug>")
def centre(slug: str):
    org = listings.get_centre(db.session, slug)
    if org is None:
        abort(404, "No centre with this address")
    return render_template(
        "public/centre.html",
        org=org,
        phones=listings.centre_phones(org),
        hours=listings.weekly_hours(listings.centre_schedules(org)),
    )


@bp.get("/sources/<file_name>")
def source_document(file_name: str):
    document = listings.get_source_document(db.session, file_name)
    if document is None:
        abort(404, "No source document with this name")
    return render_template("public/source.html", document=document)
