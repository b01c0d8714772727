"""Unmet need: resident searches that found fewer than three services,
counted per month so that administrators see what people look for and do
not find, beside the referrals centres declined for lack of places.

What is kept is a count per (month in Europe/Riga, the search's words as
the search folds them, its filters, a municipality code), nothing else: no
session, address, position, typed place, user or time finer than the month.
The admin page shows a row's words only once K_ANONYMITY searches made it.

One count per search a resident submitted: the search's page 1, full page or
htmx fragment, unless the page it came from showed the same search (Enter
after the as-you-type request, a history restore, a language switch). The
count is written after the response is sent, so a busy database never slows
a search down, and a failure is logged, never shown.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import municipalities, search
from .gazetteer import fold
from .models import Address, Location, Referral, ServiceAtLocation, UnmetSearch
from .referral_stats import RIGA, add_months, csv_safe

log = logging.getLogger(__name__)

UNMET_BELOW = 3  # a search with fewer results than this is counted
K_ANONYMITY = 5  # a row's words and filters are shown from this many searches on
MAX_WORDS_LENGTH = 200  # UnmetSearch.words
# The filters kept, in this order; never near, lat/lon, radius or page.
FILTER_NAMES = ("type", "group", "language", "free", "wheelchair", "open", "age", "serves")
DECLINED_NO_PLACES = "no-places"  # referral_workflow.DECLINE_REASONS
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

CSV_HEADER = ("month", "municipality", "kind", "words", "filters", "searches", "found_nothing",
              "referrals_declined_no_places")


# ------------------------------------------------------------------ counting


@dataclass(frozen=True)
class UnmetKey:
    """The one row a search is counted in."""

    month: str  # "2026-12"
    words: str
    filters: str
    municipality: str


def month_of(moment: datetime) -> str:
    return moment.astimezone(RIGA).strftime("%Y-%m")


def search_words(q: str) -> str:
    """The search's own terms (folded, stemmed, deduplicated), sorted so
    that word order does not matter, as many as fit the column."""
    kept: list[str] = []
    length = -1
    for term in sorted(set(search.query_terms(q))):
        if length + 1 + len(term) > MAX_WORDS_LENGTH:
            break
        kept.append(term)
        length += 1 + len(term)
    return " ".join(kept)


def canonical_filters(filters: search.SearchFilters, served: search.ServedPlace | None) -> str:
    """The choices the search was narrowed by, as a query string in a fixed
    order. "serves" only when it did narrow it (to a municipality)."""
    values = {
        "type": filters.type,
        "group": filters.group,
        "language": filters.language,
        "free": "1" if filters.free else "",
        "wheelchair": "1" if filters.wheelchair else "",
        "open": "1" if filters.open else "",
        "age": "" if filters.age_years is None else str(filters.age_years),
        "serves": filters.serves if served and served.municipality else "",
    }
    return urlencode([(name, values[name]) for name in FILTER_NAMES if values[name]])


def searched_municipality(result: search.SearchPage) -> str:
    """The municipality code the search was narrowed to ("serves"), or the
    one the typed place lies in; never the typed text or a position."""
    if result.served and result.served.municipality:
        return result.served.municipality.code
    if result.filters.near:
        found = municipalities.resolve(result.filters.near).municipality
        return found.code if found else ""
    return ""


def unmet_key(result: search.SearchPage, now: datetime) -> UnmetKey | None:
    """The row to count this search in; None when it is not counted: enough
    found, nothing searched for (words or filters), or a page past the first."""
    if result.total >= UNMET_BELOW or result.filters.page > 1:
        return None
    words = search_words(result.filters.q)
    filters = canonical_filters(result.filters, result.served)
    if not words and not filters:
        return None
    return UnmetKey(month_of(now), words, filters, searched_municipality(result))


def _same_search(a: search.SearchFilters, b: search.SearchFilters) -> bool:
    return a.to_args(page=1) == b.to_args(page=1)


def is_repeat(filters: search.SearchFilters, path: str, headers: Mapping[str, str]) -> bool:
    """Whether the page the request came from already showed this search:
    htmx says which (HX-Current-URL), a plain form submission the referrer."""
    if headers.get("HX-History-Restore-Request") == "true":
        return True
    came_from = headers.get("HX-Current-URL") or headers.get("Referer") or ""
    previous = urlsplit(came_from)
    # The same page in any language: /lv/ and /lt/ are both the search.
    if not came_from or previous.path.split("/")[2:] != path.split("/")[2:]:
        return False
    return _same_search(search.parse_filters(dict(parse_qsl(previous.query))), filters)


def increment(connection: Connection, key: UnmetKey, found_nothing: bool) -> None:
    """Add one search to its row, creating it: one INSERT … ON CONFLICT DO
    UPDATE, so two workers counting the same search at once both count."""
    table = UnmetSearch.__table__
    dialect = connection.dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    statement = insert(table).values(
        month=key.month, words=key.words, filters=key.filters, municipality=key.municipality,
        searches=1, found_nothing=int(found_nothing),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.month, table.c.words, table.c.filters, table.c.municipality],
        set_={
            "searches": table.c.searches + 1,
            "found_nothing": table.c.found_nothing + int(found_nothing),
        },
    )
    connection.execute(statement)


def count(engine: Engine, key: UnmetKey, found_nothing: bool) -> None:
    """Count one search in its own transaction; a failure is logged only."""
    try:
        with engine.begin() as connection:
            increment(connection, key, found_nothing)
    except Exception:
        log.exception("could not count an unmet search")


def count_after_response(response, engine: Engine, result: search.SearchPage, request,
                         now: datetime | None = None) -> None:
    """Count the search once the response is sent, when it found fewer than
    UNMET_BELOW services and is not a repeat (see the module's docstring).
    `request` is read for its page number (the result's is clamped to the
    last page), path and headers."""
    try:
        key = unmet_key(result, now or datetime.now(RIGA))
        if (key is None or search.parse_filters(request.args).page > 1
                or is_repeat(result.filters, request.path, request.headers)):
            return
    except Exception:
        log.exception("could not tell whether a search is unmet")
        return
    response.call_on_close(lambda: count(engine, key, result.total == 0))


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class UnmetRow:
    municipality: str
    words: str
    filters: str
    searches: int
    found_nothing: int


@dataclass
class MunicipalityFigures:
    """A month's figures for one municipality ("" for none known)."""

    municipality: str
    searches: int = 0
    found_nothing: int = 0
    other_searches: int = 0  # of `searches`, those in rows under K_ANONYMITY
    other_found_nothing: int = 0
    declined_no_places: int = 0


@dataclass
class MonthReport:
    month: str
    rows: list[UnmetRow] = field(default_factory=list)  # K_ANONYMITY searches or more, most first
    by_municipality: list[MunicipalityFigures] = field(default_factory=list)

    @property
    def searches(self) -> int:
        return sum(figures.searches for figures in self.by_municipality)

    @property
    def declined_no_places(self) -> int:
        return sum(figures.declined_no_places for figures in self.by_municipality)


def default_months(today: date) -> list[str]:
    """This month and the one before, newest first."""
    this_month = today.replace(day=1)
    return [this_month.strftime("%Y-%m"), add_months(this_month, -1).strftime("%Y-%m")]


def month_choices(session: Session, today: date) -> list[str]:
    """Every month with counted searches, and this and the previous month; newest first."""
    counted = session.scalars(select(UnmetSearch.month).distinct())
    return sorted(set(counted) | set(default_months(today)), reverse=True)


def is_month(value: str) -> bool:
    return bool(MONTH.fullmatch(value or ""))


def _municipality_key(code: str) -> tuple[bool, str]:
    found = municipalities.get(code)
    return (not code, fold(found.name) if found else code)


def report(session: Session, months: list[str]) -> list[MonthReport]:
    """Per month, the rows used by K_ANONYMITY searches or more and, per
    municipality, all searches, those in smaller rows, and referrals declined
    for lack of places."""
    declined = declined_no_places(session, months)
    reports = []
    for month in months:
        figures: dict[str, MunicipalityFigures] = {}
        shown = []
        for row in session.scalars(select(UnmetSearch).where(UnmetSearch.month == month)):
            place = figures.setdefault(row.municipality, MunicipalityFigures(row.municipality))
            place.searches += row.searches
            place.found_nothing += row.found_nothing
            if row.searches >= K_ANONYMITY:
                shown.append(UnmetRow(row.municipality, row.words, row.filters, row.searches, row.found_nothing))
            else:
                place.other_searches += row.searches
                place.other_found_nothing += row.found_nothing
        for (declined_month, code), number in declined.items():
            if declined_month == month:
                figures.setdefault(code, MunicipalityFigures(code)).declined_no_places += number
        shown.sort(key=lambda r: (-r.searches, -r.found_nothing, _municipality_key(r.municipality), r.words, r.filters))
        reports.append(MonthReport(
            month, shown, sorted(figures.values(), key=lambda f: _municipality_key(f.municipality))
        ))
    return reports


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    first = date(int(month[:4]), int(month[5:]), 1)
    following = add_months(first, 1)
    return tuple(  # type: ignore[return-value]
        datetime(day.year, day.month, 1, tzinfo=RIGA).astimezone(timezone.utc) for day in (first, following)
    )


def declined_no_places(session: Session, months: list[str]) -> dict[tuple[str, str], int]:
    """Referrals declined for lack of places, by the month they were sent
    (as the referral statistics count them) and the municipality of their
    service where its addresses name one ("" otherwise)."""
    found: dict[tuple[str, str], int] = {}
    service_months: list[tuple[str, str | None]] = []
    for month in months:
        start, end = _month_bounds(month)
        service_ids = session.scalars(
            select(Referral.service_id).where(
                Referral.status == "declined",
                Referral.decline_reason == DECLINED_NO_PLACES,
                Referral.created_at >= start,
                Referral.created_at < end,
            )
        )
        service_months += [(month, service_id) for service_id in service_ids]
    places = service_municipalities(session, {s for _, s in service_months if s})
    for month, service_id in service_months:
        key = (month, places.get(service_id, "") if service_id else "")
        found[key] = found.get(key, 0) + 1
    return found


def service_municipalities(session: Session, service_ids: set[str]) -> dict[str, str]:
    """The municipality code of each service whose addresses all lie in one
    (named, or found from the town); services in several or none are left out."""
    codes: dict[str, set[str]] = {}
    rows = session.execute(
        select(ServiceAtLocation.service_id, Address.municipality, Address.city)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .join(Address, Address.location_id == Location.id)
        .where(ServiceAtLocation.service_id.in_(service_ids))
    )
    for service_id, municipality_name, city in rows:
        found = municipalities.find_by_name(municipality_name or "")
        if found is None and city:
            found = municipalities.resolve(city).municipality
        if found is not None:
            codes.setdefault(service_id, set()).add(found.code)
    return {service_id: next(iter(found)) for service_id, found in codes.items() if len(found) == 1}


def csv_text(reports: list[MonthReport]) -> str:
    """The page's figures, one row each: kind "search" (a row shown),
    "other-searches" (rows under the threshold, without words) and
    "declined-no-places"; header and kinds in English for scripts."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for month_report in reports:
        month = month_report.month
        for row in month_report.rows:
            writer.writerow((month, row.municipality, "search", csv_safe(row.words), csv_safe(row.filters),
                             row.searches, row.found_nothing, ""))
        for figures in month_report.by_municipality:
            if figures.other_searches:
                writer.writerow((month, figures.municipality, "other-searches", "", "",
                                 figures.other_searches, figures.other_found_nothing, ""))
            if figures.declined_no_places:
                writer.writerow((month, figures.municipality, "declined-no-places", "", "", "", "",
                                 figures.declined_no_places))
    return out.getvalue()
