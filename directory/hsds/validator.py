"""Checking a package row by row before anything is written."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import costs, identifiers
from ..models import (
    CostOption,
    Organization,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from ..languages import normalise_language
from ..publishing import slugify
from .mapping import (
    ATTRIBUTE_NAMESPACE,
    FREE_TEXT,
    INCOMPLETE_ADDRESS,
    OWNERS,
    REFERENCES,
    TERM_NAME_LANGUAGE,
    Table,
    _key,
    coded_area_name,
    coded_area_uri,
    recognised_area_code,
    tables,
)
from .reader import Package, RawTable
from .report import CHUNK, ROWS_PER_RECORD, Report
from .values import Invalid, convert

# ------------------------------------------------------------------ validation

REFERENCE_MESSAGES = {
    "organization": _l("No organization with this id in the package or the database."),
    "service": _l("No service with this id in the package or the database."),
    "location": _l("No location with this id in the package or the database."),
    "taxonomy": _l("No taxonomy with this id in the package or the database."),
    "taxonomy_term": _l("Unknown taxonomy term: no term with this id in the package or the database."),
    "x_source_document": _l("No source document with this id in the package or the database."),
    "contact": _l("No contact with this id in the package or the database."),
    "phone": _l("No phone with this id in the package or the database."),
    "service_at_location": _l("No service at location with this id in the package or the database."),
    "unit": _l("No unit with this id in the package or the database."),
}


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _existing_ids(session: Session, model: type, ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        found.update(session.scalars(select(model.id).where(model.id.in_(chunk))))
    return found


def _check_header(raw: RawTable, table: Table, report: Report) -> bool:
    names = table.column_names
    good = True
    if raw.header is not None and len(raw.header) == 1 and ";" in raw.header[0]:
        # A spreadsheet saved with the Baltic locales' list separator.
        report.problem(raw.file, raw.header_row, None,
                       _l("Columns must be separated by commas; this file uses semicolons."))
        return False
    # HSDS: a publisher may leave out any column that is not required (it is
    # read as empty) and add columns of its own (left out here, and said so).
    if raw.header is not None:
        seen: set[str] = set()
        for name in raw.header:
            if name in seen:
                report.problem(raw.file, raw.header_row, name, _l("The column appears twice."))
                good = False
            elif name not in names:
                report.warn(raw.file, raw.header_row, name,
                            _l("Column left out: %(table)s has no column of this name here.", table=table.path))
            seen.add(name)
    else:
        unknown: dict[str, int] = {}
        for number, row in raw.rows:
            for name in row:
                if name not in names and name not in unknown:
                    unknown[name] = number
        for name, number in unknown.items():
            report.warn(raw.file, number, name,
                        _l("Field left out: %(table)s has no field of this name here.", table=table.name))
    return good


def validate(session: Session, package: Package, skip_invalid: bool = False) -> Report:
    """Check every row of `package`; the report lists every problem (file,
    row, field) and what will be left out. Nothing is written.

    With `skip_invalid`, rows with a problem are taken out of the package,
    and so, pass by pass, are the rows that depend on them (a phone of a
    skipped service no longer finds its service); the report then lists them
    as skipped, and has no problem left unless one concerns a whole file."""
    report = _validate_once(session, package, keep_raw=skip_invalid)
    skipped: list = []
    while skip_invalid and not report.ok:
        bad = report.rows_with_problems
        if any(row is None for _file, row in bad) or not bad:
            break  # a file-level problem: nothing to skip row by row
        skipped.extend(report.all_problems)
        for raw in package.tables.values():
            raw.rows = [(number, cells) for number, cells in raw.rows if (raw.file, number) not in bad]
        report = _validate_once(session, package, keep_raw=skip_invalid)
    report.skipped = skipped
    return report


def _validate_once(session: Session, package: Package, keep_raw: bool) -> Report:
    report = Report(warnings=list(package.warnings))
    for problem in package.problems:
        report.problem(problem.file, problem.row, problem.field, problem.message)
    known = tables()
    valid: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    files = {name: raw.file for name, raw in package.tables.items()}
    rows_by_key: dict[str, dict[Any, tuple[int, dict[str, Any]]]] = {}
    unreadable = {table.name for table in known.values() if table.path in {p.file for p in package.problems}}
    invalid_cells: dict[tuple[str, int], set[str]] = {}  # (table, row) → columns with a wrong value

    # 1. Each row on its own: types, required fields, duplicates.
    for name in known:
        raw = package.tables.get(name)
        if raw is None:
            continue
        table = known[name]
        if not _check_header(raw, table, report):
            unreadable.add(name)
            continue  # the rows cannot be read against a wrong header
        for problem in raw.problems:
            report.problem(problem.file, problem.row, problem.field, problem.message)
        rows, by_key = [], {}
        unheld: Counter[str] = Counter()
        unowned: Counter[str] = Counter()
        for number, cells in raw.rows:
            values: dict[str, Any] = {}
            invalid_columns = set()
            for column in table.columns:
                try:
                    value = convert(name, column, cells.get(column.name))
                except Invalid as invalid:
                    report.problem(raw.file, number, column.name, invalid.message)
                    invalid_columns.add(column.name)
                    continue
                if value is None and column.required:
                    report.problem(raw.file, number, column.name, _l("Required: this field must not be empty."))
                if value is None:
                    continue  # rows hold only what they say: a national package is millions of cells
                if column.attr is not None:
                    values[column.name] = value
                elif not column.derived:
                    unheld[column.name] += 1
            if invalid_columns:
                invalid_cells[(name, number)] = invalid_columns
            if name in OWNERS and all(values.get(owner) is None for owner in OWNERS[name]):
                unowned[name] += 1
                continue  # HSDS allows it; nothing here would show it
            _normalise_row(name, values, invalid_columns, raw.file, number, report)
            for field_name, message, involved in _row_problems(name, values):
                if not involved & invalid_columns:  # a wrong value is reported once
                    report.problem(raw.file, number, field_name, message)
            key = _key(table, values)
            if key is not None and None not in (key if isinstance(key, tuple) else (key,)):
                if key in by_key and table.name == "x_taxonomy_term_label":
                    report.problem(raw.file, number, "locale", _l(
                        "Duplicate: row %(row)d has a name of the same term in the same language.",
                        row=by_key[key][0]))
                elif key in by_key:
                    report.problem(raw.file, number, "id", _l("Duplicate id: row %(row)d has the same one.",
                                                              row=by_key[key][0]))
                else:
                    by_key[key] = (number, values)
            rows.append((number, values))
        for column_name, count in unheld.items():
            report.warn(raw.file, None, column_name, _l(
                "%(count)d values not imported: this directory has no place for this column.", count=count))
        for table_name, count in unowned.items():
            report.warn(raw.file, None, None, _l(
                "%(count)d rows not imported: they belong to nothing this directory shows (none of %(fields)s).",
                count=count, fields=", ".join(OWNERS[table_name])))
        valid[name] = rows
        rows_by_key[name] = by_key
        if not keep_raw:
            raw.rows = []  # read and converted: the text is not needed again

    # Addresses lacking a part HSDS requires came in their own x_ file: their
    # x_addresses.csv rows find them as addresses (and are written as such).
    for key, (number, values) in rows_by_key.get(INCOMPLETE_ADDRESS, {}).items():
        rows_by_key.setdefault("address", {}).setdefault(key, (number, values))
    if INCOMPLETE_ADDRESS in unreadable:
        unreadable.add("address")

    # 2. References to other tables, in the package or the database.
    wanted: dict[str, set[str]] = defaultdict(set)
    for (name, column_name), (target, _relationship) in REFERENCES.items():
        for number, values in valid.get(name, []):
            value = values.get(column_name)
            if value is None or (name == "attribute" and values.get("link_entity") != "service"):
                continue
            if value not in rows_by_key.get(target, {}):
                wanted[target].add(value)
    in_database = {target: _existing_ids(session, known[target].model, ids) for target, ids in wanted.items()}
    for (name, column_name), (target, _relationship) in REFERENCES.items():
        for number, values in valid.get(name, []):
            value = values.get(column_name)
            if value is None or (name == "attribute" and values.get("link_entity") != "service"):
                continue
            if target in unreadable:
                continue  # its file's problem is reported already
            if value not in rows_by_key.get(target, {}) and value not in in_database.get(target, set()):
                report.problem(files[name], number, column_name, REFERENCE_MESSAGES[target])

    # 3. The x_ rows belong to a row of their HSDS table.
    for name, table in known.items():
        if table.extends is None:
            continue
        for number, values in valid.get(name, []):
            if table.extends in unreadable:
                break
            main = rows_by_key.get(table.extends, {}).get(values.get("id"))
            if values.get("id") is not None and main is None:
                report.problem(files[name], number, "id", _l("No row with this id in %(file)s.",
                                                             file=known[table.extends].path))
            elif (name == "x_location" and values.get("geocode_precision") and main[1].get("latitude") is None
                  and "latitude" not in invalid_cells.get((table.extends, main[0]), ())):
                report.problem(files[name], number, "geocode_precision",
                               _l("A geocode precision needs the location's coordinates."))

    # 4. Attributes of other things than services: left out, said so.
    skipped = Counter(values.get("link_entity") for _n, values in valid.get("attribute", [])
                      if values.get("link_entity") not in (None, "service"))
    for entity, count in skipped.items():
        report.warn(files["attribute"], None, "link_entity", _l(
            "%(count)d links to %(entity)s not imported: this directory links taxonomy terms to services only.",
            count=count, entity=entity))

    # 5. Loops of parents; codes, slugs and links another record already uses.
    _check_parents(session, package, valid, files, report, "organization", Organization,
                   Organization.parent_organization_id, "parent_organization_id")
    _check_parents(session, package, valid, files, report, "taxonomy_term", TaxonomyTerm,
                   TaxonomyTerm.parent_id, "parent_id")
    _drop_repeated_taxonomy_names(session, valid)
    _free_flags_as_cost_options(session, valid, files, report)
    _drop_flag_words(valid)
    _check_unique_codes(session, package, valid, files, report)
    package.derived["area_code"] = _settle_area_codes(valid)
    _check_rows_per_record(valid, files, report)

    if INCOMPLETE_ADDRESS in valid:
        valid.setdefault("address", []).extend(valid.pop(INCOMPLETE_ADDRESS))
    package.valid = valid
    return report


def legacy_cost_option_id(service_id: str) -> str:
    """The id of the cost option an earlier version's free-of-charge flag
    becomes: the same at every import of that package."""
    return str(uuid.uuid5(ATTRIBUTE_NAMESPACE, f"free_of_charge:{service_id}"))


def _free_flags_as_cost_options(session: Session, valid, files, report: Report) -> None:
    """x_services.csv of an earlier version states free_of_charge, which
    now follows from cost options (directory/costs.py). A flag of a service
    without cost options (in the package or the database) becomes one, as
    migration 0012 did for the flags it found: free → an amount of 0 EUR;
    not free → an option without an amount. Beside cost options the flag
    says nothing more: they decide."""
    flags = {values["id"]: (number, values["free_of_charge"]) for number, values in valid.get("x_service", [])
             if values.get("id") is not None and values.get("free_of_charge") is not None}
    if not flags:
        return
    costed = {values.get("service_id") for _n, values in valid.get("cost_option", [])}
    for chunk in _chunks(set(flags) - costed):
        costed.update(session.scalars(select(CostOption.service_id).where(CostOption.service_id.in_(chunk))))
    files.setdefault("cost_option", tables()["cost_option"].path)
    for service_id, (number, free) in flags.items():
        if service_id in costed:
            continue
        option = {"id": legacy_cost_option_id(service_id), "service_id": service_id}
        if free:
            option.update(amount=0.0, currency=costs.DEFAULT_CURRENCY)
            message = _l("Imported as a cost option of 0 EUR (free of charge): this directory now keeps "
                         "costs as HSDS cost options.")
        else:
            message = _l("Imported as a cost option without an amount (not free of charge): this directory now "
                         "keeps costs as HSDS cost options.")
        valid.setdefault("cost_option", []).append((number, option))
        report.warn(files["x_service"], number, "free_of_charge", message)


def _settle_area_codes(valid) -> dict[str, str]:
    """The country or municipality each service area is: as x_service_areas.csv
    states it (empty there: none), else recognised from the area's ISO page
    or name (another publisher's package); an area not recognised is kept
    as it came, without a code. A name and uri that are only what the
    export writes for the code are not kept twice. Answers the codes for
    areas without an x_ row ({id: code}, for the writer)."""
    stated = {values.get("id"): values.get("area_code") for _n, values in valid.get("x_service_area", [])}
    found = {}
    for _number, values in valid.get("service_area", []):
        id_ = values.get("id")
        if id_ in stated:
            code = stated[id_]
        else:
            code = recognised_area_code(values.get("name"), values.get("uri"))
            if code is not None and id_ is not None:
                found[id_] = code
        if code is None:
            continue
        if values.get("name") == coded_area_name(code):
            values["name"] = None
        if values.get("uri") == coded_area_uri(code):
            values["uri"] = None
    return found


def _drop_flag_words(valid) -> None:
    """A fees_description that is only the words the directory writes for
    its free-of-charge flag is the flag, not a text of the listing: kept
    once, as the cost options. Either word, for a service with a flag (its
    cost options, or an earlier version's x_services.csv): a publisher who
    changed the options left the words of the old ones ("Bez maksas." for
    a service no longer free), and the export writes them anew from the options."""
    flagged = {values.get("id") for _n, values in valid.get("x_service", [])
               if values.get("free_of_charge") is not None}
    flagged.update(values.get("service_id") for _n, values in valid.get("cost_option", []))
    words = {word for pair in FREE_TEXT.values() for word in pair}
    for _number, values in valid.get("service", []):
        if values.get("id") in flagged and values.get("fees_description") in words:
            values["fees_description"] = None


def _drop_repeated_taxonomy_names(session: Session, valid) -> None:
    """A term's free-text `taxonomy` that only repeats the name of the
    taxonomy it names by id is not kept twice (the export writes it again)."""
    terms = [values for _n, values in valid.get("taxonomy_term", []) if values.get("taxonomy")]
    if not terms:
        return
    names = {values.get("id"): values.get("name") for _n, values in valid.get("taxonomy", [])}
    wanted = {values.get("taxonomy_id") for values in terms} - set(names) - {None}
    for chunk in _chunks(wanted):
        names.update(session.execute(select(Taxonomy.id, Taxonomy.name).where(Taxonomy.id.in_(chunk))).all())
    for values in terms:
        if values.get("taxonomy_id") is not None and names.get(values["taxonomy_id"]) == values["taxonomy"]:
            values["taxonomy"] = None


def _too_many(table: str, count: int, limit: int):
    if table == "phone":
        return _l("Too many phones for one record (%(count)d, at most %(max)d).", count=count, max=limit)
    if table == "schedule":
        return _l("Too many opening hours for one record (%(count)d, at most %(max)d).", count=count, max=limit)
    if table == "cost_option":
        return _l("Too many cost options for one service (%(count)d, at most %(max)d).", count=count, max=limit)
    if table == "organization_identifier":
        return _l("Too many registration numbers for one organization (%(count)d, at most %(max)d).",
                  count=count, max=limit)
    return _l("Too many things to bring for one service (%(count)d, at most %(max)d).", count=count, max=limit)


def _check_rows_per_record(valid, files, report: Report) -> None:
    """One problem per record with more rows than ROWS_PER_RECORD allows,
    at the first row over the cap."""
    for table, (limit, owner_columns) in ROWS_PER_RECORD.items():
        for column in owner_columns:
            rows_of: dict[str, list[int]] = defaultdict(list)
            for number, values in valid.get(table, []):
                if values.get(column) is not None:
                    rows_of[values[column]].append(number)
            for numbers in rows_of.values():
                if len(numbers) > limit:
                    report.problem(files[table], numbers[limit], column, _too_many(table, len(numbers), limit))


def _row_problems(table: str, values: dict[str, Any]) -> list[tuple[str, Any, set[str]]]:
    """Checks across the fields of one row: (field, message, fields involved)."""
    problems = []
    if table == "location":
        if (values.get("latitude") is None) != (values.get("longitude") is None):
            missing = "latitude" if values.get("latitude") is None else "longitude"
            problems.append((missing, _l("Latitude and longitude go together: give both or neither."),
                             {"latitude", "longitude"}))
    if table == "service":
        low, high = values.get("minimum_age"), values.get("maximum_age")
        if low is not None and high is not None and low > high:
            problems.append(("minimum_age", _l("The minimum age is above the maximum age."),
                             {"minimum_age", "maximum_age"}))
    if table in ("schedule", "cost_option"):
        opens, closes = values.get("valid_from"), values.get("valid_to")
        if opens is not None and closes is not None and opens > closes:
            problems.append(("valid_from", _l("valid_from is after valid_to."), {"valid_from", "valid_to"}))
    if table == "organization_identifier" and values.get("identifier") is not None:
        # LV-RE: 11 digits, LT-RC: 9 digits; any other scheme as it comes.
        message = identifiers.check(values.get("identifier_scheme"), values["identifier"])
        if message is not None:
            problems.append(("identifier", message, {"identifier_scheme", "identifier"}))
    return problems


def _normalise_row(table: str, values: dict[str, Any], invalid: set[str], file: str, number: int,
                   report: Report) -> None:
    """What the standard lets publishers write in several ways, in the one
    way the directory holds it."""
    if table == "language" and not invalid & {"code", "name"}:
        code, problem = normalise_language(values.get("code"), values.get("name"))
        if problem is not None:
            report.problem(file, number, "code", problem)
            invalid.add("code")
        values["code"] = code
    if table == "taxonomy_term" and "language" not in invalid and values.get("language") is not None:
        code, problem = normalise_language(values["language"], None)
        if problem is not None:
            report.problem(file, number, "language", problem)
            invalid.add("language")
        # None is the directory's default language of term names.
        values["language"] = None if code == TERM_NAME_LANGUAGE else code
    if table == "schedule":
        _times_in_one_offset(values, invalid, file, number, report)
    if table == "organization_identifier" and not invalid & {"identifier_scheme", "identifier"}:
        scheme = values.get("identifier_scheme")
        if scheme is not None and scheme.upper() in identifiers.SCHEMES:
            # The directory's schemes as it writes them ("lv-re" is LV-RE), and
            # their numbers without the spaces people group digits with
            # ("400 0800 0000"): the registers' numbers have none. Numbers of
            # other schemes are kept exactly as they come.
            values["identifier_scheme"] = scheme.upper()
            if values.get("identifier") is not None:
                values["identifier"] = identifiers.normalise(values["identifier"]) or values["identifier"]
    if table == "schedule" and values.get("freq") == "WEEKLY" and values.get("byday"):
        # One spelling of a weekday list, so that re-imports compare equal.
        values["byday"] = ",".join(item.strip() for item in values["byday"].split(","))


def _times_in_one_offset(values: dict[str, Any], invalid: set[str], file: str, number: int,
                         report: Report) -> None:
    """Times with a UTC offset ("09:00:00+02:00") are held as local times
    plus the schedule's `timezone` (hours from UTC), HSDS's own field for it."""
    offsets = {name: values[name].utcoffset() for name in ("opens_at", "closes_at")
               if values.get(name) is not None and values[name].tzinfo is not None}
    if not offsets:
        return
    hours = {offset.total_seconds() / 3600 for offset in offsets.values()}
    stated = values.get("timezone")
    if len(hours) > 1 or (stated is not None and stated not in hours):
        report.problem(file, number, next(iter(offsets)), _l(
            "The opening and closing times must be given in the same time zone as the schedule's timezone."))
        invalid.update(offsets)
        return
    values["timezone"] = hours.pop()
    for name in offsets:
        values[name] = values[name].replace(tzinfo=None)


def _check_parents(session, package, valid, files, report, name, model, parent_column, field_name) -> None:
    rows = valid.get(name, [])
    if not rows:
        return
    parents = dict(session.execute(select(model.id, parent_column)).all())
    for _number, values in rows:
        if values.get("id") is not None:
            parents[values["id"]] = values.get(field_name)
    for number, values in rows:
        start = values.get("id")
        if start is None or values.get(field_name) is None:
            continue
        seen, current = {start}, values.get(field_name)
        while current is not None:
            if current in seen:
                message = (_l("The organization would be among its own parents (a loop of parent organizations).")
                           if name == "organization" else _l("The term would be among its own parents (a loop)."))
                report.problem(files[name], number, field_name, message)
                break
            seen.add(current)
            current = parents.get(current)


def _make_code(name: str | None, fallback: str, limit: int = 50) -> str:
    """A code from a name: lowercase ASCII letters, digits and hyphens."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-") or fallback


def _settle(kind: str, rows, existing: dict[str, tuple[Any, str]], stated_of, make, group, clash,
            derived: dict[str, dict[Any, Any]], report: Report) -> None:
    """Decide a unique value (slug, code) for every row: the one the package
    states (a clash with another record is a problem), else the record's
    own, else one made from its name. `existing`: {id: (group, value)} in
    the database; `stated_of(values)` → (file, row, field, value) or None."""
    final = dict(existing)
    stated = {}
    for _number, values in rows:
        id_ = values.get("id")
        if id_ is None:
            continue
        where = stated_of(values)
        if where is not None:
            stated[id_] = where
            final[id_] = (group(values), where[3])
        elif id_ in existing:
            final[id_] = (group(values), existing[id_][1])
    owners: dict[tuple[Any, str], str] = {}
    for id_, key in final.items():
        if id_ not in stated:
            owners.setdefault(key, id_)
    # A record keeping its own value keeps it; the one taking it is told.
    keeping = sorted(stated, key=lambda id_: existing.get(id_, (None, None))[1] != stated[id_][3])
    for id_ in keeping:
        file, row, field_name, _value = stated[id_]
        if owners.setdefault(final[id_], id_) != id_:
            report.problem(file, row, field_name, clash)
    taken = set(final.values())
    for _number, values in rows:
        id_ = values.get("id")
        if id_ is None:
            continue
        if id_ in final:
            derived[kind][id_] = final[id_][1]
            continue
        base = make(values)
        candidate, counter = base, 2
        while (group(values), candidate) in taken:
            candidate, counter = f"{base}-{counter}", counter + 1
        taken.add((group(values), candidate))
        derived[kind][id_] = candidate


def _check_unique_codes(session: Session, package: Package, valid, files, report: Report) -> None:
    """Slugs, taxonomy codes, term codes and service–location links stay
    unique; a record without one (a package from another publisher) gets one
    made from its name. The values decided are kept for the import."""
    derived: dict[str, dict[Any, Any]] = {"slug": {}, "taxonomy_code": {}, "term_code": {}, "term_position": {}}
    package.derived = derived
    no_group = lambda values: None  # noqa: E731

    def x_rows(name):
        return {values["id"]: (number, values) for number, values in valid.get(name, []) if values.get("id")}

    def stated_in_x(name, column):
        rows = x_rows(name)

        def stated_of(values):
            number, x_values = rows.get(values["id"], (None, {}))
            value = x_values.get(column)
            return (files[name], number, column, value) if value is not None else None

        return stated_of

    if valid.get("organization"):
        existing = {id_: (None, slug) for id_, slug in session.execute(select(Organization.id, Organization.slug))}
        _settle("slug", valid["organization"], existing, stated_in_x("x_organization", "slug"),
                make=lambda values: slugify(values.get("name") or ""), group=no_group,
                clash=_l("Another organization already uses this slug."), derived=derived, report=report)

    if valid.get("taxonomy"):
        existing = {id_: (None, code) for id_, code in session.execute(select(Taxonomy.id, Taxonomy.code))}
        _settle("taxonomy_code", valid["taxonomy"], existing, stated_in_x("x_taxonomy", "code"),
                make=lambda values: _make_code(values.get("name"), "taxonomy"), group=no_group,
                clash=_l("Another taxonomy already uses this code."), derived=derived, report=report)

    terms = valid.get("taxonomy_term")
    if terms:
        existing_terms = session.execute(
            select(TaxonomyTerm.id, TaxonomyTerm.taxonomy_id, TaxonomyTerm.code, TaxonomyTerm.position)).all()
        # HSDS: a term's code is unique in the whole table, whatever its taxonomy.
        existing = {id_: (None, code) for id_, _taxonomy_id, code, _position in existing_terms}
        numbers = {values.get("id"): number for number, values in terms}

        def stated_code(values):
            code = values.get("code")
            return (files["taxonomy_term"], numbers[values["id"]], "code", code) if code is not None else None

        _settle("term_code", terms, existing, stated_code,
                make=lambda values: _make_code(values.get("name"), "term"),
                group=no_group, clash=_l("Another term already uses this code."), derived=derived, report=report)
        # New terms without a position come after the others of their taxonomy.
        last: dict[str, int] = defaultdict(lambda: -1)
        for _id, taxonomy_id, _code, position in existing_terms:
            last[taxonomy_id] = max(last[taxonomy_id], position or 0)
        positions = {id_: values.get("position") for id_, (_n, values) in x_rows("x_taxonomy_term").items()}
        for _number, values in terms:
            if positions.get(values.get("id")) is not None:
                taxonomy_id = values.get("taxonomy_id")
                last[taxonomy_id] = max(last[taxonomy_id], positions[values["id"]])
        for _number, values in terms:
            id_ = values.get("id")
            if id_ is None or id_ in existing or positions.get(id_) is not None:
                continue
            last[values.get("taxonomy_id")] += 1
            derived["term_position"][id_] = last[values.get("taxonomy_id")]

    links = valid.get("service_at_location")
    if links:
        service_ids = {values.get("service_id") for _n, values in links if values.get("service_id")}
        package_ids = {values.get("id") for _n, values in links}
        taken: dict[tuple[str, str], str] = {}
        for chunk in _chunks(service_ids):
            for id_, service_id, location_id in session.execute(
                select(ServiceAtLocation.id, ServiceAtLocation.service_id, ServiceAtLocation.location_id)
                .where(ServiceAtLocation.service_id.in_(chunk))
            ):
                if id_ not in package_ids:  # the package says where the others go
                    taken[(service_id, location_id)] = id_
        for number, values in links:
            pair = (values.get("service_id"), values.get("location_id"))
            if None in pair or values.get("id") is None:
                continue
            other = taken.setdefault(pair, values["id"])
            if other != values["id"]:
                report.problem(files["service_at_location"], number, "location_id",
                               _l("This service is already offered at this location (id %(id)s).", id=other))


