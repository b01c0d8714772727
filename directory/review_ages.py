"""How long ago each published centre was last reviewed (its
`last_verified`): the admin page and CSV of review ages, oldest first, and
how many centres of each municipality fall in each age band.

Plain functions over a session; the view in admin/review_routes.py renders
what they return. A centre's municipality is that of its locations'
addresses, as an ISO 3166-2 code where `municipalities.find_by_name` reads
the free text, else unknown (a centre counts once in each of its
municipalities).
"""

from __future__ import annotations

import csv
import functools
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import municipalities
from .models import Address, Location, Organization
from .referral_stats import csv_safe
from .textnorm import sort_key

PAGE_SIZE = 50
UNKNOWN = ""  # the municipality key of an address no municipality was read from
# Age bands by whole months since the review, in the order the page shows them.
BANDS = ("under-10", "10-12", "over-12", "never")
BAND_LABELS = {
    "under-10": _l("under 10 months"),
    "10-12": _l("10–12 months"),
    "over-12": _l("over 12 months"),
    "never": _l("never reviewed"),
}
# A spreadsheet runs a cell starting with one of these as a formula.
def months_between(earlier: date, later: date) -> int:
    """Whole months from `earlier` to `later` (0 within the first month)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - 1 if later.day < earlier.day else months


def band_of(reviewed: date | None, today: date) -> str:
    """A review's band: under 10 whole months, 10 or 11 (10–12), 12 or more
    (over 12: about when a listing starts to say "may be out of date"), or
    never reviewed."""
    if reviewed is None:
        return "never"
    months = months_between(reviewed, today)
    return "under-10" if months < 10 else "10-12" if months < 12 else "over-12"


@functools.lru_cache(maxsize=4096)
def municipality_code(text: str | None) -> str:
    """The ISO code an address's municipality text names; UNKNOWN if none."""
    found = municipalities.find_by_name(text or "")
    return found.code if found else UNKNOWN


def municipality_label(code: str) -> str:
    if code == UNKNOWN:
        return _("unknown")
    found = municipalities.get(code)
    return found.label if found else code


@dataclass
class ReviewAge:
    """One published centre on the list."""

    id: str
    name: str
    slug: str
    text_language: str
    reviewed: date | None
    months: int | None  # whole months since the review; None: never reviewed
    band: str
    municipality_codes: list[str]  # ISO codes, UNKNOWN for an address not read (or no address)

    @property
    def municipality_labels(self) -> list[str]:
        return [municipality_label(code) for code in self.municipality_codes]


@dataclass
class MunicipalityCount:
    code: str
    label: str
    counts: dict[str, int]  # band -> centres

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ReviewAgesPage:
    centres: list[ReviewAge]
    page: int
    pages: int
    total: int
    by_municipality: list[MunicipalityCount]
    band_totals: dict[str, int]
    today: date


def _oldest_first():
    """Never reviewed first, then the oldest review; by name within a day."""
    published = select(Organization.id, Organization.name, Organization.slug, Organization.text_language,
                       Organization.last_verified).where(Organization.status == "published")
    return published.order_by(Organization.last_verified.is_not(None), Organization.last_verified,
                              Organization.name, Organization.id)


def _municipalities_of(session: Session, organization_ids: list[str] | None) -> dict[str, list[str]]:
    """Organization id -> its locations' municipality codes, in name order
    of their labels, unknown last (None: every published organization)."""
    query = (
        select(Location.organization_id, Address.municipality)
        .select_from(Location)
        .outerjoin(Address, Address.location_id == Location.id)
    )
    if organization_ids is not None:
        query = query.where(Location.organization_id.in_(organization_ids))
    codes: dict[str, set[str]] = defaultdict(set)
    for organization_id, text in session.execute(query):
        codes[organization_id].add(municipality_code(text))
    return {organization_id: sorted(found, key=lambda code: (code == UNKNOWN, municipality_label(code), code))
            for organization_id, found in codes.items()}


def _review_age(row, today: date, codes: dict[str, list[str]]) -> ReviewAge:
    organization_id, name, slug, text_language, reviewed = row
    return ReviewAge(organization_id, name, slug, text_language, reviewed,
                     months_between(reviewed, today) if reviewed else None, band_of(reviewed, today),
                     codes.get(organization_id) or [UNKNOWN])


def review_ages_page(session: Session, today: date, page: int = 1, page_size: int = PAGE_SIZE) -> ReviewAgesPage:
    """One page of the published centres by review age, oldest first, with
    the counts per municipality and band over all of them; a page past the
    end is the last page."""
    total = session.scalar(select(func.count()).select_from(Organization)
                           .where(Organization.status == "published")) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = session.execute(_oldest_first().offset((page - 1) * page_size).limit(page_size)).all()
    codes = _municipalities_of(session, [row[0] for row in rows])
    centres = [_review_age(row, today, codes) for row in rows]

    # The counts read every published centre's review date and municipalities:
    # two narrow queries, one pass (thousands of centres at most).
    all_codes = _municipalities_of(session, None)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(BANDS, 0))
    band_totals = dict.fromkeys(BANDS, 0)
    for organization_id, reviewed in session.execute(
        select(Organization.id, Organization.last_verified).where(Organization.status == "published")
    ):
        band = band_of(reviewed, today)
        band_totals[band] += 1
        for code in all_codes.get(organization_id) or [UNKNOWN]:
            counts[code][band] += 1
    by_municipality = [MunicipalityCount(code, municipality_label(code), bands) for code, bands in counts.items()]
    by_municipality.sort(key=lambda count: (count.code == UNKNOWN, sort_key(count.label), count.code))
    return ReviewAgesPage(centres, page, pages, total, by_municipality, band_totals, today)


def all_review_ages(session: Session, today: date, batch: int = 1000):
    """Every published centre by review age, oldest first, a batch of
    rows at a time (the CSV)."""
    offset = 0
    while True:
        rows = session.execute(_oldest_first().offset(offset).limit(batch)).all()
        if not rows:
            return
        codes = _municipalities_of(session, [row[0] for row in rows])
        for row in rows:
            yield _review_age(row, today, codes)
        offset += batch


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text (referral_stats.csv_safe)."""
    return csv_safe("" if value is None else str(value))


def csv_lines(centres: Iterable[ReviewAge], centre_url: Callable[[str], str]) -> Iterator[str]:
    """The CSV of the list, a line at a time: a header, then a centre a row
    (`centre_url` gives a centre's public page from its slug)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(cells) -> str:
        writer.writerow([safe_cell(cell) for cell in cells])
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    yield line([_("Centre"), _("Centre page"), _("Municipality code"), _("Municipality"),
                _("Last reviewed"), _("Months since"), _("Review age")])
    for centre in centres:
        yield line([
            centre.name,
            centre_url(centre.slug),
            "; ".join(code or _("unknown") for code in centre.municipality_codes),
            "; ".join(centre.municipality_labels),
            centre.reviewed.isoformat() if centre.reviewed else "",
            "" if centre.months is None else centre.months,
            BAND_LABELS[centre.band],
        ])
