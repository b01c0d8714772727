"""Resident search: words without diacritics, prefixes, filters, facets,
fragments for htmx, bad input, and an index that follows every change."""

from datetime import datetime, time, timezone
from urllib.parse import unquote, urlencode

import pytest
import time_machine
from sqlalchemy import select, text

from conftest import soup
from directory.extensions import db
from directory.models import (
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceAtLocation,
)
from directory.search import (
    MAX_QUERY_LENGTH,
    PAGE_SIZE,
    SearchFilters,
    parse_filters,
    query_terms,
    search_services,
)


def names(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return [a.get_text(strip=True) for a in soup(response).select(".result h3 a")]


def total(client, url) -> int:
    heading = soup(client.get(url)).select_one("#results-heading").get_text(strip=True)
    return int(heading.split()[0])


def run_search(app, **filters):
    with app.app_context():
        result = search_services(db.session, SearchFilters(**filters))
        return [s.name for s in result.services], result


# ------------------------------------------------------------ full text


@pytest.mark.parametrize(
    "query, expected",
    [
        ("vigante", "Sociālās aprūpes un krīzes centrs “Vīgante”"),  # ī typed as i
        ("VĪGANTE", "Sociālās aprūpes un krīzes centrs “Vīgante”"),
        ("kriz", "Sociālās aprūpes un krīzes centrs “Vīgante”"),  # prefix, no diacritics
        ("krīz", "Sociālās aprūpes un krīzes centrs “Vīgante”"),
        ("krizes centrs", "Sociālās aprūpes un krīzes centrs “Vīgante”"),
        ("birzu", "Higiēnas centri"),  # Biržu
        ("biržų", "Higiēnas centri"),  # Lithuanian genitive
        ("higienos", "Higiēnas centri"),  # Lithuanian label of the hygiene term
        ("senjorai", "Daudzfunkcionālais sociālo pakalpojumu centrs"),  # lt: seniors
        ("seniori", "Daudzfunkcionālais sociālo pakalpojumu centrs"),
        ("kanis", "Kanisterapija bērniem"),
        ("antazave", "Sociālās nometnes"),  # Antazavė
        ("viesite", "Veselības un sociālās aprūpes centrs"),
        ("daugavpils", "Dienas centrs “Saskarsme”"),  # town
    ],
)
def test_words_without_diacritics_find_names_with_them(client, query, expected):
    assert expected in names(client, f"/lv/?q={query}")


def test_every_word_must_match(client):
    assert names(client, "/lv/?q=krizes+daugavpils") == []
    assert names(client, "/lv/?q=dienas+saskarsme") == ["Dienas centrs “Saskarsme”"]


def test_name_matches_rank_before_description_matches(client):
    # All three Daugavpils services mention the workshop in their centre's
    # description; the one named after it comes first.
    found = names(client, "/lv/?q=darbnica")
    assert found[0] == "Specializētā darbnīca"
    assert len(found) == 3


def test_query_terms_neutralise_search_syntax():
    assert query_terms('"dienas" AND (krīz* OR NEAR(x)) -') == ["dien", "and", "kriz", "or", "near", "x"]
    assert query_terms("---") == []
    assert len(query_terms(" ".join(f"word{i}" for i in range(30)))) == 8


# -------------------------------------------------------------- filters


def test_type_filter(client):
    assert names(client, "/lv/?type=day-centre") == ["Dienas centrs", "Dienas centrs “Saskarsme”"]


def test_group_filter(client):
    assert names(client, "/lv/?group=youth") == [
        "Daudzfunkcionālie centri",
        "Jaunatnes iniciatīvu centrs",
        "Jaunatnes iniciatīvu centrs",
    ]


def test_place_filter_by_town_and_by_municipality(client):
    assert set(names(client, "/lv/?place=Viesīte")) == {
        "Atbalsta centrs cilvēkiem ar invaliditāti",
        "Dienas centrs",
        "Jaunatnes iniciatīvu centrs",
        "Veselības un sociālās aprūpes centrs",
    }
    assert names(client, "/lv/?place=Bauskas+novads") == [
        "Daudzfunkcionālais sociālo pakalpojumu centrs"
    ]


def test_filters_combine(client):
    assert names(client, "/lv/?place=Daugavpils&group=children") == ["Kanisterapija bērniem"]
    assert names(client, "/lv/?q=centrs&place=Jaunjelgava&type=youth-centre") == [
        "Jaunatnes iniciatīvu centrs"
    ]
    assert names(client, "/lv/?place=Jaunjelgava&type=camp") == []


def set_service(app, service_name, **values):
    with app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == service_name))
        for key, value in values.items():
            setattr(service, key, value)
        db.session.commit()
        return service.id


def test_free_wheelchair_and_language_filters(seeded_app):
    client = seeded_app.test_client()
    set_service(seeded_app, "Higiēnas centri", free_of_charge=True)
    with seeded_app.app_context():
        vigante = db.session.scalar(select(Location).where(Location.name.like("%Vīgante%")))
        vigante.wheelchair_accessible = True
        service = db.session.scalar(select(Service).where(Service.name == "Kanisterapija bērniem"))
        service.languages.append(Language(code="ru"))
        db.session.commit()
    assert names(client, "/lv/?free=1") == ["Higiēnas centri"]
    assert names(client, "/lv/?wheelchair=1") == ["Sociālās aprūpes un krīzes centrs “Vīgante”"]
    assert names(client, "/lv/?language=ru") == ["Kanisterapija bērniem"]
    assert names(client, "/lv/?language=ru&free=1") == []


# ------------------------------------------------------------ open now


def add_hours(app, service_name, days, opens, closes, holidays=False):
    with app.app_context():
        for service in db.session.scalars(select(Service).where(Service.name == service_name)):
            for day in days:
                service.schedules.append(
                    Schedule(byday=day, opens_at=opens, closes_at=closes, open_on_public_holidays=holidays)
                )
        db.session.commit()


WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]


def test_open_now_uses_local_time_and_holidays(seeded_app):
    add_hours(seeded_app, "Higiēnas centri", WEEKDAYS, time(9), time(17))  # Lithuania
    add_hours(seeded_app, "Dienas centrs “Saskarsme”", WEEKDAYS, time(9), time(17))  # Latvia
    add_hours(seeded_app, "Jaunatnes iniciatīvu centrs", WEEKDAYS, time(9), time(17), holidays=True)

    def open_at(moment):
        with seeded_app.app_context():
            result = search_services(db.session, SearchFilters(open=True), now=moment)
            return sorted(s.name for s in result.services)

    # Monday 23 November 2026, 07:30 UTC is 09:30 in Riga and Vilnius.
    assert open_at(datetime(2026, 11, 23, 7, 30, tzinfo=timezone.utc)) == [
        "Dienas centrs “Saskarsme”",
        "Higiēnas centri",
        "Jaunatnes iniciatīvu centrs",
        "Jaunatnes iniciatīvu centrs",
    ]
    # 06:30 UTC is 08:30 local: nothing open yet.
    assert open_at(datetime(2026, 11, 23, 6, 30, tzinfo=timezone.utc)) == []
    # Wednesday 18 November 2026 is Latvia's Independence Day (a holiday in
    # Latvia only): Saskarsme is closed, the Lithuanian centre is open, and the
    # youth centres that open on holidays are open.
    assert open_at(datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)) == [
        "Higiēnas centri",
        "Jaunatnes iniciatīvu centrs",
        "Jaunatnes iniciatīvu centrs",
    ]
    # 16 February is a holiday in Lithuania only.
    assert open_at(datetime(2026, 2, 16, 10, 0, tzinfo=timezone.utc)) == [
        "Dienas centrs “Saskarsme”",
        "Jaunatnes iniciatīvu centrs",
        "Jaunatnes iniciatīvu centrs",
    ]


def test_each_result_says_open_closed_or_hours_not_provided(seeded_app):
    add_hours(seeded_app, "Higiēnas centri", WEEKDAYS, time(9), time(17))
    client = seeded_app.test_client()

    def status(url):
        return soup(client.get(url)).select_one(".open-status").get_text(" ", strip=True)

    # Monday 23 November 2026 in Vilnius (UTC+2).
    with time_machine.travel(datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc), tick=False):
        assert status("/lv/?q=higienas") == "Atvērts, līdz 17:00"
    with time_machine.travel(datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc), tick=False):
        assert status("/lv/?q=higienas") == "Slēgts, šodien atver plkst. 09:00"
    with time_machine.travel(datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc), tick=False):
        assert status("/lv/?q=higienas") == "Slēgts, atvērs: pirmdiena, plkst. 09:00"
    assert status("/lv/?q=vigante") == "Darba laiks vēl nav norādīts"


# --------------------------------------------------------------- facets


def facet_options(page, name):
    return page.select(f"#filter-{name} option[value!='']")


def test_facet_counts_equal_the_results_they_promise(client):
    for base in [{}, {"q": "centrs"}, {"place": "Viesīte"}, {"group": "youth"}]:
        page = soup(client.get("/lv/?" + urlencode(base)))
        for name in ("type", "group", "place", "language"):
            for option in facet_options(page, name):
                count = int(option.get_text().rsplit("(", 1)[1].rstrip(")").replace("\xa0", ""))
                url = "/lv/?" + urlencode({**base, name: option["value"]})
                assert total(client, url) == count, url
                assert option.has_attr("disabled") == (count == 0 and not option.has_attr("selected"))


def test_flag_counts_and_disabled_flags(seeded_app):
    set_service(seeded_app, "Higiēnas centri", free_of_charge=True)
    page = soup(seeded_app.test_client().get("/lv/"))
    assert "(1)" in page.select_one("label[for=filter-free]").text
    assert not page.select_one("#filter-free").has_attr("disabled")
    assert page.select_one("#filter-wheelchair").has_attr("disabled")
    assert page.select_one("#filter-open").has_attr("disabled")


def test_active_filters_show_as_removable_chips(client):
    page = soup(client.get("/lv/?q=centrs&place=Viesīte&type=day-centre"))
    chips = {a.select_one("span").get_text(strip=True): unquote(a["href"]) for a in page.select(".chips a.chip:not(.chip-clear)")}
    assert set(chips) == {"“centrs”", "Viesīte", "Dienas centrs"}
    assert "type=" not in chips["Dienas centrs"] and "place=Viesīte" in chips["Dienas centrs"]
    assert "q=" not in chips["“centrs”"]
    assert page.select_one(".chip-clear")["href"] == "/lv/"


def test_no_results_suggests_dropping_each_filter(client):
    page = soup(client.get("/lv/?q=centrs&place=Jaunjelgava&type=camp"))
    box = page.select_one(".no-results")
    assert "Neviens pakalpojums neatbilst" in box.text
    links = [a["href"] for a in box.select("a")]
    assert "/lv/?q=centrs&place=Jaunjelgava" in links
    assert "/lv/" in links


# ---------------------------------------------------------- htmx fragments


def test_htmx_request_gets_only_the_fragment(client):
    response = client.get("/lv/?q=dienas", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="search-form"' not in body
    page = soup(response)
    assert page.select_one("#results")
    assert page.select_one("#filters")["hx-swap-oob"] == "true"
    # The area and age fields too: the age field's error comes and goes with the search.
    assert page.select_one("#area-and-age")["hx-swap-oob"] == "true"
    assert "HX-Request" in response.headers["Vary"]


def test_plain_request_and_history_restore_get_the_whole_page(client):
    for headers in ({}, {"HX-Request": "true", "HX-History-Restore-Request": "true"}):
        response = client.get("/lv/?q=dienas", headers=headers)
        page = soup(response)
        assert page.html and page.select_one("form#search-form") and page.select_one("#results")
        assert not page.select_one("#filters").has_attr("hx-swap-oob")
        assert page.select_one("#q")["value"] == "dienas"


def test_the_form_works_without_javascript(client):
    page = soup(client.get("/lv/"))
    form = page.select_one("form#search-form")
    assert form["method"] == "get" and form["action"] == "/lv/"
    assert form.select_one("button[type=submit]")
    assert form["hx-get"] == "/lv/" and form["hx-push-url"] == "true"


def test_same_query_string_gives_same_results(client):
    url = "/lv/?q=centrs&group=youth"
    assert names(client, url) == names(client, url)
    assert names(client, "/lv/?group=youth&q=centrs") == names(client, url)


def test_quick_exit_on_every_public_page(client):
    for url in ["/lv/", "/lv/?q=x", "/lv/centres/saskarsme", "/lv/sources/000_67ca51d3bbea5567.txt", "/lv/nope"]:
        link = soup(client.get(url)).select_one("a#quick-exit")
        assert link and link["href"].startswith("https://") and link["data-exit-url"] == link["href"]


# ------------------------------------------------------------- paging


def test_pages_keep_filters_and_a_stable_order(seeded_app):
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "vigante"))
        for index in range(25):
            service = Service(name=f"Krīzes tālrunis {index:02d}", organization=org)
            db.session.add(service)
            service.service_at_locations.append(ServiceAtLocation(location=org.locations[0]))
        db.session.commit()
    client = seeded_app.test_client()
    first = names(client, "/lv/?q=krizes&place=Jaunjelgava")
    second = names(client, "/lv/?q=krizes&place=Jaunjelgava&page=2")
    assert len(first) == PAGE_SIZE and len(second) == 26 - PAGE_SIZE
    assert not set(first) & set(second)
    next_link = soup(client.get("/lv/?q=krizes&place=Jaunjelgava")).select_one("a[rel=next]")
    assert next_link["href"] == "/lv/?q=krizes&place=Jaunjelgava&page=2"
    # Past the last page shows the last page.
    assert names(client, "/lv/?q=krizes&place=Jaunjelgava&page=99") == second


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "query_string",
    [
        "q=" + "a" * 5000,
        'q="',
        'q="unclosed',
        "q=*",
        "q=krīz*",
        "q=NEAR(a b)",
        "q=a AND b",
        "q=a OR NOT b",
        "q=(((",
        "q=)",
        "q=-",
        "q=-dienas",
        "q=^a",
        "q=a:b",
        "q=%F0%9F%98%80",
        "q=' OR 1=1 --",
        "q=a&q=b",
        "page=abc",
        "page=-3",
        "page=99999999999999999999",
        "type=no-such-type",
        "place=Nowhere",
        "language=xx",
        "free=maybe",
        "open=2",
        "type[]=x&place[]=y",
        "serves=LV-XYZ",
        "serves=here",
        "serves=here&lat=91&lon=0",
        "serves=" + "LV-" * 2000,
        "age=-1",
        "age=1e3",
        "age=" + "9" * 5000,
        "age=16&age=abc",
    ],
)
def test_bad_input_never_fails(client, query_string):
    response = client.get(f"/lv/?{query_string}")
    assert response.status_code == 200
    assert soup(response).select_one("#results-heading")
    fragment = client.get(f"/lv/?{query_string}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200


def test_long_query_is_cut_and_null_bytes_dropped():
    filters = parse_filters({"q": "x" * 5000 + "\x00", "page": "0"})
    assert len(filters.q) == MAX_QUERY_LENGTH and "\x00" not in filters.q
    assert filters.page == 1
    assert parse_filters({"q": "dien\x00as"}).q == "dienas"


def test_unknown_filter_values_are_ignored(client):
    assert total(client, "/lv/?type=no-such-type") == 15
    assert not soup(client.get("/lv/?type=no-such-type")).select(".chips .chip:not(.chip-clear)")
    assert total(client, "/lv/?serves=LV-XYZ") == 15
    assert not soup(client.get("/lv/?serves=LV-XYZ")).select(".chips .chip:not(.chip-clear)")


def test_the_starter_services_state_no_area_or_age_and_are_all_kept(client):
    """The starter data says nothing of areas or ages: both filters keep
    every service, and say so."""
    page = soup(client.get("/en/?serves=LV-DGV&age=30"))
    assert page.select_one("#results-heading").get_text(strip=True) == "15 services found"
    assert "15 of them do not say which area they serve." in page.select_one(".served-note").text
    assert "15 of them do not say which ages they take." in page.select_one(".age-note").text
    assert len(page.select(".result .served-areas")) == len(page.select(".result .ages")) == 15


# ------------------------------------------------- the index stays in sync


def test_search_follows_edits_and_deletions(seeded_app):
    client = seeded_app.test_client()
    set_service(seeded_app, "Higiēnas centri", name="Dušas un veļas mazgātava")
    assert names(client, "/lv/?q=velas") == ["Dušas un veļas mazgātava"]
    assert names(client, "/lv/?q=adisanas") == ["Dienas centrs “Saskarsme”"]
    set_service(seeded_app, "Dienas centrs “Saskarsme”", description="Novusa turnīri ceturtdienās.")
    assert names(client, "/lv/?q=adisanas") == []
    assert names(client, "/lv/?q=turniri") == ["Dienas centrs “Saskarsme”"]
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "antazave"))
        org.name = "Zarasu sociālā bāze"
        org.locations[0].addresses[0].city = "Zarasai"
        db.session.commit()
    assert set(names(client, "/lv/?q=zarasu+baze")) == {
        "Sociālās nometnes",
        "Pagaidu uzturēšanās neaizsargātām grupām",
    }
    assert len(names(client, "/lv/?q=zarasai")) == 2
    with seeded_app.app_context():
        service = db.session.scalar(select(Service).where(Service.name == "Sociālās nometnes"))
        db.session.delete(service)
        db.session.commit()
    assert "Sociālās nometnes" not in names(client, "/lv/?q=nometnes")
    assert names(client, "/lv/?q=zarasu+baze") == ["Pagaidu uzturēšanās neaizsargātām grupām"]
    with seeded_app.app_context():
        db.session.delete(db.session.scalar(select(Organization).where(Organization.slug == "vigante")))
        db.session.commit()
    assert names(client, "/lv/?q=vigante") == []


def test_search_follows_plain_sql_and_taxonomy_changes(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        db.session.execute(
            text("UPDATE service SET description = 'zupa un maize' WHERE name = 'Dienas centrs'")
        )
        db.session.execute(
            text(
                "UPDATE taxonomy_term_label SET name = 'Kanisterapija ar suņiem' "
                "WHERE locale = 'lv' AND name = 'Kanisterapija'"
            )
        )
        db.session.commit()
    assert names(client, "/lv/?q=maize") == ["Dienas centrs"]
    assert names(client, "/lv/?q=suniem") == ["Kanisterapija bērniem"]
    set_service(seeded_app, "Kanisterapija bērniem", taxonomy_terms=[])
    assert names(client, "/lv/?q=suniem") == []


def test_search_function_without_a_request(seeded_app):
    found, result = run_search(seeded_app, q="vigante")
    assert found == ["Sociālās aprūpes un krīzes centrs “Vīgante”"]
    assert result.total == 1
    assert {o.value: o.count for o in result.facets["type"]}["crisis-centre"] == 1


def test_a_submitted_form_redirects_to_the_short_address(client):
    response = client.get("/lv/?q=dienas&place=&type=day-centre&group=&language=&page=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/lv/?q=dienas&type=day-centre"
