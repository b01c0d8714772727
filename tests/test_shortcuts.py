"""The home page's shortcuts to common needs, and the search form's folded
"Filters (N active)": what each language shows, where each shortcut leads,
and when a shortcut is left out."""

from urllib.parse import parse_qs, urlsplit

import flask_babel
import pytest
from sqlalchemy import select

from conftest import soup
from directory.extensions import db
from directory.models import Service, TaxonomyTerm
from directory.public.shortcuts import MAX_SHOWN, SHORTCUTS, Shortcut, shown_shortcuts
from directory.search import FacetOption

LANGUAGES = ["lv", "lt", "en", "ru"]

# The needs the starter data meets (no starter service is care at home,
# meals or a shelter), in the order shown.
STARTER_SHORTCUTS_EN = [
    ("Day centre", "/en/?type=day-centre"),
    ("Crisis help", "/en/?group=crisis"),
    ("Hygiene and laundry", "/en/?type=hygiene"),
    ("For seniors", "/en/?group=seniors"),
    ("For children", "/en/?group=children"),
    ("People with disabilities", "/en/?group=disability"),
    ("Camps", "/en/?type=camp"),
    ("Young people", "/en/?group=youth"),
]


def shortcut_links(response):
    return [(a.get_text(" ", strip=True), a["href"]) for a in soup(response).select("nav#shortcuts a")]


def summary_text(response) -> str:
    return soup(response).select_one("#filters-disclosure > summary").get_text(" ", strip=True)


def test_english_home_page_shows_a_shortcut_for_each_need_the_directory_meets(client):
    response = client.get("/en/")
    assert shortcut_links(response) == STARTER_SHORTCUTS_EN
    nav = soup(response).select_one("nav#shortcuts")
    assert nav["aria-label"] == "Common needs"
    # Each has a drawn icon, hidden from screen readers; no icon font, no image request.
    for link in nav.select("a"):
        svg = link.select_one("svg")
        assert svg["aria-hidden"] == "true" and svg["focusable"] == "false"
        assert svg.select("path, circle")
    assert not nav.select("img, i, use")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_shortcuts_in_each_language(client, seeded_app, lang):
    links = shortcut_links(client.get(f"/{lang}/"))
    assert 8 <= len(links) <= 10
    with seeded_app.test_request_context(), flask_babel.force_locale(lang):
        expected_labels = [str(s.label) for s in SHORTCUTS]
    by_href = {href.replace("/en/", f"/{lang}/"): label for label, href in STARTER_SHORTCUTS_EN}
    for label, href in links:
        # The page's language, in its own address.
        assert href.startswith(f"/{lang}/?") and href in by_href
        assert label in expected_labels
    assert [href for _, href in links] == list(by_href)
    if lang == "en":
        assert [label for label, _ in links] == [label for label, _ in STARTER_SHORTCUTS_EN]


def test_each_shortcut_leads_to_results_with_its_filter(client):
    for label, href in shortcut_links(client.get("/lv/")):
        args = parse_qs(urlsplit(href).query)
        (name, [code]), = args.items()
        page = soup(client.get(href))
        assert int(page.select_one("#results-heading").get_text().split()[0]) >= 1, label
        # The filter is chosen in the form, and can be removed as a chip.
        assert page.select_one(f"#filter-{name} option[value={code}]").has_attr("selected"), label
        assert len(page.select(".chips .chip:not(.chip-clear)")) == 1
        assert page.select(".result")


def test_a_shortcut_whose_term_is_deleted_is_left_out(seeded_app):
    client = seeded_app.test_client()
    assert ("Hygiene and laundry", "/en/?type=hygiene") in shortcut_links(client.get("/en/"))
    with seeded_app.app_context():
        db.session.delete(db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "hygiene")))
        db.session.commit()
    links = shortcut_links(client.get("/en/"))
    assert [label for label, _ in links] == [
        label for label, _ in STARTER_SHORTCUTS_EN if label != "Hygiene and laundry"
    ]


def test_a_shortcut_shows_once_a_service_meets_its_need(seeded_app):
    client = seeded_app.test_client()
    assert "/en/?type=home-care" not in [href for _, href in shortcut_links(client.get("/en/"))]
    with seeded_app.app_context():
        term = db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "home-care"))
        service = db.session.scalar(select(Service).where(Service.name == "Dienas centrs “Saskarsme”"))
        service.taxonomy_terms.append(term)
        db.session.commit()
    links = shortcut_links(client.get("/en/"))
    # In its place among the needs: third, after crisis help.
    assert links[2] == ("Care at home", "/en/?type=home-care")
    assert client.get("/en/?type=home-care").status_code == 200
    assert "Dienas centrs “Saskarsme”" in client.get("/en/?type=home-care").get_data(as_text=True)


def option(value, count):
    return FacetOption(value, value, count, False)


def test_no_more_than_ten_shortcuts_and_none_without_services():
    every_need = {
        "type": [option(s.code, 3) for s in SHORTCUTS if s.facet == "type"],
        "group": [option(s.code, 3) for s in SHORTCUTS if s.facet == "group"],
    }
    shown = shown_shortcuts(every_need)
    assert len(SHORTCUTS) > MAX_SHOWN == 10
    assert shown == list(SHORTCUTS[:MAX_SHOWN])
    # A term nobody uses, and one deleted (no facet option at all).
    every_need["type"] = [option("day-centre", 0)] + [o for o in every_need["type"] if o.value not in
                                                       ("day-centre", "camp")]
    shown = shown_shortcuts(every_need)
    assert [s.key for s in shown] == [s.key for s in SHORTCUTS if s.key not in ("day-centre", "camp")]
    # A group and a type may share a code: a shortcut counts only its own facet.
    lone = Shortcut("x", "X", "group", "camp")
    assert shown_shortcuts({"type": [option("camp", 5)], "group": []}, [lone]) == []


def test_shortcuts_only_before_a_search(client):
    searched = soup(client.get("/en/?q=centrs"))
    assert not searched.select("#shortcuts a")
    assert searched.select_one("#shortcuts").has_attr("hidden")
    # The introduction gives way to the results too.
    assert searched.select_one("#lead").has_attr("hidden")
    assert not soup(client.get("/en/")).select_one("#lead").has_attr("hidden")
    # An htmx search takes them away; clearing it brings them back.
    fragment = soup(client.get("/en/?q=centrs", headers={"HX-Request": "true"}))
    assert fragment.select_one("#shortcuts")["hx-swap-oob"] == "true"
    assert fragment.select_one("#shortcuts").has_attr("hidden")
    assert fragment.select_one("#lead").has_attr("hidden")
    cleared = client.get("/en/", headers={"HX-Request": "true"})
    assert soup(cleared).select_one("nav#shortcuts")["hx-swap-oob"] == "true"
    assert shortcut_links(cleared) == STARTER_SHORTCUTS_EN


def test_shortcut_links_work_with_htmx(client):
    link = soup(client.get("/en/")).select_one("nav#shortcuts a")
    assert link["hx-get"] == link["href"] and link["hx-target"] == "#results"
    assert link["hx-push-url"] == "true"


# --------------------------------------------------- Filters (N active)


@pytest.mark.parametrize(
    ("query", "summary"),
    [
        ("", "Filters"),
        # The words and the place are outside the fold: not counted.
        ("q=centrs&near=Daugavpils", "Filters"),
        ("type=day-centre", "Filters (1 active)"),
        ("q=centrs&near=Daugavpils&radius=25&group=children&free=1", "Filters (3 active)"),
        ("serves=LV-DGV&age=70&place=Daugavpils&language=lv&wheelchair=1&open=1",
         "Filters (6 active)"),
    ],
)
def test_the_folded_filters_say_how_many_are_active(client, query, summary):
    response = client.get(f"/en/?{query}")
    assert summary_text(response) == summary
    page = soup(response)
    details = page.select_one("details#filters-disclosure")
    # Folded when the page loads: on a phone the results come first.
    assert not details.has_attr("open")
    for control in ("radius", "serves", "age", "filter-place", "filter-type", "filter-group", "filter-free"):
        assert details.select_one(f"#{control}"), control
    # The words, the place and the Search button stay outside.
    for control in ("q", "near"):
        assert not details.select_one(f"#{control}") and page.select_one(f"#search-form #{control}")
    assert not details.select_one("button[type=submit]")
    assert page.select_one("#search-form > .search-actions button[type=submit]")


def test_the_count_comes_with_each_htmx_answer(client):
    page = soup(client.get("/en/?type=day-centre&radius=10&near=Daugavpils",
                           headers={"HX-Request": "true"}))
    summary = page.select_one("#filters-summary")
    assert summary["hx-swap-oob"] == "true"
    assert summary.get_text(strip=True) == "Filters (2 active)"
    # The distance is redrawn too, so a removed "Within" chip clears it.
    distance = page.select_one("#distance-filter")
    assert distance["hx-swap-oob"] == "true"
    assert distance.select_one("option[selected]")["value"] == "10"
    assert soup(client.get("/en/?near=Daugavpils", headers={"HX-Request": "true"})).select_one(
        "#distance-filter option[selected]") is None


def test_an_age_error_unfolds_the_filters(client):
    response = client.get("/en/?age=sixteen")
    page = soup(response)
    assert page.select_one("details#filters-disclosure").has_attr("open")
    assert page.select_one("#age-error")
    # An age that is no age filters nothing, and is not counted.
    assert summary_text(response) == "Filters"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_summary_in_each_language(client, seeded_app, lang):
    with seeded_app.test_request_context(), flask_babel.force_locale(lang):
        expected = flask_babel.ngettext("Filters (%(num)d active)", "Filters (%(num)d active)", 2)
    assert summary_text(client.get(f"/{lang}/?type=day-centre&free=1")) == expected
