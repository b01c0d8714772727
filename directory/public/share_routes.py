"""Sending a shortlist or a service to someone by e-mail or SMS (issue 20).

/<lang>/shortlist/send sends the visitor's list; /<lang>/centres/<slug>/send
a centre's services, or one of them (`?service=<id>`). No account is needed;
each form has its CSRF token. The message (directory/sharing.py) holds the
services' names and one link, in the language chosen. Messages are limited
per client address (SHARE_RATE_LIMIT) and per recipient
(SHARE_RECIPIENT_RATE_LIMIT), counted only when one is actually sent; the
SMS form exists only when SMS_GATEWAY is set."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import abort, current_app, g, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_limiter.util import get_remote_address
from limits import parse_many

from .. import accounts, listings, sharing, shortlists, sms
from ..extensions import db, limiter
from ..models import Service
from ..templating import service_url
from ..web import or_404
from . import bp
from .forms import ShareByEmailForm, ShareBySmsForm

LIMIT_NAMESPACE = "share"


@bp.route("/shortlist/send", methods=["GET", "POST"])
def share_shortlist():
    """"Send this list": the visitor's shortlist, as a link to the shared list."""
    limit = current_app.config["SHORTLIST_LIMIT"]
    listed = shortlists.shortlist_for(db.session, current_user, session, limit).ids()
    services = shortlists.load_services(db.session, listed)
    return _share(
        services, lambda language: sharing.list_link(services, language),
        what="list", back_url=url_for("public.shortlist"), action=url_for("public.share_shortlist"),
    )


@bp.route("/centres/<slug>/send", methods=["GET", "POST"])
def share_service(slug: str):
    """"Send" on a centre page: one service (`?service=<id>`), linked to its
    section of the centre's page; without one, all the centre's services."""
    org = or_404(listings.get_centre(db.session, slug), "No centre with this address")
    services = [service for service in org.services if service.status == "active"]
    service_id = request.args.get("service")
    if service_id is None:
        return _share(
            services, lambda language: sharing.centre_link(org, language), what="centre", org=org,
            back_url=url_for("public.centre", slug=org.slug), action=url_for("public.share_service", slug=org.slug),
        )
    service = next((service for service in services if service.id == service_id), None)
    if service is None:
        abort(404, "No such service at this centre")
    return _share(
        [service], lambda language: sharing.service_link(service, language), what="service", org=org,
        back_url=service_url(service),
        action=url_for("public.share_service", slug=org.slug, service=service.id),
    )


def _share(services: Sequence[Service], link_for: Callable[[str], str], **page):
    gateway = sms.gateway()
    # Two channels only: any other value is the e-mail form (and its rate-limit key).
    channel = None if request.method == "GET" else "sms" if request.form.get("channel") == "sms" else "email"
    if channel == "sms" and gateway is None:
        abort(404, "No SMS gateway is configured")
    email_form = _form(ShareByEmailForm, sent=channel != "sms")
    sms_form = _form(ShareBySmsForm, sent=channel == "sms", prefix="sms") if gateway is not None else None
    headings = {"list": _("Send this list"), "centre": _("Send this centre’s services"),
                "service": _("Send this service")}
    page.update(services=services, heading=headings[page["what"]], email_form=email_form, sms_form=sms_form)
    if request.method == "GET":
        return render_template("public/share.html", **page)
    form = sms_form if channel == "sms" else email_form
    if not services:
        return render_template("public/share.html", **page), 400
    if not form.validate_on_submit():
        return render_template("public/share.html", channel=channel, **page), 400

    if channel == "sms":
        recipient = sharing.normalise_phone(form.phone.data)
        same_recipient = recipient
    else:
        recipient = form.email.data.strip()
        same_recipient = accounts.normalise_email(recipient)
    keys = [
        (current_app.config["SHARE_RATE_LIMIT"], "client:" + get_remote_address()),
        (current_app.config["SHARE_RECIPIENT_RATE_LIMIT"], sharing.recipient_key(channel, same_recipient)),
    ]
    if not all(_within(limit, key) for limit, key in keys):
        return render_template("public/share.html", channel=channel, too_many=True, **page), 429

    language = form.language.data
    message = sharing.compose(services, link_for(language), language)
    if channel == "sms":
        try:
            sharing.send_sms(gateway, recipient, message)
        except sms.SmsNotSent:
            current_app.logger.warning("An SMS gateway refused a message", exc_info=True)
            return render_template("public/share.html", channel=channel, not_sent=True, **page), 503
    else:
        sharing.send_email(db.session, recipient, message)
        db.session.commit()
    for limit, key in keys:
        _count(limit, key)
    return render_template("public/share_sent.html", channel=channel, recipient=recipient, **page)


def _form(form_class, sent: bool, **options):
    """A form in the page's language; only the one that was sent reads the
    request, the other starts empty."""
    if not sent:
        options["formdata"] = None
    return form_class(language=g.lang, **options)


def _within(limit: str, key: str) -> bool:
    if not limiter.enabled:
        return True
    return all(limiter.limiter.test(item, LIMIT_NAMESPACE, key) for item in parse_many(limit))


def _count(limit: str, key: str) -> None:
    if limiter.enabled:
        for item in parse_many(limit):
            limiter.limiter.hit(item, LIMIT_NAMESPACE, key)
