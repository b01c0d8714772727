"""Guards against writing more about a client than a referral needs.

Latvian and Lithuanian personal codes identify a person outright; no centre
needs one to take a referral, so a text holding one is refused. The patterns
check the birth date inside the code, so that phone numbers (+371 2…,
8 6… in Lithuania) are not mistaken for codes.
"""

from __future__ import annotations

import re

# Latvia: DDMMYY-CNNNN (the hyphen often left out); since 2017 also 32NNNN-NNNNN.
_LATVIAN = re.compile(r"(?<![\d+])(\d{2})(\d{2})\d{2}-?\d{5}(?!\d)")
_LATVIAN_NEW = re.compile(r"(?<![\d+])32\d{4}-?\d{5}(?!\d)")
# Lithuania: G YY MM DD NNN K, G = 1…6 (sex and century).
_LITHUANIAN = re.compile(r"(?<![\d+])[1-6]\d{2}(\d{2})(\d{2})\d{4}(?!\d)")


def _plausible(day: str, month: str) -> bool:
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def contains_personal_code(text: str | None) -> bool:
    if not text:
        return False
    if _LATVIAN_NEW.search(text):
        return True
    for match in _LATVIAN.finditer(text):
        if _plausible(match.group(1), match.group(2)):
            return True
    for match in _LITHUANIAN.finditer(text):
        if _plausible(match.group(2), match.group(1)):
            return True
    return False
