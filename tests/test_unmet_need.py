"""Unmet need (issue 19): which resident searches are counted and what is
kept of them, the counting without a request, and the admin page and CSV."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime, timezone

import pytest
import time_machine
from conftest import signed_in, soup
from sqlalchemy import inspect, select

from directory import search, unmet_need
from directory.extensions import db
from directory.models import Organization, Referral, Service, UnmetSearch
from directory.unmet_need import UnmetKey

NOW = datetime(2025, 3, 15, 10, 0, tzinfo=timezone.utc)
MONTH = "2025-03"
PAGE = "/lv/admin/unmet-need"
CSV_URL = "/lv/admin/unmet-need.csv"
# In the starter data: nothing, two services, three services.
NOTHING = "/lv/?q=xyzzy"
TWO = "/lv/?type=day-centre"
THREE = "/lv/?q=darbn%C4%ABca"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def stored(app) -> list[dict]:
    """Every unmet_search row, as the table holds it."""
    with app.app_context():
        table = UnmetSearch.__table__
        return [dict(row._mapping) for row in db.session.execute(select(table).order_by(table.c.id))]


def get(client, url, **headers):
    # buffered: the response is closed, so what runs on close (the count) has run.
    return client.get(url, headers=headers, buffered=True)


# ------------------------------------------------------------ what is counted


def test_searches_finding_fewer_than_three_are_counted(client, seeded_app, frozen):
    for url in (NOTHING, TWO, THREE):
        assert get(client, url).status_code == 200
    rows = stored(seeded_app)
    assert [(r["words"], r["filters"], r["searches"], r["found_nothing"]) for r in rows] == [
        ("xyzz", "", 1, 1),
        ("", "type=day-centre", 1, 0),
    ]
    assert {r["month"] for r in rows} == {MONTH}


def test_the_month_is_riga_local(client, seeded_app):
    with time_machine.travel(datetime(2025, 2, 28, 22, 30, tzinfo=timezone.utc), tick=False):
        get(client, NOTHING)  # 1 March, 00:30 in Riga
    assert stored(seeded_app)[0]["month"] == "2025-03"


def test_only_month_words_filters_and_municipality_are_stored(client, seeded_app, frozen):
    """A typed address and a position lead to a municipality code, nothing more."""
    get(client, "/lv/?q=xyzzy&near=J%C4%81nis+Ozols%2C+Dusetu+g.+5%2C+Zarasai&radius=5")
    get(client, "/lv/?q=xyzzy&serves=here&lat=55.73214&lon=26.24577&radius=10")
    with seeded_app.app_context():
        columns = {column["name"] for column in inspect(db.engine).get_columns("unmet_search")}
    assert columns == {"id", "month", "words", "filters", "municipality", "searches", "found_nothing"}
    rows = stored(seeded_app)
    assert [{k: v for k, v in r.items() if k != "id"} for r in rows] == [
        {"month": MONTH, "words": "xyzz", "filters": "", "municipality": "LT-60", "searches": 1, "found_nothing": 1},
        {"month": MONTH, "words": "xyzz", "filters": "serves=here", "municipality": "LT-60",
         "searches": 1, "found_nothing": 1},
    ]
    kept = repr(rows)
    for personal in ("Jānis", "Janis", "Ozols", "Dusetu", "55.73", "26.24", "radius"):
        assert personal not in kept


def test_word_order_case_and_diacritics_are_folded_together(client, seeded_app, frozen):
    for q in ("Krīzes xyzzy", "XYZZY krizes", "xyzzy  KRĪZE xyzzy"):
        get(client, "/lv/?q=" + q)
    rows = stored(seeded_app)
    assert [(r["words"], r["searches"]) for r in rows] == [("kriz xyzz", 3)]


def test_not_counted_empty_page_two_and_a_repeat(client, seeded_app, frozen):
    get(client, "/lv/")  # nothing searched
    get(client, "/lv/?near=Zarasai&radius=5")  # a place alone is no search for something
    get(client, NOTHING + "&page=2")
    # Enter after the as-you-type request: the page already shows this search.
    get(client, NOTHING, **{"HX-Request": "true", "HX-Current-URL": "http://localhost" + NOTHING})
    get(client, NOTHING, Referer="http://localhost/en/?q=xyzzy")  # same search, other language
    get(client, NOTHING, **{"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert stored(seeded_app) == []
    # From the page of another search (or the map), it counts.
    get(client, NOTHING, **{"HX-Request": "true", "HX-Current-URL": "http://localhost/lv/?q=xyz"})
    get(client, NOTHING, Referer="http://localhost/lv/map?q=xyzzy")
    assert stored(seeded_app)[0]["searches"] == 2


def test_a_failing_counter_does_not_break_the_search(client, seeded_app, frozen, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(unmet_need, "increment", broken)
    with caplog.at_level(logging.ERROR, logger="directory.unmet_need"):
        response = get(client, TWO)
    assert response.status_code == 200
    with seeded_app.app_context():
        found = search.search_services(db.session, search.parse_filters({"type": "day-centre"}))
    assert found.total == 2
    assert all(service.name in response.get_data(as_text=True) for service in found.services)
    assert "could not count an unmet search" in caplog.text
    assert stored(seeded_app) == []


def test_a_failing_key_does_not_break_the_search(client, seeded_app, frozen, monkeypatch, caplog):
    monkeypatch.setattr(unmet_need, "searched_municipality", lambda result: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="directory.unmet_need"):
        assert get(client, NOTHING).status_code == 200
    assert "could not tell whether a search is unmet" in caplog.text


# ------------------------------------------------------------ without a request


def test_key_of_a_search_without_a_request():
    filters = search.SearchFilters(q="Xyzzy", free=True, age="16", type="shelter", radius=5, near="")
    page = search.SearchPage(filters=filters, total=0, services=[])
    assert unmet_need.unmet_key(page, NOW) == UnmetKey(MONTH, "xyzz", "type=shelter&free=1&age=16", "")
    assert unmet_need.unmet_key(search.SearchPage(filters=filters, total=3, services=[]), NOW) is None
    assert unmet_need.search_words("w" * 150 + " " + "v" * 60) == "v" * 60  # what fits, sorted
    assert unmet_need.search_words("") == ""


def test_increment_adds_to_one_row(app):
    key = UnmetKey(MONTH, "xyzzy", "", "LV-DGV")
    with app.app_context(), db.engine.begin() as connection:
        unmet_need.increment(connection, key, True)
        unmet_need.increment(connection, key, False)
        unmet_need.increment(connection, UnmetKey("2025-02", "xyzzy", "", "LV-DGV"), True)
    rows = stored(app)
    assert [(r["month"], r["searches"], r["found_nothing"]) for r in rows] == [(MONTH, 2, 1), ("2025-02", 1, 1)]


# ------------------------------------------------------------ the admin page


def add_searches(app, words: str, times: int, municipality: str = "LT-60", filters: str = "",
                 month: str = MONTH) -> None:
    with app.app_context(), db.engine.begin() as connection:
        for _ in range(times):
            unmet_need.increment(connection, UnmetKey(month, words, filters, municipality), True)


def shown_words(page) -> list[str]:
    return [cell.get_text(strip=True) for cell in page.select("tr.unmet-row .unmet-words")]


def test_words_are_shown_from_five_searches(seeded_app, accounts, frozen):
    add_searches(seeded_app, "psiholog", 4)
    add_searches(seeded_app, "zup", 1, municipality="", filters="free=1")
    admin = signed_in(seeded_app, "admin@example.lv")
    page = soup(admin.get(PAGE))
    assert shown_words(page) == []
    html = str(page)
    assert "psiholog" not in html and "free=1" not in html
    others = [[c.get_text(" ", strip=True) for c in row.select("th, td")] for row in page.select("tr.unmet-other")]
    assert ["4", "4"] in [row[-2:] for row in others] and ["1", "1"] in [row[-2:] for row in others]

    add_searches(seeded_app, "psiholog", 1)
    page = soup(admin.get(PAGE))
    assert shown_words(page) == ["psiholog"]
    row = page.select_one("tr.unmet-row")
    assert "LT-60" in row.get_text() and row.select("td.number")[0].get_text(strip=True) == "5"


def test_months_default_to_this_and_the_previous_and_one_can_be_chosen(seeded_app, accounts, frozen):
    add_searches(seeded_app, "febword", 5, month="2025-02")
    add_searches(seeded_app, "janword", 5, month="2025-01")
    admin = signed_in(seeded_app, "admin@example.lv")
    page = soup(admin.get(PAGE))
    assert [s["id"] for s in page.select("section.unmet-month")] == ["unmet-2025-03", "unmet-2025-02"]
    assert shown_words(page) == ["febword"]
    assert [o["value"] for o in page.select("#month option")] == ["", "2025-03", "2025-02", "2025-01"]
    page = soup(admin.get(PAGE + "?month=2025-01"))
    assert shown_words(page) == ["janword"]
    assert page.select_one("#month option[selected]")["value"] == "2025-01"
    assert soup(admin.get(PAGE + "?month=2025-13")).select("section.unmet-month")[0]["id"] == "unmet-2025-03"


def decline_for_no_places(app, slug: str, created_at: datetime) -> None:
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == slug))
        service = db.session.scalar(select(Service).where(Service.organization_id == org.id).order_by(Service.id))
        db.session.add(Referral(
            service_id=service.id, organization_id=org.id, service_name=service.name, organization_name=org.name,
            status="declined", decline_reason="no-places", consent_at=created_at, created_at=created_at,
        ))
        db.session.commit()


def test_referrals_declined_for_lack_of_places_by_municipality(seeded_app, accounts, frozen):
    decline_for_no_places(seeded_app, "saskarsme", datetime(2025, 3, 2, 9, tzinfo=timezone.utc))
    decline_for_no_places(seeded_app, "saskarsme", datetime(2025, 1, 2, 9, tzinfo=timezone.utc))  # not shown
    with seeded_app.app_context():
        assert unmet_need.declined_no_places(db.session, [MONTH, "2025-02"]) == {(MONTH, "LV-DGV"): 1}
    page = soup(signed_in(seeded_app, "admin@example.lv").get(PAGE))
    rows = page.select("#unmet-2025-03 table.unmet-places tbody tr")
    assert [[c.get_text(" ", strip=True) for c in row.select("th, td")] for row in rows] == [
        ["Daugavpils (LV-DGV)", "0", "0", "1"]
    ]


def test_csv_holds_what_the_page_shows(seeded_app, accounts, frozen):
    add_searches(seeded_app, "psiholog", 6)
    add_searches(seeded_app, "=cmd", 5, filters="free=1", municipality="")
    add_searches(seeded_app, "qqrareqq", 2, municipality="LV-DGV")
    decline_for_no_places(seeded_app, "saskarsme", datetime(2025, 3, 2, 9, tzinfo=timezone.utc))
    admin = signed_in(seeded_app, "admin@example.lv")
    response = admin.get(CSV_URL)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows == [
        list(unmet_need.CSV_HEADER),
        [MONTH, "LT-60", "search", "psiholog", "", "6", "6", ""],
        [MONTH, "", "search", "'=cmd", "free=1", "5", "5", ""],
        [MONTH, "LV-DGV", "other-searches", "", "", "2", "2", ""],
        [MONTH, "LV-DGV", "declined-no-places", "", "", "", "", "1"],
    ]
    page = soup(admin.get(PAGE))
    shown = [(row.select_one(".unmet-words").get_text(strip=True), row.select("td.number")[0].get_text(strip=True))
             for row in page.select("#unmet-2025-03 tr.unmet-row")]
    assert shown == [("psiholog", "6"), ("=cmd", "5")]
    assert "qqrareqq" not in response.get_data(as_text=True) and "qqrareqq" not in str(page)
    assert admin.get(CSV_URL + "?month=2025-02").get_data(as_text=True).lstrip("\ufeff").strip() == \
        ",".join(unmet_need.CSV_HEADER)


@pytest.mark.parametrize("url", [PAGE, CSV_URL])
def test_only_admins_may_see_it(seeded_app, accounts, url):
    assert seeded_app.test_client().get(url).status_code == 302  # to sign in
    for email in ("editor@example.lv", "worker@example.lv"):
        assert signed_in(seeded_app, email).get(url).status_code == 403
    assert signed_in(seeded_app, "admin@example.lv").get(url).status_code == 200


def test_linked_from_the_admin_start_page(seeded_app, accounts):
    page = soup(signed_in(seeded_app, "admin@example.lv").get("/lv/admin/"))
    assert page.select_one("#link-unmet-need")["href"] == PAGE
