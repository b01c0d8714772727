"""Command-line tasks: `flask --app directory seed`, `… geocode`, `… export`, `… import`."""

from __future__ import annotations

import dataclasses
import inspect
import smtplib
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext, ngettext

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from . import sign_ins
from .accounts import MIN_PASSWORD_LENGTH, create_admin, find_user
from .audit import record
from .database import vacuum_after_purge
from .hsds.export import export_package
from .hsds.importer import import_package
from .hsds import reader as hsds_reader
from .hsds.report import MAX_ARCHIVE_BYTES, MAX_FILE_BYTES, MAX_ROWS, format_problem
from .extensions import db
from .mail import send_pending
from .geocoding import geocode_location, geocoding_service
from .models import Location
from .referral_workflow import expire_unanswered, purge_client_data, remind_unanswered
from .review_cycle import send_due_reminders
from .seeding import database_is_empty, seed_starter_data


@click.command("seed")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Only seed when the database holds no organization yet (used by `make run`).",
)
@with_appcontext
def seed_command(if_empty: bool) -> None:
    """Load the starter listings from the source documents (idempotent)."""
    if if_empty and not database_is_empty(db.session):
        click.echo("The database already holds listings; not seeding.")
        return
    report = seed_starter_data(db.session, current_app.config["STARTER_DATA_DIR"])
    click.echo(
        f"Seeded {report.organizations} organizations, {report.services} services, "
        f"{report.locations} locations, {report.terms} taxonomy terms "
        f"and {report.sources} source documents."
    )


@click.command("geocode")
@click.option("--all", "redo_all", is_flag=True, help="Geocode every location again, not only those missing coordinates.")
@with_appcontext
def geocode_command(redo_all: bool) -> None:
    """Give coordinates to locations that have none (or to all with --all)."""
    service = geocoding_service()
    query = select(Location).options(selectinload(Location.addresses))
    if not redo_all:
        query = query.where(Location.latitude.is_(None))
    locations = list(db.session.scalars(query))
    summary = {"address": 0, "street": 0, "town": 0, "approximate": 0, None: 0}
    with click.progressbar(locations, label="Geocoding", show_pos=True) as bar:
        for location in bar:
            if redo_all:
                location.geocoded_query = None
            precision = geocode_location(db.session, location, service)
            summary[precision if precision in summary else "approximate"] += 1
            db.session.commit()  # keep what was found, whatever happens next
    found = summary["address"] + summary["street"] + summary["town"]
    click.echo(
        f"{len(locations)} locations: {found} found, {summary['approximate']} approximate, "
        f"{summary[None]} not found."
    )


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option(confirmation_prompt=True)
@with_appcontext
def create_admin_command(email: str, name: str, password: str) -> None:
    """Make an administrator account (the first one, or another)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters", param_hint="password")
    if find_user(db.session, email) is not None:
        raise click.BadParameter("an account with this e-mail exists", param_hint="email")
    user = create_admin(db.session, email=email, name=name, password=password)
    record(db.session, "create-admin", None, "user", None, email=user.email)
    db.session.commit()
    click.echo(f"Administrator {user.email} created.")


@click.command("send-mail")
@with_appcontext
def send_mail_command() -> None:
    """Send the e-mails waiting in the outbox (needs MAIL_SERVER)."""
    if not current_app.config.get("MAIL_SERVER"):
        raise click.ClickException("MAIL_SERVER is not configured; messages stay in the outbox and the log.")
    try:
        report = send_pending(db.session)
    except (OSError, smtplib.SMTPException) as error:
        raise click.ClickException(f"cannot reach the mail server: {error}. Nothing was sent; run again later.")
    for message_id, error in report.failed:
        click.echo(f"message {message_id}: {error}", err=True)
    click.echo(f"{report.sent} sent, {len(report.failed)} failed.")


@click.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--published-only", is_flag=True,
              help="Leave out organizations waiting for review, and all that belongs to them, and show "
                   "confidential addresses by their town only (for a public release; without it the export "
                   "is a complete backup, confidential addresses included: keep it private).")
@with_appcontext
def export_command(folder: Path, published_only: bool) -> None:
    """Write every listing as an Open Referral HSDS 3.0 data package to FOLDER:
    datapackage.json, one CSV per table, and directory.json with the same rows."""
    summary = export_package(db.session, folder, published_only=published_only)
    db.session.rollback()  # only read: end the transaction
    with force_locale("en"):
        for file, rows in summary.rows.items():
            click.echo(f"{file}\t{rows}")
        click.echo(gettext("Wrote %(rows)d rows in %(files)d files to %(folder)s (and %(json)s).",
                           rows=sum(summary.rows.values()), files=len(summary.rows), folder=str(folder),
                           json=summary.json_file.name))
    if not published_only:
        hidden = db.session.scalar(select(func.count()).select_from(Location).where(Location.confidential))
        db.session.rollback()
        if hidden:
            # A backup, not a release: say so where the administrator will see it.
            click.echo(f"This backup holds {hidden} confidential address(es) in full: keep it private. "
                       "For a public release use --published-only.", err=True)


MB = 1024 * 1024


class ImportProgress:
    """What `flask import` shows while the importer works: given to it as
    `progress(stage, done, total)`. On a terminal, one line on stderr that
    updates in place (at most ten times a second); otherwise (a log, a
    pipe) one line per stage, so logs stay short."""

    def __init__(self):
        self.stream = sys.stderr  # at call time: the test runner's, under test
        self.tty = self.stream.isatty()
        self.stage: str | None = None
        self.shown = 0.0

    def __call__(self, stage, done: int, total: int) -> None:
        stage = str(stage)
        if stage != self.stage:
            if self.tty and self.stage is not None:
                self.stream.write("\n")
            self.stage = stage
            if not self.tty:
                click.echo(f"{stage}: {total:,}" if total > 1 else stage, err=True)
        if not self.tty:
            return
        now = time.monotonic()
        if done < total and now - self.shown < 0.1:
            return
        self.shown = now
        figures = f"{done:,}/{total:,} ({done * 100 // total}%)" if total else f"{done:,}"
        self.stream.write(f"\r{stage}: {figures}\033[K")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()


def _import_limits(max_file_mb: float | None, max_rows: int | None, max_archive_mb: float | None):
    """The limits the options ask for, the web upload's for the others; None
    when no option is given (the reader's own defaults)."""
    if max_file_mb is None and max_rows is None and max_archive_mb is None:
        return None
    limits = hsds_reader.default_limits()
    if max_file_mb is not None:
        limits = dataclasses.replace(limits, max_file_bytes=int(max_file_mb * MB))
    if max_rows is not None:
        limits = dataclasses.replace(limits, max_rows=max_rows)
    if max_archive_mb is not None:
        limits = dataclasses.replace(limits, max_archive_bytes=int(max_archive_mb * MB))
    return limits


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--lang", default="en", show_default=True, help="Language of the report, one of LANGUAGES.")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              help=f"Largest file, unpacked, in MB (default {MAX_FILE_BYTES / MB:g}, as for an upload).")
@click.option("--max-rows", type=click.IntRange(min=1), default=None,
              help=f"Most rows of one table (default {MAX_ROWS:,}, as for an upload).")
@click.option("--max-archive-mb", type=click.FloatRange(min=0, min_open=True), default=None,
              help=f"Most a .zip may unpack to, in MB (default {MAX_ARCHIVE_BYTES / MB:g}, as for an upload).")
@click.option("--skip-invalid", is_flag=True,
              help="Import the rows without a problem; leave out those with one (and the rows that need "
                   "them) and list them. Without it, any problem stops the whole import.")
@with_appcontext
def import_command(path: Path, lang: str, max_file_mb: float | None, max_rows: int | None,
                   max_archive_mb: float | None, skip_invalid: bool) -> None:
    """Import an Open Referral HSDS (3.0 or 3.1) package: a folder with
    datapackage.json or with CSV files named as HSDS names them
    (organizations.csv, …), a .zip of one, or a JSON file (directory.json as
    `export` writes it, a tabular.json, or the API's answers: one service,
    organization, location, … or a list of them). Every row is checked
    first; on any problem nothing is imported (unless --skip-invalid), the
    problems are listed and the command exits with status 1. Records whose
    id exists are updated.

    The limits are the web upload's; lift them for a large package, for
    instance one of 100,000 services: --max-rows 1000000 --max-file-mb 500."""
    if lang not in current_app.config["LANGUAGES"]:
        raise click.BadParameter(", ".join(current_app.config["LANGUAGES"]), param_hint="--lang")
    limits = _import_limits(max_file_mb, max_rows, max_archive_mb)
    progress = ImportProgress()
    # Pass the importer only the keyword arguments it takes (an older one
    # lacks some); an option it cannot honour is said, never ignored.
    accepted = inspect.signature(import_package).parameters
    for key, asked, option in (("skip_invalid", skip_invalid, "--skip-invalid"),
                               ("limits", limits is not None, "--max-…")):
        if asked and key not in accepted:
            raise click.UsageError(f"{option}: this version of the importer does not take it.")
    options = {"skip_invalid": skip_invalid, "limits": limits, "progress": progress}
    try:
        report = import_package(db.session, path, **{k: v for k, v in options.items() if k in accepted})
    finally:
        progress.close()
    with force_locale(lang):
        for warning in report.warnings:
            click.echo(gettext("Note: %(problem)s", problem=format_problem(warning)))
        skipped = getattr(report, "skipped", None) or []
        for problem in skipped:
            click.echo(gettext("Left out: %(problem)s", problem=format_problem(problem)), err=True)
        if not report.ok:
            for problem in report.problems:
                click.echo(format_problem(problem), err=True)
            if report.unlisted:
                click.echo(ngettext("… and %(num)d more problem.", "… and %(num)d more problems.",
                                    report.unlisted), err=True)
            click.echo(ngettext("Nothing was imported: %(num)d problem.", "Nothing was imported: %(num)d problems.",
                                report.problem_count), err=True)
            raise SystemExit(1)
        for count in report.counts.values():
            click.echo(gettext("%(file)s: %(created)d new, %(updated)d updated, %(unchanged)d unchanged",
                               file=count.file, created=count.created, updated=count.updated,
                               unchanged=count.unchanged)
                       + (gettext(", %(removed)d removed", removed=count.removed) if count.removed else ""))
        totals = report.totals()
        click.echo(gettext("Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged rows.",
                           created=totals.created, updated=totals.updated, unchanged=totals.unchanged))
        if skipped:
            click.echo(ngettext("%(num)d problem left its row out (--skip-invalid).",
                                "%(num)d problems left their rows out (--skip-invalid).", len(skipped)), err=True)


@click.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Delete client data of referrals closed more than this many days ago "
                   "(default: REFERRAL_RETENTION_DAYS, 180).")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Keep no client data longer than needed: close referrals left unanswered
    for REFERRAL_EXPIRE_DAYS (their senders are told), then wipe the client's
    name, contact and need from referrals closed long enough ago. Counts per
    service, status and month stay. Run it daily from cron or a timer."""
    config = current_app.config
    retention = config["REFERRAL_RETENTION_DAYS"] if days is None else days
    # E-mails to senders link to their referrals: URLs need a host outside a request.
    with current_app.test_request_context(base_url=config["PUBLIC_BASE_URL"]):
        expired = expire_unanswered(db.session, config["REFERRAL_EXPIRE_DAYS"])
        purged = purge_client_data(db.session, retention)
        ended_sign_ins = sign_ins.delete_expired(db.session)
        db.session.commit()
    if purged:
        vacuum_after_purge()  # no copy of the wiped client data left in free pages
    click.echo(f"Referrals closed as expired (no answer in {config['REFERRAL_EXPIRE_DAYS']} days): {expired}")
    click.echo(f"Referrals whose client data was deleted (closed more than {retention} days ago): {purged}")
    click.echo(f"Expired sign-ins deleted: {ended_sign_ins}")


@click.command("remind")
@with_appcontext
def remind_command() -> None:
    """Remind centres, once, of referrals waiting REFERRAL_REMIND_DAYS for an
    answer. Run it daily, like `purge`."""
    config = current_app.config
    with current_app.test_request_context(base_url=config["PUBLIC_BASE_URL"]):
        reminded = remind_unanswered(db.session, config["REFERRAL_REMIND_DAYS"])
        db.session.commit()
    click.echo(f"Centres reminded of referrals waiting {config['REFERRAL_REMIND_DAYS']} days or more: {reminded}")


@click.command("review-reminders")
@with_appcontext
def review_reminders_command() -> None:
    """Remind centres' editors (at 10 and 11 months) and the admins (at 12)
    that a listing is due for review, each reminder once. Run it daily, like `remind`."""
    config = current_app.config
    with current_app.test_request_context(base_url=config["PUBLIC_BASE_URL"]):
        sent = send_due_reminders(db.session)
        db.session.commit()
        for reminder in sent:
            click.echo(f"{reminder.organization.name} (last reviewed {reminder.reviewed.isoformat()}): "
                       f"{reminder.stage} months, to {', '.join(reminder.recipients)}")
    click.echo(f"Review reminders sent: {len(sent)}")


@click.command("run-import-jobs")
@click.option("--include-running", is_flag=True,
              help="Also run jobs marked running: those a stopped process left unfinished "
                   "(only when no other process is importing).")
@with_appcontext
def run_import_jobs_command(include_running: bool) -> None:
    """Run the import jobs uploads left queued (e.g. by a restarted server),
    one after another, oldest first."""
    from .hsds.importer import run_job
    from .models import ImportJob

    statuses = ("queued", "running") if include_running else ("queued",)
    ids = list(db.session.scalars(select(ImportJob.id).where(ImportJob.status.in_(statuses)).order_by(ImportJob.id)))
    if include_running:
        db.session.execute(ImportJob.__table__.update().where(ImportJob.status == "running").values(status="queued"))
    db.session.commit()
    for job_id in ids:
        click.echo(f"import job {job_id}: {run_job(current_app._get_current_object(), job_id) or 'taken by another process'}")
    click.echo(f"{len(ids)} import jobs run.")


def init_app(app: Flask) -> None:
    app.cli.add_command(purge_command)
    app.cli.add_command(remind_command)
    app.cli.add_command(review_reminders_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(geocode_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(send_mail_command)
    app.cli.add_command(export_command)
    app.cli.add_command(import_command)
    app.cli.add_command(run_import_jobs_command)
