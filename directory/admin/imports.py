"""/<lang>/admin/import: an admin uploads an HSDS 3.0 data package (a .zip of
the folder `flask export` writes, or its directory.json). The checks and the
import are directory/hsds/'s; this view only hands the file over.

The form posts normally without JavaScript; with htmx it posts in the
background (hx-post) and the page shows "Importing…" (hx-indicator) until the
result block of the same template replaces the previous one."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from werkzeug.exceptions import RequestEntityTooLarge

from .. import errors
from ..hsds import importer, report as limits
from ..extensions import db
from ..permissions import role_required
from ..web import signed_in_user, wants_fragment
from . import bp
from .forms import ImportForm

ENDPOINT = "admin.import_data"
# Room for the form's other parts (CSRF token, multipart boundaries).
FORM_OVERHEAD_BYTES = 64 * 1024


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
    return _render(ImportForm(formdata=None), None, upload_error=message, status=413)


def _shown_name(filename: str | None) -> str:
    """The uploaded file's own name, for the report (never a path)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    return name[:100] or "upload"


def _render(form, report, upload_error=None, status=200):
    context = {
        "form": form,
        "report": report,
        "upload_error": upload_error,
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


@bp.route("/import", methods=["GET", "POST"])
@role_required("admin")
def import_data():
    """Upload an HSDS 3.0 data package and see what was imported, or why not."""
    form = ImportForm()
    report = None
    if request.method == "POST":
        if request.content_length is not None and request.content_length > upload_limit():
            raise RequestEntityTooLarge()  # checked before the body was read, too
        if form.validate_on_submit():
            with tempfile.TemporaryDirectory(prefix="directory-import-") as folder:
                # The name the browser sent is never used: the kind of file is
                # told from its first bytes.
                path = Path(folder) / "upload"
                form.package.data.save(path)
                report = importer.import_package(db.session, path, user=signed_in_user(),
                                                 name=_shown_name(form.package.data.filename))
    return _render(form, report)
