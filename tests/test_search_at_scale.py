"""The search index follows writes without stalling a search (facets.py,
facet_build.py, live_index.py, migration 0011): a write is applied to the index in place, and the search
that meets it is answered from the index before it; what the index holds
after any sequence of writes is what a full build of the same data holds;
two processes on one database agree."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from conftest import soup
from directory import facet_build, live_index
from directory.extensions import db
from directory.models import (
    Language,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.search import parse_filters, search_services

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=timezone.utc)  # a Wednesday morning in Riga
QUERIES = [
    {},
    {"q": "centrs"},
    {"q": "dienas"},
    {"q": "abel"},
    {"q": "soc"},
    {"type": "day-centre"},
    {"group": "seniors"},
    {"free": "1"},
    {"wheelchair": "1"},
    {"open": "1"},
    {"language": "ru"},
    {"place": "Daugavpils"},
    {"near": "Daugavpils"},
    {"near": "Daugavpils", "radius": "25"},
    {"serves": "LV-DGV"},
    {"serves": "LT-60"},
    {"near": "Daugavpils", "serves": "here"},
    {"age": "16"},
    {"age": "70", "serves": "LV-111"},
]


def names(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return [a.get_text(strip=True) for a in soup(response).select(".result h3 a")]


def snapshot(app) -> list:
    """Everything a resident sees of the queries above: the services in
    order, the totals, every facet's options and counts."""
    seen = []
    with app.app_context():
        for args in QUERIES:
            page = search_services(db.session, parse_filters(args), "lv", now=NOW, page_size=100)
            seen.append((
                args,
                [s.id for s in page.services],
                page.total,
                {name: [(o.value, o.count, o.selected) for o in options] for name, options in page.facets.items()},
                page.flag_counts,
                (page.area_not_stated, page.age_not_stated),
            ))
    return seen


def fresh_snapshot(app) -> list:
    """The same, from an index built anew from the data (this process's
    live index is put back afterwards)."""
    kept = dict(live_index._cache)
    live_index._cache.clear()
    try:
        return snapshot(app)
    finally:
        live_index._cache.clear()
        live_index._cache.update(kept)


def live(app):
    (index,) = live_index._cache.values()
    return index


def service(name: str) -> Service:
    return db.session.scalar(select(Service).where(Service.name == name))


EDITS = {
    "a renamed service moves to its place in name order": lambda: setattr(service("Dienas centrs"), "name", "Ābeļu dienas centrs"),
    "a service renamed to the end": lambda: setattr(service("Higiēnas centri"), "name", "Žubītes higiēnas centri"),
    "a service of another type": lambda: setattr(
        service("Kanisterapija bērniem"), "taxonomy_terms",
        [db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "day-centre"))]),
    "free of charge no more": lambda: [setattr(s, "free_of_charge", not s.free_of_charge)
                                       for s in db.session.scalars(select(Service).limit(3))],
    "a town renamed": lambda: setattr(
        db.session.scalar(select(Organization).where(Organization.slug == "antazave")).locations[0].addresses[0],
        "city", "Zarasai"),
    "a location with a ramp and a new point": lambda: [
        (setattr(location, "wheelchair_accessible", True), setattr(location, "latitude", 55.87),
         setattr(location, "longitude", 26.52))
        for location in db.session.scalars(select(Location).limit(2))],
    "a language added": lambda: db.session.add(Language(service_id=service("Sociālās nometnes").id, code="ru")),
    "hours added": lambda: db.session.add(Schedule(
        service_id=service("Sociālās nometnes").id, freq="WEEKLY", byday="WE",
        opens_at=datetime(2026, 1, 1, 9).time(), closes_at=datetime(2026, 1, 1, 18).time())),
    "a centre unpublished": lambda: setattr(
        db.session.scalar(select(Organization).where(Organization.slug == "vigante")), "status", "draft"),
    "a service deleted": lambda: db.session.delete(service("Pagaidu uzturēšanās neaizsargātām grupām")),
    "a service added": lambda: _add_service(),
    "an area stated": lambda: db.session.add(ServiceArea(service_id=service("Kanisterapija bērniem").id,
                                                         area_code="LV-DGV")),
    "an area at a location": lambda: db.session.add(ServiceArea(
        service_at_location_id=service("Daudzfunkcionālie centri").service_at_locations[0].id, area_code="LT")),
    "an area in words only": lambda: db.session.add(ServiceArea(service_id=service("Sociālās nometnes").id,
                                                                name="Zarasų kraštas")),
    "an area changed in plain SQL": lambda: db.session.execute(
        text("UPDATE service_area SET area_code = 'LV' WHERE area_code = 'LV-DGV'")),
    "an area deleted in plain SQL": lambda: db.session.execute(text("DELETE FROM service_area WHERE area_code = 'LT'")),
    "an age range": lambda: [setattr(service("Atbalsta centrs cilvēkiem ar invaliditāti"), "minimum_age", 13),
                             setattr(service("Atbalsta centrs cilvēkiem ar invaliditāti"), "maximum_age", 25)],
    "an age range open above": lambda: setattr(service("Daudzfunkcionālais sociālo pakalpojumu centrs"),
                                               "minimum_age", 65),
    "an age range changed in plain SQL": lambda: db.session.execute(
        text("UPDATE service SET maximum_age = 15 WHERE minimum_age = 13")),
    # NOW is 2026-12-02: reviewed on 2025-12-02 or later is current, before it stale.
    "a centre reviewed": lambda: setattr(
        db.session.scalar(select(Organization).where(Organization.slug == "antazave")), "last_verified",
        date(2026, 11, 20)),
    "centres reviewed on the last current day and the day before, in plain SQL": lambda: [
        db.session.execute(text("UPDATE organization SET last_verified = :day WHERE id = "
                                "(SELECT min(id) FROM organization WHERE last_verified IS NULL)"), {"day": day})
        for day in (date(2025, 12, 2), date(2025, 12, 1), date(2025, 11, 30))],
    "a review moved back past the limit": lambda: setattr(
        db.session.scalar(select(Organization).where(Organization.slug == "antazave")), "last_verified",
        date(2024, 6, 1)),
}


def _add_service():
    centre = db.session.scalar(select(Organization).where(Organization.slug == "antazave"))
    new = Service(organization_id=centre.id, name="Ābolu sociālā darbnīca", status="active",
                  description="Sintētisks pakalpojums testam.", free_of_charge=True)
    db.session.add(new)
    db.session.flush()
    db.session.add(ServiceAtLocation(service_id=new.id, location_id=centre.locations[0].id))


def test_after_every_kind_of_write_the_index_holds_what_a_full_build_holds(seeded_app):
    assert snapshot(seeded_app) == fresh_snapshot(seeded_app)
    built = live(seeded_app).index
    for what, edit in EDITS.items():
        with seeded_app.app_context():
            edit()
            db.session.commit()
        assert snapshot(seeded_app) == fresh_snapshot(seeded_app), what
    # Applied in place, never built anew: the index grew a tail of new slots.
    index = live(seeded_app).index
    assert index.main_keys is built.main_keys and index.service_ids is built.service_ids
    assert len(index.tail) >= 8


def test_words_searched_before_a_write_are_kept_in_step(seeded_app):
    client = seeded_app.test_client()
    assert names(client, "/lv/?q=zzedit") == []
    with seeded_app.app_context():
        service("Dienas centrs").description = "Tagad arī zzedit darbnīca."
        db.session.commit()
    assert names(client, "/lv/?q=zzedit") == ["Dienas centrs"]
    assert ("zzedit", False) in live(seeded_app).index.term_cache


def background(app):
    app.config.update(SEARCH_INDEX_REFRESH="background", SEARCH_INDEX_POLL_SECONDS=0)


def test_the_search_after_a_write_is_answered_from_the_index_before_it(seeded_app):
    background(seeded_app)
    client = seeded_app.test_client()
    assert names(client, "/lv/?q=zzedit") == []
    day_centres = names(client, "/lv/?type=day-centre")
    with seeded_app.app_context():
        renamed = service("Kanisterapija bērniem")
        renamed.name = "Kanisterapija bērniem zzedit"
        renamed.taxonomy_terms = [db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == "day-centre"))]
        db.session.commit()
    # The request that meets the write: the index before it answers.
    assert names(client, "/lv/?q=zzedit") == []
    assert live(seeded_app).wait_until_idle()
    # The next one: the index with the write applied.
    assert names(client, "/lv/?q=zzedit") == ["Kanisterapija bērniem zzedit"]
    assert sorted(names(client, "/lv/?type=day-centre")) == sorted(day_centres + ["Kanisterapija bērniem zzedit"])


def test_searches_are_answered_while_a_new_index_is_built(seeded_app, monkeypatch):
    background(seeded_app)
    client = seeded_app.test_client()
    assert names(client, "/lv/?q=suniem") == []
    gate = threading.Event()
    build = facet_build.build_facet_index

    def held_build(*args, **kwargs):
        gate.wait()
        return build(*args, **kwargs)

    monkeypatch.setattr(facet_build, "build_facet_index", held_build)
    with seeded_app.app_context():  # a taxonomy change: every service's index entry
        db.session.execute(text("UPDATE taxonomy_term_label SET name = 'Kanisterapija ar suņiem' "
                                "WHERE locale = 'lv' AND name = 'Kanisterapija'"))
        db.session.commit()
    answers: list = []
    for _ in range(3):
        asking = threading.Thread(target=lambda: answers.append(names(client, "/lv/?q=suniem")))
        asking.start()
        asking.join(timeout=20)
        assert not asking.is_alive(), "a search waited for the index being built"
    assert answers == [[], [], []]
    gate.set()
    assert live(seeded_app).wait_until_idle()
    assert names(client, "/lv/?q=suniem") == ["Kanisterapija bērniem"]


def test_a_process_that_missed_pruned_changes_builds_its_index_anew(seeded_app):
    client = seeded_app.test_client()
    assert names(client, "/lv/?q=zzedit") == []
    built = live(seeded_app).index
    with seeded_app.app_context():
        service("Dienas centrs").name = "Dienas centrs zzedit"
        db.session.commit()
        # An entry far ahead: the log prunes itself behind it (migration 0011).
        db.session.execute(text("INSERT INTO search_change (id, service_id) VALUES (250000, NULL)"))
        db.session.commit()
        assert db.session.execute(text("SELECT count(*) FROM search_change WHERE id <= 150000")).scalar() == 0
        assert db.session.execute(text("SELECT pruned_through FROM search_state")).scalar() == 150000
    assert names(client, "/lv/?q=zzedit") == ["Dienas centrs zzedit"]
    assert live(seeded_app).index.main_keys is not built.main_keys


def test_two_processes_on_one_database_agree(seeded_app, database_uri):
    peer = subprocess.Popen([sys.executable, str(HERE / "search_peer.py"), database_uri],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(query: str) -> list[str]:
        peer.stdin.write(query + "\n")
        peer.stdin.flush()
        return json.loads(peer.stdout.readline())

    try:
        assert json.loads(peer.stdout.readline()) == "ready"
        client = seeded_app.test_client()
        assert ask("q=zzpeer") == [] and names(client, "/lv/?q=zzpeer") == []
        with seeded_app.app_context():
            service("Higiēnas centri").name = "Higiēnas centri zzpeer"
            db.session.commit()
        assert names(client, "/lv/?q=zzpeer") == ["Higiēnas centri zzpeer"]
        # The peer answers from its index until its refreshing thread applies
        # the change (a benchmark measures how soon: bench/search.py).
        for _ in range(100):
            found = ask("q=zzpeer")
            if found:
                break
            threading.Event().wait(0.05)
        assert found == ["Higiēnas centri zzpeer"]
        assert ask("type=day-centre") == [s for s in names(client, "/lv/?type=day-centre")]
    finally:
        peer.stdin.close()
        peer.wait(timeout=10)
        peer.stdout.close()


@pytest.mark.parametrize("many", [False, True])
def test_a_bulk_write_logs_the_services_it_touched(app, many):
    from directory import search_index

    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(3000 if many else 3)]
    with app.app_context():
        connection = db.session.connection()
        before = connection.execute(text("SELECT coalesce(max(id), 0) FROM search_change")).scalar()
        search_index.record_changes(connection, ids)
        logged = [row[0] for row in connection.execute(
            text("SELECT service_id FROM search_change WHERE id > :before"), {"before": before})]
        db.session.rollback()
    assert logged == ([None] if many else ids)


def test_an_index_built_in_a_process_of_its_own_is_the_one_built_here(seeded_app, monkeypatch):
    here = snapshot(seeded_app)
    live_index._cache.clear()
    monkeypatch.setattr(live_index, "BUILD_ELSEWHERE_FROM", 0)  # however few the services
    children = []
    build_in_child = live_index.build_in_child
    monkeypatch.setattr(live_index, "build_in_child", lambda *args: children.append(args) or build_in_child(*args))
    assert snapshot(seeded_app) == here
    assert len(children) == 1


def test_a_process_that_searched_follows_writes_without_a_search_to_start_it(seeded_app):
    seeded_app.config.update(SEARCH_INDEX_REFRESH="background", SEARCH_INDEX_POLL_SECONDS=0.05)
    client = seeded_app.test_client()
    assert names(client, "/lv/?q=zzidle") == []
    with seeded_app.app_context():
        service("Higiēnas centri").name = "Higiēnas centri zzidle"
        db.session.commit()
        version = db.session.execute(text("SELECT version FROM search_state")).scalar()
    # No search meets the write: the process's own thread reads the counter.
    for _ in range(200):
        if live(seeded_app).index.state.version == version:
            break
        threading.Event().wait(0.01)
    assert names(client, "/lv/?q=zzidle") == ["Higiēnas centri zzidle"]
