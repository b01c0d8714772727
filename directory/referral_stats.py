"""Monthly referral statistics for centres and admins: counts per month and
per service, a CSV export and a small server-rendered SVG bar chart.

The counts come from `Referral` rows alone, by the service and centre names
the rows keep, so they outlive a deleted service and a purge of the client's
data. Months are calendar months in Europe/Riga local time: their bounds are
turned into UTC instants in Python and the database only compares and groups
(no dialect-specific date function), so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .models import REFERRAL_STATUSES, Referral
from .referral_workflow import STATUS_LABELS

RIGA = ZoneInfo("Europe/Riga")
MAX_MONTHS = 36
DEFAULT_MONTHS = 12

# The referral pages' labels, but "sent" short enough for a column heading.
REFERRAL_STATUS_LABELS = {**STATUS_LABELS, "sent": _l("Sent")}

CSV_HEADER = ("month", "organization", "service", "status", "count")


# ------------------------------------------------------------------ counting


@dataclass(frozen=True)
class Cell:
    """Referrals of one service, created in one month, now in one status."""

    month: date  # the first day of the month
    organization_name: str
    service_name: str
    status: str
    count: int


@dataclass(frozen=True)
class ServiceCounts:
    organization_name: str
    service_name: str
    counts: dict[str, int]

    @cached_property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Stats:
    """The figures of a period: `months` oldest first (first days of the
    months), `cells` the non-zero month × service × status counts. The
    tables below are worked out from the cells once, when first read."""

    months: list[date]
    cells: list[Cell] = field(default_factory=list)

    @cached_property
    def statuses(self) -> tuple[str, ...]:
        """The known statuses in their order, then any other status met."""
        extra = sorted({cell.status for cell in self.cells} - set(REFERRAL_STATUSES))
        return tuple(REFERRAL_STATUSES) + tuple(extra)

    @cached_property
    def by_month(self) -> dict[date, dict[str, int]]:
        """Every month of the period, each with a count for every status."""
        table = {month: dict.fromkeys(self.statuses, 0) for month in self.months}
        for cell in self.cells:
            table[cell.month][cell.status] += cell.count
        return table

    @cached_property
    def by_service(self) -> list[ServiceCounts]:
        """Per centre and service (by name), sorted by centre then service."""
        table: dict[tuple[str, str], dict[str, int]] = {}
        for cell in self.cells:
            counts = table.setdefault((cell.organization_name, cell.service_name), dict.fromkeys(self.statuses, 0))
            counts[cell.status] += cell.count
        keys = sorted(table, key=lambda key: (key[0].casefold(), key[1].casefold(), key))
        return [ServiceCounts(org, service, table[(org, service)]) for org, service in keys]

    @cached_property
    def by_status(self) -> dict[str, int]:
        totals = dict.fromkeys(self.statuses, 0)
        for cell in self.cells:
            totals[cell.status] += cell.count
        return totals

    @cached_property
    def total(self) -> int:
        return sum(cell.count for cell in self.cells)


def add_months(month: date, delta: int) -> date:
    """The first day of the month `delta` months after `month`'s."""
    index = month.year * 12 + month.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def period_months(months: int, today: date) -> list[date]:
    """The first days of the last `months` calendar months, this one included, oldest first."""
    this_month = today.replace(day=1)
    return [add_months(this_month, -back) for back in range(months - 1, -1, -1)]


def _month_start_utc(month: date, zone: tzinfo) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=zone).astimezone(timezone.utc)


def monthly_counts(
    session: Session,
    organization_ids: list[str] | None,
    months: int,
    today: date,
    zone: tzinfo = RIGA,
) -> Stats:
    """Referrals created in the last `months` calendar months (this one
    included; bounds in `zone`, Europe/Riga by default), counted per month,
    service and status. `organization_ids=None` counts every centre's
    (admins); an empty list counts nothing."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between 1 and {MAX_MONTHS}")
    month_list = period_months(months, today)
    if organization_ids is not None and not organization_ids:
        return Stats(months=month_list)

    # The month of each row as a CASE over the months' UTC bounds: plain
    # comparisons, grouped in SQL on SQLite and PostgreSQL alike.
    bounds = [_month_start_utc(add_months(month_list[0], i), zone) for i in range(months + 1)]
    month_index = case(
        *[(Referral.created_at < bounds[i + 1], i) for i in range(months)],
        else_=None,
    )
    rows = (
        select(
            month_index.label("month_index"),
            Referral.organization_name.label("organization_name"),
            Referral.service_name.label("service_name"),
            Referral.status.label("status"),
        )
        .where(Referral.created_at >= bounds[0], Referral.created_at < bounds[-1])
    )
    if organization_ids is not None:
        rows = rows.where(Referral.organization_id.in_(organization_ids))
    # Grouped in an outer query: PostgreSQL would not see a CASE with bound
    # parameters in SELECT and in GROUP BY as the same expression.
    rows = rows.subquery()
    grouped = (
        select(rows.c.month_index, rows.c.organization_name, rows.c.service_name, rows.c.status, func.count())
        .group_by(rows.c.month_index, rows.c.organization_name, rows.c.service_name, rows.c.status)
    )
    cells = [
        Cell(month_list[index], organization or "", service or "", status, count)
        for index, organization, service, status, count in session.execute(grouped)
        if index is not None
    ]
    status_order = {status: i for i, status in enumerate(REFERRAL_STATUSES)}
    cells.sort(key=lambda c: (
        c.month, c.organization_name.casefold(), c.service_name.casefold(),
        c.organization_name, c.service_name, status_order.get(c.status, len(status_order)), c.status,
    ))
    return Stats(months=month_list, cells=cells)


# ------------------------------------------------------------------ CSV

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A text a spreadsheet will not run as a formula: a leading apostrophe
    before =, +, -, @ (and tab / carriage return, per OWASP)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_text(stats: Stats) -> str:
    """month (YYYY-MM), organization, service, status (its code), count: one
    row per non-zero combination, with a header row. The header and status
    codes stay in English so that scripts can rely on them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for cell in stats.cells:
        writer.writerow((
            cell.month.strftime("%Y-%m"),
            csv_safe(cell.organization_name),
            csv_safe(cell.service_name),
            cell.status,
            cell.count,
        ))
    return out.getvalue()


# ------------------------------------------------------------------ chart

# One colour per status, each at least 3:1 against white (WCAG 1.4.11), and
# a pattern per status so that the bars read without colour too.
STATUS_STYLES = {
    "sent": ("#0b5394", None),                          # blue, solid
    "accepted": ("#1e7b34", "M0 6L6 0"),                 # green, diagonal
    "declined": ("#b3261e", "M0 3H6"),                   # red, horizontal
    "completed": ("#5b3a99", "M3 0V6"),                  # purple, vertical
    "withdrawn": ("#8a5300", "M0 0L6 6M0 6L6 0"),        # brown, crossed
    "expired": ("#5f6368", "M2 2h1v1h-1z"),              # grey, dotted
}
OTHER_STYLE = ("#3c4043", "M0 0L6 6")


@dataclass(frozen=True)
class ChartLabels:
    """The texts of the chart, already translated: the chart itself needs
    no request and no locale."""

    title: str
    description: str
    statuses: Mapping[str, str]
    months: Sequence[str]  # one short label per month of the stats
    axis: str  # the vertical axis' title, "Referrals"
    years: Sequence[str] = ()  # each month's year, shown under its label when it changes
    format_number: Callable[[int], str] = str


def _nice_step(largest: int) -> int:
    """A gridline step of 1, 2 or 5 × 10^n giving at most 5 gridlines."""
    if largest <= 5:
        return 1
    magnitude = 10 ** int(math.floor(math.log10(largest / 5)))
    for factor in (1, 2, 5, 10):
        if largest / (factor * magnitude) <= 5:
            break
    return factor * magnitude


def bar_chart_svg(stats: Stats, labels: ChartLabels, id_prefix: str = "referral-chart") -> Markup:
    """Stacked bars per month, one colour and pattern per status, bottom to
    top in the legend's order. `role="img"` with a title and a description of
    the figures; every text is escaped."""
    e = escape
    statuses = stats.statuses
    by_month = stats.by_month
    legend_rows = math.ceil(len(statuses) / 3)
    width, left, right, top = 640, 48, 8, 20 + 22 * legend_rows
    plot_height = 180
    bottom_axis = top + plot_height
    height = bottom_axis + 40
    largest = max((sum(counts.values()) for counts in by_month.values()), default=0)
    step = _nice_step(largest)
    y_max = max(step, step * math.ceil(largest / step))
    scale = plot_height / y_max
    slot = (width - left - right) / max(len(stats.months), 1)
    bar = max(2.0, slot * 0.7)
    label_every = math.ceil(len(stats.months) / 12)
    fmt = labels.format_number

    def pid(status: str) -> str:
        return f"{id_prefix}-p{statuses.index(status)}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" viewBox="0 0 {width} {height}" role="img"'
        f' aria-labelledby="{id_prefix}-title" aria-describedby="{id_prefix}-desc"'
        f' font-family="system-ui, sans-serif" font-size="12" fill="#1b1f24">',
        f'<title id="{id_prefix}-title">{e(labels.title)}</title>',
        f'<desc id="{id_prefix}-desc">{e(labels.description)}</desc>',
        "<defs>",
    ]
    for status in statuses:
        colour, path = STATUS_STYLES.get(status, OTHER_STYLE)
        parts.append(
            f'<pattern id="{pid(status)}" width="6" height="6" patternUnits="userSpaceOnUse">'
            f'<rect width="6" height="6" fill="{colour}"/>'
            + (f'<path d="{path}" stroke="#fff" fill="#fff" stroke-width="1"/>' if path else "")
            + "</pattern>"
        )
    parts.append("</defs>")

    # Legend: two rows of three, in stacking order (bottom first).
    for i, status in enumerate(statuses):
        x, y = 8 + (i % 3) * 210, 8 + (i // 3) * 22
        parts.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" fill="url(#{pid(status)})" stroke="#1b1f24" stroke-width=".5"/>'
            f'<text x="{x + 20}" y="{y + 11}">{e(labels.statuses.get(status, status))}</text>'
        )

    # Vertical axis: gridlines with their values, and its title.
    for value in range(0, y_max + 1, step):
        y = bottom_axis - value * scale
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c9d0d8"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{e(fmt(value))}</text>'
        )
    parts.append(
        f'<text transform="translate(12 {top + plot_height / 2:.0f}) rotate(-90)" text-anchor="middle">{e(labels.axis)}</text>'
    )

    # The bars, stacked bottom to top in status order: one path per status
    # (a rectangle per month) keeps a busy year small.
    segments: dict[str, list[str]] = {status: [] for status in statuses}
    for i, month in enumerate(stats.months):
        x = left + i * slot + (slot - bar) / 2
        y = float(bottom_axis)
        for status in statuses:
            count = by_month[month][status]
            if count:
                h = count * scale
                y -= h
                segments[status].append(f"M{x:.1f} {y:.1f}h{bar:.1f}v{h:.1f}h-{bar:.1f}z")
    for status in statuses:
        if segments[status]:
            parts.append(
                f'<path class="bar-{e(status)}" d="{"".join(segments[status])}" fill="url(#{pid(status)})"'
                f' stroke="#fff" stroke-width=".5"/>'
            )

    # The month labels, and the year under the first one and wherever it changes.
    shown_year = None
    for i, month in enumerate(stats.months):
        if i % label_every == 0:
            centre = left + i * slot + slot / 2
            month_label = labels.months[i] if i < len(labels.months) else month.strftime("%m")
            parts.append(f'<text x="{centre:.1f}" y="{bottom_axis + 16}" text-anchor="middle">{e(month_label)}</text>')
            year = labels.years[i] if i < len(labels.years) else str(month.year)
            if year != shown_year:
                parts.append(f'<text x="{centre:.1f}" y="{bottom_axis + 31}" text-anchor="middle">{e(year)}</text>')
                shown_year = year
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{bottom_axis}" y2="{bottom_axis}" stroke="#4a535e"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def chart_labels(stats: Stats) -> ChartLabels:
    """The chart's texts in the current locale (needs an app or request context)."""
    from flask_babel import format_date, gettext, ngettext

    from .templating import format_number

    status_names = {status: str(REFERRAL_STATUS_LABELS.get(status, status)) for status in stats.statuses}
    first, last = stats.months[0], stats.months[-1]
    total = stats.total
    sentences = [
        ngettext(
            "%(num)d referral from %(first)s to %(last)s.",
            "%(num)d referrals from %(first)s to %(last)s.",
            total,
            first=format_date(first, "LLLL yyyy"),
            last=format_date(last, "LLLL yyyy"),
        )
    ]
    if total:
        figures = ", ".join(
            f"{status_names[status]}: {format_number(count)}" for status, count in stats.by_status.items() if count
        )
        sentences.append(gettext("By status: %(figures)s.", figures=figures))
        busiest = max(stats.months, key=lambda month: (sum(stats.by_month[month].values()), month))
        sentences.append(gettext(
            "Most referrals in %(month)s: %(count)s.",
            month=format_date(busiest, "LLLL yyyy"),
            count=format_number(sum(stats.by_month[busiest].values())),
        ))
    years = [format_date(month, "yyyy") for month in stats.months]
    return ChartLabels(
        title=gettext("Referrals per month and status"),
        description=" ".join(sentences),
        statuses=status_names,
        months=[format_date(month, "LLL") for month in stats.months],
        axis=gettext("Referrals"),
        years=years,
        format_number=format_number,
    )
