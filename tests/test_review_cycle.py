"""The review cycle (issue 19): reminders at 10 and 11 months to the centre's
editors and at 12 to the admins, each once; the one-click review page."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
import time_machine
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import func, select

from conftest import csrf_token, make_user, signed_in, soup
from directory import publishing, review_cycle
from directory.extensions import db
from directory.models import Organization, OutboxMessage, ReviewReminder, User

REVIEWED = date(2030, 1, 15)
# Every other listing is "reviewed" after the days these tests visit, so only Saskarsme falls due.
LATER = date(2032, 1, 1)
AT_10, AT_11, AT_12 = date(2030, 11, 15), date(2030, 12, 15), date(2031, 1, 15)
LINK = re.compile(r"http://127\.0\.0\.1:5000(/(\w+)/manage/review/\S+)")


def at(day: date):
    """That day at noon in Riga."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 10, 0, tzinfo=timezone.utc), tick=False)


def saskarsme(app) -> str:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.slug == "saskarsme"))


def set_reviewed(app, slug: str | None, day: date | None) -> None:
    """`slug`'s last review; None: every listing's."""
    with app.app_context():
        query = select(Organization) if slug is None else select(Organization).where(Organization.slug == slug)
        for organization in db.session.scalars(query):
            organization.last_verified = day
        db.session.commit()


def set_language(app, email: str, language: str) -> None:
    with app.app_context():
        db.session.scalar(select(User).where(User.email == email)).language = language
        db.session.commit()


def outbox(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(m.recipient, m.subject, m.body)
                for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def run(app, day: date) -> str:
    with at(day):
        result = app.test_cli_runner().invoke(args=["review-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def link_path(body: str) -> str:
    match = LINK.search(body)
    assert match, body
    return match.group(1)


@pytest.fixture
def cycle(seeded_app, accounts):
    """Saskarsme last reviewed on REVIEWED; its editor writes in Lithuanian, the admin in English."""
    set_reviewed(seeded_app, None, LATER)
    set_reviewed(seeded_app, "saskarsme", REVIEWED)
    set_language(seeded_app, "editor@example.lv", "lt")
    set_language(seeded_app, "admin@example.lv", "en")
    return seeded_app


# ------------------------------------------------------------ when a listing is due


@pytest.mark.parametrize("day, months, expected", [
    (date(2030, 1, 15), 10, date(2030, 11, 15)),
    (date(2030, 3, 31), 11, date(2031, 2, 28)),
    (date(2031, 3, 31), 11, date(2032, 2, 29)),
    (date(2030, 2, 28), 12, date(2031, 2, 28)),
])
def test_months_are_counted_to_the_same_day_or_the_months_last(day, months, expected):
    assert review_cycle.add_months(day, months) == expected


def test_only_the_latest_stage_reached_is_due():
    assert review_cycle.due_stage(REVIEWED, date(2030, 11, 14)) is None
    assert review_cycle.due_stage(REVIEWED, AT_10) == "10"
    assert review_cycle.due_stage(REVIEWED, date(2030, 12, 14)) == "10"
    assert review_cycle.due_stage(REVIEWED, AT_11) == "11"
    assert review_cycle.due_stage(REVIEWED, date(2033, 1, 1)) == "12"


def test_a_listing_never_reviewed_counts_from_the_day_it_was_added(app):
    with app.app_context():
        organization = Organization(id="x", slug="x", name="X", description="",
                                    created_at=datetime(2030, 1, 14, 23, 30, tzinfo=timezone.utc))
        assert review_cycle.reviewed_on(organization) == REVIEWED  # already the 15th in Riga
        organization.last_verified = date(2030, 5, 1)
        assert review_cycle.reviewed_on(organization) == date(2030, 5, 1)


# ------------------------------------------------------------ sending, once


def test_reminders_go_once_at_10_11_and_12_months(cycle):
    assert run(cycle, date(2030, 11, 14)).strip() == "Review reminders sent: 0"

    output = run(cycle, AT_10)
    assert "Saskarsme" in output and "(last reviewed 2030-01-15): 10 months, to editor@example.lv" in output
    assert output.strip().endswith("Review reminders sent: 1")
    assert [mail[0] for mail in outbox(cycle)] == ["editor@example.lv"]
    assert run(cycle, AT_10).strip() == "Review reminders sent: 0"  # the same day again
    assert run(cycle, date(2030, 12, 1)).strip() == "Review reminders sent: 0"

    assert "11 months, to editor@example.lv" in run(cycle, AT_11)
    assert run(cycle, AT_11).strip() == "Review reminders sent: 0"

    assert "12 months, to admin@example.lv" in run(cycle, AT_12)
    assert run(cycle, AT_12).strip() == "Review reminders sent: 0"
    assert run(cycle, date(2031, 6, 1)).strip() == "Review reminders sent: 0"

    assert [mail[0] for mail in outbox(cycle)] == ["editor@example.lv", "editor@example.lv", "admin@example.lv"]
    with cycle.app_context():
        rows = db.session.execute(select(ReviewReminder.stage, ReviewReminder.reviewed_on)
                                  .order_by(ReviewReminder.id)).all()
    assert [tuple(row) for row in rows] == [("10", REVIEWED), ("11", REVIEWED), ("12", REVIEWED)]


def test_a_missed_run_sends_only_the_latest_stage(cycle):
    assert "12 months" in run(cycle, date(2031, 2, 1))
    assert [mail[0] for mail in outbox(cycle)] == ["admin@example.lv"]


def test_the_unique_row_is_the_guard(cycle):
    """A reminder recorded already (by a run alongside) is not sent again."""
    with cycle.app_context():
        db.session.add(ReviewReminder(organization_id=saskarsme(cycle), stage="10", reviewed_on=REVIEWED))
        db.session.commit()
    assert run(cycle, AT_10).strip() == "Review reminders sent: 0"
    assert outbox(cycle) == []


def test_still_correct_starts_the_cycle_again(cycle):
    run(cycle, AT_10)
    with at(date(2030, 11, 20)), cycle.app_context():
        publishing.verify(db.session, db.session.get(Organization, saskarsme(cycle)), None)
        db.session.commit()
    assert run(cycle, AT_11).strip() == "Review reminders sent: 0"
    assert run(cycle, AT_12).strip() == "Review reminders sent: 0"
    output = run(cycle, date(2031, 9, 20))
    assert "(last reviewed 2030-11-20): 10 months, to editor@example.lv" in output
    assert len(outbox(cycle)) == 2


def test_a_save_by_the_centres_editor_counts_as_a_review_and_an_admins_does_not(cycle):
    with at(date(2030, 6, 1)), cycle.app_context():
        organization = db.session.get(Organization, saskarsme(cycle))
        admin = db.session.scalar(select(User).where(User.email == "admin@example.lv"))
        publishing.apply_changes(db.session, organization, {"description": "Changed by the admin."}, admin)
        db.session.commit()
        assert organization.last_verified == REVIEWED
        editor = db.session.scalar(select(User).where(User.email == "editor@example.lv"))
        service = next(s for s in organization.services if s.status == "active")
        publishing.apply_changes(db.session, service, {"description": "Changed by the editor."}, editor)
        db.session.commit()
        assert organization.last_verified == date(2030, 6, 1)
    assert run(cycle, AT_10).strip() == "Review reminders sent: 0"


def test_without_editors_only_the_admins_are_told_at_12_months(cycle):
    set_reviewed(cycle, "vigante", REVIEWED)
    with cycle.app_context():
        db.session.scalar(select(User).where(User.email == "other@example.lv")).status = "disabled"
        db.session.commit()
    assert run(cycle, AT_10).strip().endswith("Review reminders sent: 1")  # Saskarsme's editor only
    assert run(cycle, AT_11).count("to editor@example.lv") == 1
    output = run(cycle, AT_12)
    assert output.count("12 months, to admin@example.lv") == 2
    assert sorted(mail[0] for mail in outbox(cycle)) == ["admin@example.lv"] * 2 + ["editor@example.lv"] * 2


def test_listings_waiting_for_approval_get_no_reminder(cycle):
    with cycle.app_context():
        db.session.get(Organization, saskarsme(cycle)).status = "pending"
        db.session.commit()
    assert run(cycle, AT_12).strip() == "Review reminders sent: 0"


def test_each_e_mail_is_in_its_recipients_language_with_a_link_on_the_public_address(cycle):
    run(cycle, AT_10)
    run(cycle, AT_12)
    (editor_to, editor_subject, editor_body), (admin_to, admin_subject, admin_body) = outbox(cycle)
    assert LINK.search(editor_body).group(2) == "lt" and LINK.search(admin_body).group(2) == "en"
    with cycle.test_request_context():
        name = db.session.get(Organization, saskarsme(cycle)).name
        with force_locale("lt"):
            assert editor_subject == gettext("Is the listing of %(organization)s still correct?",
                                             organization=name)
            assert format_date(REVIEWED, "long") in editor_body  # "2030 m. sausio 15 d."
        with force_locale("en"):
            assert admin_subject == gettext("The listing of %(organization)s has not been reviewed for a year",
                                            organization=name)
            assert "January 15, 2030" in admin_body


def test_a_listing_never_reviewed_is_said_to_be_so(cycle):
    with cycle.app_context():
        organization = db.session.get(Organization, saskarsme(cycle))
        organization.last_verified = None
        organization.created_at = datetime(2030, 1, 15, 9, 0, tzinfo=timezone.utc)
        db.session.commit()
    assert "(last reviewed 2030-01-15): 10 months" in run(cycle, AT_10)
    # The editor reads Lithuanian: the words between the centre's name and the date, in Lithuanian.
    with cycle.test_request_context("/lt/"), force_locale("lt"):
        sentence = gettext("The listing of %(organization)s in the social services directory was added on "
                           "%(date)s and has not been confirmed as correct since.", organization="\x00", date="\x01")
    between = sentence.split("\x00")[1].split("\x01")[0]
    assert between.strip() and between in outbox(cycle)[0][2]


# ------------------------------------------------------------ the review page


@pytest.fixture
def reminded(cycle):
    """The 10-month reminder sent; its link (as the editor's client would open it)."""
    run(cycle, AT_10)
    return link_path(outbox(cycle)[0][2])


def test_the_link_shows_the_listing_to_its_editor_with_both_choices(cycle, reminded):
    with at(AT_10):
        page = signed_in(cycle, "editor@example.lv").get(reminded)
    assert page.status_code == 200
    html = soup(page)
    assert "Saskarsme" in html.select_one("h1").get_text()
    assert html.select_one("#listing dl.facts") is not None and html.select("#services .service")
    assert html.select_one("#still-correct-form button[type=submit]")
    assert html.select_one("#edit-link")["href"] == f"/lt/manage/org/{saskarsme(cycle)}"


def test_without_a_sign_in_the_link_asks_for_one_and_comes_back(cycle, reminded):
    with at(AT_10):
        client = cycle.test_client()
        response = client.get(reminded)
        assert response.status_code == 302 and "/account/login" in response.location
        login_url = response.location
        token = csrf_token(client, login_url)
        signed = client.post(login_url, data={"csrf_token": token, "email": "editor@example.lv",
                                              "password": "correct horse battery"})
        assert signed.status_code == 302 and signed.location == reminded
        assert client.get(signed.location).status_code == 200


@pytest.mark.parametrize("email", ["admin@example.lv", "other@example.lv"])
def test_the_link_works_for_its_recipient_only(cycle, reminded, email):
    with at(AT_10):
        client = signed_in(cycle, email)
        assert client.get(reminded).status_code == 403
        assert client.post(reminded, data={"csrf_token": csrf_token(client, "/en/manage/")}).status_code == 403
    with cycle.app_context():
        assert db.session.get(Organization, saskarsme(cycle)).last_verified == REVIEWED


def test_a_second_editor_of_the_centre_gets_a_link_of_their_own(cycle):
    make_user(cycle, "second@example.lv", "editor", organizations=["saskarsme"])
    run(cycle, AT_10)
    links = {mail[0]: link_path(mail[2]) for mail in outbox(cycle)}
    assert set(links) == {"editor@example.lv", "second@example.lv"}
    with at(AT_10):
        client = signed_in(cycle, "second@example.lv")
        assert client.get(links["second@example.lv"]).status_code == 200
        assert client.get(links["editor@example.lv"]).status_code == 403


def test_still_correct_needs_csrf_then_confirms_and_the_link_is_spent(cycle, reminded):
    with at(AT_10):
        client = signed_in(cycle, "editor@example.lv")
        assert client.post(reminded, data={}).status_code == 400
        with cycle.app_context():
            assert db.session.get(Organization, saskarsme(cycle)).last_verified == REVIEWED
        response = client.post(reminded, data={"csrf_token": csrf_token(client, reminded)})
        assert response.status_code == 302 and response.location == "/lt/manage/"
        dashboard = client.get(response.location).get_data(as_text=True)
        assert "Saskarsme" in dashboard
        with cycle.app_context():
            assert db.session.get(Organization, saskarsme(cycle)).last_verified == AT_10
        spent = client.get(reminded)
        assert spent.status_code == 410
        assert soup(spent).select_one("#link-problem")
        assert client.post(reminded, data={"csrf_token": csrf_token(client, "/lt/manage/")}).status_code == 410
    assert run(cycle, AT_11).strip() == "Review reminders sent: 0"


def test_a_review_by_other_means_spends_the_link_too(cycle, reminded):
    with at(date(2030, 11, 20)):
        client = signed_in(cycle, "editor@example.lv")
        org_url = f"/lt/manage/org/{saskarsme(cycle)}"
        client.post(f"{org_url}/verify", data={"csrf_token": csrf_token(client, org_url)})
        assert client.get(reminded).status_code == 410


def test_a_link_tampered_with_gets_a_clear_page(cycle, reminded):
    with at(AT_10):
        client = signed_in(cycle, "editor@example.lv")
        for bad in (reminded[:-3] + ("AAA" if not reminded.endswith("AAA") else "BBB"),
                    "/lt/manage/review/not-a-token"):
            response = client.get(bad)
            assert response.status_code == 400
            assert soup(response).select_one("#link-problem")


def test_a_link_outlives_the_later_reminders_but_not_much_more(cycle, reminded):
    with at(date(2031, 3, 1)):  # after the 12-month reminder, not reviewed yet: still works
        assert signed_in(cycle, "editor@example.lv").get(reminded).status_code == 200
    with at(date(2031, 3, 20)):  # more than 120 days after it was sent
        assert signed_in(cycle, "editor@example.lv").get(reminded).status_code == 410


def test_a_spent_link_tells_a_stranger_nothing(cycle, reminded):
    set_reviewed(cycle, "saskarsme", date(2030, 11, 1))
    with at(AT_10):
        assert signed_in(cycle, "other@example.lv").get(reminded).status_code == 403


def test_a_link_for_an_organization_since_removed_is_gone(cycle, reminded):
    with cycle.app_context():
        db.session.delete(db.session.get(Organization, saskarsme(cycle)))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(ReviewReminder)) == 0
    with at(AT_10):
        assert signed_in(cycle, "editor@example.lv").get(reminded).status_code == 410
