"""The full-text index in the database, as search asks it: the services
whose search document has a word starting with a term, anywhere or only in
the service's or centre's name (migration 0002: FTS5 on SQLite, a tsvector
table on PostgreSQL). And the same question asked of one document in
Python, for the few services a write changed (facets.py keeps its cached
word matches in step with them without asking the database again).
"""

from __future__ import annotations

import re
from bisect import bisect_left

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from .textnorm import strip_diacritics


class FullTextBackend:
    key = "id"  # the column the facet index maps back to a service

    def matching_keys(self, session: Session, term: str, names_only: bool) -> list:
        raise NotImplementedError


class SqliteFullText(FullTextBackend):
    key = "rowid"

    def matching_keys(self, session, term, names_only):
        match = f'"{term}"*'
        if names_only:
            match = "{name centre} : " + match
        # A common word matches tens of thousands of rows: fetch plain tuples.
        rows = session.connection().exec_driver_sql(
            "SELECT rowid FROM service_fts WHERE service_fts MATCH ?", (match,)
        ).fetchall()
        return [row[0] for row in rows]


class PostgresFullText(FullTextBackend):
    def matching_keys(self, session, term, names_only):
        # Names and centre names carry weight A in the document (0002).
        tsquery = f"{term}:*A" if names_only else f"{term}:*"
        rows = session.connection().exec_driver_sql(
            "SELECT service_id FROM service_search "
            "WHERE document @@ to_tsquery('simple', unaccent(%(tsquery)s))",
            {"tsquery": tsquery},
        ).fetchall()
        return [row[0] for row in rows]


def full_text_backend(session: Session) -> FullTextBackend:
    if session.get_bind().dialect.name == "postgresql":
        return PostgresFullText()
    return SqliteFullText()


def backend_for_key(full_text_key: str) -> FullTextBackend:
    return SqliteFullText() if full_text_key == "rowid" else PostgresFullText()


# ------------------------------------------------------- one document in Python

# Letters and digits, as FTS5's unicode61 and PostgreSQL's parser cut words.
_WORD = re.compile(r"[^\W_]+")


def words(value: str) -> list[str]:
    """The words of a text folded as the index folds them (case and
    diacritics off), sorted and without repeats, for prefix lookups."""
    return sorted(set(_WORD.findall(strip_diacritics(value.casefold()))))


def has_prefix(sorted_words: list[str], term: str) -> bool:
    at = bisect_left(sorted_words, term)
    return at < len(sorted_words) and sorted_words[at].startswith(term)


def documents(session: Session, service_ids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each service's (words of its and its centre's names, all its words),
    read from the view both indexes are built from."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    for start in range(0, len(service_ids), 500):
        chunk = service_ids[start:start + 500]
        rows = session.execute(
            text("SELECT service_id, name, centre, terms, place, body FROM service_search_document "
                 "WHERE service_id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": chunk},
        )
        for service_id, name, centre, terms, place, body in rows:
            names = f"{name or ''} {centre or ''}"
            found[service_id] = (words(names), words(f"{names} {terms or ''} {place or ''} {body or ''}"))
    return found

