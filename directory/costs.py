"""What a service costs: its HSDS cost options, and the "free of charge"
that residents filter on, which follows from them.

A service is free of charge when one of its options costs nothing (a price
for some and none for others still lets a resident use it for free), not
free when it has options and none is free (an option without an amount is a
cost whose amount is not stated), and not stated when it has none.
`Service.free_of_charge` holds that answer for the search; everything that
writes cost options calls `keep_free_flag` (the edit form, the imports).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import format_currency, format_decimal

DEFAULT_CURRENCY = "EUR"
MAX_COST_OPTIONS = 20
MAX_AMOUNT = 1_000_000


def is_free(options: Iterable[Any]) -> bool | None:
    """None: no option stated; True: one costs nothing; False: all cost something."""
    options = list(options)
    if not options:
        return None
    return any(option.amount is not None and option.amount == 0 for option in options)


def keep_free_flag(service: Any) -> None:
    service.free_of_charge = is_free(service.cost_options)


def amount_text(amount: float | None, currency: str | None) -> str:
    """An amount in the visitor's locale's currency format ("5,50 €"); "" for none."""
    if amount is None:
        return ""
    currency = (currency or DEFAULT_CURRENCY).upper()
    try:
        return format_currency(amount, currency)
    except Exception:  # a currency Babel does not know: the number and its code
        return f"{format_decimal(amount)} {currency}"
