"""Words: what a service is found by. A service's search document is its
name and its centre's (with their other names), the labels of its taxonomy
terms in every language and their synonyms, its towns and municipalities,
and the two descriptions (the view service_search_document of migrations
0002 and 0015 says the same in SQL). A word is a run of letters and digits, case and diacritics
folded, so `krizes` finds `krīzes` and `ZUPA` finds `zupa`; a query word
matches every word it begins.

The facet index (facets.py) keeps, per word, the services that have it, in
memory: a common word costs as little the first time as the next, and both
databases answer alike. The database's own full-text tables (FTS5,
tsvector; migration 0002) are kept by triggers for SQL users and tools.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from .textnorm import strip_diacritics

# Letters and digits; "_" and everything else cuts words.
WORD = re.compile(r"[^\W_]+")


class Folder:
    """Folds texts into their words, remembering how each raw word folds (a
    directory's vocabulary is small next to its text, and an index build
    folds every text it has)."""

    def __init__(self) -> None:
        self._folded: dict[str, str] = {}
        self._split: dict[str, tuple[str, ...]] = {}  # raw words that fold into several, or none

    def words(self, value: str | None) -> set[str]:
        if not value:
            return set()
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        raw = set(WORD.findall(value.casefold()))
        folded, split = self._folded, self._split
        try:
            return set(map(folded.__getitem__, raw))
        except KeyError:  # a word not seen yet, or one that folds into several
            found = set()
            for word in raw:
                if word not in folded and word not in split:
                    parts = WORD.findall(strip_diacritics(word))
                    if len(parts) == 1:
                        folded[word] = parts[0]
                    else:
                        split[word] = tuple(parts)
                if word in folded:
                    found.add(folded[word])
                else:
                    found.update(split[word])
            return found


def query_words(value: str) -> list[str]:
    """The words of a query, in the order typed, folded as documents are."""
    return WORD.findall(strip_diacritics(unicodedata.normalize("NFC", value).casefold()))


def has_prefix(sorted_words: list[str], term: str) -> bool:
    at = bisect_left(sorted_words, term)
    return at < len(sorted_words) and sorted_words[at].startswith(term)


def documents(session: Session, service_ids: list[str]) -> dict[str, tuple[set[str], set[str]]]:
    """Each service's (words of its and its centre's names, all its words),
    read from the search document view."""
    folder = Folder()
    found: dict[str, tuple[set[str], set[str]]] = {}
    for start in range(0, len(service_ids), 500):
        rows = session.execute(
            text("SELECT service_id, name, centre, terms, place, body FROM service_search_document "
                 "WHERE service_id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": service_ids[start:start + 500]},
        )
        for service_id, name, centre, terms, place, body in rows:
            names = folder.words(name) | folder.words(centre)
            found[service_id] = (names, names | folder.words(terms) | folder.words(place) | folder.words(body))
    return found
