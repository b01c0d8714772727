"""Resident search: full-text matching that ignores case and diacritics,
filters, facet counts and paging. Plain functions over a session; the view
only parses the query string and renders.

The full-text index lives in the database and is kept in sync by triggers
(migration 0002): an FTS5 table on SQLite, a tsvector table on PostgreSQL.
Both sit behind `FullTextBackend`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from sqlalchemy import (
    Float,
    String,
    and_,
    distinct,
    exists,
    func,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import ColumnElement, Select

from .models import (
    Address,
    Language,
    Location,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    service_taxonomy_term,
)
from .opening_hours import COUNTRY_TIMEZONES, LocalMoment

PAGE_SIZE = 20
MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 8
MAX_PAGE = 10_000
# Languages a resident can ask for even before any listing names them.
BASE_LANGUAGES = ("lv", "lt", "ru", "en")
# Names of the tables the search index adds (not in the models; see 0002).
SEARCH_INDEX_TABLES = ("service_fts", "service_search")


def is_search_index_table(name: str) -> bool:
    return name.startswith(SEARCH_INDEX_TABLES)


def include_in_autogenerate(name, type_, parent_names) -> bool:
    """Alembic hook: the index tables are made by hand in migration 0002."""
    return not (type_ == "table" and is_search_index_table(name or ""))


# ---------------------------------------------------------------- the query


@dataclass(frozen=True)
class SearchFilters:
    """Everything a search is: it round-trips through the query string."""

    q: str = ""
    place: str = ""
    type: str = ""
    group: str = ""
    language: str = ""
    free: bool = False
    wheelchair: bool = False
    open: bool = False
    page: int = 1

    FLAGS = ("free", "wheelchair", "open")
    CHOICES = ("place", "type", "group", "language")

    def to_args(self, **changes) -> dict[str, str | int]:
        """Query-string arguments, without defaults, for url_for()."""
        filters = replace(self, **changes)
        args: dict[str, str | int] = {}
        for name in ("q", *self.CHOICES):
            if getattr(filters, name):
                args[name] = getattr(filters, name)
        for name in self.FLAGS:
            if getattr(filters, name):
                args[name] = 1
        if filters.page > 1:
            args["page"] = filters.page
        return args

    @property
    def active(self) -> bool:
        return bool(self.q or any(getattr(self, n) for n in (*self.CHOICES, *self.FLAGS)))


def _first(args: Mapping, name: str) -> str:
    value = args.get(name, "")
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()


def parse_filters(args: Mapping) -> SearchFilters:
    """Read a query string forgivingly: whatever comes in, a valid search
    comes out (a long q is cut, a bad page number is page 1)."""
    q = " ".join(_first(args, "q").split())[:MAX_QUERY_LENGTH]
    try:
        page = int(_first(args, "page") or 1)
    except ValueError:
        page = 1
    return SearchFilters(
        q=q,
        place=_first(args, "place")[:200],
        type=_first(args, "type")[:60],
        group=_first(args, "group")[:60],
        language=_first(args, "language")[:8],
        free=_first(args, "free") in ("1", "on", "true"),
        wheelchair=_first(args, "wheelchair") in ("1", "on", "true"),
        open=_first(args, "open") in ("1", "on", "true"),
        page=min(max(page, 1), MAX_PAGE),
    )


# ------------------------------------------------------------ tokenisation

# Latvian and Lithuanian case endings, longest first, without diacritics.
_ENDINGS = sorted(
    {
        "iem", "ams", "ems", "ims", "oms", "ose", "yse", "uose", "ius", "ais",
        "am", "em", "im", "um", "os", "as", "es", "is", "us", "ys", "ai", "ei", "ui",
        "s", "a", "e", "i", "u", "o", "y",
    },
    key=len,
    reverse=True,
)
_MIN_STEM = 4


def strip_diacritics(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def light_stem(word: str) -> str:
    """Drop one inflection ending so that 'krīzes' finds 'krīzes centrs' and
    'seniori' finds 'senioriem'; matching is by prefix, so the stem suffices."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


def query_terms(q: str) -> list[str]:
    """Words of a query as safe search terms: letters and digits only, folded
    and stemmed. Operators, quotes and punctuation are dropped, never parsed."""
    words = re.findall(r"\w+", strip_diacritics(q.casefold()))
    terms: list[str] = []
    for word in words:
        word = word.replace("_", "")
        if word and (stem := light_stem(word)) not in terms:
            terms.append(stem)
    return terms[:MAX_QUERY_TERMS]


# --------------------------------------------------------- full-text backends


class FullTextBackend:
    """Turns search terms into a subquery of (service_id, rank); lower rank first."""

    def matches(self, terms: list[str]):
        raise NotImplementedError


class SqliteFullText(FullTextBackend):
    # bm25 column weights: name, centre, terms, place, body.
    RANK = "bm25(service_fts, 10.0, 8.0, 3.0, 3.0, 1.0)"

    def matches(self, terms: list[str]):
        match = " ".join(f'"{term}"*' for term in terms)
        return (
            text(
                f"SELECT s.id AS service_id, {self.RANK} AS rank "
                "FROM service_fts JOIN service s ON s.rowid = service_fts.rowid "
                "WHERE service_fts MATCH :match"
            )
            .bindparams(match=match)
            .columns(service_id=String, rank=Float)
            .subquery("fts")
        )


class PostgresFullText(FullTextBackend):
    def matches(self, terms: list[str]):
        tsquery = " & ".join(f"{term}:*" for term in terms)
        return (
            text(
                "SELECT service_id, -ts_rank(document, query) AS rank "
                "FROM service_search, to_tsquery('simple', unaccent(:tsquery)) AS query "
                "WHERE document @@ query"
            )
            .bindparams(tsquery=tsquery)
            .columns(service_id=String, rank=Float)
            .subquery("fts")
        )


def full_text_backend(session: Session) -> FullTextBackend:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return PostgresFullText()
    return SqliteFullText()


# --------------------------------------------------------------- the result


@dataclass
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchPage:
    filters: SearchFilters
    total: int
    services: list[Service]
    facets: dict[str, list[FacetOption]] = field(default_factory=dict)
    flag_counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))


@dataclass
class Vocabulary:
    """The values each filter accepts, with their labels in one language."""

    types: dict[str, TaxonomyTerm]
    groups: dict[str, TaxonomyTerm]
    places: list[str]
    languages: list[str]


def load_vocabulary(session: Session) -> Vocabulary:
    def terms_of(code: str) -> dict[str, TaxonomyTerm]:
        query = (
            select(TaxonomyTerm)
            .join(Taxonomy)
            .where(Taxonomy.code == code)
            .options(selectinload(TaxonomyTerm.labels))
            .order_by(TaxonomyTerm.position, TaxonomyTerm.code)
        )
        return {term.code: term for term in session.scalars(query)}

    cities = select(Address.city.label("place")).where(Address.city.is_not(None))
    municipalities = select(Address.municipality.label("place")).where(
        Address.municipality.is_not(None)
    )
    places = {p for p in session.scalars(select(union_all(cities, municipalities).subquery().c.place)) if p}
    languages = list(BASE_LANGUAGES) + sorted(
        set(session.scalars(select(Language.code).distinct())) - set(BASE_LANGUAGES)
    )
    return Vocabulary(
        types=terms_of("service-type"),
        groups=terms_of("target-group"),
        places=sorted(places, key=lambda p: strip_diacritics(p).casefold()),
        languages=languages,
    )


def normalise_filters(filters: SearchFilters, vocabulary: Vocabulary) -> SearchFilters:
    """Drop filter values nothing could match (unknown codes from an old or
    hand-edited link) instead of failing."""
    return replace(
        filters,
        type=filters.type if filters.type in vocabulary.types else "",
        group=filters.group if filters.group in vocabulary.groups else "",
        place=filters.place if filters.place in vocabulary.places else "",
        language=filters.language if filters.language in vocabulary.languages else "",
    )


# ------------------------------------------------------------- conditions


def _has_term(term: TaxonomyTerm) -> ColumnElement[bool]:
    stt = service_taxonomy_term
    return exists().where(stt.c.service_id == Service.id, stt.c.taxonomy_term_id == term.id)


def _at_place(place: str) -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(ServiceAtLocation)
        .join(Address, Address.location_id == ServiceAtLocation.location_id)
        .where(
            ServiceAtLocation.service_id == Service.id,
            or_(Address.city == place, Address.municipality == place),
        )
    )


def _speaks(code: str) -> ColumnElement[bool]:
    at_service = exists().where(Language.service_id == Service.id, Language.code == code)
    at_location = exists(
        select(1)
        .select_from(ServiceAtLocation)
        .join(Language, Language.location_id == ServiceAtLocation.location_id)
        .where(ServiceAtLocation.service_id == Service.id, Language.code == code)
    )
    return or_(at_service, at_location)


def _wheelchair_accessible() -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(ServiceAtLocation)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(ServiceAtLocation.service_id == Service.id, Location.wheelchair_accessible.is_(True))
    )


def _open_at(now: datetime) -> ColumnElement[bool]:
    """A schedule of the service, or of a location it is at, covers the local
    time in the location's country, and today is not a public holiday there
    (unless the schedule opens on holidays)."""
    per_country = []
    for country in COUNTRY_TIMEZONES:
        moment = LocalMoment.of(country, now)
        schedule_applies = and_(
            Schedule.byday == moment.weekday,
            Schedule.opens_at <= moment.time,
            Schedule.closes_at > moment.time,
            or_(Schedule.valid_from.is_(None), Schedule.valid_from <= moment.day),
            or_(Schedule.valid_to.is_(None), Schedule.valid_to >= moment.day),
        )
        if moment.holiday:
            schedule_applies = and_(schedule_applies, Schedule.open_on_public_holidays.is_(True))
        per_country.append(
            exists(
                select(1)
                .select_from(ServiceAtLocation)
                .join(Address, Address.location_id == ServiceAtLocation.location_id)
                .join(
                    Schedule,
                    or_(
                        Schedule.service_id == ServiceAtLocation.service_id,
                        Schedule.location_id == ServiceAtLocation.location_id,
                    ),
                )
                .where(
                    ServiceAtLocation.service_id == Service.id,
                    Address.country == country,
                    schedule_applies,
                )
            )
        )
    return or_(*per_country)


def _conditions(
    filters: SearchFilters, vocabulary: Vocabulary, now: datetime, leave_out: str | None = None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Service.status == "active"]
    if filters.type and leave_out != "type":
        conditions.append(_has_term(vocabulary.types[filters.type]))
    if filters.group and leave_out != "group":
        conditions.append(_has_term(vocabulary.groups[filters.group]))
    if filters.place and leave_out != "place":
        conditions.append(_at_place(filters.place))
    if filters.language and leave_out != "language":
        conditions.append(_speaks(filters.language))
    if filters.free and leave_out != "free":
        conditions.append(Service.free_of_charge.is_(True))
    if filters.wheelchair and leave_out != "wheelchair":
        conditions.append(_wheelchair_accessible())
    if filters.open and leave_out != "open":
        conditions.append(_open_at(now))
    return conditions


# ------------------------------------------------------------------ search


def search_services(
    session: Session,
    filters: SearchFilters,
    locale: str = "lv",
    now: datetime | None = None,
    vocabulary: Vocabulary | None = None,
    with_facets: bool = True,
) -> SearchPage:
    """One page of services matching `filters`, best matches first (name
    matches before description matches), then by name; with facet counts."""
    now = now or datetime.now(timezone.utc)
    vocabulary = vocabulary or load_vocabulary(session)
    filters = normalise_filters(filters, vocabulary)
    terms = query_terms(filters.q)
    fts = full_text_backend(session).matches(terms) if terms else None

    def matching(leave_out: str | None = None) -> Select:
        query = select(Service.id).where(*_conditions(filters, vocabulary, now, leave_out))
        if fts is not None:
            query = query.join(fts, fts.c.service_id == Service.id)
        return query

    total = session.scalar(select(func.count()).select_from(matching().subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if filters.page > pages:
        filters = replace(filters, page=pages)

    order = [Service.name, Service.id]
    page_query = select(Service).where(*_conditions(filters, vocabulary, now))
    if fts is not None:
        page_query = page_query.join(fts, fts.c.service_id == Service.id)
        order.insert(0, fts.c.rank)
    page_query = (
        page_query.options(
            selectinload(Service.organization),
            selectinload(Service.taxonomy_terms).selectinload(TaxonomyTerm.labels),
            selectinload(Service.taxonomy_terms).selectinload(TaxonomyTerm.taxonomy),
            selectinload(Service.schedules),
            selectinload(Service.service_at_locations)
            .selectinload(ServiceAtLocation.location)
            .selectinload(Location.addresses),
            selectinload(Service.service_at_locations)
            .selectinload(ServiceAtLocation.location)
            .selectinload(Location.schedules),
        )
        .order_by(*order)
        .limit(PAGE_SIZE)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    services = list(session.scalars(page_query))
    result = SearchPage(filters=filters, total=total, services=services)
    if with_facets:
        result.facets = _facets(session, filters, vocabulary, locale, matching)
        result.flag_counts = {
            flag: _count(session, matching(flag).where(_flag_condition(flag, now)))
            for flag in SearchFilters.FLAGS
        }
    return result


def _flag_condition(flag: str, now: datetime) -> ColumnElement[bool]:
    if flag == "free":
        return Service.free_of_charge.is_(True)
    if flag == "wheelchair":
        return _wheelchair_accessible()
    return _open_at(now)


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _facets(session, filters, vocabulary, locale, matching) -> dict[str, list[FacetOption]]:
    stt = service_taxonomy_term

    def term_counts(leave_out: str) -> dict[str, int]:
        ids = matching(leave_out).subquery()
        rows = session.execute(
            select(stt.c.taxonomy_term_id, func.count())
            .join(ids, ids.c.id == stt.c.service_id)
            .group_by(stt.c.taxonomy_term_id)
        )
        return dict(rows.all())

    def term_options(name: str, terms: dict[str, TaxonomyTerm]) -> list[FacetOption]:
        counts = term_counts(name)
        selected = getattr(filters, name)
        return [
            FacetOption(code, term.label(locale), counts.get(term.id, 0), code == selected)
            for code, term in terms.items()
        ]

    place_ids = matching("place").subquery()
    located = (
        select(ServiceAtLocation.service_id, Address.city, Address.municipality)
        .join(Address, Address.location_id == ServiceAtLocation.location_id)
        .join(place_ids, place_ids.c.id == ServiceAtLocation.service_id)
        .subquery()
    )
    by_place = union_all(
        select(located.c.service_id, located.c.city.label("place")),
        select(located.c.service_id, located.c.municipality.label("place")),
    ).subquery()
    place_counts = dict(
        session.execute(
            select(by_place.c.place, func.count(distinct(by_place.c.service_id)))
            .where(by_place.c.place.is_not(None))
            .group_by(by_place.c.place)
        ).all()
    )

    language_ids = matching("language").subquery()
    spoken = union_all(
        select(Language.service_id.label("service_id"), Language.code).where(
            Language.service_id.is_not(None)
        ),
        select(ServiceAtLocation.service_id, Language.code).join(
            Language, Language.location_id == ServiceAtLocation.location_id
        ),
    ).subquery()
    language_counts = dict(
        session.execute(
            select(spoken.c.code, func.count(distinct(spoken.c.service_id)))
            .join(language_ids, language_ids.c.id == spoken.c.service_id)
            .group_by(spoken.c.code)
        ).all()
    )

    return {
        "type": term_options("type", vocabulary.types),
        "group": term_options("group", vocabulary.groups),
        "place": [
            FacetOption(p, p, place_counts.get(p, 0), p == filters.place) for p in vocabulary.places
        ],
        "language": [
            FacetOption(code, code, language_counts.get(code, 0), code == filters.language)
            for code in vocabulary.languages
        ],
    }


def service_country(service: Service) -> str:
    for link in service.service_at_locations:
        address = link.location.physical_address
        if address:
            return address.country
    return "LV"


def service_schedules(service: Service) -> list[Schedule]:
    """The service's own hours, else those of the locations it is offered at."""
    if service.schedules:
        return list(service.schedules)
    schedules: list[Schedule] = []
    for link in service.service_at_locations:
        schedules.extend(link.location.schedules)
    return schedules

