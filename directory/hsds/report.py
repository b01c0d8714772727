"""Import reports: problems by file, row and field, counts by table, and the limits reading checks before anything is parsed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext

from ..costs import MAX_COST_OPTIONS
from ..identifiers import MAX_IDENTIFIERS
from ..publishing import MAX_HOUR_ROWS, MAX_PHONES, MAX_REQUIRED_DOCUMENTS

# ------------------------------------------------------------------ limits
# Checked before anything is unpacked or parsed; change them here.

MAX_FILE_BYTES = 20 * 1024 * 1024  # one CSV or JSON file, uncompressed
MAX_ROWS = 100_000  # rows of one table
MAX_ARCHIVE_MEMBERS = 200  # entries of a .zip, folders included
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024  # sum of a .zip's uncompressed sizes
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # a file sent to the admin upload page
MAX_PROBLEMS = 500  # problems listed in a report; the rest are counted
# Rows one record may hold: the centre dashboard's caps (directory/publishing.py).
# Counted in the package; rows already in the database are not added in.
ROWS_PER_RECORD = {
    "phone": (MAX_PHONES, ("organization_id", "service_id", "location_id")),
    "schedule": (MAX_HOUR_ROWS, ("service_id", "location_id")),
    "required_document": (MAX_REQUIRED_DOCUMENTS, ("service_id",)),
    "cost_option": (MAX_COST_OPTIONS, ("service_id",)),
    "organization_identifier": (MAX_IDENTIFIERS, ("organization_id",)),
}

CHUNK = 500  # ids per IN (…) query


@dataclass(frozen=True)
class Limits:
    """What one reading may take in. Each field left out is the module
    constant above as it is when the Limits is made, so tests and callers
    that change a constant are heard. The admin upload uses the defaults;
    `flask import --max-rows 1000000 --max-file-mb 500` lifts them for a
    large package on the command line."""

    max_file_bytes: int = field(default_factory=lambda: MAX_FILE_BYTES)  # one CSV or JSON file, unpacked
    max_rows: int = field(default_factory=lambda: MAX_ROWS)  # rows of one table
    max_archive_bytes: int = field(default_factory=lambda: MAX_ARCHIVE_BYTES)  # a .zip, unpacked in total
    max_archive_members: int = field(default_factory=lambda: MAX_ARCHIVE_MEMBERS)  # entries of a .zip


logger = logging.getLogger(__name__)


# ------------------------------------------------------------------ reports


@dataclass
class Problem:
    """One thing wrong (or, in `Report.warnings`, left out): where and what.
    `row` counts the header as row 1 in a CSV file (as a spreadsheet shows
    it) and the first object as row 1 in a JSON list."""

    file: str
    row: int | None
    field: str | None
    message: Any  # a lazy translated string

    def __str__(self) -> str:
        return format_problem(self)


@dataclass
class TableCount:
    file: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # only links between services and terms are ever removed


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    counts: dict[str, TableCount] = field(default_factory=dict)  # by table, in import order
    problem_count: int = 0  # all problems found, also those beyond MAX_PROBLEMS
    # Every (file, row) with a problem, and every problem, however many: what
    # --skip-invalid takes out. `skipped`: the problems of the rows it took out.
    rows_with_problems: set[tuple[str, int | None]] = field(default_factory=set)
    all_problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    imported: bool = False

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def unlisted(self) -> int:
        return self.problem_count - len(self.problems)

    def problem(self, file: str, row: int | None, field_name: str | None, message) -> None:
        self.problem_count += 1
        self.rows_with_problems.add((file, row))
        self.all_problems.append(Problem(file, row, field_name, message))
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(file, row, field_name, message))

    def warn(self, file: str, row: int | None, field_name: str | None, message) -> None:
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(Problem(file, row, field_name, message))

    def totals(self) -> TableCount:
        total = TableCount("")
        for count in self.counts.values():
            total.created += count.created
            total.updated += count.updated
            total.unchanged += count.unchanged
            total.removed += count.removed
        return total


def format_problem(problem: Problem) -> str:
    """One line for a terminal, in the current locale."""
    values = {"file": problem.file, "row": problem.row, "field": problem.field, "message": problem.message}
    if problem.row is not None and problem.field:
        return gettext("%(file)s, row %(row)s, %(field)s: %(message)s", **values)
    if problem.row is not None:
        return gettext("%(file)s, row %(row)s: %(message)s", **values)
    if problem.field:
        return gettext("%(file)s, %(field)s: %(message)s", **values)
    return gettext("%(file)s: %(message)s", **values)


def format_size(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB" if size >= 1024 * 1024 else f"{size / 1024:g} KB"


