"""Issue 19: a listing whose centre was not reviewed for STALE_AFTER_DAYS
ranks below reviewed listings of the same match and says "may be out of
date"; admins see every published centre by review age
(/<lang>/admin/review-ages, and as CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
import time_machine
from conftest import signed_in, soup
from sqlalchemy import select

from directory import review_ages
from directory.extensions import db
from directory.models import Organization, Service, ServiceAtLocation
from directory.search import parse_filters, search_services

NOW = datetime(2026, 6, 15, 9, 0, tzinfo=timezone.utc)
REVIEWED = date(2026, 1, 10)  # 156 days before NOW: current
LONG_AGO = date(2025, 1, 10)  # 521 days before NOW: may be out of date


def centre(slug: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def add_services(app, slug: str, names: list[str], description: str = "") -> None:
    with app.app_context():
        org = centre(slug)
        for name in names:
            service = Service(organization_id=org.id, name=name, status="active", description=description)
            db.session.add(service)
            db.session.flush()
            if org.locations:
                db.session.add(ServiceAtLocation(service_id=service.id, location_id=org.locations[0].id))
        db.session.commit()


def review(app, **days: date | None) -> None:
    """Set centres' last review: review(app, antazave=date(…))."""
    with app.app_context():
        for slug, day in days.items():
            centre(slug.replace("_", "-")).last_verified = day
        db.session.commit()


def result_names(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return [a.get_text(strip=True) for a in soup(response).select(".result h3 a")]


@pytest.fixture
def ranked(seeded_app):
    """Services named "zzrank": two centres, one reviewed, one not for a
    year; a third matches by its description only."""
    review(seeded_app, antazave=LONG_AGO, vigante=REVIEWED, saskarsme=REVIEWED)
    add_services(seeded_app, "antazave", ["Aaa zzrank stale"])
    add_services(seeded_app, "vigante", ["Bbb zzrank reviewed"])
    add_services(seeded_app, "saskarsme", ["Ccc described"], description="Arī zzrank darbnīca.")
    return seeded_app


# ------------------------------------------------------------------ ranking


@time_machine.travel(NOW, tick=False)
def test_a_reviewed_listing_ranks_above_an_equal_stale_one(ranked, client):
    # By name alone "Aaa" would come first; the description match stays last.
    assert result_names(client, "/lv/?q=zzrank") == ["Bbb zzrank reviewed", "Aaa zzrank stale", "Ccc described"]


@time_machine.travel(NOW, tick=False)
def test_the_card_of_a_stale_listing_says_it_may_be_out_of_date(ranked, client):
    cards = {card.select_one("h3").get_text(strip=True): card
             for card in soup(client.get("/lv/?q=zzrank")).select(".result")}
    assert cards["Aaa zzrank stale"].select_one(".review-note .stale") is not None
    assert cards["Bbb zzrank reviewed"].select_one(".review-note") is None
    english = soup(client.get("/en/?q=zzrank")).select(".result")
    assert english[1].select_one(".review-note").get_text(strip=True) == "may be out of date"


@time_machine.travel(NOW, tick=False)
def test_a_never_reviewed_listing_ranks_with_the_stale_ones_and_says_so(ranked, client):
    add_services(ranked, "birzu-rajona-daudzfunkcionalie-centri", ["Aa0 zzrank never"])
    assert result_names(client, "/lv/?q=zzrank") == [
        "Bbb zzrank reviewed", "Aa0 zzrank never", "Aaa zzrank stale", "Ccc described"]
    card = soup(client.get("/en/?q=zzrank")).select(".result")[1]
    assert card.select_one(".review-note").get_text(strip=True) == "not yet verified by the centre"


@time_machine.travel(NOW, tick=False)
def test_reviewed_listings_come_first_on_every_page(seeded_app, client):
    review(seeded_app, antazave=LONG_AGO, vigante=REVIEWED)
    stale = [f"A{i:02d} zzpage" for i in range(13)]
    current = [f"B{i:02d} zzpage" for i in range(12)]
    add_services(seeded_app, "antazave", stale)
    add_services(seeded_app, "vigante", current)
    first, second = result_names(client, "/lv/?q=zzpage"), result_names(client, "/lv/?q=zzpage&page=2")
    assert first + second == current + stale
    assert len(first) == 20
    page_two = soup(client.get("/lv/?q=zzpage&page=2")).select(".result")
    assert all(card.select_one(".review-note .stale") for card in page_two)
    # Any page size: the pages together are the whole order.
    with seeded_app.app_context():
        pages = [search_services(db.session, parse_filters({"q": "zzpage", "page": str(n)}), now=NOW,
                                 page_size=7).services for n in range(1, 5)]
    assert [s.name for page in pages for s in page] == current + stale


def test_passing_the_limit_changes_the_order_without_a_write(ranked, client):
    with time_machine.travel(NOW, tick=False):
        assert result_names(client, "/lv/?q=zzrank")[:2] == ["Bbb zzrank reviewed", "Aaa zzrank stale"]
    # 365 days after the review it is still current; the day after, not.
    with time_machine.travel(datetime(2027, 1, 10, 12, 0, tzinfo=timezone.utc), tick=False):
        assert result_names(client, "/lv/?q=zzrank")[:2] == ["Bbb zzrank reviewed", "Aaa zzrank stale"]
    with time_machine.travel(datetime(2027, 1, 11, 12, 0, tzinfo=timezone.utc), tick=False):
        assert result_names(client, "/lv/?q=zzrank")[:2] == ["Aaa zzrank stale", "Bbb zzrank reviewed"]
        assert soup(client.get("/lv/?q=zzrank")).select(".result")[1].select_one(".review-note .stale")


def test_the_day_turns_in_riga_not_in_utc(ranked):
    """2027-01-10 22:30 UTC is already the 11th in Riga: the review is stale."""
    with ranked.app_context():
        page = search_services(db.session, parse_filters({"q": "zzrank"}),
                               now=datetime(2027, 1, 10, 22, 30, tzinfo=timezone.utc))
    assert [s.name for s in page.services][:2] == ["Aaa zzrank stale", "Bbb zzrank reviewed"]


@time_machine.travel(NOW, tick=False)
def test_a_distance_search_keeps_distance_order(ranked, client):
    """Near a place the nearest comes first, reviewed or not: the card says
    which may be out of date."""
    names = result_names(client, "/lv/?q=zzrank&near=Zarasai")
    assert names.index("Aaa zzrank stale") < names.index("Bbb zzrank reviewed")


# ------------------------------------------------------------- review ages


@pytest.fixture
def reviewed_centres(seeded_app, accounts):
    """Of the 15 published starter centres: Antazavė (LT-60) reviewed two
    months ago, Vigante (LV-002) eleven months ago, Jaunjelgava's centre
    (LV-002) two years ago; the others never."""
    review(seeded_app, antazave=date(2026, 4, 10), vigante=date(2025, 7, 1),
           jaunjelgavas_jaunatnes_iniciativu_centrs=date(2024, 6, 1))
    return seeded_app


def test_bands_count_whole_months():
    today = date(2026, 6, 15)
    assert review_ages.months_between(date(2025, 6, 15), today) == 12
    assert review_ages.months_between(date(2025, 6, 16), today) == 11
    assert [review_ages.band_of(day, today) for day in
            (date(2025, 8, 16), date(2025, 8, 15), date(2025, 6, 16), date(2025, 6, 15), None)] == [
        "under-10", "10-12", "10-12", "over-12", "never"]


@time_machine.travel(NOW, tick=False)
def test_the_admin_page_lists_centres_oldest_review_first_with_counts(reviewed_centres):
    client = signed_in(reviewed_centres, "admin@example.lv")
    page = soup(client.get("/en/admin/review-ages"))
    rows = page.select("#review-ages tbody tr")
    assert len(rows) == 15
    names = [row.select_one("th a")["href"].rsplit("/", 1)[1] for row in rows]
    assert names[-3:] == ["jaunjelgavas-jaunatnes-iniciativu-centrs", "vigante", "antazave"]
    assert all(row["class"] == ["review-never"] for row in rows[:12])
    last = rows[-1].select("td")
    assert last[0].get_text(strip=True) == "Zarasai District Municipality"
    assert last[1].select_one("time")["datetime"] == "2026-04-10"
    assert last[2].get_text(strip=True) == "2"
    assert rows[-3].select("td")[2].get_text(strip=True) == "24"

    def counts(code):
        row = page.select_one(f'#review-ages-by-municipality tr[data-code="{code}"]')
        return {cell["data-band"]: int(cell.get_text(strip=True)) for cell in row.select("td")}

    assert counts("LV-002") == {"under-10": 0, "10-12": 1, "over-12": 1, "never": 0, "total": 2}
    assert counts("LT-60") == {"under-10": 1, "10-12": 0, "over-12": 0, "never": 0, "total": 1}
    assert counts("LV-016") == {"under-10": 0, "10-12": 0, "over-12": 0, "never": 1, "total": 1}
    assert counts("unknown")["never"] == 10  # no address's municipality read, or no location
    assert counts("all") == {"under-10": 1, "10-12": 1, "over-12": 1, "never": 12, "total": 15}
    assert page.select_one("#review-ages caption") and page.select("#review-ages thead th[scope=col]")
    assert client.get("/en/admin/").status_code == 200
    assert soup(client.get("/en/admin/")).select_one("#link-review-ages")["href"] == "/en/admin/review-ages"


@time_machine.travel(NOW, tick=False)
def test_the_list_comes_a_page_at_a_time(reviewed_centres, monkeypatch):
    monkeypatch.setattr(review_ages, "PAGE_SIZE", 6)
    client = signed_in(reviewed_centres, "admin@example.lv")
    slugs = []
    for number in (1, 2, 3):
        page = soup(client.get(f"/en/admin/review-ages?page={number}"))
        slugs += [a["href"].rsplit("/", 1)[1] for a in page.select("#review-ages tbody th a")]
    assert len(slugs) == len(set(slugs)) == 15
    assert slugs[-1] == "antazave"
    # Counts are of every centre, whichever page.
    assert page.select_one('tr[data-code="all"] td[data-band="total"]').get_text(strip=True) == "15"
    assert page.select_one("nav.pagination a[rel=prev]")


@time_machine.travel(NOW, tick=False)
def test_the_csv_is_the_same_list(reviewed_centres):
    client = signed_in(reviewed_centres, "admin@example.lv")
    response = client.get("/en/admin/review-ages.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["Centre", "Centre page", "Municipality code", "Municipality", "Last reviewed",
                       "Months since", "Review age"]
    assert len(rows) == 16
    assert rows[-1][1].endswith("/en/centres/antazave")
    assert rows[-1][2:] == ["LT-60", "Zarasai District Municipality", "2026-04-10", "2", "under 10 months"]
    assert rows[1][4:] == ["", "", "never reviewed"]
    assert client.get("/en/admin/review-ages?format=csv").headers["Location"].endswith("/en/admin/review-ages.csv")


@time_machine.travel(NOW, tick=False)
def test_the_csv_guards_against_formulas(reviewed_centres):
    with reviewed_centres.app_context():
        for slug, name in [("antazave", "=HYPERLINK(\"http://x\")"), ("vigante", "+1+1"),
                           ("saskarsme", "-2"), ("sarkana-skola", "@SUM(A1)")]:
            centre(slug).name = name
        db.session.commit()
    client = signed_in(reviewed_centres, "admin@example.lv")
    rows = list(csv.reader(io.StringIO(client.get("/en/admin/review-ages.csv").get_data().decode("utf-8-sig"))))
    names = {row[0] for row in rows}
    assert {"'=HYPERLINK(\"http://x\")", "'+1+1", "'-2", "'@SUM(A1)"} <= names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("url", ["/en/admin/review-ages", "/en/admin/review-ages.csv"])
def test_only_admins_see_review_ages(seeded_app, accounts, url):
    anonymous = seeded_app.test_client().get(url)
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]
    for email in ("editor@example.lv", "worker@example.lv"):
        assert signed_in(seeded_app, email).get(url).status_code == 403
    assert signed_in(seeded_app, "admin@example.lv").get(url).status_code == 200
