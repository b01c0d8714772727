"""Issue 19: likely duplicates caught (import, proposal, review queue), and
merging two organizations, with redirects and undo."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import date

import pytest
from flask_babel import force_locale
from conftest import csrf_token, signed_in, soup
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from directory import duplicates, merging, publishing
from directory.extensions import db
from directory.hsds import importer
from directory.models import (
    AuditEvent,
    Contact,
    ListingClaim,
    Location,
    Organization,
    OrganizationIdentifier,
    OrganizationMerge,
    Phone,
    ProblemReport,
    Referral,
    ReviewReminder,
    Revision,
    Service,
    Url,
    organization_editor,
    utcnow,
)

NEAR_COPY = '„SASKARSME” dienas centrs centrs'


# ------------------------------------------------------------------ detection


def test_names_fold_quotes_case_diacritics_and_kind_words():
    assert duplicates.name_words("Dienas centrs “Saskarsme”") == duplicates.name_words(NEAR_COPY)
    assert duplicates.name_words("VšĮ „Zarasų globos namai“") == duplicates.name_words('zarasu GLOBOS namai')
    assert duplicates.name_words("Biedrība 'Centrs'") == ("biedriba", "centrs")  # nothing left: keep all


def test_similar_names_nearby_but_not_far_away():
    place = duplicates.Place(frozenset({"daugavpils"}), 55.8714, 26.5161)
    index = duplicates.DuplicateIndex([duplicates._Entry("a", "a", "Krīzes centrs Ģimene", "published",
                                                         duplicates.name_words("Krīzes centrs Ģimene"), [place])])
    near = duplicates.Place(frozenset({"naujene"}), 55.8730, 26.5170)  # ~190 m, another place name
    far = duplicates.Place(frozenset({"naujene"}), 55.8800, 26.5161)  # ~950 m
    assert [m.id for m in index.find("Krizes centrs Gimenes", [near])] == ["a"]
    assert index.find("Krizes centrs Gimenes", [far]) == []
    assert index.find("Sociālais dienests", [near]) == []
    assert index.find("KRĪZES CENTRS ĢIMENE", [far]) == []  # the same name, but elsewhere
    same_town = duplicates.Place(frozenset({"daugavpils"}))
    assert index.find("KRĪZES CENTRS ĢIMENE", [same_town])[0].same_name


def _write_csv(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_an_import_lists_a_near_copy_of_a_starter_centre(seeded_app, tmp_path):
    org_id, location_id = str(uuid.uuid4()), str(uuid.uuid4())
    _write_csv(tmp_path / "organizations.csv", ["id", "name", "description"],
               [[org_id, NEAR_COPY, "Tas pats centrs vēlreiz."],
                [str(uuid.uuid4()), "Pavisam cits centrs Rēzeknē", "Cits."]])
    _write_csv(tmp_path / "locations.csv", ["id", "location_type", "organization_id", "name"],
               [[location_id, "physical", org_id, NEAR_COPY]])
    _write_csv(tmp_path / "addresses.csv", ["id", "location_id", "address_1", "city", "state_province",
                                            "postal_code", "country", "address_type"],
               [[str(uuid.uuid4()), location_id, "Liepājas iela 4", "Daugavpils", "Latgale", "LV-5401", "LV",
                 "physical"]])
    with seeded_app.app_context():
        report = importer.import_package(db.session, tmp_path)
        assert report.ok and report.imported  # a warning, not an error: imported all the same
        found = [w for w in report.warnings if "saskarsme" in str(w.message)]
        assert len(found) == 1 and found[0].row == 2 and found[0].field == "name"
        assert db.session.get(Organization, org_id) is not None
        # The job's report keeps it, to be shown later in any language.
        again = importer.report_from_json(importer.report_to_json(report))
        assert any("saskarsme" in str(w.message) for w in again.warnings)


def test_the_index_is_built_once_per_import(seeded_app, monkeypatch):
    built = []
    real = duplicates.index_directory
    monkeypatch.setattr(duplicates, "index_directory", lambda *a, **k: built.append(1) or real(*a, **k))
    valid = {"organization": [(n + 2, {"id": str(uuid.uuid4()), "name": f"Centrs {n}"}) for n in range(300)]}
    with seeded_app.app_context():
        duplicates.duplicates_in_package(db.session, valid)
    assert built == [1]


def _propose(client, **values):
    data = {"name": NEAR_COPY, "city": "Daugavpils", "country": "LV", "description": "Jauns", **values}
    data["csrf_token"] = csrf_token(client, "/en/manage/propose")
    return client.post("/en/manage/propose", data=MultiDict(data))


def test_a_proposal_shows_likely_duplicates_and_needs_a_confirmation(seeded_app, accounts):
    client = signed_in(seeded_app, "editor@example.lv")
    with seeded_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Organization))
    response = _propose(client)
    assert response.status_code == 200
    page = soup(response)
    box = page.select_one("#likely-duplicates")
    assert box and box.select_one('a[href="/en/centres/saskarsme"]')
    assert page.select_one("#different_organization")
    assert page.select_one("#name")["value"] == NEAR_COPY  # what was typed stays
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == before
    # In another town it is not asked.
    assert _propose(client, name="Saskarsme", city="Zarasai", country="LT").status_code == 302
    response = _propose(client, different_organization="y")
    assert response.status_code == 302
    with seeded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == before + 2
    # The review queue shows the admin what it may be, with a way to merge.
    admin = signed_in(seeded_app, "admin@example.lv")
    page = soup(admin.get("/en/admin/review"))
    boxes = page.select(".review-duplicates")
    assert len(boxes) == 1 and boxes[0].select_one('a[href="/en/centres/saskarsme"]')
    assert "/en/admin/merge?keep=saskarsme" in boxes[0].select("a")[-1]["href"]


# ------------------------------------------------------------------ merging

DUPLICATE = "Saskarsme (dublikāts)"


def _build_duplicate(app, editor_id) -> dict:
    """A second listing of Saskarsme with one row of everything that can
    reference an organization; returns ids."""
    with app.app_context():
        session = db.session
        org = Organization(slug="saskarsme-2", name=DUPLICATE, description="")
        service = Service(organization=org, name="Zupas virtuve Kvarcs", description="Karsta zupa.")
        location = Location(organization=org, name="Otrā ieeja")
        session.add_all([org, service, location])
        session.add_all([
            Phone(organization=org, number="+371 65400000"), Contact(organization=org, name="Vadītāja"),
            Url(organization=org, url="https://example.lv"),
            OrganizationIdentifier(organization=org, identifier_type="LV-RE", identifier="40000000000"),
        ])
        session.flush()
        session.add_all([
            Revision(organization_id=org.id, entity_type="organization", entity_id=org.id, action="create"),
            Referral(organization_id=org.id, service_id=service.id, service_name=service.name,
                     organization_name=org.name, consent_at=utcnow()),
            ProblemReport(organization_id=org.id, kind="hours"),
            ListingClaim(organization_id=org.id, name="Anna", email="anna@example.lv", role="vadītāja"),
            ReviewReminder(organization_id=org.id, stage="10", reviewed_on=date(2025, 1, 1)),
        ])
        session.execute(organization_editor.insert().values(user_id=editor_id, organization_id=org.id))
        session.commit()
        return {"id": org.id, "service": service.id, "location": location.id}


MODELS = [Service, Location, Phone, Contact, Url, OrganizationIdentifier, Revision, Referral, ProblemReport,
          ListingClaim, ReviewReminder]


def _counts(app, org_id) -> dict:
    with app.app_context():
        counts = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)
                                                         .where(model.organization_id == org_id))
                  for model in MODELS}
        counts["organization_editor"] = db.session.scalar(
            select(func.count()).select_from(organization_editor)
            .where(organization_editor.c.organization_id == org_id))
        return counts


def _saskarsme_id(app) -> str:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.slug == "saskarsme"))


def _merge(admin, keep="saskarsme", merge="saskarsme-2"):
    page = soup(admin.get("/en/admin/merge", query_string={"keep": keep, "merge": merge}))
    data = {field["name"]: field.get("value", "") for field in page.select("#merge-confirm input")}
    return admin.post("/en/admin/merge", data=data), page


@pytest.fixture
def merged(seeded_app, accounts):
    """Saskarsme with a duplicate merged into it: (admin client, ids, counts before)."""
    other_editor = accounts["other_editor"]
    ids = _build_duplicate(seeded_app, other_editor)
    ids["kept"] = _saskarsme_id(seeded_app)
    before = {"kept": _counts(seeded_app, ids["kept"]), "merged": _counts(seeded_app, ids["id"])}
    admin = signed_in(seeded_app, "admin@example.lv")
    response, preview = _merge(admin)
    ids["preview"] = preview
    assert response.status_code == 302
    return admin, ids, before


def test_the_merge_page_shows_what_will_move(merged):
    _admin, ids, _before = merged
    counts = {row.th.get_text(strip=True): row.td.get_text(strip=True)
              for row in ids["preview"].select("#merge-counts tbody tr")}
    assert counts["Services"] == "1" and counts["Referrals"] == "1" and counts["Editors"] == "1"


def test_a_merge_moves_everything_and_redirects(seeded_app, merged, accounts):
    admin, ids, before = merged
    after_kept, after_merged = _counts(seeded_app, ids["kept"]), _counts(seeded_app, ids["id"])
    for table, count in before["kept"].items():
        assert after_kept[table] == count + before["merged"][table], table
        assert after_merged[table] == 0, table
    with seeded_app.app_context():
        assert db.session.get(Organization, ids["id"]) is None
        record = db.session.scalar(select(OrganizationMerge))
        assert (record.kept_id, record.merged_id, record.merged_slug, record.merged_name) == (
            ids["kept"], ids["id"], "saskarsme-2", DUPLICATE)
        snapshot = json.loads(record.snapshot)
        assert snapshot["moved"]["service"] == [ids["service"]] and snapshot["organization"]["slug"] == "saskarsme-2"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "organization-merge"))
        assert event.subject_id == ids["kept"] and json.loads(event.detail)["merged_slug"] == "saskarsme-2"
    # The old address and API id lead to the kept centre.
    page = admin.get("/lv/centres/saskarsme-2")
    assert page.status_code == 301 and page.headers["Location"] == "/lv/centres/saskarsme"
    api = admin.get(f"/api/organizations/{ids['id']}")
    assert api.status_code == 301 and api.headers["Location"].endswith(f"/api/organizations/{ids['kept']}")
    assert admin.get("/lv/centres/no-such-centre").status_code == 404
    # The search finds the moved service under the kept centre at once.
    results = soup(admin.get("/lv/", query_string={"q": "Kvarcs"})).select(".result")
    assert len(results) == 1 and "Saskarsme" in results[0].get_text()
    # The moved editor edits the kept centre now.
    other = signed_in(seeded_app, "other@example.lv")
    assert other.get(f"/en/manage/org/{ids['kept']}").status_code == 200


def test_undo_restores_exactly(seeded_app, merged):
    admin, ids, before = merged
    with seeded_app.app_context():
        merge_id = db.session.scalar(select(OrganizationMerge.id))
    page = soup(admin.get(f"/en/admin/merges/{merge_id}"))
    assert not page.select_one("#merge-undo-refused")
    token = page.select_one(".action-form input[name=csrf_token]")["value"]
    assert admin.post(f"/en/admin/merges/{merge_id}/undo", data={"csrf_token": token}).status_code == 302
    assert _counts(seeded_app, ids["kept"]) == before["kept"]
    assert _counts(seeded_app, ids["id"]) == before["merged"]
    with seeded_app.app_context():
        org = db.session.get(Organization, ids["id"])
        assert (org.slug, org.name) == ("saskarsme-2", DUPLICATE)
        assert db.session.get(Service, ids["service"]).organization_id == ids["id"]
        assert db.session.get(Location, ids["location"]).organization_id == ids["id"]
        assert db.session.get(OrganizationMerge, merge_id).undone_at is not None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "organization-merge-undo"))
    assert admin.get("/lv/centres/saskarsme-2").status_code == 200  # its own page again
    assert "Kvarcs" not in soup(admin.get("/lv/centres/saskarsme")).get_text()


def test_undo_is_refused_once_the_kept_organization_is_edited(seeded_app, merged):
    admin, ids, _before = merged
    with seeded_app.app_context():
        merge_id = db.session.scalar(select(OrganizationMerge.id))
        kept = db.session.get(Organization, ids["kept"])
        publishing.apply_changes(db.session, kept, {"email": "saskarsme@example.lv"}, None)
        db.session.commit()
    page = soup(admin.get(f"/en/admin/merges/{merge_id}"))
    assert "edited since the merge" in page.select_one("#merge-undo-refused").get_text()
    assert not page.select(".action-form")
    token = csrf_token(admin, f"/en/admin/merges/{merge_id}")
    response = admin.post(f"/en/admin/merges/{merge_id}/undo", data={"csrf_token": token}, follow_redirects=True)
    assert "edited since the merge" in soup(response).select_one(".flash").get_text()
    with seeded_app.app_context():
        assert db.session.get(Organization, ids["id"]) is None
        assert db.session.get(OrganizationMerge, merge_id).undone_at is None
        record = db.session.get(OrganizationMerge, merge_id)
        with pytest.raises(merging.Refused):
            merging.undo(db.session, record, None)


def test_a_later_merge_into_the_kept_one_blocks_undo(seeded_app, merged):
    _admin, ids, _before = merged
    with seeded_app.app_context():
        first = db.session.scalar(select(OrganizationMerge))
        kept = db.session.get(Organization, ids["kept"])
        third = Organization(slug="saskarsme-3", name="Saskarsme 3", description="")
        db.session.add(third)
        db.session.flush()
        merging.merge(db.session, kept, third, None)
        db.session.commit()
        with seeded_app.test_request_context("/en/"), force_locale("en"):
            assert "merged with another one" in str(merging.why_not_undo(db.session, first))


def test_merge_refuses_one_organization_twice(seeded_app):
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        with pytest.raises(merging.Refused):
            merging.preview(db.session, org, org)
    with seeded_app.app_context():
        assert merging.find_organization(db.session, "saskarsme").slug == "saskarsme"
        assert merging.find_organization(db.session, "") is None


def test_only_admins_merge(seeded_app, accounts):
    _build_duplicate(seeded_app, accounts["other_editor"])
    anonymous = seeded_app.test_client()
    assert anonymous.get("/en/admin/merge").status_code == 302  # to sign in
    for email in ("editor@example.lv", "worker@example.lv"):
        client = signed_in(seeded_app, email)
        assert client.get("/en/admin/merge").status_code == 403
        token = csrf_token(client, "/en/")
        response = client.post("/en/admin/merge", data={"csrf_token": token, "keep": "x", "merge": "y"})
        assert response.status_code == 403
        assert client.post("/en/admin/merges/1/undo", data={"csrf_token": token}).status_code == 403
    with seeded_app.app_context():
        assert db.session.scalar(select(Organization).where(Organization.slug == "saskarsme-2")) is not None


def test_merging_needs_the_csrf_token(seeded_app, accounts):
    ids = _build_duplicate(seeded_app, accounts["other_editor"])
    admin = signed_in(seeded_app, "admin@example.lv")
    response = admin.post("/en/admin/merge", data={"csrf_token": "forged", "keep": _saskarsme_id(seeded_app),
                                                   "merge": ids["id"]})
    assert response.status_code == 400
    with seeded_app.app_context():
        assert db.session.get(Organization, ids["id"]) is not None


def test_the_merge_form_says_what_it_cannot_find(seeded_app, accounts):
    admin = signed_in(seeded_app, "admin@example.lv")
    response = admin.get("/en/admin/merge", query_string={"keep": "saskarsme", "merge": "nothing-here"})
    assert response.status_code == 400 and "nothing-here" in soup(response).select_one("#merge-error").get_text()
    assert soup(admin.get("/en/admin/merge")).select_one("#merge-pick")
