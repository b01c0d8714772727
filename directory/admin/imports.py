"""/<lang>/admin/import: an admin uploads an HSDS data package (a .zip of
the folder `flask export` writes, or its directory.json). The checks and the
import are directory/hsds/'s; this view only hands the file over.

A package of a hundred thousand services takes a minute or more, longer
than a request should: the upload is saved under the instance folder as an
import job (directory/hsds/importer.py) that a background thread runs, and
the answer is a redirect to /<lang>/admin/imports/<id>, which shows the
progress until the report is there. That page refreshes itself: with htmx
its progress block every 2 seconds, without JavaScript the whole page every
5 seconds (a meta refresh, only while the job runs). With htmx the upload
form posts in the background and the progress block takes the place of its
result block. IMPORT_JOBS_INLINE (on in tests) runs the job inside the
upload's request instead."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from jinja2_fragments.flask import render_block
from werkzeug.exceptions import RequestEntityTooLarge

from .. import errors
from ..extensions import db
from ..hsds import importer, report as limits
from ..models import ImportJob
from ..permissions import role_required
from ..web import or_404, signed_in_user, wants_fragment
from . import bp
from .forms import ImportForm

ENDPOINT = "admin.import_data"
# Room for the form's other parts (CSRF token, multipart boundaries).
FORM_OVERHEAD_BYTES = 64 * 1024
# What a job's stage is called on its page.
STAGES = {
    "queued": _l("Waiting to start…"),
    "reading": _l("Reading the files…"),
    "validating": _l("Checking every row…"),
    "writing": _l("Writing the records…"),
    "indexing": _l("Updating the search index…"),
}


STATUSES = {
    "queued": _l("Waiting"),
    "running": _l("Importing"),
    "imported": _l("Imported"),
    "done": _l("Not imported: see the problems"),
    "failed": _l("Stopped by an error"),
}
RECENT_JOBS = 10


def upload_limit() -> int:
    return limits.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES


@bp.url_value_preprocessor
def limit_upload_size(endpoint, values):
    """Before anything reads the body (the CSRF check reads the form): a
    request announcing more than the limit is refused unread, and a body
    without a length is cut off at the limit."""
    if endpoint != ENDPOINT or request.method != "POST":
        return
    request.max_content_length = upload_limit()
    if request.content_length is not None and request.content_length > upload_limit():
        raise RequestEntityTooLarge()


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    """A too-large upload: the import page says so; anywhere else, the usual 413 page."""
    if request.endpoint != ENDPOINT or not (current_user.is_authenticated and current_user.role == "admin"):
        return errors.render_error(error)
    message = _l("The file is larger than %(limit)s. Nothing was imported.",
                 limit=limits.format_size(limits.MAX_UPLOAD_BYTES))
    return _render(ImportForm(formdata=None), upload_error=message, status=413)


def _shown_name(filename: str | None) -> str:
    """The uploaded file's own name, for the report (never a path)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    return name[:100] or "upload"


def _render(form, upload_error=None, status=200):
    context = {
        "form": form,
        "upload_error": upload_error,
        "jobs": [(job, STATUSES[_outcome(job)]) for job in
                 db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(RECENT_JOBS))],
        "limits": {
            "upload": limits.format_size(limits.MAX_UPLOAD_BYTES),
            "file": limits.format_size(limits.MAX_FILE_BYTES),
            "rows": limits.MAX_ROWS,
        },
    }
    if wants_fragment() and request.method == "POST":
        # htmx swaps 2xx answers only: the result block says what went wrong.
        return render_block("admin/import.html", "result", **context), 200
    return render_template("admin/import.html", **context), status


def _outcome(job: ImportJob) -> str:
    if job.status == "done" and job.report and importer.report_from_json(job.report).imported:
        return "imported"
    return job.status


def _runs_inline() -> bool:
    inline = current_app.config.get("IMPORT_JOBS_INLINE")
    return current_app.testing if inline is None else bool(inline)


@bp.route("/import", methods=["GET", "POST"])
@role_required("admin")
def import_data():
    """Upload an HSDS data package; its import runs as a job whose page shows how it goes."""
    form = ImportForm()
    if request.method == "POST":
        if request.content_length is not None and request.content_length > upload_limit():
            raise RequestEntityTooLarge()  # checked before the body was read, too
        if form.validate_on_submit():
            inline = _runs_inline()
            # Inline (tests): a folder of its own, never shared with another database's job of the same id.
            folder = Path(tempfile.mkdtemp(prefix="directory-import-")) if inline else \
                importer.jobs_folder(current_app)
            job_id, path = importer.create_job(db.session, form.package.data, signed_in_user(),
                                               _shown_name(form.package.data.filename), folder)
            importer.start_job(current_app._get_current_object(), job_id, path, inline=inline)
            if inline:
                shutil.rmtree(folder, ignore_errors=True)
            url = url_for("admin.import_job", job_id=job_id)
            if wants_fragment():
                # The progress block takes the place of the form's result block.
                response = current_app.make_response(_render_job(job_id))
                response.headers["HX-Push-Url"] = url
                return response
            return redirect(url, 303)
    return _render(form)


@bp.route("/imports/<int:job_id>")
@role_required("admin")
def import_job(job_id: int):
    """Where an uploaded package's import stands, and its report once it is done."""
    return _render_job(job_id)


def _render_job(job_id: int):
    db.session.expire_all()  # a job run in this request's thread was written by another session
    job = or_404(db.session.get(ImportJob, job_id))
    stage, done, total = job.stage, job.done, job.total
    if job.status == "running":
        stage, done, total = importer.live_progress(job.id) or (stage, done, total)
    else:
        stage = job.status
    context = {
        "job": job,
        "running": job.status in ("queued", "running"),
        "stage": STAGES.get(stage, ""),
        "rows": stage == "writing" and 0 <= done <= total,  # rows are counted while they are written
        "done": done,
        "total": total,
        "report": importer.report_from_json(job.report) if job.report else None,
    }
    if wants_fragment():
        return render_block("admin/import_job.html", "job", **context)
    return render_template("admin/import_job.html", **context)
