"""What a printed shortlist or a client's referral slip says about one
service: where to go, when, whom to call and what to bring. A service's own
hours and phones win; otherwise the centre's are shown. A confidential
address shows only its town unless the card is for someone who may see it
(`reveal`); a slip or a printed list goes to residents, so it never is."""

from __future__ import annotations

from dataclasses import dataclass

from .confidential import PublicAddress, shown_location
from .listings import Hours, centre_schedules, shown_hours
from .models import Address, Phone, RequiredDocument, Service


@dataclass(frozen=True)
class ContactCard:
    service: Service
    addresses: list[Address | PublicAddress]
    hours: Hours  # the weekly table and every other schedule in words
    phones: list[Phone]
    email: str | None
    documents: list[RequiredDocument]
    text_language: str


def contact_card(service: Service, reveal: bool = False) -> ContactCard:
    org = service.organization
    locations = [shown_location(location, reveal) for location in org.locations]
    addresses = [location.physical_address for location in locations if location.physical_address]
    hours = shown_hours(service.schedules) or shown_hours(centre_schedules(org))
    phones = list(service.phones)
    if not phones:
        phones = list(org.phones)
        for location in org.locations:
            phones.extend(location.phones)
    return ContactCard(
        service=service,
        addresses=addresses,
        hours=hours,
        phones=phones,
        email=service.email or org.email,
        documents=list(service.required_documents),
        text_language=org.text_language,
    )
