"""Registration numbers of organizations (HSDS organization_identifier).

Schemes are org-id.guide list codes where one exists: LV-RE, the Latvian
Register of Enterprises (11 digits), and LT-RC, the Lithuanian Register of
Legal Entities (9 digits). LV-SPSR is the directory's own code for the
Latvian register of social service providers, which has no org-id.guide
code. Numbers of other schemes (an import from elsewhere) are kept as they
come: the standard lets a publisher use any scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_IDENTIFIERS = 10


@dataclass(frozen=True)
class Scheme:
    code: str
    label: Any  # lazy_gettext
    pattern: re.Pattern | None  # what a number must look like; None: anything
    format_message: Any = None
    # HSDS identifier_type as the directory writes it: the same in every language.
    type_name: str = ""


SCHEMES: dict[str, Scheme] = {
    "LV-RE": Scheme("LV-RE", _l("Latvian Register of Enterprises"), re.compile(r"[0-9]{11}"),
                    _l("A number in the Latvian Register of Enterprises has 11 digits, such as 40008000000."),
                    "Latvian Register of Enterprises registration number"),
    "LT-RC": Scheme("LT-RC", _l("Lithuanian Register of Legal Entities"), re.compile(r"[0-9]{9}"),
                    _l("A code in the Lithuanian Register of Legal Entities has 9 digits, such as 188000000."),
                    "Lithuanian Register of Legal Entities code"),
    "LV-SPSR": Scheme("LV-SPSR", _l("Latvian register of social service providers"), None,
                      type_name="Latvian register of social service providers number"),
}


def normalise(identifier: str | None) -> str:
    """A number as people type it, without the spaces that group its digits
    ("400 0800 0000"): the registers' numbers have none."""
    return re.sub(r"\s+", "", identifier or "")


def check(scheme: str | None, identifier: str | None) -> Any:
    """None when `identifier` is a well-formed number of `scheme`; otherwise
    the message that says what is wrong. Unknown schemes accept any number."""
    if not normalise(identifier):
        return _l("Enter the number.")
    known = SCHEMES.get((scheme or "").upper())
    if known is None or known.pattern is None:
        return None
    return None if known.pattern.fullmatch(normalise(identifier)) else known.format_message


def scheme_label(scheme: str | None) -> Any:
    known = SCHEMES.get((scheme or "").upper())
    return known.label if known is not None else (scheme or "")
