"""Turning one cell of a package into a Python value of its column's type, or saying why not."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from .mapping import UPPER, Column

# ------------------------------------------------------------------ values


class Invalid(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


UUID_FORM = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_FORM = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3339 partial time, with an optional offset ("09:00:00+02:00", "09:00Z").
TIME_FORM = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$", re.IGNORECASE)
TRUE_VALUES = {"true", "1", "yes"}
FALSE_VALUES = {"false", "0", "no"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _web_address(value: str) -> bool:
    from urllib.parse import urlsplit

    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def convert(table: str, column: Column, value: Any) -> Any:
    """A cell (CSV text or a JSON value) as a Python value, None when empty;
    Invalid says what is wrong."""
    if _missing(value):
        return None
    kind = column.type
    if kind == "string":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a JSON number where HSDS has text (an identifier): the same characters
        if not isinstance(value, str):
            raise Invalid(_l("Text expected."))
        if column.format or column.enum or column.check:
            value = value.strip()
        if (table, column.name) in UPPER:
            value = value.upper()
        if column.format == "uuid":
            if not UUID_FORM.match(value):
                raise Invalid(_l("Not an id in UUID form, such as 0a034c5e-dfa1-575b-9fde-c5cbdd882753."))
            value = value.lower()
        elif column.format == "email":
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                raise Invalid(_l("Not an e-mail address.")) from None
        elif column.format == "uri":
            if not _web_address(value):
                raise Invalid(_l("Not a web address starting with http:// or https://."))
        if column.enum and value not in column.enum:
            raise Invalid(_l("Use one of: %(choices)s.", choices=", ".join(column.enum)))
        if column.check is not None:  # the more telling message first
            message = column.check(value)
            if message is not None:
                raise Invalid(message)
        if column.max_length and len(value) > column.max_length:
            raise Invalid(_l("Use at most %(max)d characters.", max=column.max_length))
        return value
    elif kind in ("number", "integer"):
        if isinstance(value, bool):
            raise Invalid(_l("Not a number."))
        if isinstance(value, str):
            try:
                value = float(value.strip()) if not re.fullmatch(r"\s*[+-]?\d+\s*", value) else int(value)
            except ValueError:
                raise Invalid(_l("Not a number.")) from None
        if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
            raise Invalid(_l("Not a number."))
        if kind == "integer" or column.integer:
            if isinstance(value, float):
                if not value.is_integer():
                    raise Invalid(_l("Not a whole number."))
                value = int(value)
            if abs(value) > 2**31 - 1:
                raise Invalid(_l("The number is too large."))
        elif isinstance(value, int):
            value = float(value)
    elif kind == "boolean":
        if isinstance(value, str):
            text = value.strip().lower()
            if text in TRUE_VALUES:
                value = True
            elif text in FALSE_VALUES:
                value = False
        if not isinstance(value, bool):
            raise Invalid(_l("Not true or false."))
    elif kind == "date":
        if not isinstance(value, str) or not DATE_FORM.match(value.strip()):
            raise Invalid(_l("Not a date in the form YYYY-MM-DD."))
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(_l("Not a date in the form YYYY-MM-DD.")) from None
    elif kind == "time":
        if not isinstance(value, str) or not TIME_FORM.match(value.strip()):
            raise Invalid(_l("Not a time in the form HH:MM or HH:MM:SS."))
        try:
            value = time.fromisoformat(value.strip().upper())
        except ValueError:
            raise Invalid(_l("Not a time in the form HH:MM or HH:MM:SS.")) from None
    elif kind == "datetime":
        try:
            value = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            value = None
        if value is None:
            raise Invalid(_l("Not a date and time in ISO 8601 form, such as 2024-05-31T09:00:00Z."))
    if column.check is not None:
        message = column.check(value)
        if message is not None:
            raise Invalid(message)
    return value


