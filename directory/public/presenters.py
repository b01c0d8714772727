"""Turn search results into what the page shows: filter chips with the URL
that removes each one, a place line per service, an open/closed status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _

from ..opening_hours import OpenStatus, opening_status
from ..facets import FacetIndex
from ..search import SearchFilters, SearchPage, ServiceSummary
from ..templating import country_name, language_name


@dataclass(frozen=True)
class Chip:
    label: str
    url: str


def search_chips(filters: SearchFilters, vocabulary: FacetIndex, locale: str) -> list[Chip]:
    """One chip per active filter; its link is the same search without it."""
    labels: list[tuple[str, str]] = []
    if filters.q:
        labels.append(("q", _("“%(words)s”", words=filters.q)))
    if filters.place:
        labels.append(("place", filters.place))
    if filters.type:
        labels.append(("type", vocabulary.types[filters.type].label(locale)))
    if filters.group:
        labels.append(("group", vocabulary.groups[filters.group].label(locale)))
    if filters.language:
        labels.append(("language", language_name(filters.language)))
    flag_labels = {
        "free": _("Free of charge"),
        "wheelchair": _("Wheelchair accessible"),
        "open": _("Open now"),
    }
    for flag, label in flag_labels.items():
        if getattr(filters, flag):
            labels.append((flag, label))
    empty = {"q": "", "place": "", "type": "", "group": "", "language": ""}
    return [
        Chip(
            label,
            url_for(
                "public.home",
                **filters.to_args(page=1, **{name: False if name in flag_labels else empty[name]}),
            ),
        )
        for name, label in labels
    ]


def service_place(summary: ServiceSummary) -> str:
    """'Daugavpils, Latvija': the first place a service is offered at."""
    if not summary.location_ids:
        return ""
    parts = [p for p in (summary.city, summary.municipality) if p]
    return ", ".join([*parts, country_name(summary.country)])


def result_details(result: SearchPage, now: datetime) -> tuple[dict[str, str], dict[str, OpenStatus]]:
    places = {s.id: service_place(s) for s in result.services}
    statuses = {s.id: opening_status(s.schedules, s.country, now) for s in result.services}
    return places, statuses
