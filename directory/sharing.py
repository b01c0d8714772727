"""Sending services to someone: a visitor's shortlist, or one centre's
services, by e-mail (through the outbox) or by SMS (directory/sms.py).

The message holds the services' and their centres' names and one link, in
the language the sender chose, and nothing else: no sender, no client, no
address (a shelter's is confidential; the link shows what may be shown).
Links are built on PUBLIC_BASE_URL, never on the request's host."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import force_locale, gettext, ngettext
from sqlalchemy.orm import Session

from .mail import public_url, queue_email
from .models import Organization, OutboxMessage, Service
from .sms import SmsGateway
from .templating import service_anchor

PHONE_MAX_LENGTH = 30  # what the form takes, spaces and dashes included
EMAIL_MAX_LENGTH = 254
SMS_LENGTH = 300  # a text message's target length; a long list's link alone may be longer

_PHONE_SEPARATORS = re.compile(r"[\s\-./()]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# Countries whose numbers have a fixed length after the country code.
_NATIONAL_DIGITS = {"371": 8, "370": 8}


@dataclass(frozen=True)
class ShareMessage:
    subject: str
    body: str  # the e-mail's text
    sms: str  # the text message's
    link: str


def normalise_phone(text: str) -> str | None:
    """A mobile number in international form ('+371 2000 0000', '00370 612 34567')
    as E.164 ('+37120000000'); None when it is not one."""
    compact = _PHONE_SEPARATORS.sub("", (text or "").strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if len(text or "") > PHONE_MAX_LENGTH or not _E164.fullmatch(compact):
        return None
    digits = compact[1:]
    for country, national in _NATIONAL_DIGITS.items():
        if digits.startswith(country) and len(digits) != len(country) + national:
            return None
    return compact


def recipient_key(channel: str, recipient: str) -> str:
    """A rate-limit key for one recipient; a hash, so that the limiter's
    storage holds no addresses or numbers."""
    return f"share-{channel}:" + hashlib.sha256(recipient.encode()).hexdigest()


def list_link(services: Sequence[Service], language: str) -> str:
    """The read-only shared list of these services, in `language`."""
    return public_url("public.shortlist_shared", s=[service.id for service in services], lang_code=language)


def centre_link(organization: Organization, language: str) -> str:
    return public_url("public.centre", slug=organization.slug, lang_code=language)


def service_link(service: Service, language: str) -> str:
    """The service's section on its centre's page, in `language`."""
    return centre_link(service.organization, language) + "#" + service_anchor(service)


def named(service: Service) -> str:
    """'Service (Centre)', or the name alone when the centre has the same one."""
    centre = service.organization.name
    return service.name if centre == service.name else f"{service.name} ({centre})"


def compose(services: Sequence[Service], link: str, language: str) -> ShareMessage:
    """The e-mail and the text message about `services`, in `language`."""
    count = len(services)
    with force_locale(language):
        if count == 1:
            subject = gettext("A social service: %(name)s", name=services[0].name)
        else:
            subject = ngettext("%(num)d social service", "%(num)d social services", count)
        intro = ngettext(
            "Someone sent you this service from the social services directory of the Latvia–Lithuania border region:",
            "Someone sent you these %(num)d services from the social services directory of the Latvia–Lithuania border region:",
            count,
        )
        lines = [f"- {named(service)}" for service in services]
        body = "\n".join([
            intro,
            "",
            *lines,
            "",
            gettext("Addresses, opening hours and phone numbers:"),
            link,
            "",
            gettext("Please check with the centre before you go."),
            "",
            gettext("Someone typed your address on the directory's website to send you this message. "
                    "It holds nothing more than the services and the link; replies are not read."),
        ])
        sms = sms_text(services, link)
    return ShareMessage(subject=subject, body=body + "\n", sms=sms, link=link)


def sms_text(services: Sequence[Service], link: str, length: int = SMS_LENGTH) -> str:
    """'Social services directory: 2 services: A; B https://…', the names
    cut short so that the whole stays within `length` (the link is never cut).
    Call in the message's locale."""
    head = ngettext("Social services directory, %(num)d service:", "Social services directory, %(num)d services:",
                    len(services))
    if len(services) == 1:
        names = named(services[0])
    else:
        names = "; ".join(service.name for service in services)
    room = length - len(head) - len(link) - 2
    if room < 12:
        return f"{head} {link}"
    if len(names) > room:
        names = names[: room - 1].rstrip(" ;") + "…"
    return f"{head} {names} {link}"


def send_email(session: Session, recipient: str, message: ShareMessage) -> OutboxMessage:
    return queue_email(session, recipient, message.subject, message.body)


def send_sms(gateway: SmsGateway, number: str, message: ShareMessage) -> None:
    """Raises sms.SmsNotSent when the gateway cannot take it."""
    gateway.send(number, message.sms)
