"""Writing a validated package with bulk Core statements, table by table.

Each table, parents first, is written in chunks of CHUNK rows: one SELECT …
IN of the mapped columns says which keys exist and what they hold; a row
equal to the database is counted unchanged and never written; new rows go
in one executemany INSERT (PostgreSQL: COPY when there are many), changed
ones in an executemany UPDATE per set of changed columns. No ORM object is
made for a row: only the geocoder loads the few locations whose address it
must look up. Tables and columns come from mapping.tables() (a table's
model, each column's attr), so new ones are written without a change here.

The search triggers are suspended at the first write and the search entries
of the services touched rebuilt once (search_index.py), so an unchanged
package writes nothing at all.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from operator import itemgetter
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table as CoreTable
from sqlalchemy import String, any_, bindparam, func, insert, inspect, literal_column, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import costs, search_index
from ..models import CostOption, RequiredDocument, Service, ServiceAtLocation, service_taxonomy_term
from .bulk_parts import Parts
from .mapping import Table, same_value, tables
from .reader import Package
from .report import Report, TableCount

CHUNK = 5000  # rows per SELECT … IN and per executemany
COPY_AT_LEAST = 1000  # PostgreSQL: new rows of one chunk from which COPY beats INSERT

# Columns a row may leave empty that then keep the record's value (a new
# record takes the model's default), besides every NOT NULL column.
KEEP_WHEN_EMPTY = {
    ("schedule", "freq"), ("schedule", "open_on_public_holidays"), ("taxonomy_term", "position"),
    ("required_document", "position"), ("cost_option", "position"),
}
# Filled, when empty, with what validate() decided (package.derived).
FROM_DERIVED = {("organization", "slug"): "slug", ("taxonomy", "code"): "taxonomy_code",
                ("taxonomy_term", "code"): "term_code", ("service_area", "area_code"): "area_code"}
# Rows in each service's order: a new one without a position goes after the others.
POSITIONED = {"required_document": RequiredDocument, "cost_option": CostOption}
PARENTS = {"organization": "parent_organization_id", "taxonomy_term": "parent_id"}
# Read besides the mapped columns: what stated coordinates are compared with.
EXTRA_READ = {"location": ("geocoded_query",)}
STT = service_taxonomy_term


def chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def parents_first(rows: list[tuple[int, dict[str, Any]]], field_name: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows ordered so that a row's parent (in the package) comes before it."""
    by_id = {values["id"]: (number, values) for number, values in rows}
    ordered, placed = [], set()
    for _number, values in rows:
        chain, current = [], values["id"]
        while current in by_id and current not in placed and current not in chain:
            chain.append(current)
            current = by_id[current][1].get(field_name)
        for id_ in reversed(chain):
            placed.add(id_)
            ordered.append(by_id[id_])
    return ordered


def _utc(value: Any) -> Any:
    """Times in UTC: SQLite keeps a time without its zone, and gives it back as UTC."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return value


def _python_type(column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:  # a type that does not say
        return None


def _default(column) -> tuple[Any, Callable | None]:
    """A column's Python default: (a value, or None and a function giving one)."""
    default = column.default
    if default is None or not (default.is_scalar or default.is_callable):
        return None, None
    return (default.arg, None) if default.is_scalar else (None, default.arg)


class Batch:
    """A Core statement compiled once and run with many rows, handed to the
    driver as its own parameters through the columns' bind processors:
    SQLAlchemy's per-row parameter handling would take longer than the
    database's work."""

    def __init__(self, connection: Connection, statement):
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        processors = [compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in self.names]
        self.processors = [(i, p) for i, p in enumerate(processors) if p is not None]
        self.get = itemgetter(*self.names) if len(self.names) > 1 else (lambda row: (row[self.names[0]],))

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> int:
        params = []
        for row in rows:
            values = self.get(row)
            if self.processors:
                values = list(values)
                for i, process in self.processors:
                    if values[i] is not None:
                        values[i] = process(values[i])
            params.append(tuple(values) if self.positional else dict(zip(self.names, values)))
        return connection.exec_driver_sql(self.sql, params).rowcount


class Spec:
    """How one package table maps onto its database table."""

    def __init__(self, table: Table):
        self.name = table.name
        self.model = table.model
        self.core: CoreTable = table.model.__table__
        self.columns = self.core.c
        self.pk = [c.key for c in self.core.primary_key.columns]
        # (HSDS column, attribute) of this table and of its x_ tables.
        self.own = [(c.name, c.attr) for c in table.columns if c.held and c.attr in self.columns]
        self.key_names = [next(name for name, attr in self.own if attr == key) for key in self.pk]
        self.own = [(name, attr) for name, attr in self.own if attr not in self.pk]
        self.extensions = [(t.name, [(c.name, c.attr) for c in t.columns if c.held and c.attr in self.columns
                                     and c.attr not in self.pk])
                           for t in tables().values() if t.extends == table.name and t.model is not None]
        version = inspect(table.model).version_id_col
        self.version = version.key if version is not None else None
        self.times = {c.key for c in self.core.c if _python_type(c) is datetime}
        self.defaults = {c.key: _default(c)[0] for c in self.core.c}
        self.made = [(c.key, _default(c)[1]) for c in self.core.c if _default(c)[1] is not None]
        self.onupdate = [(c.key, c.onupdate) for c in self.core.c
                         if c.onupdate is not None and (c.onupdate.is_scalar or c.onupdate.is_callable)]
        self.blank = [c.key for c in self.core.c if _default(c)[0] == ""]
        self.derived = [(attr, kind) for (name, attr), kind in FROM_DERIVED.items() if name == table.name]
        self.keep = {c.key for c in self.core.c if not c.nullable} | {
            attr for (name, attr) in KEEP_WHEN_EMPTY if name == table.name}
        attrs = {a for _n, a in self.own} | {a for _n, cols in self.extensions for _c, a in cols}
        attrs |= {a for a in EXTRA_READ.get(table.name, ()) if a in self.columns}
        self.selected = sorted(attrs | set(self.pk) | ({self.version} if self.version else set()))

    def key(self, values: dict[str, Any]) -> Any:
        if len(self.key_names) == 1:
            return values.get(self.key_names[0])
        return tuple(values.get(name) for name in self.key_names)

    def update_statement(self, attrs: frozenset):
        """UPDATE of these columns by key (and version: a record changed
        since it was read is not overwritten; its version moves on)."""
        columns = self.columns
        statement = update(self.core).where(*(columns[k] == bindparam(f"k_{k}", type_=columns[k].type)
                                              for k in self.pk))
        values = {columns[a]: bindparam(a, type_=columns[a].type) for a in attrs}
        values.update({columns[a]: bindparam(a, type_=columns[a].type) for a, _f in self.onupdate if a not in attrs})
        if self.version:
            version = columns[self.version]
            statement = statement.where(version == bindparam("k_version", type_=version.type))
            values[version] = version + literal_column("1")
        return statement.values(values)


class BulkWriter(Parts):
    """Writes `package.valid` through one session's connection, counting in `report`."""

    chunks = staticmethod(chunks)

    def __init__(self, session: Session, package: Package, report: Report,
                 progress: Callable[[str, int, int], None] | None = None):
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.package = package
        self.valid = package.valid or {}
        self.derived = package.derived or {}
        self.report = report
        self.progress = progress or (lambda stage, done, total: None)
        self.done = 0
        self.total = sum(len(rows) for rows in self.valid.values())
        self.suspension: search_index.Suspension | None = None
        self.wrote = False
        # What the search documents read, touched by this import (see finish()).
        self.services: set[str] = set()
        self.organizations: set[str] = set()
        self.locations: set[str] = set()
        self.terms: set[str] = set()
        self.expected_versions: dict[str, dict[Any, int]] = defaultdict(dict)
        self.stated_coordinates: set[str] = set()
        self.physical: dict[str, dict[str, Any] | None] = {}
        self.positions: dict[tuple[str, str], int] = {}  # (table, service id) → last position
        self.costed: set[str] = set()  # services whose cost options this import writes
        # For services' last_modified (bulk_parts.track): (kind, id) of records
        # changed, ids made by this import, services with their own time.
        self.anchors: set[tuple[str, Any]] = set()
        self.created: dict[str, set] = defaultdict(set)
        self.stamped: set[str] = set()
        self.pinned: set[str] = set()
        self.batches: dict[tuple, Batch] = {}
        self.empty: set[str] = set()
        self.x_rows = {name: {values["id"]: values for _n, values in rows if values.get("id") is not None}
                       for name, rows in self.valid.items() if tables().get(name) and tables()[name].extends}

    # ------------------------------------------------------------------ driving

    def write(self) -> None:
        for name in self.order():
            if name == "attribute":
                self.write_links()
            else:
                self.write_table(Spec(tables()[name]))
            self.progress("writing", self.done, self.total)
        self.geocode()
        self.keep_free_flags()
        self.stamp_services()

    def order(self) -> list[str]:
        """The package's tables in mapping order, each after the tables its model refers to."""
        known = tables()
        names = [n for n, t in known.items() if n in self.valid and t.extends is None
                 and (t.model is not None or n == "attribute")]
        core = {n: (known[n].model.__table__ if known[n].model is not None else STT) for n in names}
        needs = {n: {other for other in names if other != n and any(
            fk.column.table is core[other] for fk in core[n].foreign_keys)} for n in names}
        ordered: list[str] = []
        while len(ordered) < len(names):
            ready = [n for n in names if n not in ordered and needs[n] <= set(ordered)]
            ordered.append(ready[0] if ready else next(n for n in names if n not in ordered))
        return ordered

    def count(self, name: str) -> TableCount:
        if name not in self.report.counts:
            raw = self.package.tables.get(name)  # none: rows moved here by validate (incomplete addresses)
            self.report.counts[name] = TableCount(raw.file if raw is not None else tables()[name].path)
        return self.report.counts[name]

    def before_write(self) -> None:
        if not self.wrote:
            self.wrote = True
            self.suspension = search_index.suspend(self.connection)

    # ------------------------------------------------------------------ one table

    def write_table(self, spec: Spec) -> None:
        rows = self.valid.get(spec.name) or []
        if not rows:
            return
        if spec.name in PARENTS:
            rows = parents_first(rows, PARENTS[spec.name])
        if spec.name == "location":
            self.physical = self.physical_addresses(rows)
        count = self.count(spec.name)
        if self.connection.execute(select(spec.columns[spec.pk[0]]).limit(1)).first() is None:
            self.empty.add(spec.name)  # a first import: every row is new, none to read
        for chunk in chunks(rows):
            existing = self.fetch(spec, [spec.key(values) for _n, values in chunk])
            if spec.name in POSITIONED:
                self.last_positions(spec.name, [v["service_id"] for _n, v in chunk if spec.key(v) not in existing])
            new_rows: list[dict[str, Any]] = []
            changed: dict[frozenset, list[dict[str, Any]]] = defaultdict(list)
            for _number, values in chunk:
                key = spec.key(values)
                old = existing.get(key)
                plain = self.values_of(spec, values, old)
                if spec.model is CostOption:
                    self.costed.update(v for v in (plain.get("service_id"), old and old["service_id"]) if v)
                if old is None:
                    new_rows.append(self.new_row(spec, key, plain))
                    self.touch(spec.name, key, plain, None)
                    self.track(spec.model, key, plain, None)
                    continue
                difference = {a: v for a, v in plain.items() if old[a] != v and not same_value(old[a], v)}
                if spec.model is Service and plain.get("updated_at") is not None:
                    self.pinned.add(key)  # its time is the package's, changed or not
                if not difference:
                    count.unchanged += 1
                    continue
                if key in self.pinned:
                    difference["updated_at"] = plain["updated_at"]  # the package's time, not now
                count.updated += 1
                self.touch(spec.name, key, plain, old)
                self.track(spec.model, key, plain, old, difference)
                params = {f"k_{k}": old[k] for k in spec.pk} | difference
                if spec.version:
                    params["k_version"] = old[spec.version]
                    self.expected_versions[spec.name][key] = old[spec.version] + 1
                changed[frozenset(difference)].append(params)
            count.created += len(new_rows)
            self.insert(spec.core, new_rows)
            for attrs, params in changed.items():
                self.update(spec, attrs, params)
            self.done += len(chunk)
            self.progress("writing", self.done, self.total)

    def fetch(self, spec: Spec, keys: list[Any]) -> dict[Any, Any]:
        """Existing rows of these keys: {key: row mapping of spec.selected}."""
        if spec.name in self.empty:
            return {}
        wanted = {k if len(spec.pk) == 1 else k[0] for k in keys}
        column = spec.columns[spec.pk[0]]
        rows = self.read(select(*(spec.columns[a] for a in spec.selected)).where(self.among(column, wanted)))
        if len(spec.pk) == 1:
            return {row[spec.pk[0]]: row for row in rows}
        return {tuple(row[k] for k in spec.pk): row for row in rows}

    def read(self, query) -> list:
        """The rows of a query as mappings, fetched at once (far quicker than row by row)."""
        return self.connection.execute(query).mappings().all()

    def among(self, column, values: Iterable[Any]):
        """`column IN (values)` as one parameter: an array (PostgreSQL), a
        JSON list (SQLite); compiled once, however many values."""
        values = sorted(values)
        if self.dialect == "postgresql":
            return column == any_(bindparam("among", values, type_=ARRAY(column.type)))
        return column.in_(select(literal_column("value")).select_from(
            func.json_each(bindparam("among", json.dumps(values), type_=String))))

    def values_of(self, spec: Spec, values: dict[str, Any], old) -> dict[str, Any]:
        """A row (and its x_ row) as {attribute: value} to compare and write."""
        plain = {attr: values.get(name) for name, attr in spec.own}
        id_ = values.get("id")
        for x_name, columns in spec.extensions:
            x_row = self.x_rows.get(x_name, {}).get(id_)
            if x_row is not None:  # none: the directory's own fields stay as they are
                plain.update((attr, x_row.get(name)) for name, attr in columns)
        for attr in spec.times:
            if plain.get(attr) is not None:
                plain[attr] = _utc(plain[attr])
        for attr in spec.blank:
            if attr in plain and plain[attr] is None:
                plain[attr] = ""
        for attr, kind in spec.derived:
            if plain.get(attr) is None and id_ in self.derived.get(kind, {}):
                plain[attr] = self.derived[kind][id_]
        if old is None and (spec.name == "taxonomy_term" or spec.name in POSITIONED) and plain.get("position") is None:
            plain["position"] = self.next_position(spec.name, values, plain)
        for attr in [a for a, v in plain.items() if v is None and a in spec.keep]:
            del plain[attr]  # kept as it is, or the model's default on a new record
        if spec.name == "location":
            self.coordinates(values, plain, old)
        return plain

    def next_position(self, name: str, values: dict[str, Any], plain: dict[str, Any]) -> int:
        """Where a new term, document or cost option without a position goes: after the others."""
        if name == "taxonomy_term":
            return self.derived.get("term_position", {}).get(values["id"], 0)
        self.positions[(name, plain["service_id"])] += 1
        return self.positions[(name, plain["service_id"])]

    def last_positions(self, name: str, service_ids: list[str]) -> None:
        """The last position of each service's documents (or cost options) in the database (-1: none)."""
        model = POSITIONED[name]
        wanted = sorted({s for s in service_ids if (name, s) not in self.positions})
        if wanted:
            self.positions.update(dict.fromkeys(((name, s) for s in wanted), -1))
            self.positions.update(((name, service_id), position) for service_id, position in self.connection.execute(
                select(model.service_id, func.max(model.position))
                .where(self.among(model.service_id, wanted)).group_by(model.service_id)).all())

    def keep_free_flags(self) -> None:
        """Services whose cost options this import wrote: free of charge as
        their options now say (costs.is_free, what keep_free_flag does for
        the ORM), written where it changed. Like change_tracking's times, the
        flag is no fact of its own: the services' versions stay."""
        table = Service.__table__
        for chunk in self.chunks(sorted(self.costed)):
            amounts: dict[str, list[SimpleNamespace]] = defaultdict(list)
            for service_id, amount in self.connection.execute(
                    select(CostOption.service_id, CostOption.amount).where(self.among(CostOption.service_id, chunk))):
                amounts[service_id].append(SimpleNamespace(amount=amount))
            changed = [
                {"k_id": service_id, "free_of_charge": free}
                for service_id, held in self.connection.execute(
                    select(Service.id, Service.free_of_charge).where(self.among(Service.id, chunk)))
                if held != (free := costs.is_free(amounts.get(service_id, [])))
            ]
            if changed:
                # updated_at as it is: stamp_services decides it (a stated time stays).
                self.run(("free_of_charge",), lambda: update(table).where(
                    table.c.id == bindparam("k_id", type_=table.c.id.type)).values(
                    free_of_charge=bindparam("free_of_charge", type_=table.c.free_of_charge.type),
                    updated_at=table.c.updated_at), changed)
                self.services.update(row["k_id"] for row in changed)

    def new_row(self, spec: Spec, key: Any, plain: dict[str, Any]) -> dict[str, Any]:
        row = dict(spec.defaults)
        row.update((a, v) for a, v in plain.items() if v is not None)
        row.update(zip(spec.pk, key if len(spec.pk) > 1 else (key,)))
        for attr, make in spec.made:
            if row[attr] is None:
                row[attr] = make(None)
        return row

    def touch(self, name: str, key: Any, plain: dict[str, Any], old) -> None:
        """Note whose search document this row may change (the rules of the
        triggers in search_index.py)."""
        if name == "service":
            self.services.add(key)
        elif name == "organization" and old is not None:
            self.organizations.add(key)
        elif name == "service_at_location":
            self.services.update(v for v in (plain.get("service_id"), old and old["service_id"]) if v)
        elif name == "address":
            self.locations.update(v for v in (plain.get("location_id"), old and old["location_id"]) if v)
        elif name == "x_taxonomy_term_label":
            self.terms.add(key[0])

    # ------------------------------------------------------------------ statements

    def run(self, key: tuple, statement: Callable[[], Any], rows: list[dict[str, Any]]) -> int:
        """Run a statement (made once per key) with these rows."""
        self.before_write()
        if key not in self.batches:
            self.batches[key] = Batch(self.connection, statement())
        return self.batches[key].run(self.connection, rows)

    def insert(self, core: CoreTable, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.dialect == "postgresql" and len(rows) >= COPY_AT_LEAST:
            self.before_write()
            self.copy(core, rows)
        else:
            self.run(("insert", core.name), lambda: insert(core), rows)

    def copy(self, core: CoreTable, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL's COPY through psycopg: the fastest way in for many rows."""
        quote = self.connection.dialect.identifier_preparer.quote
        names = list(rows[0])
        raw = self.connection.connection.driver_connection
        sql = f"COPY {quote(core.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
        driver_error = self.connection.dialect.loaded_dbapi.Error
        try:
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([row[n] for n in names])
        except driver_error as error:  # as SQLAlchemy would say it (IntegrityError for a key taken meanwhile…)
            raise DBAPIError.instance(sql, None, error, driver_error) from error

    def update(self, spec: Spec, attrs: frozenset, params: list[dict[str, Any]]) -> None:
        for attr, default in spec.onupdate:  # updated_at: now
            if attr not in attrs:
                value = default.arg(None) if default.is_callable else default.arg
                for row in params:
                    row[attr] = value
        done = self.run(("update", spec.name, attrs), lambda: spec.update_statement(attrs), params)
        if done != len(params) and self.connection.dialect.supports_sane_multi_rowcount:
            # Changed (or deleted) since it was read: its version moved.
            raise StaleDataError(f"{len(params) - done} {spec.name} rows changed meanwhile")

    def verify(self) -> None:
        """Before commit: every record this import updated still has the
        version it gave it; anything else wrote to it inside this transaction."""
        for name, expected in self.expected_versions.items():
            spec = Spec(tables()[name])
            key, version = spec.columns[spec.pk[0]], spec.columns[spec.version]
            for chunk in chunks(sorted(expected)):
                for id_, found in self.connection.execute(select(key, version).where(self.among(key, chunk))):
                    if found != expected[id_]:
                        raise StaleDataError(f"{name} {id_} changed meanwhile")

    # ------------------------------------------------------------------ the search index

    def finish(self) -> None:
        """Triggers back, search entries of the touched services rebuilt, the
        search state moved once. Nothing when nothing was written."""
        if self.suspension is None:
            return  # nothing written, or the triggers did it row by row
        self.progress("indexing", 0, 1)
        services = set(self.services)
        sources = ((self.organizations, Service.id, Service.organization_id),
                   (self.locations, ServiceAtLocation.service_id, ServiceAtLocation.location_id),
                   (self.terms, STT.c.service_id, STT.c.taxonomy_term_id))
        for ids, wanted, column in sources:
            for chunk in chunks(sorted(ids)):
                services.update(self.connection.execute(select(wanted).where(self.among(column, chunk))).scalars())
        total = self.connection.execute(select(func.count()).select_from(Service)).scalar()
        everything = len(services) * 2 > total  # one statement for all beats many for most
        search_index.resume(self.connection, self.suspension, None if everything else services)
        self.progress("indexing", 1, 1)
