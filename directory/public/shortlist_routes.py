"""/<lang>/shortlist/: anyone keeps services aside, prints them on one A4
page, or shares them as a link. Every button is a plain POST form; with htmx
the "Add to shortlist" buttons swap only themselves and the menu's count."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, user_logged_in

from .. import sharing, shortlists
from ..contact_card import contact_card
from ..extensions import db
from ..models import Service
from ..qr import qr_svg
from ..web import safe_next, wants_fragment
from . import bp


def current_shortlist() -> shortlists.Shortlist:
    return shortlists.shortlist_for(db.session, current_user, session, current_app.config["SHORTLIST_LIMIT"])


def shortlisted_ids() -> list[str]:
    """The ids on the visitor's list, read once per request."""
    if "shortlisted_ids" not in g:
        g.shortlisted_ids = current_shortlist().ids()
    return g.shortlisted_ids


@bp.app_context_processor
def shortlist_context() -> dict:
    return {"shortlisted_ids": shortlisted_ids}


@user_logged_in.connect
def _keep_list_on_sign_in(sender, user, **extra) -> None:
    """What a visitor shortlisted before signing in joins their saved list."""
    shortlists.move_into_saved(db.session, user, session, sender.config["SHORTLIST_LIMIT"])


def _back(default: str):
    return redirect(safe_next(request.form.get("next")) or default)


def _toggle_response(service_id: str, message: str | None = None):
    """For htmx: the pressed button, now showing the new state, and the menu
    link with the new count (out of band)."""
    g.pop("shortlisted_ids", None)
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    next_url = safe_next(current.path + (f"?{current.query}" if current.query else ""))
    service = db.session.get(Service, service_id)
    return render_template(
        "public/_shortlist_toggle.html", service_id=service_id, message=message,
        service_name=service.name if service is not None else "", next_url=next_url,
    )


def _list_page(services, shared: bool, **page):
    """The shortlist page of `services`, with the link to the shared list
    and its QR code for the printed page: on PUBLIC_BASE_URL, so that they
    work for anyone (sharing.list_link, the link an e-mail sends)."""
    list_url = sharing.list_link(services, g.lang)
    return render_template(
        "public/shortlist.html", cards=[contact_card(service) for service in services], shared=shared,
        list_url=list_url, list_qr=qr_svg(list_url, _("QR code: this list online")) if services else None, **page,
    )


@bp.get("/shortlist/")
def shortlist():
    """The visitor's shortlist: contact cards to print on one page, and a link to share the list."""
    return _list_page(shortlists.load_services(db.session, shortlisted_ids()), shared=False)


@bp.get("/shortlist/shared")
def shortlist_shared():
    """Someone's list, from a link: read-only, with a button to keep it."""
    requested = shortlists.requested_ids(request.args.getlist("s"), current_app.config["SHORTLIST_LIMIT"])
    services = shortlists.load_services(db.session, requested)
    return _list_page(services, shared=True, missing_count=len(set(requested)) - len(services))


def _full_message() -> str:
    return ngettext("Your shortlist is full: it holds at most %(num)d service. Remove one to add another.",
                    "Your shortlist is full: it holds at most %(num)d services. Remove one to add another.",
                    current_app.config["SHORTLIST_LIMIT"])


@bp.post("/shortlist/add")
def shortlist_add():
    """Add a service (or several) to the shortlist; with htmx, only the pressed button changes."""
    limit = current_app.config["SHORTLIST_LIMIT"]
    # More ids than a list holds are cut before any query: the list would be full.
    wanted = shortlists.requested_ids(request.form.getlist("service_id"), limit + 1)
    full = len(wanted) > limit
    wanted = wanted[:limit]
    offered = shortlists.offered_ids(db.session, wanted)
    listing = current_shortlist()
    for service_id in offered:
        if not listing.add(service_id):
            full = True
    db.session.commit()
    if wants_fragment() and len(wanted) == 1 and offered:
        return _toggle_response(offered[0], _full_message() if full else None)
    if full:
        flash(_full_message(), "error")
    elif len(offered) < len(set(wanted)):
        flash(_("A service is no longer offered, so it was not added."), "error")
    else:
        flash(_("Added to your shortlist."), "info")
    return _back(url_for("public.shortlist"))


@bp.post("/shortlist/remove")
def shortlist_remove():
    """Take a service off the shortlist; with htmx, only the pressed button changes."""
    service_id = request.form.get("service_id", "")
    current_shortlist().remove(service_id)
    db.session.commit()
    if wants_fragment():
        return _toggle_response(service_id)
    flash(_("Removed from your shortlist."), "info")
    return _back(url_for("public.shortlist"))


@bp.post("/shortlist/clear")
def shortlist_clear():
    """Empty the shortlist."""
    current_shortlist().clear()
    db.session.commit()
    flash(_("Your shortlist is empty now."), "info")
    return redirect(url_for("public.shortlist"))
