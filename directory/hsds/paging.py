"""HSDS pages, and every result at once as NDJSON, read in chunks."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from .parameters import Paging

T = TypeVar("T")

# Records read from the database at a time when streaming: memory holds one
# chunk of records, whatever the size of the answer.
CHUNK_SIZE = 500


@dataclass
class Results:
    """What a list request matched, ready to be answered as a page or
    streamed whole: how many, their ids in order (a slice, or all of them
    lazily), and how to load and show records of some of those ids."""

    total: int
    ids: Callable[[int, int], list[str]]  # (start, count) -> ids in order
    all_ids: Callable[[], Iterable[str]]
    load: Callable[[list[str]], Sequence[Any]]  # records, in the order of the ids
    show: Callable[[Any], dict]

    @classmethod
    def of_ids(cls, ids: list[str], load, show) -> Results:
        return cls(len(ids), lambda start, count: ids[start : start + count], lambda: ids, load, show)

    def page(self, paging: Paging) -> dict:
        records = self.load(self.ids(paging.offset, paging.per_page))
        return page_object([self.show(record) for record in records], self.total, paging)

    def stream(self) -> Iterator[dict]:
        """Every result, read a chunk at a time."""
        return in_chunks(self.all_ids(), self.load, self.show)


@dataclass
class ScannedResults:
    """Results whose ids come from one ordered pass over rows filtered in
    Python (words matched without diacritics): a page and the total are
    read in the same pass, and streaming never holds more than a chunk."""

    ordered_ids: Callable[[], Iterable[str]]
    load: Callable[[list[str]], Sequence[Any]]
    show: Callable[[Any], dict]

    def page(self, paging: Paging) -> dict:
        in_page, total = scan_page(self.ordered_ids(), paging)
        return page_object([self.show(record) for record in self.load(in_page)], total, paging)

    def stream(self) -> Iterator[dict]:
        return in_chunks(self.ordered_ids(), self.load, self.show)


def page_object(contents: list[dict], total: int, paging: Paging) -> dict:
    """The HSDS page wrapper. There is always a first page, empty or not; a
    page past the last one is empty."""
    total_pages = max(1, math.ceil(total / paging.per_page))
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": paging.page,
        "size": len(contents),
        "first_page": paging.page == 1,
        "last_page": paging.page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def chunked(items: Iterable[T], size: int | None = None) -> Iterator[list[T]]:
    """`items` in lists of `size` (CHUNK_SIZE), read lazily."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size or CHUNK_SIZE)):
        yield chunk


def in_chunks(ids: Iterable[str], load: Callable[[list[str]], Sequence[T]],
              show: Callable[[T], dict]) -> Iterator[dict]:
    """The records of `ids`, in order: loaded a chunk at a time and turned
    into dicts one by one. Nothing keeps a chunk once it has been shown (the
    session's identity map holds its objects weakly)."""
    for chunk in chunked(ids):
        for record in load(chunk):
            yield show(record)


def ndjson_lines(records: Iterable[dict]) -> Iterator[str]:
    """One JSON object a line (https://github.com/ndjson/ndjson-spec)."""
    for record in records:
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def scan_page(rows: Iterable[T], paging: Paging) -> tuple[list[T], int]:
    """The rows of one page and how many there are in all, reading `rows`
    once without keeping the others."""
    total = 0
    in_page: list[T] = []
    end = paging.offset + paging.per_page
    for row in rows:
        if paging.offset <= total < end:
            in_page.append(row)
        total += 1
    return in_page, total
