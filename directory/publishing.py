"""Centres keep their own listings: editing, history, reverts, "still correct".

Plain functions over a session; the manage views call them and commit. Every
change goes through `apply_changes`, which knows the editable fields of each
entity type (the registry `FIELDS`: each field said once, with its label, kind
and how residents see it), records only what really changed as a
`Revision` ({field: [before, after]}) and an audit event; a new or changed
address gets its map position there too (geocoding). Optimistic locking
uses the `version` column of organizations, locations and services: a form
carries the version it was loaded with (`check_version`), and two saves at the
same moment are told apart by the database (`commit`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from types import SimpleNamespace
from typing import Any

from flask import g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from . import audit, costs, geocoding, identifiers, municipalities
from .listings import in_weekly_table, local_today, shown_hours, stale_after_days
from .models import (
    COUNTRIES,
    SERVICE_STATUSES,
    WEEKDAYS,
    Accessibility,
    Address,
    CostOption,
    Language,
    Location,
    Organization,
    OrganizationIdentifier,
    Phone,
    ProblemReport,
    RequiredDocument,
    Revision,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    User,
    new_id,
    utcnow,
)
from .recurrence import describe, weekdays_of
from .templating import country_name, language_name, weekday_name

# Languages an editor can tick for a service (ISO 639-1).
SPOKEN_LANGUAGES = ("lv", "lt", "ru", "en", "pl", "be", "uk")
# Revisions an admin can undo: their "before" values are plain field values.
REVERTIBLE_ACTIONS = ("update", "retire", "revert")
SERVICE_TYPES = "service-type"
# "What to bring": at most this many items, each at most this long (the column's length).
MAX_REQUIRED_DOCUMENTS = 20
MAX_REQUIRED_DOCUMENT_LENGTH = 500
# Rows one record holds: generous for a real centre, and a bound on what a
# page, a form or a worker's memory has to carry. The dashboard's forms and
# the import use the same caps.
MAX_PHONES = 50
MAX_HOUR_ROWS = 50
TARGET_GROUPS = "target-group"

MODELS: dict[str, type] = {"organization": Organization, "location": Location, "service": Service}


class EditConflict(Exception):
    """Someone saved the record after the form was loaded. `current` holds the
    record's values as saved now, `version` its current version."""

    def __init__(self, entity_type: str, current: dict[str, Any], version: int | None):
        super().__init__(f"{entity_type} was changed by someone else (now version {version})")
        self.entity_type = entity_type
        self.current = current
        self.version = version


# ------------------------------------------------------------ value cleaning
# Every value is cleaned before it is compared or stored, so that a form that
# sends "" for an empty field, or lists in another order, changes nothing.


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"text expected, got {value!r}")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value or None


def _text_not_null(value: Any) -> str:
    return _text(value) or ""


def _name(value: Any) -> str:
    value = _text(value)
    if not value:
        raise ValueError("a name is required")
    return value


def _bool_or_none(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in ("", "unknown"):
        return None
    if value in ("yes", "true", "1"):
        return True
    if value in ("no", "false", "0"):
        return False
    raise ValueError(f"yes, no or None expected, got {value!r}")


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a number expected")
    number = int(value)
    if number < 0:
        raise ValueError("a number of at least 0 expected")
    return number


def _choice(choices: Iterable[str], upper: bool = False) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def clean(value: Any) -> str:
        if isinstance(value, str) and upper:
            value = value.strip().upper()
        if value not in allowed:
            raise ValueError(f"one of {allowed} expected, got {value!r}")
        return value

    return clean


def _codes(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"a list of codes expected, got {value!r}")
    codes = {str(code).strip() for code in value}
    return sorted(code for code in codes if code)


_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


def parse_time(value: Any) -> time:
    """'9:00', '09:00' or '09:00:00' as a time; ValueError otherwise."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"a time as HH:MM expected, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _hhmm(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _hours_key(row: Mapping[str, Any]) -> tuple:
    day = row.get("day")
    return (WEEKDAYS.index(day) if day in WEEKDAYS else 99, row.get("opens") or "", row.get("closes") or "")


def _at_most(value: Any, limit: int, what: str) -> list:
    rows = list(value or [])
    if len(rows) > limit:
        raise ValueError(f"at most {limit} {what} expected, got {len(rows)}")
    return rows


# Opening hours. The value of the "hours" field is a list of rows of two sorts:
# - what the dashboard's form edits, one interval on one weekday:
#   {"day": "MO", "opens": "09:00", "closes": "17:00", "holidays": False};
# - a schedule the form cannot show (an imported rule: fortnightly, monthly,
#   dated, in a UTC offset, only a description…), kept as it is:
#   {"rule": {part: value}, "holidays": False}, its parts named as the
#   Schedule's columns (dates as YYYY-MM-DD, times as HH:MM), empty ones left
#   out. Kept rules are recorded in revisions so that the history can say them
#   in words, but the field never changes them: saving the hours keeps the
#   record's own (`_with_kept_hours`), whatever the value says of them.
_RULE_TEXTS = ("freq", "byday", "bymonthday", "byweekno", "byyearday", "wkst", "description", "notes")
_RULE_NUMBERS = ("interval", "count")
_RULE_DATES = ("dtstart", "until", "valid_from", "valid_to")
_RULE_TIMES = ("opens_at", "closes_at")
_RULE_PARTS = (*_RULE_TEXTS, *_RULE_NUMBERS, *_RULE_DATES, *_RULE_TIMES, "timezone")


def form_days(schedule: Schedule) -> frozenset[str] | None:
    """The weekdays a schedule is on as rows of the hours form (one row a
    day), or None when the form cannot show it and keeps it as it is. The
    form shows what the weekly table says all about (listings.in_weekly_table:
    every week on plain weekdays, both times, no offset, no dates, no notes);
    a weekday list ("MO,TU,WE") shows as one row on each of its days."""
    if not in_weekly_table(schedule):
        return None
    return weekdays_of(schedule)


def is_kept_hours(row: Any) -> bool:
    """Whether a row of an hours value is a rule the form keeps as it is."""
    return isinstance(row, Mapping) and "rule" in row


def _rule_row(schedule: Schedule) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for name in _RULE_PARTS:
        value = getattr(schedule, name)
        if value is None or value == "":
            continue
        if name in _RULE_DATES:
            value = value.isoformat()
        elif name in _RULE_TIMES:
            value = _hhmm(value)
        parts[name] = value
    return {"rule": parts, "holidays": bool(schedule.open_on_public_holidays)}


def _rule_sort_key(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)


def _clean_rule_row(row: Mapping[str, Any]) -> dict[str, Any]:
    given = row.get("rule")
    if not isinstance(given, Mapping):
        raise ValueError(f"the parts of a rule expected, got {given!r}")
    parts: dict[str, Any] = {}
    for name in _RULE_PARTS:
        value = given.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise ValueError(f"{name}: not a yes or no, got {value!r}")
        try:
            if name in _RULE_TEXTS:
                if not isinstance(value, str):
                    raise ValueError(f"{name}: a text expected, got {value!r}")
            elif name in _RULE_NUMBERS:
                value = int(value)
            elif name in _RULE_DATES:
                value = date.fromisoformat(str(value)).isoformat()
            elif name in _RULE_TIMES:
                value = _hhmm(parse_time(value))
            else:  # timezone: a UTC offset in hours
                value = float(value)
        except TypeError as error:
            raise ValueError(f"{name}: {error}") from error
        parts[name] = value
    return {"rule": parts, "holidays": bool(row.get("holidays"))}


def _rule_view(parts: Mapping[str, Any]) -> SimpleNamespace:
    """A recorded rule as the attributes recurrence.describe reads; a part
    that does not read (an old or hand-made value) as not stated."""

    def read(name: str) -> Any:
        value = parts.get(name)
        if value is None or value == "" or isinstance(value, bool):
            return None
        try:
            if name in _RULE_DATES:
                return date.fromisoformat(str(value))
            if name in _RULE_TIMES:
                return parse_time(value)
            if name in _RULE_NUMBERS:
                return int(value)
            if name == "timezone":
                return float(value)
        except (TypeError, ValueError):
            return None
        return value if isinstance(value, str) else None

    return SimpleNamespace(**{name: read(name) for name in _RULE_PARTS})


def _hours(value: Any) -> list[dict[str, Any]]:
    """The form's rows (checked, sorted by day and time), then the kept rules
    (in a stable order). An older revision's row holding a weekday list
    ("MO,TU") counts as one row on each of its days."""
    if isinstance(value, (str, Mapping)):
        raise ValueError(f"a list of opening hours rows expected, got {value!r}")
    rows, kept = [], []
    for row in _at_most(value, 2 * MAX_HOUR_ROWS, "opening hours rows and kept rules"):
        if not isinstance(row, Mapping):
            raise ValueError(f"an opening hours row expected, got {row!r}")
        if is_kept_hours(row):
            kept.append(_clean_rule_row(row))
            continue
        days = [day.strip() for day in str(row.get("day") or "").upper().split(",")]
        if not days or any(day not in WEEKDAYS for day in days):
            raise ValueError(f"a weekday {WEEKDAYS} expected, got {row.get('day')!r}")
        opens, closes = parse_time(row.get("opens")), parse_time(row.get("closes"))
        if opens >= closes:
            raise ValueError("the opening time must come before the closing time")
        rows.extend({"day": day, "opens": _hhmm(opens), "closes": _hhmm(closes), "holidays": bool(row.get("holidays"))}
                    for day in dict.fromkeys(days))
    _at_most(rows, MAX_HOUR_ROWS, "opening hours rows")
    _at_most(kept, MAX_HOUR_ROWS, "kept opening hours rules")
    return sorted(rows, key=_hours_key) + sorted(kept, key=_rule_sort_key)


def kept_hours(text: Any) -> list[dict[str, Any]]:
    """The kept rules a form sent back (JSON, as `kept_hours_json` wrote
    them); [] for anything else. Only for showing them: saving keeps the
    record's own rules whatever a form says."""
    if not isinstance(text, str) or not text or len(text) > 200_000:
        return []
    try:
        rows = json.loads(text)
        if not isinstance(rows, list) or not all(is_kept_hours(row) for row in rows):
            return []
        return _hours(rows)
    except (ValueError, TypeError, AttributeError):
        return []


def kept_hours_json(rows: Iterable[Mapping[str, Any]]) -> str:
    return json.dumps([row for row in rows if is_kept_hours(row)], ensure_ascii=False)


def hours_lines(rows: Iterable[Any]) -> list[str]:
    """An hours value as lines of text: a form row as "Monday 09:00–17:00",
    a kept rule in words (recurrence.describe), "kept as imported"; a row of
    an older revision holding a weekday list or a rule in words too."""
    lines = []
    for row in rows:
        if not isinstance(row, Mapping):
            lines.append(str(row))
            continue
        details = []
        if is_kept_hours(row):
            parts = row["rule"] if isinstance(row["rule"], Mapping) else {}
            line = describe(_rule_view(parts)) or _("no days or times given")
            details.append(_("kept as imported"))
        elif row.get("day") in WEEKDAYS:
            line = f"{weekday_name(row['day'])} {row.get('opens') or ''}–{row.get('closes') or ''}"
        else:
            # Older revisions recorded a schedule's BYDAY as it was: "MO,TU", "1MO", None.
            day = row.get("day") if isinstance(row.get("day"), str) else None
            view = _rule_view({"freq": "WEEKLY" if day and "," in day else None, "byday": day,
                               "opens_at": row.get("opens"), "closes_at": row.get("closes")})
            line = describe(view) or _("no days or times given")
        if row.get("holidays"):
            details.insert(0, _("also on public holidays"))
        lines.append(" · ".join([line, *details]))
    return lines


def _phones(value: Any) -> list[dict[str, Any]]:
    rows = []
    for row in _at_most(value, MAX_PHONES, "phones"):
        number = _text(row.get("number"))
        if not number:
            raise ValueError("a phone number is required")
        rows.append({"number": number, "description": _text(row.get("description"))})
    return rows


def _documents(value: Any) -> list[str]:
    """What to bring: the items in their order, stripped, empty ones left out."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"a list of documents expected, got {value!r}")
    documents = []
    for item in value:
        text = _text(item)
        if text is None:
            continue
        if "\n" in text:
            raise ValueError("one document a line")
        if len(text) > MAX_REQUIRED_DOCUMENT_LENGTH:
            raise ValueError(f"a document of at most {MAX_REQUIRED_DOCUMENT_LENGTH} characters expected")
        documents.append(text)
    if len(documents) > MAX_REQUIRED_DOCUMENTS:
        raise ValueError(f"at most {MAX_REQUIRED_DOCUMENTS} documents expected")
    return documents


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _area_codes(value: Any) -> list[str]:
    codes = _codes(value)
    unknown = [code for code in codes if not municipalities.is_area_code(code)]
    if unknown:
        raise ValueError(f"unknown area codes: {unknown}")
    return sorted(set(codes), key=_area_sort_key)


def _area_sort_key(code: str) -> tuple:
    """Countries first, then municipalities by name."""
    municipality = municipalities.get(code)
    return (municipality is not None, municipality.name if municipality else code)


def _amount(value: Any) -> float | None:
    if value is None or value == "":
        return None
    amount = float(str(value).replace(",", ".").replace(" ", ""))
    if not (0 <= amount <= costs.MAX_AMOUNT):
        raise ValueError(f"an amount from 0 to {costs.MAX_AMOUNT} expected, got {value!r}")
    return round(amount, 2)


def _cost_rows(value: Any) -> list[dict[str, Any]]:
    rows = []
    for row in _at_most(value, costs.MAX_COST_OPTIONS, "cost options"):
        currency = (_text(row.get("currency")) or "").upper() or None
        if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValueError(f"a 3-letter currency code expected, got {currency!r}")
        amount = _amount(row.get("amount"))
        rows.append({"amount": amount, "currency": currency or (costs.DEFAULT_CURRENCY if amount is not None else None),
                     "option": _text(row.get("option")), "amount_description": _text(row.get("amount_description"))})
    return rows


def _identifier_rows(value: Any) -> list[dict[str, Any]]:
    rows = []
    for row in _at_most(value, identifiers.MAX_IDENTIFIERS, "identifiers"):
        scheme = (_text(row.get("scheme")) or "").upper() or None
        number = identifiers.normalise(_text(row.get("identifier")))
        problem = identifiers.check(scheme, number)
        if problem is not None:
            raise ValueError(f"{scheme} {number!r}: {problem}")
        rows.append({"scheme": scheme, "identifier": number})
    return rows


def _coded_areas(service: Service) -> list[ServiceArea]:
    return [area for area in service.service_areas if area.area_code]


def _worded_areas(service: Service) -> list[ServiceArea]:
    """Areas stated in words (the form's lines); an imported area with an
    extent (a map shape) is neither shown in the form nor changed by it."""
    return [area for area in service.service_areas if not area.area_code and not area.extent]


def _get_area_codes(service: Service) -> list[str]:
    return sorted({area.area_code for area in _coded_areas(service)}, key=_area_sort_key)


def _set_area_codes(session: Session, service: Service, codes: list[str]) -> None:
    # An area that stays keeps its identity (an imported id, name and uri).
    existing = {area.area_code: area for area in _coded_areas(service)}
    kept = [area for area in service.service_areas if not area.area_code]
    service.service_areas = kept + [existing.get(code) or ServiceArea(id=new_id(), area_code=code)
                                    for code in codes]


def _area_text(area: ServiceArea) -> str:
    return area.name or area.description or ""


def _get_area_words(service: Service) -> str | None:
    return "\n".join(text for text in map(_area_text, _worded_areas(service)) if text) or None


def _set_area_words(session: Session, service: Service, text: str | None) -> None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()][:20]
    existing = {_area_text(area): area for area in _worded_areas(service)}
    worded = [existing.get(line) or ServiceArea(id=new_id(), name=line[:300]) for line in lines]
    others = [area for area in service.service_areas if area.area_code or area.extent]
    service.service_areas = others + worded


def area_label(code: str) -> str:
    """"All of Latvia" in the visitor's language, or a municipality's official name."""
    municipality = municipalities.get(code)
    return municipality.label if municipality is not None else _("All of %(country)s", country=country_name(code))


def _area_choices() -> list[tuple[str, str]]:
    return [(code, area_label(code)) for code in COUNTRIES] + [
        (m.code, m.label) for country in COUNTRIES for m in municipalities.all_municipalities(country)]


def _cost_option_values(option: CostOption) -> dict[str, Any]:
    """A cost option as the form's rows and the revisions hold it."""
    return {"amount": option.amount, "currency": option.currency, "option": option.option,
            "amount_description": option.amount_description}


def _cost_key(row: Mapping[str, Any]) -> tuple:
    return (row.get("amount"), row.get("currency"), row.get("option"), row.get("amount_description"))


def _get_costs(service: Service) -> list[dict[str, Any]]:
    return [_cost_option_values(option) for option in service.cost_options]


def _set_costs(session: Session, service: Service, rows: list[dict[str, Any]]) -> None:
    # An option that stays keeps its identity, and the dates it was imported with.
    existing: dict[tuple, list[CostOption]] = {}
    for option in service.cost_options:
        existing.setdefault(_cost_key(_cost_option_values(option)), []).append(option)
    options = []
    for position, row in enumerate(rows):
        same = existing.get(_cost_key(row))
        option = same.pop(0) if same else CostOption(id=new_id(), **row)
        option.position = position
        options.append(option)
    service.cost_options = options
    costs.keep_free_flag(service)




def cost_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Cost options in words: "Free of charge", "5,00 € — lunch (for pensioners)"."""
    lines = []
    for row in rows:
        if row.get("amount") == 0:
            head = _("Free of charge")
        elif row.get("amount") is not None:
            head = costs.amount_text(row["amount"], row.get("currency"))
        else:
            head = _("Paid; the amount is not stated")
        details = " ".join(part for part in (row.get("option"), f"({row['amount_description']})"
                                             if row.get("amount_description") else None) if part)
        lines.append(f"{head} — {details}" if details else head)
    return lines


def _get_identifiers(organization: Organization) -> list[dict[str, Any]]:
    return [{"scheme": item.identifier_scheme, "identifier": item.identifier} for item in organization.identifiers]


def _set_identifiers(session: Session, organization: Organization, rows: list[dict[str, Any]]) -> None:
    existing = {(item.identifier_scheme, item.identifier): item for item in organization.identifiers}
    organization.identifiers = [
        existing.get((row["scheme"], row["identifier"])) or OrganizationIdentifier(
            id=new_id(), identifier_scheme=row["scheme"], identifier=row["identifier"],
            identifier_type=identifiers.SCHEMES[row["scheme"]].type_name
            if row["scheme"] in identifiers.SCHEMES else (row["scheme"] or "identifier"))
        for row in rows
    ]


def identifier_lines(rows: list[dict[str, Any]]) -> list[str]:
    return [f"{identifiers.scheme_label(row.get('scheme'))}: {row['identifier']}" if row.get("scheme")
            else row["identifier"] for row in rows]


# ------------------------------------------------------------ the registry
# Each editable field is said once, here: how it is read, cleaned and
# written; its label and kind; its place in the edit form; how a value reads
# in the history and on the conflict page (`Field.present`); and where
# residents see it on the centre page (`public`, the macro of
# templates/_fields.html that draws it). The edit forms
# (directory/manage/forms.py), the history, the conflict page and the centre
# page all read it; adding a field to a record is the model, a migration and
# one entry below (and the HSDS mapping of directory/hsds/mapping.py).

# Kinds of field: how a value is typed in, checked and shown.
TEXT = "text"  # one line
LONG_TEXT = "long_text"  # several lines
URL = "url"
EMAIL = "email"
YES_NO = "yes_no"  # yes, no, or not stated (None)
AGE = "age"  # a whole number of years, 0–120
CHOICE = "choice"  # one code of `choices`
CODES = "codes"  # any codes of `choices`
HOURS = "hours"  # weekly opening intervals, and the rules kept as imported
PHONES = "phones"  # numbers, each with what it is for
DOCUMENTS = "documents"  # what to bring, one item a line
CHECK = "check"  # a tick: yes or no, never "not stated"
COSTS = "costs"  # cost options: an amount, its currency, what it covers, for whom
IDENTIFIERS = "identifiers"  # registration numbers, each with its register
KINDS = (TEXT, LONG_TEXT, URL, EMAIL, YES_NO, AGE, CHOICE, CODES, HOURS, PHONES, DOCUMENTS, CHECK, COSTS,
         IDENTIFIERS)
# The macros of templates/_fields.html that draw a value: one per kind, and
# "cost" (fees_description with free_of_charge).
DISPLAYS = (*KINDS, "cost")

# Where residents see a field on the centre page (templates/public/centre.html).
FACTS = "facts"  # a row of its record's facts, drawn from the registry alone
PLACED = "placed"  # placed by hand: a heading, the address, the centre's phones…
# None: residents never see it (the test lists why).

STATUS_LABELS = {
    "active": _l("Active"),
    "inactive": _l("Retired (residents do not see it)"),
    "defunct": _l("Closed for good"),
    "temporarily closed": _l("Temporarily closed"),
}
# Labels of what revisions record besides the fields ("still correct").
OTHER_LABELS = {"last_verified": _l("Checked as still correct"),
                # Before cost options (issue 18), revisions recorded the bare flag.
                "free_of_charge": _l("Free of charge")}


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _plain_lines(value: Any) -> list[str]:
    """A value with no kind of its own: each item of a list, or each line of a text."""
    return [str(item) for item in value] if isinstance(value, list) else str(value).splitlines()


@dataclass(frozen=True)
class Field:
    """One editable field: how to read it (a JSON-able value), clean a new
    value and write it back, and how people type it in and read it."""

    name: str
    get: Callable[[Any], Any]
    set: Callable[[Session, Any, Any], None]
    clean: Callable[[Any], Any]
    label: Any  # lazy_gettext: the form's label, the history's and the centre page's
    kind: str = TEXT
    collection: bool = False
    # The edit form (directory/manage/forms.py builds its field from these).
    required: bool = False
    max_length: int | None = None  # characters; None: the kind's own limit
    hint: Any = None
    group: str | None = None  # the fieldset it shares with its neighbours (manage/forms.py GROUPS)
    autocomplete: str | None = None
    choices: Callable[[], list[tuple[str, Any]]] | None = None  # CHOICE, CODES: (code, label) in order
    # How a value reads as lines of text (history, conflict page, tags on
    # the centre page); None: the kind's way.
    lines: Callable[[Any], list[str]] | None = None
    # The centre page.
    public: str | None = FACTS
    public_label: Any = None  # when residents read another label than editors
    shown: Callable[[Any], Any] | None = None  # the value the page shows; None: `get`
    display: str | None = None  # the macro of templates/_fields.html; None: the kind's
    css_class: str | None = None  # of its row; None: the name, with hyphens
    hide_when_empty: bool = False  # no row at all (rather than "not yet provided")
    # (entity, cleaned value) → the value as saving leaves it, for fields
    # that keep some of the record's own (the hours' imported rules); None:
    # the cleaned value itself.
    merge: Callable[[Any, Any], Any] | None = None

    def present(self, value: Any) -> list[str]:
        """A value (as `get` gives it, or a revision recorded it) as lines of
        text in the visitor's language; [] when empty. Templates escape them."""
        if _is_empty(value):
            return []
        if self.lines is not None:
            return self.lines(value)
        if isinstance(value, bool):
            return [_("Yes") if value else _("No")]
        if self.kind in (CHOICE, CODES) and self.choices is not None:
            labels = dict(self.choices())
            codes = value if isinstance(value, list) else [value]
            return [str(labels.get(code, code)) for code in codes]
        if self.kind == HOURS:
            return hours_lines(value)
        if self.kind == PHONES:
            return [row["number"] + (f" ({row['description']})" if row.get("description") else "")
                    for row in value]
        return _plain_lines(value)

    def public_value(self, entity: Any) -> Any:
        """What the centre page shows of `entity`'s field."""
        return (self.shown or self.get)(entity)

    def is_empty(self, value: Any) -> bool:
        return _is_empty(value)

    def shown_in(self, entities: Iterable[Any]) -> list[Any]:
        """The entities whose value of this field the centre page shows (not empty)."""
        return [entity for entity in entities if not _is_empty(self.public_value(entity))]

    @property
    def fact_label(self) -> Any:
        return self.public_label or self.label

    @property
    def macro(self) -> str:
        return self.display or self.kind

    @property
    def row_class(self) -> str:
        return self.css_class or self.name.replace("_", "-")


def _length(model: type, name: str) -> int | None:
    """The column's length: the form's limit is the database's."""
    return getattr(model.__table__.c[name].type, "length", None)


def _column(model: type, name: str, clean: Callable[[Any], Any], label: Any, kind: str = TEXT,
            **options: Any) -> Field:
    options.setdefault("max_length", _length(model, name))
    return Field(name, lambda entity: getattr(entity, name),
                 lambda session, entity, value: setattr(entity, name, value), clean, label, kind, **options)


def _physical_address(location: Location, create: bool = False) -> Address | None:
    address = location.physical_address
    if address is None and create:
        address = Address(id=new_id(), country=COUNTRIES[0], address_type="physical")
        location.addresses.append(address)
    return address


def _address_field(name: str, clean: Callable[[Any], Any], label: Any, kind: str = TEXT, **options: Any) -> Field:
    def get(location: Location) -> Any:
        address = _physical_address(location)
        return getattr(address, name) if address is not None else None

    def set_(session: Session, location: Location, value: Any) -> None:
        setattr(_physical_address(location, create=True), name, value)

    options.setdefault("max_length", _length(Address, name))
    # The address shows as one block on the centre page (templates/_macros.html address_lines).
    options.setdefault("public", PLACED)
    return Field(name, get, set_, clean, label, kind, group="address", **options)


def _get_accessibility(location: Location) -> str | None:
    return location.accessibility[0].description if location.accessibility else None


def _set_accessibility(session: Session, location: Location, value: str | None) -> None:
    if location.accessibility:
        location.accessibility[0].description = value
    elif value:
        location.accessibility.append(Accessibility(id=new_id(), description=value))


def _cached(key: tuple, make: Callable[[], Any]) -> Any:
    """`make()` once per request (or app context): choices read the database."""
    if not has_app_context():
        return make()
    cache = g.setdefault("_field_choices", {})
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _term_choices(taxonomy_code: str) -> Callable[[], list[tuple[str, str]]]:
    def choices() -> list[tuple[str, str]]:
        from . import i18n
        from .extensions import db

        locale = i18n.select_locale()
        return _cached(("terms", taxonomy_code, locale), lambda: [
            (term.code, term.label(locale)) for term in taxonomy_terms(db.session, taxonomy_code)])

    return choices


def _terms_field(name: str, taxonomy_code: str, label: Any, **options: Any) -> Field:
    def get(service: Service) -> list[str]:
        return sorted(term.code for term in service.terms_of(taxonomy_code))

    def set_(session: Session, service: Service, codes: list[str]) -> None:
        terms = list(session.scalars(
            select(TaxonomyTerm).join(Taxonomy)
            .where(Taxonomy.code == taxonomy_code, TaxonomyTerm.code.in_(codes))
            .order_by(TaxonomyTerm.position)
        )) if codes else []
        unknown = set(codes) - {term.code for term in terms}
        if unknown:
            raise ValueError(f"unknown {taxonomy_code} terms: {sorted(unknown)}")
        kept = [term for term in service.taxonomy_terms if term.taxonomy.code != taxonomy_code]
        service.taxonomy_terms = kept + terms

    # Residents read the terms in the vocabulary's order.
    return Field(name, get, set_, _codes, label, CODES, collection=True, choices=_term_choices(taxonomy_code),
                 shown=lambda service: [term.code for term in service.terms_of(taxonomy_code)], **options)


def _status_choices() -> list[tuple[str, Any]]:
    return [(code, STATUS_LABELS.get(code, code)) for code in SERVICE_STATUSES]


def _country_choices() -> list[tuple[str, str]]:
    return [(code, country_name(code)) for code in COUNTRIES]


def _language_choices() -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in SPOKEN_LANGUAGES]


def _get_languages(entity: Service) -> list[str]:
    return sorted({language.code for language in entity.languages})


def _set_languages(session: Session, entity: Service, codes: list[str]) -> None:
    existing = {language.code: language for language in entity.languages}
    entity.languages = [existing.get(code) or Language(id=new_id(), code=code) for code in codes]


def _get_hours(entity: Service) -> list[dict[str, Any]]:
    """The rows the form shows (a weekday list as one row a day), then the
    rules it keeps as they are (see `_hours`)."""
    rows, kept = [], []
    for s in entity.schedules:
        days = form_days(s)
        if days is None:
            kept.append(_rule_row(s))
            continue
        rows.extend({"day": day, "opens": _hhmm(s.opens_at), "closes": _hhmm(s.closes_at),
                     "holidays": bool(s.open_on_public_holidays)} for day in days)
    return sorted(rows, key=_hours_key) + sorted(kept, key=_rule_sort_key)


def _with_kept_hours(entity: Service, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hours as they will be after saving `rows`: their form rows, and
    the record's own kept rules (never those a value says)."""
    kept = [row for row in _get_hours(entity) if is_kept_hours(row)]
    return [row for row in rows if not is_kept_hours(row)] + kept


def _set_hours(session: Session, entity: Service, rows: list[dict[str, Any]]) -> None:
    """Write the form's rows; a schedule the form does not show stays as it
    is. Rows that stay keep their identity (and their source): a one-day row
    whose day and times are still there, and an imported weekday list
    ("MO,TU,WE") whose every day is still there with its times and holiday
    tick. A weekday list the rows change (a day removed, a time or the tick
    changed on one of its days) gives way to one-day rows of what is saved."""
    wanted = [row for row in rows if not is_kept_hours(row)]
    left = Counter((row["day"], row["opens"], row["closes"], row["holidays"]) for row in wanted)
    lists, days = [], {}
    keep: set[int] = set()
    for s in entity.schedules:
        shown = form_days(s)
        if shown is None:
            keep.add(id(s))  # kept as imported: untouched
        elif len(shown) > 1:
            lists.append((s, shown))
        else:
            days.setdefault((next(iter(shown)), _hhmm(s.opens_at), _hhmm(s.closes_at)), []).append(s)
    for s, shown in lists:
        needs = Counter((day, _hhmm(s.opens_at), _hhmm(s.closes_at), bool(s.open_on_public_holidays))
                        for day in shown)
        if all(left[key] >= 1 for key in needs):
            left -= needs
            keep.add(id(s))
    added = []
    for row in wanted:
        key = (row["day"], row["opens"], row["closes"], row["holidays"])
        if left[key] < 1:
            continue  # a day of a weekday list that stays
        left[key] -= 1
        same = days.get(key[:3])
        if same:
            schedule = same.pop(0)
            keep.add(id(schedule))
            if bool(schedule.open_on_public_holidays) != row["holidays"]:
                schedule.open_on_public_holidays = row["holidays"]
        else:
            added.append(Schedule(id=new_id(), freq="WEEKLY", byday=row["day"], opens_at=parse_time(row["opens"]),
                                  closes_at=parse_time(row["closes"]), open_on_public_holidays=row["holidays"]))
    entity.schedules = [s for s in entity.schedules if id(s) in keep] + added


def _get_phones(entity: Service) -> list[dict[str, Any]]:
    return [{"number": phone.number, "description": phone.description} for phone in entity.phones]


def _set_phones(session: Session, entity: Service, rows: list[dict[str, Any]]) -> None:
    existing = {phone.number: phone for phone in entity.phones}
    phones = []
    for row in rows:
        phone = existing.pop(row["number"], None) or Phone(id=new_id(), number=row["number"])
        phone.description = row["description"]
        phones.append(phone)
    entity.phones = phones


def _get_required_documents(entity: Service) -> list[str]:
    return [document.document for document in entity.required_documents]


def _set_required_documents(session: Session, entity: Service, documents: list[str]) -> None:
    # A document that stays keeps its identity (its link, source and check date).
    existing: dict[str, list[RequiredDocument]] = {}
    for document in entity.required_documents:
        existing.setdefault(document.document, []).append(document)
    rows = []
    for position, text in enumerate(documents):
        same = existing.get(text)
        document = same.pop(0) if same else RequiredDocument(id=new_id(), document=text)
        document.position = position
        rows.append(document)
    entity.required_documents = rows


# In the order of the edit forms (and of the conflict page and the centre page's facts).
FIELDS: dict[str, dict[str, Field]] = {
    "organization": {f.name: f for f in [
        _column(Organization, "name", _name, _l("Title"), required=True, public=PLACED),
        _column(Organization, "alternate_name", _text, _l("Other name"), public=PLACED,
                hint=_l("For example the name in Lithuanian or an abbreviation.")),
        _column(Organization, "description", _text_not_null, _l("Description"), LONG_TEXT, public=PLACED),
        _column(Organization, "email", _text, _l("E-mail"), EMAIL),
        _column(Organization, "website", _text, _l("Website"), URL),
        Field("identifiers", _get_identifiers, _set_identifiers, _identifier_rows, _l("Registration numbers"),
              IDENTIFIERS, collection=True, lines=identifier_lines, hide_when_empty=True,
              hint=_l("The centre's number in the Latvian Register of Enterprises (11 digits), the Lithuanian "
                      "Register of Legal Entities (9 digits) or the register of social service providers.")),
    ]},
    "location": {f.name: f for f in [
        # Above the address on the centre page, when it is not the centre's own name.
        _column(Location, "name", _text, _l("Title"), public=PLACED,
                hint=_l("For example the building, if the centre has several.")),
        _address_field("address_1", _text, _l("Street and number"), autocomplete="off"),
        _address_field("address_2", _text, _l("Address, second line"), autocomplete="off"),
        _address_field("city", _text, _l("Town or village"), required=True, autocomplete="off"),
        _address_field("municipality", _text, _l("Municipality")),
        _address_field("postal_code", _text, _l("Postal code"), autocomplete="off",
                       hint=_l("For example LV-5401 or LT-32001")),
        _address_field("country", _choice(COUNTRIES, upper=True), _l("Country"), CHOICE, required=True,
                       choices=_country_choices),
        # The page says so where the address would be (templates/public/centre.html).
        _column(Location, "confidential", _flag, _l("Do not publish this address"), CHECK, group="address",
                public=None,
                hint=_l("For a shelter whose address must stay private: residents see only the town and "
                        "municipality, and no map marker; signed-in social workers and your editors see the "
                        "address.")),
        _column(Location, "transportation", _text, _l("How to get there"), LONG_TEXT, group="access"),
        _column(Location, "wheelchair_accessible", _bool_or_none, _l("Wheelchair accessible"), YES_NO,
                group="access"),
        Field("accessibility", _get_accessibility, _set_accessibility, _text, _l("Accessibility"), LONG_TEXT,
              group="access", hint=_l("Ramps, lifts, accessible toilets, help on arrival."),
              shown=lambda location: [item.description for item in location.accessibility if item.description]),
    ]},
    "service": {f.name: f for f in [
        _column(Service, "name", _name, _l("Title"), required=True, group="service", public=PLACED),
        _column(Service, "alternate_name", _text, _l("Other name"), group="service", public=PLACED),
        _column(Service, "description", _text_not_null, _l("Description"), LONG_TEXT, group="service",
                public=PLACED),
        # Residents see active services only; the status itself is never shown.
        _column(Service, "status", _choice(SERVICE_STATUSES), _l("Status"), CHOICE, required=True,
                group="service", choices=_status_choices, hint=_l("Residents find only active services."),
                public=None),
        _terms_field("service_types", SERVICE_TYPES, _l("Types of service"), public_label=_l("Type of service")),
        _terms_field("target_groups", TARGET_GROUPS, _l("For whom")),
        Field("area_codes", _get_area_codes, _set_area_codes, _area_codes, _l("Area served"), CODES,
              collection=True, group="area", choices=_area_choices,
              lines=lambda codes: [area_label(code) for code in codes],
              hint=_l("Tick the municipalities whose residents the service takes, or a whole country. "
                      "Leave all unticked if you do not want to say.")),
        Field("area_words", _get_area_words, _set_area_words, _text, _l("Area served, in words"), LONG_TEXT,
              group="area", max_length=2000, hide_when_empty=True,
              hint=_l("Only for an area the list does not have, such as a parish: one area a line.")),
        _column(Service, "eligibility_description", _text, _l("Who can use it"), LONG_TEXT, group="use",
                css_class="eligibility"),
        _column(Service, "minimum_age", _int_or_none, _l("Minimum age"), AGE, group="use", hide_when_empty=True),
        _column(Service, "maximum_age", _int_or_none, _l("Maximum age"), AGE, group="use", hide_when_empty=True),
        _column(Service, "application_process", _text, _l("How to apply"), LONG_TEXT, group="use"),
        # Shown in the "Cost" row of fees_description; the search's "free of charge" follows from them.
        Field("cost_options", _get_costs, _set_costs, _cost_rows, _l("Costs"), COSTS, collection=True,
              group="use", public=PLACED, lines=cost_lines,
              hint=_l('One row for each price: 0 for free of charge. Leave a row empty or tick "Remove" to '
                      'drop it.')),
        _column(Service, "fees_description", _text, _l("Fees"), LONG_TEXT, group="use",
                public_label=_l("Cost"), display="cost", css_class="cost"),
        Field("required_documents", _get_required_documents, _set_required_documents, _documents,
              _l("What to bring"), DOCUMENTS, collection=True, group="use",
              hint=_l("Documents or things a person needs to bring, one a line, such as: passport or ID card."),
              shown=lambda service: service.required_documents),
        Field("languages", _get_languages, _set_languages, _codes, _l("Languages spoken"), CODES,
              collection=True, choices=_language_choices,
              lines=lambda codes: [language_name(code) for code in codes]),
        Field("hours", _get_hours, _set_hours, _hours, _l("Opening hours"), HOURS, collection=True,
              merge=_with_kept_hours,
              hint=_l('One row for each opening interval: two rows for a day with a lunch break. '
                      'Leave a row empty or tick "Remove" to drop it.'),
              # The weekly table and other rules in words; [] (no row) when neither has anything.
              shown=lambda service: shown_hours(service.schedules) or [], css_class="service-hours",
              hide_when_empty=True),
        # With the centre's other phones, at the top of the centre page.
        Field("phones", _get_phones, _set_phones, _phones, _l("Phone numbers"), PHONES, collection=True,
              hint=_l('Leave a row empty or tick "Remove" to drop it.'), public=PLACED),
        _column(Service, "url", _text, _l("Web page"), URL, group="contact", hide_when_empty=True),
        _column(Service, "email", _text, _l("E-mail"), EMAIL, group="contact", hide_when_empty=True),
    ]},
}
# Fields whose change moves the map position (geocoding.locate_changed_addresses).
ADDRESS_FIELDS = frozenset(name for name, field in FIELDS["location"].items() if field.group == "address")


def field_of(entity_type: str, name: str) -> Field | None:
    return FIELDS.get(entity_type, {}).get(name)


def label_of(entity_type: str, name: str) -> str:
    """A field's label; the name itself for one no longer edited (old revisions)."""
    field = field_of(entity_type, name)
    return str(field.label if field is not None else OTHER_LABELS.get(name, name))


def present(entity_type: str, name: str, value: Any) -> list[str]:
    """A recorded value as lines of text (`Field.present`), for any name a revision holds."""
    field = field_of(entity_type, name)
    if field is not None:
        return field.present(value)
    return [] if _is_empty(value) else _plain_lines(value)


def entity_type(entity: Any) -> str:
    for name, model in MODELS.items():
        if isinstance(entity, model):
            return name
    raise TypeError(f"not an editable entity: {entity!r}")


def current_values(entity: Any) -> dict[str, Any]:
    """Every editable field of `entity`, as JSON-able values."""
    return {name: field.get(entity) for name, field in FIELDS[entity_type(entity)].items()}


def organization_of(entity: Any) -> Organization:
    return entity if isinstance(entity, Organization) else entity.organization


# ------------------------------------------------------------ changes


def _is_new(entity: Any) -> bool:
    return not inspect(entity).has_identity


def _touch(entity: Any) -> None:
    """Make the entity's own row part of the flush, so that its version moves
    even when only its rows elsewhere (hours, address, terms) changed."""
    if hasattr(entity, "updated_at"):
        entity.updated_at = utcnow()
    else:
        flag_modified(entity, "location_type")


def _user_id(user: User | None) -> int | None:
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def _record(session: Session, entity: Any, action: str, changes: dict[str, list], user: User | None) -> Revision:
    kind = entity_type(entity)
    if isinstance(entity, Organization):
        organization_id = entity.id
    else:
        with session.no_autoflush:
            organization_id = entity.organization_id or entity.organization.id
    revision = Revision(
        organization_id=organization_id,
        entity_type=kind,
        entity_id=entity.id,
        action=action,
        changes=json.dumps(changes, ensure_ascii=False, default=str),
        user_id=_user_id(user),
        created_at=utcnow(),
    )
    session.add(revision)
    audit.record(session, f"{kind}-{action}", user, kind, entity.id, fields=sorted(changes))
    return revision


def _apply(session: Session, entity: Any, values: Mapping[str, Any], user: User | None,
           action: str | None = None, always_record: bool = False) -> Revision | None:
    kind = entity_type(entity)
    fields = FIELDS[kind]
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"not editable fields of a {kind}: {sorted(unknown)}")
    new = _is_new(entity)
    if new and entity.id is None:
        entity.id = new_id()
    cleaned = {name: fields[name].clean(value) for name, value in values.items()}
    changes: dict[str, list] = {}
    # No flush half-way: a query in a setter must not write the record early.
    with session.no_autoflush:
        for name, after in cleaned.items():
            field = fields[name]
            before = field.get(entity)
            if field.merge is not None:
                after = field.merge(entity, after)
            try:
                comparable = field.clean(before)
            except (ValueError, TypeError, AttributeError):
                comparable = before
            if comparable != after:
                field.set(session, entity, after)
                changes[name] = [before, after]
        if isinstance(entity, Location) and (new or ADDRESS_FIELDS & changes.keys()):
            # A new or moved address: its map position, found now (explicitly, not on flush).
            geocoding.locate_changed_addresses(session, entity.addresses)
    if not changes and not new and not always_record:
        return None
    if changes and not new:
        _touch(entity)
    if changes:
        _count_as_review(session, entity, user)
    return _record(session, entity, action or ("create" if new else "update"), changes, user)


def _count_as_review(session: Session, entity: Any, user: User | None) -> None:
    """A save by one of the centre's own editors confirms its listing as
    "Still correct" does: the review cycle (review_cycle.py) starts again."""
    if user is None or getattr(user, "role", None) != "editor":
        return
    with session.no_autoflush:
        organization = entity if isinstance(entity, Organization) else entity.organization
        if organization is None or not user.may_edit(organization):
            return
        day = local_today()
        if organization.last_verified != day:  # once a day: the organization's version moves with it
            organization.last_verified = day


def apply_changes(session: Session, entity: Any, values: Mapping[str, Any], user: User | None) -> Revision | None:
    """Set `values` (field name → new value) on an organization, location or
    service and record what really changed as a Revision ("create" for an
    entity not saved yet, "update" otherwise) with an audit event. None when
    nothing changed. ValueError for an unknown field or an invalid value.
    The caller commits (see `commit`)."""
    return _apply(session, entity, values, user)


def check_version(entity: Any, expected_version: int | str | None) -> None:
    """EditConflict unless `entity` is still at the version the form was loaded with."""
    try:
        expected = int(expected_version) if expected_version is not None else None
    except (TypeError, ValueError):
        expected = None
    if expected != entity.version:
        raise EditConflict(entity_type(entity), current_values(entity), entity.version)


def commit(session: Session, entity: Any) -> None:
    """Commit; if another save of `entity` won the race (the database saw a
    newer version), roll back and raise EditConflict with the values saved."""
    try:
        session.commit()
    except StaleDataError as error:
        session.rollback()
        if _is_new(entity):
            raise EditConflict(entity_type(entity), {}, None) from error
        session.refresh(entity)
        raise EditConflict(entity_type(entity), current_values(entity), entity.version) from error


def verify(session: Session, organization: Organization, user: User | None) -> Revision:
    """"Still correct": the organization, its locations and its services are
    confirmed today."""
    day = local_today()
    before = organization.last_verified
    for item in [organization, *organization.locations, *organization.services]:
        item.last_verified = day
    changes = {"last_verified": [before.isoformat() if before else None, day.isoformat()]}
    return _record(session, organization, "verify", changes, user)


def retire_service(session: Session, service: Service, user: User | None) -> Revision | None:
    """The service ends (HSDS status "inactive"): residents no longer see it,
    its editors still do. None when it was already inactive."""
    return _apply(session, service, {"status": "inactive"}, user, action="retire")


def create_service(session: Session, organization: Organization, values: Mapping[str, Any],
                   user: User | None) -> Service:
    """A new active service of `organization`, offered at all its locations."""
    with session.no_autoflush:
        locations = list(organization.locations)
        service = Service(id=new_id(), organization=organization, status="active", description="")
        session.add(service)
        service.service_at_locations = [ServiceAtLocation(id=new_id(), location=location) for location in locations]
        _apply(session, service, values, user, action="create", always_record=True)
    return service


def slugify(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:80].strip("-") or "centre"


def unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    taken = set(session.scalars(select(Organization.slug).where(Organization.slug.like(f"{base}%"))))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def propose_organization(session: Session, values: Mapping[str, Any], user: User | None) -> Organization:
    """A new organization an editor proposes: "pending" (not public) until an
    admin approves it, linked to the editor, with one location. `values` holds
    organization fields, and under "location" a mapping of location fields
    (the location is named after the organization unless given a name)."""
    org_values = {key: value for key, value in values.items() if key != "location"}
    location_values = dict(values.get("location") or {})
    name = _name(org_values.get("name"))
    slug = unique_slug(session, name)
    with session.no_autoflush:
        organization = Organization(id=new_id(), slug=slug, status="pending", description="")
        session.add(organization)
        _apply(session, organization, org_values, user, action="create", always_record=True)
        location = Location(id=new_id(), organization=organization, location_type="physical")
        session.add(location)
        location_values.setdefault("name", name)
        _apply(session, location, location_values, user, action="create", always_record=True)
        if user is not None and user.role == "editor" and organization not in user.organizations:
            user.organizations.append(organization)
    audit.record(session, "organization-propose", user, "organization", organization.id, name=name)
    return organization


class ChangedSince(ValueError):
    """A revert would overwrite later edits of the same fields: undo those first."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"changed again since: {', '.join(fields)}")
        self.fields = fields


def _same(field: Any, entity: Any, recorded: Any) -> bool:
    """Whether a field of `entity` still holds the value a revision recorded
    (compared as the field cleans them, so a JSON round trip does not count
    as a change; of the hours, only what the field edits: the kept rules stay
    as they are whatever a revert puts back)."""
    current = field.get(entity)
    try:
        recorded_now = field.clean(recorded)
        if field.merge is not None:
            recorded_now = field.merge(entity, recorded_now)
        return field.clean(current) == recorded_now
    except (ValueError, TypeError, AttributeError):
        return current == recorded


def revert(session: Session, revision: Revision, user: User | None) -> Revision:
    """Put back the "before" values of `revision`, as a new "revert" revision;
    the original is marked reverted. ChangedSince when a field was edited
    again after it (the later edit would be lost); ValueError when it was
    reverted already, cannot be undone, or its record no longer exists."""
    if revision.reverted_by_id is not None:
        raise ValueError("this revision was already reverted")
    if revision.action not in REVERTIBLE_ACTIONS:
        raise ValueError(f"a {revision.action!r} revision cannot be reverted")
    model = MODELS.get(revision.entity_type)
    entity = session.get(model, revision.entity_id) if model is not None else None
    if entity is None:
        raise ValueError("the record of this revision no longer exists")
    fields = FIELDS[revision.entity_type]
    changes = {name: pair for name, pair in decode_changes(revision).items() if name in fields}
    changed_since = [name for name, (_before, after) in changes.items()
                     if not _same(fields[name], entity, after)]
    if changed_since:
        raise ChangedSince(changed_since)
    values = {name: pair[0] for name, pair in changes.items()}
    reverting = _apply(session, entity, values, user, action="revert", always_record=True)
    session.flush()
    revision.reverted_by_id = reverting.id
    return reverting


# ------------------------------------------------------------ reading


def decode_changes(revision: Revision) -> dict[str, list]:
    try:
        changes = json.loads(revision.changes or "{}")
    except ValueError:
        return {}
    return changes if isinstance(changes, dict) else {}


def is_stale(entity: Any, today: date | None = None, days: int | None = None) -> bool:
    """Not confirmed within STALE_AFTER_DAYS (365): "may be out of date"."""
    if entity.last_verified is None:
        return True
    if days is None:
        days = stale_after_days()
    reference = today if today is not None else local_today()
    return (reference - entity.last_verified).days > days


def editable_organizations(session: Session, user: User) -> list[Organization]:
    """Admins: every organization; editors: theirs."""
    if user.role == "admin":
        return list(session.scalars(select(Organization).order_by(Organization.name, Organization.id)))
    return list(user.organizations)


def open_problem_counts(session: Session, organization_ids: Iterable[str]) -> dict[str, int]:
    ids = list(organization_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(ProblemReport.organization_id, func.count())
        .where(ProblemReport.organization_id.in_(ids), ProblemReport.status == "open")
        .group_by(ProblemReport.organization_id)
    )
    return {organization_id: count for organization_id, count in rows}


def history(session: Session, organization: Organization, limit: int = 200) -> list[Revision]:
    """The organization's revisions, its locations' and services' included, newest first."""
    return list(session.scalars(
        select(Revision).where(Revision.organization_id == organization.id)
        .options(selectinload(Revision.user))
        .order_by(Revision.created_at.desc(), Revision.id.desc()).limit(limit)
    ))


def latest_revision(session: Session, entity: Any) -> Revision | None:
    return session.scalars(
        select(Revision).where(Revision.entity_type == entity_type(entity), Revision.entity_id == entity.id)
        .order_by(Revision.created_at.desc(), Revision.id.desc()).limit(1)
    ).first()


def taxonomy_terms(session: Session, taxonomy_code: str) -> list[TaxonomyTerm]:
    return list(session.scalars(
        select(TaxonomyTerm).join(Taxonomy).where(Taxonomy.code == taxonomy_code)
        .options(selectinload(TaxonomyTerm.labels)).order_by(TaxonomyTerm.position, TaxonomyTerm.code)
    ))
