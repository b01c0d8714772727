"""The full-text index and the search-state counter around a bulk write.

Triggers keep both in step with every row written (migrations 0002 and
0003): on SQLite each write to a table a search document reads rebuilds that
service's FTS5 entry, on PostgreSQL its tsvector (refresh_service_search),
and every write statement to a watched table bumps search_state.version,
which each process follows with its search index (directory/live_index.py).
Row by row that is most of a large import's time. So a bulk import
suspends them inside its transaction, writes, and then rebuilds the index
once for the services it touched and bumps the counter once:

    suspension = suspend(connection)      # nothing is suspended: None
    …bulk INSERT / UPDATE…
    resume(connection, suspension, service_ids)   # or None: every service

SQLite drops the triggers and creates them again (DDL is transactional
there, so other connections never see them missing, and a rollback puts
them back). PostgreSQL disables them with ALTER TABLE … DISABLE TRIGGER,
which needs the tables' owner; another role keeps them running row by row.

Migration 0011 adds the change log: every write that can change what
search finds of a service records that service in search_change (a NULL:
everything, a taxonomy changed), so that each process applies just those
services to its index (facet_build.py) instead of building it anew. Resuming
records the services a bulk write touched there in one statement (or a NULL
when they are many).

This module is the one source of the triggers' SQL: the definitions below
reproduce exactly the DDL migrations 0002, 0003, 0009, 0011 and 0013 ran
(tests compare sqlite_master before and after an import).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

# (trigger name without its search_ prefix, table, event, SQL expressions
# giving the ids of the services to refresh): migration 0002.
SEARCH_TRIGGERS = [
    ("service_ai", "service", "INSERT", ["NEW.id"]),
    ("service_au", "service", "UPDATE", ["NEW.id"]),
    ("organization_au", "organization", "UPDATE",
     ["(SELECT id FROM service WHERE organization_id = NEW.id)"]),
    ("stt_ai", "service_taxonomy_term", "INSERT", ["NEW.service_id"]),
    ("stt_ad", "service_taxonomy_term", "DELETE", ["OLD.service_id"]),
    ("sal_ai", "service_at_location", "INSERT", ["NEW.service_id"]),
    ("sal_au", "service_at_location", "UPDATE", ["OLD.service_id", "NEW.service_id"]),
    ("sal_ad", "service_at_location", "DELETE", ["OLD.service_id"]),
    ("address_ai", "address", "INSERT",
     ["(SELECT service_id FROM service_at_location WHERE location_id = NEW.location_id)"]),
    ("address_au", "address", "UPDATE",
     ["(SELECT service_id FROM service_at_location WHERE location_id = OLD.location_id)",
      "(SELECT service_id FROM service_at_location WHERE location_id = NEW.location_id)"]),
    ("address_ad", "address", "DELETE",
     ["(SELECT service_id FROM service_at_location WHERE location_id = OLD.location_id)"]),
    ("label_ai", "taxonomy_term_label", "INSERT",
     ["(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = NEW.term_id)"]),
    ("label_au", "taxonomy_term_label", "UPDATE",
     ["(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = OLD.term_id)",
      "(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = NEW.term_id)"]),
    ("label_ad", "taxonomy_term_label", "DELETE",
     ["(SELECT service_id FROM service_taxonomy_term WHERE taxonomy_term_id = OLD.term_id)"]),
]
# Migration 0003: every write statement to these tables moves the counter;
# 0013 adds service_area.
WATCHED_TABLES = [
    "service", "organization", "location", "address", "service_at_location", "service_taxonomy_term",
    "taxonomy", "taxonomy_term", "taxonomy_term_label", "language", "schedule", "service_area",
]
EVENTS = ["INSERT", "UPDATE", "DELETE"]
BUMP = "UPDATE search_state SET version = version + 1 WHERE id = 1"

# Migration 0011: (table, event, SQL expressions giving the services whose
# search facts the row changes). Taxonomy tables change every service's.
# Migration 0013 adds service_area: an area counts for its service, stated
# on the service or on one of its service_at_location rows.
_AT_NEW = "(SELECT service_id FROM service_at_location WHERE location_id = NEW.location_id)"
_AT_OLD = "(SELECT service_id FROM service_at_location WHERE location_id = OLD.location_id)"
_SAL_NEW = "(SELECT service_id FROM service_at_location WHERE id = NEW.service_at_location_id)"
_SAL_OLD = "(SELECT service_id FROM service_at_location WHERE id = OLD.service_at_location_id)"
CHANGE_TRIGGERS = [
    ("service", "INSERT", ["NEW.id"]),
    ("service", "UPDATE", ["OLD.id", "NEW.id"]),
    ("service", "DELETE", ["OLD.id"]),
    ("organization", "UPDATE", ["(SELECT id FROM service WHERE organization_id = NEW.id)"]),
    ("location", "UPDATE", ["(SELECT service_id FROM service_at_location WHERE location_id = NEW.id)"]),
    *[(table, event, expressions)
      for table in ("service_taxonomy_term", "service_at_location")
      for event, expressions in (("INSERT", ["NEW.service_id"]),
                                 ("UPDATE", ["OLD.service_id", "NEW.service_id"]),
                                 ("DELETE", ["OLD.service_id"]))],
    ("address", "INSERT", [_AT_NEW]),
    ("address", "UPDATE", [_AT_OLD, _AT_NEW]),
    ("address", "DELETE", [_AT_OLD]),
    *[(table, event, expressions)
      for table in ("language", "schedule")
      for event, expressions in (("INSERT", ["NEW.service_id", _AT_NEW]),
                                 ("UPDATE", ["OLD.service_id", _AT_OLD, "NEW.service_id", _AT_NEW]),
                                 ("DELETE", ["OLD.service_id", _AT_OLD]))],
    ("service_area", "INSERT", ["NEW.service_id", _SAL_NEW]),
    ("service_area", "UPDATE", ["OLD.service_id", _SAL_OLD, "NEW.service_id", _SAL_NEW]),
    ("service_area", "DELETE", ["OLD.service_id", _SAL_OLD]),
]
EVERYTHING_TABLES = ["taxonomy", "taxonomy_term", "taxonomy_term_label"]
# A bulk write that touched more services than this records "everything":
# each process then builds its index anew (in the background) instead.
CHANGES_RECORDED_ONE_BY_ONE = 2000

# What the search document (the view service_search_document) reads.
DOCUMENT_TABLES = ["service", "organization", "service_taxonomy_term", "taxonomy_term_label",
                   "service_at_location", "address"]
FTS_COLUMNS = "rowid, name, centre, terms, place, body"
FTS_SELECT = ("SELECT s.rowid, d.name, d.centre, d.terms, d.place, d.body "
              "FROM service_search_document d JOIN service s ON s.id = d.service_id")
IDS_PER_STATEMENT = 5000


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    sql: str  # the CREATE TRIGGER statement (SQLite: as sqlite_master keeps it)


def _sqlite_search_trigger(name: str, table: str, event: str, expressions: list[str]) -> str:
    ids = " UNION ".join(e[1:-1] if e.startswith("(") else f"SELECT {e}" for e in expressions)
    # An update may change the rowid's document: drop old entries first.
    return f"""
CREATE TRIGGER search_{name} AFTER {event} ON {table}
BEGIN
  DELETE FROM service_fts WHERE rowid IN (SELECT rowid FROM service WHERE id IN ({ids}));
  INSERT INTO service_fts(rowid, name, centre, terms, place, body)
  SELECT s.rowid, d.name, d.centre, d.terms, d.place, d.body
    FROM service_search_document d JOIN service s ON s.id = d.service_id
   WHERE d.service_id IN ({ids});
END""".strip()


def _sqlite_change_trigger(table: str, event: str, expressions: list[str]) -> str:
    inserts = "\n".join(
        f"  INSERT INTO search_change(service_id) {e[1:-1]};" if e.startswith("(")
        else f"  INSERT INTO search_change(service_id) SELECT {e} WHERE {e} IS NOT NULL;"
        for e in expressions
    )
    return f"CREATE TRIGGER search_change_{table}_{event.lower()} AFTER {event} ON {table}\nBEGIN\n{inserts}\nEND"


def change_triggers(dialect: str) -> list[Trigger]:
    """The change-log triggers of migrations 0011 and 0013 on `dialect`."""
    found = []
    for table, event, expressions in CHANGE_TRIGGERS:
        name = f"search_change_{table}_{event.lower()}"
        if dialect == "postgresql":
            args = ", ".join("'" + _pg_select(e).replace("'", "''") + "'" for e in expressions)
            sql = (f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION search_change_record({args})")
        else:
            sql = _sqlite_change_trigger(table, event, expressions)
        found.append(Trigger(name, table, sql))
    for table in EVERYTHING_TABLES:
        for event in EVENTS:
            name = f"search_change_{table}_{event.lower()}"
            if dialect == "postgresql":
                sql = (f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION search_change_record()")
            else:
                sql = (f"CREATE TRIGGER {name} AFTER {event} ON {table}\nBEGIN\n"
                       "  INSERT INTO search_change(service_id) VALUES (NULL);\nEND")
            found.append(Trigger(name, table, sql))
    return found


def _pg_select(expression: str) -> str:
    """NEW.x / OLD.x as the $1 / $2 record parameters of EXECUTE (0002)."""
    sql = expression[1:-1] if expression.startswith("(") else f"SELECT {expression}"
    return sql.replace("NEW.", "($1).").replace("OLD.", "($2).")


def triggers(dialect: str) -> list[Trigger]:
    """Every search trigger of migrations 0002, 0003, 0011 and 0013 on `dialect`."""
    found = []
    for name, table, event, expressions in SEARCH_TRIGGERS:
        if dialect == "postgresql":
            args = ", ".join("'" + _pg_select(e).replace("'", "''") + "'" for e in expressions)
            sql = (f"CREATE TRIGGER search_{name} AFTER {event} ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION search_refresh_trigger({args})")
        else:
            sql = _sqlite_search_trigger(name, table, event, expressions)
        found.append(Trigger(f"search_{name}", table, sql))
    if dialect != "postgresql":
        found.append(Trigger("search_service_ad", "service", """
CREATE TRIGGER search_service_ad AFTER DELETE ON service
BEGIN
  DELETE FROM service_fts WHERE rowid = OLD.rowid;
END""".strip()))
    for table in WATCHED_TABLES:
        for event in EVENTS:
            name = f"search_state_{table}_{event.lower()}"
            if dialect == "postgresql":
                sql = (f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION search_state_bump()")
            else:
                sql = f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END"
            found.append(Trigger(name, table, sql))
    return found + change_triggers(dialect)


# ------------------------------------------------------------------ suspend, resume


@dataclass
class Suspension:
    dialect: str
    suspended: list[Trigger]


def suspend(connection: Connection) -> Suspension | None:
    """Stop the search triggers for the rest of this transaction; None when
    they cannot be (PostgreSQL, a role that does not own the tables): they
    then keep the index and the counter up to date themselves."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        present = set(connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
        chosen = [t for t in triggers(dialect) if t.name in present]
        for trigger in chosen:
            connection.exec_driver_sql(f"DROP TRIGGER {trigger.name}")
        return Suspension(dialect, chosen)
    if dialect == "postgresql":
        present = _postgresql_triggers(connection)
        chosen = [t for t in triggers(dialect) if t.name in present]
        tables = sorted({t.table for t in chosen})
        if not tables or not _owns(connection, tables):
            return None
        _alter_triggers(connection, chosen, "DISABLE")
        return Suspension(dialect, chosen)
    return None


def resume(connection: Connection, suspension: Suspension, service_ids: Iterable[str] | None) -> None:
    """Put the triggers back, rebuild the search entries of `service_ids`
    (None: of every service) in a few statements, and bump search_state once."""
    if suspension.dialect == "sqlite":
        for trigger in suspension.suspended:
            connection.exec_driver_sql(trigger.sql)
    else:
        _alter_triggers(connection, suspension.suspended, "ENABLE")
        # Statistics of what was just written: without them the planner takes
        # the freshly filled tables for nearly empty ones, and the search
        # document's subqueries scan them whole for every service.
        connection.exec_driver_sql(f"ANALYZE {', '.join(DOCUMENT_TABLES)}")
    if service_ids is not None:
        service_ids = sorted(set(service_ids))
    rebuild(connection, service_ids)
    record_changes(connection, service_ids)
    connection.exec_driver_sql(BUMP)


def record_changes(connection: Connection, service_ids: list[str] | None) -> None:
    """Note in the change log that these services (None: all) changed."""
    if service_ids is None or len(service_ids) > CHANGES_RECORDED_ONE_BY_ONE:
        connection.exec_driver_sql("INSERT INTO search_change(service_id) VALUES (NULL)")
    elif service_ids:
        connection.execute(text(
            "INSERT INTO search_change(service_id) SELECT value FROM json_each(:ids)"
            if connection.dialect.name == "sqlite" else
            "INSERT INTO search_change(service_id) SELECT unnest(CAST(:ids AS varchar[]))"),
            {"ids": _json(service_ids) if connection.dialect.name == "sqlite" else service_ids})


def rebuild(connection: Connection, service_ids: Iterable[str] | None = None) -> None:
    """The search entries of these services (None: of all) made afresh."""
    dialect = connection.dialect.name
    if service_ids is None:
        if dialect == "postgresql":
            connection.exec_driver_sql("SELECT refresh_service_search(ARRAY(SELECT id FROM service))")
        else:
            connection.exec_driver_sql("DELETE FROM service_fts")
            connection.exec_driver_sql(f"INSERT INTO service_fts({FTS_COLUMNS}) {FTS_SELECT}")
        return
    ids = sorted(set(service_ids))
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        chunk = ids[start:start + IDS_PER_STATEMENT]
        if dialect == "postgresql":
            connection.execute(text("SELECT refresh_service_search(CAST(:ids AS varchar[]))"), {"ids": chunk})
            continue
        # A JSON array: one parameter however many ids (SQLite caps parameters).
        connection.execute(text(
            "DELETE FROM service_fts WHERE rowid IN "
            "(SELECT rowid FROM service WHERE id IN (SELECT value FROM json_each(:ids)))"), {"ids": _json(chunk)})
        connection.execute(text(
            f"INSERT INTO service_fts({FTS_COLUMNS}) {FTS_SELECT} "
            "WHERE d.service_id IN (SELECT value FROM json_each(:ids))"), {"ids": _json(chunk)})


def _json(ids: list[str]) -> str:
    return json.dumps(ids)


def _postgresql_triggers(connection: Connection) -> set[str]:
    return set(connection.exec_driver_sql(
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace").scalars())


def _owns(connection: Connection, tables: list[str]) -> bool:
    """Whether this role may ALTER these tables (their owner, a member of
    the owner's role, or a superuser)."""
    return bool(connection.execute(text(
        "SELECT bool_and(pg_has_role(c.relowner, 'USAGE')) FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(:tables)"),
        {"tables": tables}).scalar())


def _alter_triggers(connection: Connection, chosen: list[Trigger], action: str) -> None:
    by_table: dict[str, list[str]] = {}
    for trigger in chosen:
        by_table.setdefault(trigger.table, []).append(trigger.name)
    for table, names in sorted(by_table.items()):
        connection.exec_driver_sql(f"ALTER TABLE {table} " + ", ".join(f"{action} TRIGGER {n}" for n in names))
