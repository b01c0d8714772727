"""Turn search results into what the page shows: filter chips with the URL
that removes each one, a place line per service, an open/closed status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _

from ..opening_hours import OpenStatus, opening_status
from ..recurrence import RULE_FIELDS
from ..search import SERVES_HERE, SearchPage, ServiceSummary
from ..templating import country_name, format_distance, language_name, service_url


@dataclass(frozen=True)
class Chip:
    label: str
    url: str
    name: str = ""  # the filter it stands for: "q", "type", "near", …


def search_chips(result: SearchPage) -> list[Chip]:
    """One chip per active filter; its link is the same search without it.
    A vocabulary filter is labelled as the search's own facets label its
    selected option (a filter nothing could match was dropped by the search)."""
    filters = result.filters
    selected = {
        name: option for name, options in result.facets.items() for option in options if option.selected
    }
    labels: list[tuple[str, str]] = []
    if filters.q:
        labels.append(("q", _("“%(words)s”", words=filters.q)))
    for name in ("place", "type", "group", "language"):
        if name in selected:
            option = selected[name]
            labels.append((name, language_name(option.value) if name == "language" else option.label))
    if filters.has_position:
        labels.append(("near", _("Near my location")))
    elif filters.near:
        labels.append(("near", _("Near %(place)s", place=filters.near)))
    if filters.radius and filters.wants_distance:
        labels.append(("radius", _("Within %(distance)s", distance=format_distance(filters.radius))))
    if result.served and result.served.municipality:
        labels.append(("serves", _("Serving %(area)s", area=result.served.municipality.label)))
    elif result.served:
        labels.append(("serves", _("Serving the place I search near")))
    if filters.age_years is not None:
        labels.append(("age", _("Age %(age)s", age=filters.age_years)))
    flag_labels = {
        "free": _("Free of charge"),
        "wheelchair": _("Wheelchair accessible"),
        "open": _("Open now"),
    }
    for flag, label in flag_labels.items():
        if getattr(filters, flag):
            labels.append((flag, label))
    removals = {
        "q": {"q": ""}, "place": {"place": ""}, "type": {"type": ""}, "group": {"group": ""},
        "language": {"language": ""}, "radius": {"radius": 0}, "serves": {"serves": ""}, "age": {"age": ""},
        # "The place I search near" means nothing without one.
        "near": {"near": "", "lat": None, "lon": None, "radius": 0,
                 **({"serves": ""} if filters.serves == SERVES_HERE else {})},
        **{flag: {flag: False} for flag in flag_labels},
    }
    return [
        Chip(label, url_for("public.home", **filters.to_args(page=1, **removals[name])), name)
        for name, label in labels
    ]


# What the search form shows outside its folded "Filters": the words and the place.
UNFOLDED = ("q", "near")


def folded_filter_count(chips: list[Chip]) -> int:
    """How many active filters the folded "Filters (N active)" holds: one per
    chip, but for the words and the place searched near, shown above it."""
    return sum(1 for chip in chips if chip.name not in UNFOLDED)


def map_markers(result: SearchPage) -> list[dict]:
    """One marker per place on the map, listing the services found there."""
    markers: dict[tuple[float, float], dict] = {}
    for summary in result.services:
        if summary.latitude is None:
            continue
        marker = markers.setdefault(
            (summary.latitude, summary.longitude),
            {"lat": summary.latitude, "lon": summary.longitude, "approximate": summary.precision != "address",
             "services": []},
        )
        marker["services"].append(
            {"name": summary.name, "centre": summary.centre_name,
             "url": service_url(summary)}
        )
    return list(markers.values())


def service_place(summary: ServiceSummary) -> str:
    """'Daugavpils, Latvija': the first place a service is offered at."""
    if not summary.location_ids:
        return ""
    parts = [p for p in (summary.city, summary.municipality) if p]
    return ", ".join([*parts, country_name(summary.country)])


def result_details(result: SearchPage, now: datetime) -> tuple[dict[str, str], dict[str, OpenStatus]]:
    places = {s.id: service_place(s) for s in result.services}
    # Cards of one page often share their hours (a centre's services, the
    # common weekday rule): each distinct set is evaluated once.
    known: dict[tuple, OpenStatus] = {}
    statuses = {}
    for summary in result.services:
        key = (summary.country, tuple(tuple(getattr(s, f) for f in RULE_FIELDS) for s in summary.schedules))
        if key not in known:
            known[key] = opening_status(summary.schedules, summary.country, now)
        statuses[summary.id] = known[key]
    return places, statuses
