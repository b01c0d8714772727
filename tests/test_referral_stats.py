"""Referral statistics: the counting, CSV and chart functions without a
request, then the pages (/manage/referrals/stats and its CSV) as each role."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from conftest import signed_in, soup
from directory import referral_stats
from directory.extensions import db
from directory.models import Organization, Referral, Service
from directory.referral_stats import ChartLabels, Stats, bar_chart_svg, csv_text, monthly_counts

TODAY = date(2025, 3, 15)
NOW = datetime(2025, 3, 15, 10, 0, tzinfo=timezone.utc)
PAGE = "/lv/manage/referrals/stats"
CSV_URL = "/lv/manage/referrals/stats.csv"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def organization(slug: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def refer(slug: str, created_at: datetime, status: str = "sent", service_name: str | None = None,
          deleted_service: bool = False, purged: bool = False) -> Referral:
    """A referral to the first service of the centre `slug` (or one named
    `service_name` that need not exist any more)."""
    org = organization(slug)
    service = db.session.scalar(
        select(Service).where(Service.organization_id == org.id).order_by(Service.name, Service.id)
    )
    referral = Referral(
        service_id=None if deleted_service else service.id,
        organization_id=org.id,
        service_name=service_name or service.name,
        organization_name=org.name,
        status=status,
        client_name=None if purged else "Anna",
        client_contact=None if purged else "+371 20000000",
        need=None if purged else "Needs a warm meal",
        consent_at=created_at,
        created_at=created_at,
        anonymised_at=utc(2025, 3, 1) if purged else None,
    )
    db.session.add(referral)
    return referral


@pytest.fixture
def referrals(seeded_app, accounts):
    """Saskarsme: 2 in January (sent, accepted), 3 in March (accepted,
    completed, and a purged one whose service was deleted); Vīgante: one in
    February; one in November 2024, outside a 3-month window."""
    with seeded_app.app_context():
        refer("saskarsme", utc(2025, 1, 10, 9), "sent")
        refer("saskarsme", utc(2025, 1, 20, 9), "accepted")
        refer("saskarsme", utc(2025, 3, 2, 9), "accepted")
        refer("saskarsme", utc(2025, 3, 3, 9), "completed")
        refer("saskarsme", utc(2025, 3, 4, 9), "declined", service_name="Closed soup kitchen",
              deleted_service=True, purged=True)
        refer("vigante", utc(2025, 2, 5, 9), "expired")
        refer("saskarsme", utc(2024, 11, 5, 9), "withdrawn")
        db.session.commit()
        return {
            "saskarsme": organization("saskarsme"),
            "vigante": organization("vigante"),
        }


# ------------------------------------------------------------ without a request


def test_counts_per_month_status_and_service(seeded_app, referrals):
    with seeded_app.app_context():
        saskarsme = referrals["saskarsme"]
        stats = monthly_counts(db.session, [saskarsme.id], 3, TODAY)
        service_name = db.session.scalar(
            select(Service.name).where(Service.organization_id == saskarsme.id).order_by(Service.name, Service.id)
        )
        assert stats.months == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
        assert stats.total == 5
        by_month = stats.by_month
        assert by_month[date(2025, 1, 1)]["sent"] == 1
        assert by_month[date(2025, 1, 1)]["accepted"] == 1
        assert sum(by_month[date(2025, 2, 1)].values()) == 0
        assert by_month[date(2025, 3, 1)] == {
            "sent": 0, "accepted": 1, "declined": 1, "completed": 1, "withdrawn": 0, "expired": 0,
        }
        services = {(row.organization_name, row.service_name): row for row in stats.by_service}
        assert set(services) == {(saskarsme.name, service_name), (saskarsme.name, "Closed soup kitchen")}
        # The purged referral of a deleted service still counts, by its names.
        assert services[(saskarsme.name, "Closed soup kitchen")].counts["declined"] == 1
        assert services[(saskarsme.name, service_name)].total == 4
        assert stats.by_status["accepted"] == 2


def test_a_longer_period_and_all_centres(seeded_app, referrals):
    with seeded_app.app_context():
        everything = monthly_counts(db.session, None, 12, TODAY)
        assert everything.total == 7
        assert len(everything.months) == 12 and everything.months[0] == date(2024, 4, 1)
        assert everything.by_month[date(2024, 11, 1)]["withdrawn"] == 1
        assert everything.by_month[date(2025, 2, 1)]["expired"] == 1
        only_vigante = monthly_counts(db.session, [referrals["vigante"].id], 12, TODAY)
        assert only_vigante.total == 1
        assert monthly_counts(db.session, [], 12, TODAY).total == 0
        one_month = monthly_counts(db.session, None, 1, TODAY)
        assert one_month.months == [date(2025, 3, 1)] and one_month.total == 3
        with pytest.raises(ValueError):
            monthly_counts(db.session, None, 0, TODAY)


def test_months_are_riga_calendar_months(seeded_app, accounts):
    """00:30 on 1 March in Riga is still 28 February in UTC: it counts in March."""
    with seeded_app.app_context():
        refer("saskarsme", utc(2025, 2, 28, 22, 30))  # 1 March, 00:30 in Riga
        refer("saskarsme", utc(2025, 2, 28, 21, 30))  # 28 February, 23:30 in Riga
        refer("saskarsme", utc(2025, 3, 31, 21, 30))  # 1 April, 00:30 in Riga (summer time): not yet
        db.session.commit()
        stats = monthly_counts(db.session, None, 2, date(2025, 3, 31))
        assert stats.by_month[date(2025, 3, 1)]["sent"] == 1
        assert stats.by_month[date(2025, 2, 1)]["sent"] == 1
        assert stats.total == 2


def test_csv_has_a_header_and_one_row_per_combination(seeded_app, referrals):
    with seeded_app.app_context():
        text = csv_text(monthly_counts(db.session, [referrals["saskarsme"].id], 3, TODAY))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["month", "organization", "service", "status", "count"]
    assert len(rows) == 1 + 5  # five non-zero month × service × status combinations
    assert ["2025-03", rows[1][1], "Closed soup kitchen", "declined", "1"] in rows
    assert all(row[0] in {"2025-01", "2025-03"} for row in rows[1:])


def test_csv_quotes_and_guards_against_formulas():
    stats = Stats(months=[date(2025, 3, 1)], cells=[
        referral_stats.Cell(date(2025, 3, 1), '=HYPERLINK("http://evil")', "+1 service", "sent", 2),
        referral_stats.Cell(date(2025, 3, 1), "@centre", "-minus, with comma", "accepted", 1),
        referral_stats.Cell(date(2025, 3, 1), "Dienas centrs \"Saskarsme\"", "Zupas virtuve", "sent", 3),
    ])
    text = csv_text(stats)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][:3] == ["2025-03", '\'=HYPERLINK("http://evil")', "'+1 service"]
    assert rows[2][1:3] == ["'@centre", "'-minus, with comma"]
    assert rows[3][1] == 'Dienas centrs "Saskarsme"'
    assert '"Dienas centrs ""Saskarsme"""' in text


def labels_for(stats: Stats, title="Referrals per month", description="5 referrals") -> ChartLabels:
    return ChartLabels(
        title=title,
        description=description,
        statuses={status: status.title() for status in stats.statuses},
        months=[month.strftime("%b") for month in stats.months],
        axis="Referrals",
        years=[str(month.year) for month in stats.months],
    )


def test_chart_is_an_accessible_escaped_svg():
    month = date(2025, 3, 1)
    stats = Stats(months=[date(2025, 2, 1), month], cells=[
        referral_stats.Cell(month, "Centre", "<script>alert(1)</script>", "sent", 4),
        referral_stats.Cell(month, "Centre", "Soup", "completed", 2),
    ])
    svg = str(bar_chart_svg(stats, labels_for(stats, title="A <b>title</b>", description="Names & <script>")))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg
    assert '<title id="referral-chart-title">A &lt;b&gt;title&lt;/b&gt;</title>' in svg
    assert 'aria-labelledby="referral-chart-title"' in svg
    assert '<desc id="referral-chart-desc">Names &amp; &lt;script&gt;</desc>' in svg
    assert "<script" not in svg and "<b>" not in svg
    # A bar segment per non-zero status; the legend names every status.
    assert svg.count('<path class="bar-sent"') == 1 and svg.count('<path class="bar-completed"') == 1
    assert '<path class="bar-accepted"' not in svg
    for status in stats.statuses:
        assert f">{status.title()}</text>" in svg


def test_chart_stays_small_for_a_busy_year():
    months = referral_stats.period_months(12, TODAY)
    cells = [
        referral_stats.Cell(month, "Centre", "Service", status, 7 + i)
        for month in months for i, status in enumerate(Stats(months=[]).statuses)
    ]
    stats = Stats(months=months, cells=cells)
    svg = str(bar_chart_svg(stats, labels_for(stats)))
    assert len(svg.encode()) < 8 * 1024
    thirty_six = referral_stats.period_months(36, TODAY)
    assert len(bar_chart_svg(Stats(months=thirty_six), labels_for(Stats(months=thirty_six)))) < 8 * 1024


# ------------------------------------------------------------ the pages


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_editor_sees_only_their_centres_figures(seeded_app, referrals, frozen):
    client = signed_in(seeded_app, "editor@example.lv")
    response = client.get(PAGE + "?months=3")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("h1").get_text(strip=True)
    by_month = page.select_one("#stats-by-month")
    assert by_month.select_one("caption") is not None
    assert all(th.get("scope") in ("col", "row") for th in by_month.select("th"))
    assert len(by_month.select("tbody tr")) == 3
    assert by_month.select_one("tfoot td:last-child").get_text(strip=True) == "5"
    services = page.select_one("#stats-by-service")
    assert "Closed soup kitchen" in services.get_text()
    assert referrals["vigante"].name not in services.get_text()
    # The chart: inline, with role="img" and a title.
    svg = page.select_one("#stats-chart svg")
    assert svg is not None and svg["role"] == "img"
    assert svg.select_one("title").get_text(strip=True)
    # The CSV link keeps the query.
    assert "months=3" in page.select_one("#stats-csv")["href"]
    # The organization select only for users with several centres.
    assert page.select_one("select#org") is None


def test_editor_gets_403_for_another_centre(seeded_app, referrals, frozen):
    client = signed_in(seeded_app, "editor@example.lv")
    vigante = referrals["vigante"].id
    assert client.get(f"{PAGE}?org={vigante}").status_code == 403
    assert client.get(f"{CSV_URL}?org={vigante}").status_code == 403
    assert client.get(f"{PAGE}?org=no-such-centre").status_code == 404
    assert client.get(f"{PAGE}?org={referrals['saskarsme'].id}").status_code == 200


def test_admin_sees_every_centre_and_can_narrow(seeded_app, referrals, frozen):
    client = signed_in(seeded_app, "admin@example.lv")
    page = soup(client.get(PAGE))
    assert page.select_one("#stats-by-month tfoot td:last-child").get_text(strip=True) == "7"
    assert page.select_one("select#org") is not None
    narrowed = soup(client.get(f"{PAGE}?org={referrals['vigante'].id}&months=3"))
    assert narrowed.select_one("#stats-by-month tfoot td:last-child").get_text(strip=True) == "1"
    assert narrowed.select_one(f"select#org option[value='{referrals['vigante'].id}']").has_attr("selected")
    assert f"org={referrals['vigante'].id}" in narrowed.select_one("#stats-csv")["href"]


def test_social_workers_and_anonymous_are_refused(seeded_app, referrals, frozen):
    anonymous = seeded_app.test_client()
    for url in (PAGE, CSV_URL):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    worker = signed_in(seeded_app, "worker@example.lv")
    assert worker.get(PAGE).status_code == 403
    assert worker.get(CSV_URL).status_code == 403


@pytest.mark.parametrize("value, months", [
    ("3", 3), ("1", 1), ("36", 36), ("", 12), ("abc", 12), ("0", 12), ("37", 12), ("-5", 12), ("2.5", 12),
])
def test_months_argument(seeded_app, referrals, frozen, value, months):
    client = signed_in(seeded_app, "admin@example.lv")
    response = client.get(f"{PAGE}?months={value}")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("select#months option[selected]")["value"] == str(months)
    assert len(page.select("#stats-by-month tbody tr")) == months
    rows = list(csv.reader(io.StringIO(client.get(f"{CSV_URL}?months={value}").get_data(as_text=True))))
    assert len(rows) > 1


def test_csv_download(seeded_app, referrals, frozen):
    client = signed_in(seeded_app, "editor@example.lv")
    response = client.get(CSV_URL + "?months=3")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename=referrals-2025-03.csv"
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["month", "organization", "service", "status", "count"]
    assert len(rows) == 6
    assert {row[1] for row in rows[1:]} == {referrals["saskarsme"].name}
    assert sum(int(row[4]) for row in rows[1:]) == 5


def test_markup_in_a_service_name_is_escaped_in_the_page(seeded_app, accounts, frozen):
    with seeded_app.app_context():
        refer("saskarsme", utc(2025, 3, 1, 9), service_name="<script>alert(1)</script>")
        db.session.commit()
    client = signed_in(seeded_app, "editor@example.lv")
    html = client.get(PAGE).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_empty_period(seeded_app, accounts, frozen):
    client = signed_in(seeded_app, "other@example.lv")
    page = soup(client.get(PAGE))
    assert page.select_one("#stats-empty") is not None
    assert page.select_one("#stats-chart") is None
    assert page.select_one("form#stats-filters button[type=submit]") is not None
    rows = list(csv.reader(io.StringIO(client.get(CSV_URL).get_data().decode("utf-8-sig"))))
    assert rows == [["month", "organization", "service", "status", "count"]]
