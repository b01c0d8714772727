"""What a package is read into, and the JSON shapes it may come in.

`RawTable` and `Package` (defined here, used through reader.py): the rows
as read, before any check. JSON documents become raw tables here: the
directory's own directory.json and tabular.json-style documents ({table or
file name: [rows]}), and the HSDS API's shapes (one object such as
service_full.json, a paged list {"contents": [...]}, or a bare list of
objects of one kind).

An API object's nested objects become rows of their own tables, linked to
the object they were nested in: the parent's id is filled in where the
child row lacks it (service.phones[] → phone.service_id; attributes →
link_id and link_entity), or the child's id into the parent
(service.organization → service.organization_id). An object met twice (the
same id) is one row: the first copy is kept, later copies only add fields
it lacks, and a copy that says otherwise is a warning. Which properties nest
which objects is read from the official object schemas in schema/."""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from .mapping import HSDS_DIR, hsds_descriptor, tables
from .report import Limits, Problem

# The kinds a document may be made of, and how a label names a list of them.
TOP_KINDS = {"service": "services", "organization": "organizations", "service_at_location": "service_at_locations",
             "location": "locations", "taxonomy": "taxonomies", "taxonomy_term": "taxonomy_terms"}
# Nested in the API's answers, but not in the object schemas: GET
# /organizations/{id} lists its services, /service_at_locations/{id} has its service.
EXTRA_CHILDREN = {"organization": {"services": ("service", True)},
                  "service_at_location": {"service": ("service", False)}}
# Children that name their parent by (id, table) columns rather than <table>_id.
POLYMORPHIC = {"attribute": ("link_id", "link_entity"), "metadata": ("resource_id", "resource_type")}
MAX_DEPTH = 32  # levels of nesting; the schemas need about ten
NOTHING = _l("Nothing in this file is an HSDS table or object: a JSON document must hold tables "
             "({\"organizations\": [rows], …}), one HSDS object (such as a service with its id), "
             "a paged list of them ({\"contents\": [...]}) or a list of them.")
NOT_AN_OBJECT = _l("The JSON file must hold an object or a list of objects.")
ROW_NOT_AN_OBJECT = _l("Each row must be an object.")


# ------------------------------------------------------------------ raw tables


class Refused(Exception):
    """The files cannot be read at all: one problem says why."""

    def __init__(self, file: str, message, row: int | None = None, field_name: str | None = None):
        super().__init__(str(message))
        self.problem = Problem(file, row, field_name, message)


class _Absent:
    """A field a JSON row does not have (None would be JSON's null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


# ------------------------------------------------------------------ raw tables


@dataclass(eq=False)
class RawTable:
    """One table's rows as read, before any check, kept compact (a 130 MB
    package must fit in memory): the column names once, each row as a tuple
    of its cells in that order (CSV: strings; JSON: JSON values, ABSENT where
    a row lacks the field) and its row number in an array.

    `iter_rows()` (or `rows`, a sequence of the same pairs) gives
    (row number, {column: cell}) with a fresh dict per row; a column the file
    does not have is not in the dict. Row numbers: a CSV file counts its
    header as row 1; a JSON list counts its first object as row 1; the rows
    flattened from API objects are numbered 1, 2, … in the order met, and
    `locate(number)` says where each one is in the document."""

    table: str
    file: str  # as reports name it: "services.csv", "directory.json [service]"
    header: list[str] | None  # CSV: the columns kept, in the file's order; None for JSON
    header_row: int | None
    columns: tuple[str, ...] = ()
    cells: list[tuple[Any, ...]] = field(default_factory=list)
    numbers: array = field(default_factory=lambda: array("L"))
    problems: list[Problem] = field(default_factory=list)  # rows that could not be read
    labels: list[str] | None = None  # API shapes: "service_full.json (services[1].phones[2])" per row
    positions: array | None = None  # API shapes: each row's position in its own list (1 for an object)

    @classmethod
    def from_rows(cls, table: str, file: str, rows: Iterable[tuple[int, dict[str, Any]]],
                  header: list[str] | None = None, header_row: int | None = None) -> RawTable:
        """A table from (row number, dict) pairs, as tests and callers build one."""
        rows = list(rows)
        columns = list(header or [])
        for _number, row in rows:
            columns.extend(name for name in row if name not in columns)
        raw = cls(table, file, header, header_row, tuple(columns))
        for number, row in rows:
            raw.append(number, tuple(row.get(name, ABSENT) for name in columns))
        return raw

    def append(self, number: int, cells: tuple[Any, ...]) -> None:
        self.numbers.append(number)
        self.cells.append(cells)

    def __len__(self) -> int:
        return len(self.cells)

    def iter_rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        columns = self.columns
        for number, cells in zip(self.numbers, self.cells):
            yield number, {name: cell for name, cell in zip(columns, cells) if cell is not ABSENT}

    @property
    def rows(self) -> _Rows:
        return _Rows(self)

    @rows.setter
    def rows(self, rows: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Replace the rows (validate(skip_invalid=True) takes some out); a
        row keeps where it was found."""
        rows = list(rows)
        where = (dict(zip(self.numbers, zip(self.labels, self.positions)))
                 if self.labels is not None and self.positions is not None else None)
        columns = list(self.columns)
        for _number, row in rows:
            columns.extend(name for name in row if name not in columns)
        self.columns, self.cells, self.numbers = tuple(columns), [], array("L")
        if where is not None:
            self.labels, self.positions = [], array("L")
        for number, row in rows:
            self.append(number, tuple(row.get(name, ABSENT) for name in columns))
            if where is not None:
                label, position = where.get(number, (self.file, number))
                self.labels.append(label)
                self.positions.append(position)

    def locate(self, number: int) -> tuple[str, int]:
        """Where row `number` is, as a report should name it: (file, row)."""
        if self.labels is None or self.positions is None:
            return self.file, number
        index = bisect_left(self.numbers, number)
        if index == len(self.numbers) or self.numbers[index] != number:
            return self.file, number
        return self.labels[index], self.positions[index]


class _Rows(Sequence):
    """RawTable.rows: (row number, dict) pairs made one at a time."""

    def __init__(self, raw: RawTable):
        self._raw = raw

    def __len__(self) -> int:
        return len(self._raw.cells)

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return self._raw.iter_rows()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        raw = self._raw
        cells = raw.cells[index]
        return raw.numbers[index], {name: cell for name, cell in zip(raw.columns, cells) if cell is not ABSENT}


@dataclass
class Package:
    source: str
    tables: dict[str, RawTable] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # files that could not be read
    # What was read: "datapackage", "csv" (files without a descriptor),
    # "tables" (a JSON document of tables) or an API object's kind ("service").
    shape: str = ""
    # Filled by validate(): the rows as Python values, by table.
    valid: dict[str, list[tuple[int, dict[str, Any]]]] | None = None
    derived: dict[str, dict[Any, Any]] = field(default_factory=dict)


@cache
def table_names() -> dict[str, str]:
    """What may name a table (lowercase): its name, its file and the file's
    stem ("organization", "organizations.csv", "organizations"), for the
    official descriptor's resources and the directory's x_ tables, and the
    API's plurals ("service_at_locations")."""
    names: dict[str, str] = {}
    for name, path in [(r["name"], r["path"]) for r in hsds_descriptor()["resources"]] + [
            (t.name, t.path) for t in tables().values()]:
        for key in (name, path, PurePosixPath(path).stem):
            names.setdefault(key.lower(), name)
    for name, plural in TOP_KINDS.items():  # as the API's paths name them
        names.setdefault(plural, name)
    return names


def known_columns(table: str) -> frozenset[str]:
    """The columns of a table the directory keeps: the official descriptor's
    (also those it does not hold: the validator says so) or its x_ file's."""
    return frozenset(tables()[table].column_names)


def is_hsds(table: str) -> bool:
    return any(r["name"] == table for r in hsds_descriptor()["resources"])


def ignored_table(package: Package, label: str, hsds: bool, count: int | None = None) -> None:
    """A warning: this file or table is left out (with its number of rows when known)."""
    if count is None:
        message = (_l("Not imported: this directory does not keep this HSDS table.") if hsds
                   else _l("Not imported: not a table this directory knows."))
    elif hsds:
        message = lazy_ngettext("Not imported (%(num)d row): this directory does not keep this HSDS table.",
                               "Not imported (%(num)d rows): this directory does not keep this HSDS table.", count)
    else:
        message = lazy_ngettext("Not imported (%(num)d row): not a table this directory knows.",
                               "Not imported (%(num)d rows): not a table this directory knows.", count)
    package.warnings.append(Problem(label, None, None, message))


def left_out_column(table: str):
    return _l("Column left out: %(table)s has no column of this name here.", table=tables()[table].path)


def left_out_field(table: str):
    return _l("Field left out: %(table)s has no field of this name here.", table=table)


def too_many_rows(file: str, limits: Limits) -> Refused:
    return Refused(file, _l("The file has more than %(limit)d rows.", limit=limits.max_rows))


# ------------------------------------------------------------------ JSON documents


@cache
def kinds() -> dict[str, tuple[frozenset[str], dict[str, tuple[str, bool]]]]:
    """Each HSDS object: (its fields, its nested properties: property →
    (kind, whether a list)), from schema/*.json. The fields of a table the
    directory keeps are its columns (mapping.tables()); of another, the
    descriptor's and the schema's."""
    result = {}
    resources = {r["name"]: r for r in hsds_descriptor()["resources"]}
    for name, resource in resources.items():
        fields = {f["name"] for f in resource["schema"]["fields"]}
        children: dict[str, tuple[str, bool]] = {}
        schema_file = HSDS_DIR / f"{name}.json"
        schema = json.loads(schema_file.read_text(encoding="utf-8")) if schema_file.is_file() else {}
        for key, spec in schema.get("properties", {}).items():
            ref = spec.get("$ref") or (spec.get("items") or {}).get("$ref")
            if isinstance(ref, str) and ref.removesuffix(".json") in resources and key not in fields:
                children[key] = (ref.removesuffix(".json"), "items" in spec)
            elif spec.get("type") not in ("array", "object"):
                fields.add(key)
        children.update(EXTRA_CHILDREN.get(name, {}))
        if name in tables():
            fields = set(known_columns(name))
        result[name] = (frozenset(fields - children.keys()), children)
    return result


def read_document(document: Any, file: str, package: Package, limits: Limits) -> None:
    """Put the tables of a parsed JSON document into `package`; Refused when
    it cannot be read, or when nothing in it is HSDS."""
    if isinstance(document, dict) and "id" in document and not isinstance(document["id"], (dict, list)):
        _read_objects([document], file, package, limits)
    elif isinstance(document, dict) and isinstance(document.get("contents"), list):
        _read_objects(document["contents"], file, package, limits)
    elif isinstance(document, dict):
        _read_tables(document, file, package, limits)
    elif isinstance(document, list) and all(isinstance(item, dict) for item in document):
        _read_objects(document, file, package, limits)
    else:
        raise Refused(file, NOT_AN_OBJECT)


def _read_tables(document: dict[str, Any], file: str, package: Package, limits: Limits) -> None:
    """{table: [rows]}, the table named as in directory.json ("organization"),
    by its file ("organizations.csv", as tabular.json does) or its plural."""
    package.shape = "tables"
    recognised = False
    for key, rows in document.items():
        label = f"{file} [{key}]"
        name = table_names().get(key.strip().lower())
        if name is None or name not in tables():
            recognised = recognised or name is not None
            ignored_table(package, label, name is not None, len(rows) if isinstance(rows, list) else None)
            continue
        recognised = True
        if not isinstance(rows, list):
            raise Refused(label, _l("A list of rows expected."))
        if len(rows) > limits.max_rows:
            raise too_many_rows(label, limits)
        if name in package.tables:
            raise Refused(label, _l("The resource is listed twice."))
        known = known_columns(name)
        present: set[str] = set()
        for index, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise Refused(label, ROW_NOT_AN_OBJECT, row=index)
            for column in row.keys() - present:
                present.add(column)
                if column not in known:
                    package.warnings.append(Problem(label, index, column, left_out_field(name)))
        columns = tuple(c for c in tables()[name].column_names if c in present)
        raw = RawTable(name, label, None, None, columns)
        for index, row in enumerate(rows, start=1):
            raw.append(index, tuple(row.get(column, ABSENT) for column in columns))
        package.tables[name] = raw
    if not recognised:
        raise Refused(file, NOTHING)


def kind_of(objects: list[dict[str, Any]]) -> str | None:
    """The one kind whose properties the objects' keys fit best (each key
    of the kind counts, each foreign key counts against); None when none
    fits or two fit as well."""
    keys = set().union(*(item.keys() for item in objects))
    scores = []
    for kind in TOP_KINDS:
        columns, children = kinds()[kind]
        own = keys & (columns | children.keys())
        scores.append((len(own) - len(keys - own), len(own), kind))
    scores.sort(reverse=True)
    best = scores[0]
    if best[1] < 2 or best[0] <= 0 or (len(scores) > 1 and scores[1][0] == best[0]):
        return None
    return best[2]


def _read_objects(objects: list[Any], file: str, package: Package, limits: Limits) -> None:
    for index, item in enumerate(objects, start=1):
        if not isinstance(item, dict):
            raise Refused(file, ROW_NOT_AN_OBJECT, row=index)
    kind = kind_of(objects) if objects else None
    if kind is None:
        raise Refused(file, NOTHING)
    package.shape = kind
    flattener = _Flattener(file, package)
    for index, item in enumerate(objects, start=1):
        flattener.add(kind, item, f"{TOP_KINDS[kind]}[{index}]", index, None, 0)
    flattener.finish(limits)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _same(first: Any, second: Any) -> bool:
    if _empty(first) or _empty(second):
        return True
    if isinstance(first, (dict, list)) or isinstance(second, (dict, list)):
        return first == second
    return str(first).strip() == str(second).strip()


class _Collected:
    """One table's rows while a document is flattened."""

    def __init__(self):
        self.rows: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.positions = array("L")
        self.by_id: dict[str, int] = {}


class _Flattener:
    def __init__(self, file: str, package: Package):
        self.file, self.package = file, package
        self.collected: dict[str, _Collected] = {}
        self.left_out: set[tuple[str, str]] = set()

    def where(self, path: str) -> str:
        return f"{self.file} ({path})"

    def add(self, kind: str, item: dict[str, Any], path: str, position: int,
            parent: tuple[str, dict[str, Any]] | None, depth: int) -> dict[str, Any]:
        """Put one object and, depth first, what it nests; the row kept."""
        if depth > MAX_DEPTH:
            raise Refused(self.file, _l("Not valid JSON: nested too deeply."))
        columns, children = kinds()[kind]
        row: dict[str, Any] = {}
        nested = []
        for key, value in item.items():
            if key in children:
                if value is None:
                    continue
                child_kind, many = children[key]
                if many and not isinstance(value, list):
                    raise Refused(self.where(path), _l("A list of rows expected."), field_name=key)
                items = value if many else [value]
                for index, child in enumerate(items, start=1):
                    child_path = f"{path}.{key}[{index}]" if many else f"{path}.{key}"
                    if not isinstance(child, dict):
                        raise Refused(self.where(child_path), ROW_NOT_AN_OBJECT)
                    nested.append((child_kind, key, many, child, child_path, index))
            elif key in columns:
                row[key] = value
            elif (kind, key) not in self.left_out and kind in tables():
                self.left_out.add((kind, key))
                self.package.warnings.append(Problem(self.where(path), None, key, left_out_field(kind)))
        if parent is not None:
            self._link_to_parent(kind, row, *parent)
        kept = self._keep(kind, row, path, position)
        for child_kind, key, many, child, child_path, index in nested:
            child_row = self.add(child_kind, child, child_path, index, (kind, kept), depth + 1)
            if not many:  # the parent names its one child: service.organization → organization_id
                for column in (f"{key}_id", f"{child_kind}_id"):
                    if column in columns and _empty(kept.get(column)) and not _empty(child_row.get("id")):
                        kept[column] = child_row["id"]
                        break
        return kept

    @staticmethod
    def _link_to_parent(kind: str, row: dict[str, Any], parent_kind: str, parent: dict[str, Any]) -> None:
        """The parent's id into the child row, where the row lacks it."""
        parent_id = parent.get("id")
        if _empty(parent_id):
            return
        if kind in POLYMORPHIC:
            id_column, table_column = POLYMORPHIC[kind]
            if _empty(row.get(id_column)):
                row[id_column] = parent_id
                if _empty(row.get(table_column)):
                    row[table_column] = parent_kind
            return
        column = f"{parent_kind}_id"
        if column in kinds()[kind][0] and _empty(row.get(column)):
            row[column] = parent_id

    def _keep(self, kind: str, row: dict[str, Any], path: str, position: int) -> dict[str, Any]:
        collected = self.collected.setdefault(kind, _Collected())
        id_ = row.get("id")
        key = None if _empty(id_) or isinstance(id_, (dict, list)) else str(id_).strip().lower()
        if key is not None and key in collected.by_id:
            index = collected.by_id[key]
            first = collected.rows[index]
            differing = sorted(column for column, value in row.items()
                               if column in first and not _same(first[column], value))
            for column, value in row.items():
                if _empty(first.get(column)) and not _empty(value):
                    first[column] = value
            if differing and kind in tables():
                self.package.warnings.append(Problem(self.where(path), position, differing[0], _l(
                    "The same %(table)s (id %(id)s) again, with other values in %(fields)s: the first, "
                    "at %(first)s, is kept.", table=kind, id=id_, fields=", ".join(differing),
                    first=collected.paths[index])))
            return first
        if key is not None:
            collected.by_id[key] = len(collected.rows)
        collected.rows.append(row)
        collected.paths.append(path)
        collected.positions.append(position)
        return row

    def finish(self, limits: Limits) -> None:
        """The collected rows as raw tables; the tables the directory does
        not keep are warnings."""
        for kind, collected in self.collected.items():
            label = f"{self.file} [{kind}]"
            if kind not in tables():
                ignored_table(self.package, label, is_hsds(kind), len(collected.rows))
                continue
            if len(collected.rows) > limits.max_rows:
                raise too_many_rows(label, limits)
            present = set().union(*(row.keys() for row in collected.rows))
            columns = tuple(c for c in tables()[kind].column_names if c in present)
            raw = RawTable(kind, label, None, None, columns, labels=[self.where(p) for p in collected.paths],
                           positions=collected.positions)
            for number, row in enumerate(collected.rows, start=1):
                raw.append(number, tuple(row.get(column, ABSENT) for column in columns))
            self.package.tables[kind] = raw
