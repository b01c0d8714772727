"""The base of every form: one-line fields hold one line.

A browser's text input cannot send a line break, so one in a name or a
subject comes from a crafted request; a header built from it would break the
e-mail it goes into (and every message queued after it). Refused here once,
for every form and its nested rows, rather than field by field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, HiddenField, StringField, TextAreaField

# Messages every form shares.
REQUIRED = _l("This field is required.")
VALID_EMAIL = _l("Enter a valid e-mail address, such as name@example.lv.")
LINE_BREAK_MESSAGE = _l("Write this on one line, without line breaks.")
LINE_BREAKS = ("\r", "\n", "\u2028", "\u2029", "\x85")


def one_line_fields(fields) -> list[Field]:
    """Text fields meant for one line, found in nested rows too."""
    found: list[Field] = []
    for field in fields:
        if isinstance(field, FieldList):
            found.extend(one_line_fields(field.entries))
        elif isinstance(field, FormField):
            found.extend(one_line_fields(field.form))
        elif isinstance(field, StringField) and not isinstance(field, TextAreaField):
            found.append(field)
    return found


def refuse_line_breaks(form) -> bool:
    """Add an error to each one-line field holding a line break; True when none does."""
    clean = True
    for field in one_line_fields(form):
        if isinstance(field.data, str) and any(mark in field.data for mark in LINE_BREAKS):
            field.errors = [*field.errors, LINE_BREAK_MESSAGE]
            clean = False
    return clean


class DirectoryForm(FlaskForm):
    """FlaskForm (CSRF) whose one-line fields refuse line breaks."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # After the field validators, which reset each field's errors.
        return refuse_line_breaks(self) and valid


class ActionForm(DirectoryForm):
    """A button that changes something (admin and centre pages alike): the
    CSRF token, and the page to go back to."""

    next = HiddenField()
