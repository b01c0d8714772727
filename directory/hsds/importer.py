"""Importing a package: read, validate, then write everything in one
transaction (bulk.py), or nothing when any row has a problem; and the
background jobs that import what admins upload."""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import LazyString, lazy_gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import FileStorage

from .. import audit, duplicates
from ..extensions import db
from ..models import ImportJob, User, utcnow
from .bulk import BulkWriter
from .reader import Package, read_package
from .report import Problem, Report, TableCount, logger
from .validator import validate

Progress = Callable[[str, int, int], None]

# PostgreSQL's answers to a write racing another: serialization failure,
# deadlock, lock not available.
RACE_SQLSTATES = ("40001", "40P01", "55P03")


def _changed_meanwhile(error: SQLAlchemyError) -> bool:
    """Whether a write refused after a clean validation lost a race: a record
    edited since it was read (its version moved), one created or deleted
    since the checks (a key or a reference), or a lock held too long."""
    if isinstance(error, (StaleDataError, IntegrityError)):
        return True
    if isinstance(error, OperationalError):
        original = error.orig
        return getattr(original, "sqlstate", None) in RACE_SQLSTATES or "database is locked" in str(original)
    return False


def _with_options(function: Callable, *args, **options) -> Any:
    """Call `function` with those of `options` it takes: read_package and
    validate gain options (skip_invalid, limits) on their own schedule, and an
    option one of them does not know yet is simply not passed to it."""
    parameters = inspect.signature(function).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        options = {name: value for name, value in options.items() if name in parameters}
    return function(*args, **options)


def _write(session: Session, package: Package, report: Report, progress: Progress | None = None) -> BulkWriter:
    """Write the valid rows (no commit); the writer then verifies and indexes."""
    writer = BulkWriter(session, package, report, progress)
    writer.write()
    return writer


def import_package(session: Session, path: str | Path, user=None, name: str | None = None, *,
                   skip_invalid: bool = False, limits: Any = None, progress: Progress | None = None) -> Report:
    """Read, validate and import a package in one transaction: everything, or
    nothing when any row has a problem. Never raises for bad input. `user`:
    who imports (for the audit log); `name`: what reports call the file;
    `skip_invalid`: leave out rows with a problem instead of refusing the
    package (when validate() can); `limits`: the size limits to read with
    (when read_package() and validate() take them); `progress(stage, done,
    total)` is told of "reading", "validating", "writing" (rows) and "indexing"."""
    tell = progress or (lambda stage, done, total: None)
    tell("reading", 0, 1)
    options = {"limits": limits} if limits is not None else {}
    package = _with_options(read_package, path, name, **options)
    if isinstance(package, Report):
        return package
    tell("validating", 0, 1)
    if skip_invalid:
        options["skip_invalid"] = True
    report = _with_options(validate, session, package, **options)
    if not report.ok:
        session.rollback()
        return report
    _warn_of_duplicates(session, package, report)
    for raw in package.tables.values():
        raw.rows = []  # read and checked: only package.valid is written, let the text go
    try:
        with session.no_autoflush:
            writer = _write(session, package, report, progress)
        writer.verify()
        writer.finish()
        totals = report.totals()
        audit.record(session, "data-import", user, "package", None, file=package.source,
                     created=totals.created, updated=totals.updated, removed=totals.removed)
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        report.counts.clear()
        detail = str(getattr(error, "orig", None) or error).splitlines()[0][:300]
        if _changed_meanwhile(error):
            logger.warning("Import of %s lost a race with another write: %s", package.source, detail)
            report.problem(package.source, None, None,
                           _l("Someone changed these records meanwhile; run the import again."))
        else:
            report.problem(package.source, None, None,
                           _l("The database refused the import (%(error)s). Nothing was imported.", error=detail))
        return report
    report.imported = True
    return report


def _warn_of_duplicates(session: Session, package: Package, report: Report) -> None:
    """New organizations that may already be in the directory under another
    id: warnings (the import goes on), for an admin to check or merge."""
    file = package.tables["organization"].file if "organization" in package.tables else "organizations"
    for number, _name, matches in duplicates.duplicates_in_package(session, package.valid or {}):
        names = "; ".join(f"{match.name} ({match.slug})" for match in matches[:5])
        report.warn(file, number, "name", _l(
            "Maybe already in the directory: %(names)s. Check it, and merge the two if they are one.",
            names=names))


# ------------------------------------------------------------------ background jobs
# An upload on the admin page becomes an ImportJob: the file waits in
# instance/imports/<id>.<zip|json>, and run_job() imports it in its own
# application context and session (a daemon thread, or `flask
# run-import-jobs` for jobs a restarted process left queued).

IMPORTS_FOLDER = "imports"  # under the instance folder
# Latest progress of the jobs this process runs: SQLite's single write lock,
# held by the import, keeps a second connection from writing it to the job.
_live: dict[int, tuple[str, int, int]] = {}


def jobs_folder(app: Flask) -> Path:
    return Path(app.instance_path) / IMPORTS_FOLDER


def create_job(session: Session, upload: FileStorage, user, file_name: str, folder: Path) -> tuple[int, Path]:
    """A queued job for an uploaded file, saved in `folder` (made if
    missing) as <job id>.zip or .json: the job's id and the file."""
    job = ImportJob(created_by_id=getattr(user, "id", None), file_name=file_name, status="queued")
    session.add(job)
    session.flush()
    kind = "zip" if upload.stream.read(4)[:2] == b"PK" else "json"  # the name the browser sent is never used
    upload.stream.seek(0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.id}.{kind}"
    upload.save(path)
    job_id = job.id
    session.commit()  # and no new transaction after it: on SQLite it would hold the lock the job needs
    return job_id, path


def start_job(app: Flask, job_id: int, path: Path | None = None, inline: bool = False) -> None:
    """Run the job now (`inline`: in this thread, as the tests do) or in the background."""
    if inline:
        run_job(app, job_id, path)
    else:
        threading.Thread(target=run_job, args=(app, job_id, path), name=f"import-job-{job_id}", daemon=True).start()


def live_progress(job_id: int) -> tuple[str, int, int] | None:
    return _live.get(job_id)


def run_job(app: Flask, job_id: int, path: Path | None = None) -> str | None:
    """Import a queued job's file (`path`, by default its file in the jobs
    folder), then delete the file; the job ends "done" (the report says
    whether anything was imported) or "failed". None: not queued (another
    process took it)."""
    with app.app_context():
        session = db.session
        claimed = session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "queued")
                                  .values(status="running", stage="reading", started_at=utcnow())).rowcount
        session.commit()
        if not claimed:
            return None
        job = session.get(ImportJob, job_id)
        name, user_id = job.file_name, job.created_by_id
        if path is None:
            path = next(jobs_folder(app).glob(f"{job_id}.*"), None)
        status = "done"
        try:
            if path is None:
                report = Report()
                report.problem(name, None, None, _l("The uploaded file is no longer there; upload it again."))
            else:
                user = session.get(User, user_id) if user_id is not None else None
                report = import_package(session, path, user=user, name=name, progress=_Progress(job_id))
        except Exception:  # the job must end, whatever happened
            logger.exception("Import job %s failed", job_id)
            session.rollback()
            status, report = "failed", Report()
            report.problem(name, None, None, _l("The import stopped with an error. Nothing was imported."))
        finally:
            _live.pop(job_id, None)
            if path is not None:
                path.unlink(missing_ok=True)
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status=status, stage=None, report=report_to_json(report), finished_at=utcnow()))
        session.commit()
        return status


class _Progress:
    """progress() of a job: kept in this process; on PostgreSQL also written
    to the job (at most once a second) through a connection of its own."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.written = (None, 0.0)

    def __call__(self, stage: str, done: int, total: int) -> None:
        _live[self.job_id] = (stage, done, total)
        if db.engine.dialect.name == "sqlite":
            return
        now = time.monotonic()
        if stage == self.written[0] and now - self.written[1] < 1:
            return
        self.written = (stage, now)
        with db.engine.begin() as connection:
            connection.execute(update(ImportJob).where(ImportJob.id == self.job_id)
                               .values(stage=stage, done=done, total=total))


# ------------------------------------------------------------------ reports as JSON
# A job's report is shown later, in the language of whoever looks: messages
# are kept as their msgid and values, and translated when shown.

def _message_to_json(message: Any) -> dict[str, Any]:
    if isinstance(message, LazyString) and getattr(message._func, "__name__", "") == "gettext" \
            and len(message._args) == 1:
        values = {k: v if isinstance(v, (int, float, str)) else str(v) for k, v in message._kwargs.items()}
        return {"msgid": message._args[0], "values": values}
    return {"text": str(message)}


def _message_from_json(data: dict[str, Any]) -> Any:
    return lazy_gettext(data["msgid"], **data["values"]) if "msgid" in data else data["text"]


def _problems_to_json(problems: list[Problem]) -> list[list[Any]]:
    return [[p.file, p.row, p.field, _message_to_json(p.message)] for p in problems]


def _problems_from_json(rows: list[list[Any]]) -> list[Problem]:
    return [Problem(file, row, field, _message_from_json(message)) for file, row, field, message in rows]


def report_to_json(report: Report) -> str:
    return json.dumps({
        "imported": report.imported,
        "problem_count": report.problem_count,
        "problems": _problems_to_json(report.problems),
        "warnings": _problems_to_json(report.warnings),
        "skipped": _problems_to_json(getattr(report, "skipped", [])),
        "counts": {name: [c.file, c.created, c.updated, c.unchanged, c.removed] for name, c in report.counts.items()},
    }, ensure_ascii=False)


def report_from_json(text: str) -> Report:
    data = json.loads(text)
    report = Report(problems=_problems_from_json(data["problems"]), warnings=_problems_from_json(data["warnings"]),
                    counts={name: TableCount(*values) for name, values in data["counts"].items()},
                    problem_count=data["problem_count"], imported=data["imported"])
    if hasattr(report, "skipped"):
        report.skipped = _problems_from_json(data.get("skipped", []))
    return report
