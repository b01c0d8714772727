"""Every manage and admin URL, tried as anonymous, as each role and as an
editor of another centre: a redirect to sign in or 403, never the data.
Every POST without a CSRF token is refused. URLs are read from the app's
own URL map, so a new route cannot escape these checks."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from conftest import csrf_token, signed_in
from directory.extensions import db
from directory import review_cycle
from directory.models import (
    ImportJob,
    ListingClaim,
    Location,
    Organization,
    OrganizationMerge,
    ProblemReport,
    Referral,
    Revision,
    Service,
    TaxonomyTerm,
    User,
)

PROTECTED = ("manage.", "admin.")


@pytest.fixture
def world(seeded_app, accounts):
    """Ids of Saskarsme's records (edited by "editor"), and of other objects
    the URLs name."""
    with seeded_app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "saskarsme"))
        report = ProblemReport(organization=org, kind="other", comment="")
        revision = Revision(organization_id=org.id, entity_type="organization", entity_id=org.id,
                            action="update", changes='{"name": ["A", "B"]}')
        service = db.session.scalar(select(Service).where(Service.organization_id == org.id))
        referral = Referral(service=service, organization=org, service_name=service.name,
                            organization_name=org.name, client_name="A. B.", client_contact="-",
                            need="-", consent_at=datetime.now(timezone.utc))
        job = ImportJob(file_name="package.zip", status="done")
        claim = ListingClaim(organization=org, name="A. B.", email="a@example.lv", role="-", message="")
        merge = OrganizationMerge(kept_id=org.id, merged_id="00000000-0000-4000-8000-000000000000",
                                  merged_slug="merged", merged_name="Merged", snapshot="{}")
        db.session.add_all([report, revision, referral, job, claim, merge])
        db.session.commit()
        term = db.session.scalar(select(TaxonomyTerm).order_by(TaxonomyTerm.code))
        editor = db.session.scalar(select(User).where(User.email == "editor@example.lv"))
        with seeded_app.test_request_context():
            token = review_cycle.review_token(org, editor, review_cycle.reviewed_on(org))
        return {
            "org_id": org.id,
            "organization_id": org.id,
            "service_id": db.session.scalar(select(Service.id).where(Service.organization_id == org.id)),
            "location_id": db.session.scalar(select(Location.id).where(Location.organization_id == org.id)),
            "revision_id": revision.id,
            "report_id": report.id,
            "referral_id": referral.id,
            "job_id": job.id,
            "user_id": accounts["pending"],
            "term_id": term.id,
            "taxonomy_code": "service-type",
            "code": term.code,
            "claim_id": claim.id,
            "merge_id": merge.id,
            "token": token,
        }


def protected_urls(app, world):
    """(method, url, endpoint) for every manage/admin rule, with real ids."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(PROTECTED):
            continue
        values = {"lang_code": "lv"}
        for argument in rule.arguments - {"lang_code"}:
            assert argument in world, f"{rule.rule}: add a value for <{argument}> to the `world` fixture"
            values[argument] = world[argument]
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, url, rule.endpoint))
    assert len(urls) >= 20  # the URL map was read
    return urls


def request_as(client, method, url, with_token=True):
    data = {}
    if method == "POST" and with_token:
        # The problem-report form on a centre page has a token for everyone.
        data["csrf_token"] = csrf_token(client, "/lv/centres/saskarsme")
    return client.open(url, method=method, data=data)


def test_anonymous_is_sent_to_sign_in(seeded_app, world):
    client = seeded_app.test_client()
    for method, url, _ in protected_urls(seeded_app, world):
        response = request_as(client, method, url)
        assert response.status_code == 302, (method, url, response.status_code)
        assert "/account/login" in response.headers["Location"], (method, url)


@pytest.mark.parametrize("email", ["worker@example.lv"])
def test_social_workers_get_403(seeded_app, world, email):
    client = signed_in(seeded_app, email)
    for method, url, _ in protected_urls(seeded_app, world):
        response = request_as(client, method, url)
        assert response.status_code == 403, (method, url, response.status_code)


def test_editors_get_403_on_admin_pages(seeded_app, world):
    client = signed_in(seeded_app, "editor@example.lv")
    for method, url, endpoint in protected_urls(seeded_app, world):
        if endpoint.startswith("admin."):
            response = request_as(client, method, url)
            assert response.status_code == 403, (method, url, response.status_code)


def test_an_editor_of_another_centre_gets_403_on_this_centres_pages(seeded_app, world):
    """Every manage URL that names Saskarsme's records refuses Vīgante's editor."""
    client = signed_in(seeded_app, "other@example.lv")
    named = {world[k] for k in ("org_id", "service_id", "location_id")}
    checked = 0
    for method, url, endpoint in protected_urls(seeded_app, world):
        if endpoint.startswith("manage.") and any(str(value) in url for value in named):
            response = request_as(client, method, url)
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 3


def test_posts_without_a_csrf_token_are_refused(seeded_app, world):
    client = signed_in(seeded_app, "admin@example.lv")
    posts = [(m, u) for m, u, _ in protected_urls(seeded_app, world) if m == "POST"]
    assert posts
    for method, url in posts:
        response = request_as(client, method, url, with_token=False)
        assert response.status_code == 400, (url, response.status_code)
    with seeded_app.app_context():
        assert db.session.scalar(select(User).where(User.email == "pending@example.lv")).status == "pending"
