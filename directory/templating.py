"""Jinja filters that format data for the visitor's locale, and the one
place a service's address is built (service_url, service_anchor: Jinja
globals, and plain functions for Python code)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from babel.dates import get_day_names
from babel.units import format_unit
from flask import Flask, url_for
from flask_babel import format_date, format_datetime, format_decimal, format_time, get_locale, gettext

from . import capacity
from .models import WEEKDAYS, Service

if TYPE_CHECKING:
    from .search import ServiceSummary


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return get_locale().territories.get(code.upper(), code)


def format_number(value: int) -> str:
    """Whole numbers for the locale; below 1000 every supported locale writes
    plain digits, so skip Babel's formatter on the hot path of facet counts."""
    if isinstance(value, int) and 0 <= value < 1000:
        return str(value)
    return format_decimal(value)


def format_distance(km: float, approximate: bool = False) -> str:
    """'850 m', '4,2 km', '37 km' in the visitor's locale; for a place known
    only to its town, 'about 37 km' or 'under 1 km'."""
    locale = get_locale()
    if approximate:
        if km < 1:
            return gettext("under %(distance)s", distance=format_unit(1, "length-kilometer", length="short", locale=locale))
        return gettext("about %(distance)s", distance=format_unit(round(km), "length-kilometer", length="short", locale=locale))
    if km < 1:
        return format_unit(round(km * 1000, -1), "length-meter", length="short", locale=locale)
    value = round(km, 1) if km < 10 else round(km)
    return format_unit(value, "length-kilometer", length="short", locale=locale)


def language_name(code: str) -> str:
    """A language's name in the visitor's language: 'latviešu', 'Lithuanian'…"""
    name = get_locale().languages.get(code, code)
    return name[:1].upper() + name[1:]


def weekday_name(byday: str) -> str:
    return get_day_names("wide", locale=get_locale())[WEEKDAYS.index(byday)]


def service_anchor(service: Service | ServiceSummary) -> str:
    """The id of a service's section on its centre page."""
    return f"service-{service.id}"


def service_url(service: Service | ServiceSummary, **values) -> str:
    """Where a service is shown: its section on its centre's page. Takes a
    Service or a search result's ServiceSummary; `values` go to url_for
    (lang_code=…, _external=True)."""
    slug = service.organization.slug if isinstance(service, Service) else service.centre_slug
    return url_for("public.centre", slug=slug, **values) + "#" + service_anchor(service)


def age_range(minimum: int | None, maximum: int | None) -> str:
    """A service's ages in words, as the search's cards say them (templates/public/_cards.html):
    "Ages 16–25", "From age 18", "Up to age 25"; "" when it states none."""
    if minimum is not None and maximum is not None:
        return gettext("Ages %(minimum)s–%(maximum)s", minimum=minimum, maximum=maximum)
    if minimum is not None:
        return gettext("From age %(minimum)s", minimum=minimum)
    if maximum is not None:
        return gettext("Up to age %(maximum)s", maximum=maximum)
    return ""


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(country_name)
    app.add_template_filter(weekday_name)
    app.add_template_filter(language_name)
    app.add_template_filter(format_distance, "distance")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(lambda t: format_time(t, "short") if t else "", "time")
    app.add_template_filter(lambda d: format_date(d, "long") if d else "", "date")
    app.add_template_filter(lambda d: format_datetime(d, "short") if d else "", "datetime")
    app.add_template_global(lambda: datetime.now(timezone.utc), "today")
    app.add_template_global(service_url)
    app.add_template_global(service_anchor)
    app.add_template_global(capacity.shown, "capacities_of")  # free places, with their age
    app.add_template_global(age_range)
