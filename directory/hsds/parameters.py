"""The API's query parameters: which ones each endpoint takes, and each read
strictly. A parameter an endpoint does not take, or a value the API cannot
read, is a 400 that names the parameter: never silently another answer
than the one asked for."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ..search import MAX_PAGE

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# `minimal` answers are tiny: HSDS asks for every service "within one call".
MAX_MINIMAL_PER_PAGE = 10_000
FORMATS = ("json", "ndjson")
# The directory's own search filters, read as the website reads its query
# string (forgivingly: an unknown code is no filter), on /services and
# /service_at_locations.
DIRECTORY_FILTERS = ("place", "type", "group", "language", "free", "wheelchair", "open", "near", "radius")

_PAGED = ("page", "per_page", "format")
# Every parameter each endpoint takes (by view name): those of the official
# HSDS 3.1 document, plus the directory's filters. Anything else is a 400.
ENDPOINT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "services": (
        "search", *_PAGED, "taxonomy_term_id", "taxonomy_id", "organization_id", "modified_after",
        "minimal", "full", *DIRECTORY_FILTERS,
    ),
    "taxonomies": ("search", *_PAGED),
    "taxonomy_terms": ("search", *_PAGED, "taxonomy_id", "top_only", "parent_id"),
    "organizations": ("search", "full_service", "full", "taxonomy_term_id", "taxonomy_id", *_PAGED),
    "organization": ("full_service",),
    "service_at_locations": (
        "search", "taxonomy_term_id", "taxonomy_id", "organization_id", "modified_after", "full", *_PAGED,
        "postcode", "proximity", *DIRECTORY_FILTERS,
    ),
}

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Latvian postal codes have four digits, Lithuanian ones five.
POSTCODE_PATTERN = "^(LV-?[0-9]{4}|LT-?[0-9]{5})$"
_UUID = re.compile(UUID_PATTERN)
_POSTCODE = re.compile(POSTCODE_PATTERN)
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,12}")
# RFC 3339 (a date alone is midnight UTC; a time without a zone is UTC).
_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_DECIMAL = re.compile(r"[0-9.eE+-]+")


class InvalidQuery(ValueError):
    """A request the API refuses (400) instead of guessing what was meant;
    `parameter` names the query parameter at fault."""

    def __init__(self, message: str, parameter: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.details = {"parameter": parameter, **details} if parameter else details


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class ListQuery:
    """What a list request asks for, every value read and checked."""

    search: str = ""
    paging: Paging = Paging()
    stream: bool = False  # format=ndjson: every result, one JSON object a line
    full: bool = False
    minimal: bool = False
    full_service: bool = False
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    organization_id: str | None = None
    parent_id: str | None = None
    top_only: bool = False
    modified_after: datetime | None = None
    postcode: str | None = None
    proximity_m: float | None = None
    website: dict[str, str] = field(default_factory=dict)  # the directory's filters, raw


def check_names(args: Mapping, endpoint: str) -> None:
    """Every parameter is one `endpoint` takes, each given once (a second
    value would be left unread)."""
    allowed = ENDPOINT_PARAMETERS.get(endpoint, ())
    unknown = [name for name in args if name not in allowed]
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        listed = ", ".join(repr(name) for name in unknown)
        raise InvalidQuery(
            f"Unknown parameter {listed}: this endpoint takes {takes} (see /api/openapi.json)",
            parameter=unknown[0],
        )
    for name in args:
        if len(args.getlist(name)) > 1:
            raise InvalidQuery(f"{name} is given more than once", parameter=name)


def read_query(args: Mapping) -> ListQuery:
    """A list request's parameters (their names are checked by check_names)."""
    stream = _choice(args, "format", FORMATS, "json") == "ndjson"
    minimal = read_boolean(args, "minimal")
    full = read_boolean(args, "full")
    if minimal and full:
        raise InvalidQuery("minimal and full cannot both be true", parameter="minimal")
    if stream:
        for name in ("page", "per_page"):
            if name in args:
                raise InvalidQuery(f"{name} does not apply with format=ndjson, which streams every result",
                                   parameter=name)
    most = MAX_MINIMAL_PER_PAGE if minimal else MAX_PER_PAGE
    postcode = _postcode(args)
    proximity_m = _positive_number(args, "proximity")
    if proximity_m is not None and postcode is None:
        raise InvalidQuery("proximity needs a postcode to measure from", parameter="proximity")
    return ListQuery(
        search=args.get("search", ""),
        paging=Paging(
            page=_bounded_int(args, "page", 1, 1, MAX_PAGE),
            per_page=_bounded_int(args, "per_page", most if minimal else DEFAULT_PER_PAGE, 1, most),
        ),
        stream=stream,
        full=full,
        minimal=minimal,
        full_service=read_boolean(args, "full_service"),
        taxonomy_term_id=_uuid(args, "taxonomy_term_id"),
        taxonomy_id=_uuid(args, "taxonomy_id"),
        organization_id=_uuid(args, "organization_id"),
        parent_id=_uuid(args, "parent_id"),
        top_only=read_boolean(args, "top_only"),
        modified_after=_datetime(args, "modified_after"),
        postcode=postcode,
        proximity_m=proximity_m,
        website={name: args[name] for name in DIRECTORY_FILTERS if name in args},
    )


def read_boolean(args: Mapping, name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise InvalidQuery(f"{name} must be true or false", parameter=name)
    return raw == "true"


def _bounded_int(args: Mapping, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidQuery(f"{name} must be a whole number from {low} to {high}", parameter=name)
    return int(raw)


def _choice(args: Mapping, name: str, choices: tuple[str, ...], default: str) -> str:
    raw = args.get(name, default)
    if raw not in choices:
        raise InvalidQuery(f"{name} must be one of: {', '.join(choices)}", parameter=name)
    return raw


def _uuid(args: Mapping, name: str) -> str | None:
    """Ids are UUIDs: anything else names no record, and says so. A well-formed
    id of no record is a filter that matches nothing."""
    raw = args.get(name)
    if raw is None:
        return None
    if not _UUID.fullmatch(raw):
        raise InvalidQuery(f"{name} must be a UUID, such as a record's id", parameter=name)
    return raw


def _postcode(args: Mapping) -> str | None:
    """LV-1234 or LT-12345 (the hyphen may be left out), as LV-1234."""
    raw = args.get("postcode")
    if raw is None:
        return None
    if not _POSTCODE.fullmatch(raw):
        raise InvalidQuery("postcode must be a Latvian (LV-1234) or Lithuanian (LT-12345) postal code",
                           parameter="postcode")
    return normalise_postcode(raw)


def normalise_postcode(text: str) -> str | None:
    """A postal code as LV-1234 / LT-12345, from how addresses write them
    (with or without the hyphen, a space, lower case; a bare four-digit
    code is Latvian, five digits Lithuanian); None when it is none."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    found = re.fullmatch(r"(LV|LT)?([0-9]{4,5})", compact)
    if not found:
        return None
    country, digits = found.groups()
    country = country or ("LV" if len(digits) == 4 else "LT")
    if len(digits) != (4 if country == "LV" else 5):
        return None
    return f"{country}-{digits}"


def _positive_number(args: Mapping, name: str) -> float | None:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        value = float(raw) if _DECIMAL.fullmatch(raw) else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InvalidQuery(f"{name} must be a number of metres greater than 0", parameter=name)
    return value


def _datetime(args: Mapping, name: str) -> datetime | None:
    """An RFC 3339 date-time (2024-05-01T12:00:00Z, with any offset or
    fraction) or a date (midnight UTC), as an aware UTC datetime."""
    raw = args.get(name)
    if raw is None:
        return None
    found = _DATETIME.fullmatch(raw)
    try:
        if not found:
            raise ValueError(raw)
        day = date.fromisoformat(found["date"])
        second = int(found["second"] or 0)
        value = datetime(
            day.year, day.month, day.day, int(found["hour"] or 0), int(found["minute"] or 0),
            min(second, 59),  # a leap second (:60) reads as the second before it
            int((found["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(found["zone"]),
        )
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise InvalidQuery(
            f"{name} must be a date-time such as 2024-05-01T12:00:00Z (RFC 3339) or a date",
            parameter=name,
        ) from None


def _zone(text: str | None) -> timezone:
    if not text or text in "Zz":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
