"""The review cycle: a published listing is confirmed at least once a year.

Counted from its last review (`Organization.last_verified`: "Still correct",
or a save by one of the centre's editors; a listing never reviewed counts
from the day it was added), its editors are reminded at 10 and 11 months and
the administrators at 12. Each reminder goes once: its `ReviewReminder` row
(unique per organization, stage and review date) is the guard, and a new
review starts the cycle again. Each e-mail carries a link for its recipient
alone, which stops working once the listing has been reviewed again.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from flask import current_app
from flask_babel import force_locale, format_date, gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import audit
from .mail import public_url, queue_email
from .models import Organization, ReviewReminder, User, organization_editor
from .listings import local_date, local_today

# Stage → (months since the last review, who is reminded).
STAGES: dict[str, tuple[int, str]] = {"10": (10, "editors"), "11": (11, "editors"), "12": (12, "admins")}
# A review link outlives the reminders after it (11 and 12 months), not much more.
LINK_MAX_AGE_SECONDS = 120 * 24 * 3600
_SALT = "review-reminder"


# ------------------------------------------------------------ when a listing is due


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it is shorter (31 March + 11 → 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reviewed_on(organization: Organization) -> date:
    """The review the cycle counts from: the last one, or the day the listing was added."""
    if organization.last_verified is not None:
        return organization.last_verified
    return local_date(organization.created_at or datetime.now(timezone.utc))


def due_stage(reviewed: date, today: date) -> str | None:
    """The latest stage reached at `today`: a run missed for weeks sends only
    that one, not every stage it slept through."""
    reached = [stage for stage, (months, _who) in STAGES.items() if add_months(reviewed, months) <= today]
    return reached[-1] if reached else None


# ------------------------------------------------------------ the one-click link


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def review_token(organization: Organization, user: User, reviewed: date) -> str:
    return _serializer().dumps({"o": organization.id, "u": user.id, "r": reviewed.isoformat()})


@dataclass
class ReviewLink:
    organization: Organization
    user_id: int


class InvalidLink(Exception):
    """Not a review link this site made (or altered): 400."""


class OutdatedLink(Exception):
    """A genuine link whose purpose is done: the listing was reviewed since, the
    link is too old, or the organization is gone: 410. `link`: whom it was
    for, when that is still known (so a stranger gets 403, not the news)."""

    def __init__(self, link: ReviewLink | None = None) -> None:
        super().__init__()
        self.link = link


def read_review_token(session: Session, token: str) -> ReviewLink:
    """The organization and user a link names. InvalidLink or OutdatedLink
    otherwise; whether the signed-in user is that user is the caller's check."""
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE_SECONDS)
    except SignatureExpired as error:
        raise OutdatedLink() from error
    except BadSignature as error:
        raise InvalidLink() from error
    try:
        organization_id, user_id, reviewed = str(data["o"]), int(data["u"]), date.fromisoformat(data["r"])
    except (TypeError, KeyError, ValueError) as error:
        raise InvalidLink() from error
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise OutdatedLink()
    link = ReviewLink(organization, user_id)
    if reviewed_on(organization) != reviewed:
        raise OutdatedLink(link)
    return link


# ------------------------------------------------------------ sending the reminders


@dataclass
class SentReminder:
    organization: Organization
    stage: str
    reviewed: date
    recipients: list[str] = field(default_factory=list)


def _editors(session: Session, organization: Organization) -> list[User]:
    return list(session.scalars(
        select(User)
        .join(organization_editor, organization_editor.c.user_id == User.id)
        .where(organization_editor.c.organization_id == organization.id,
               User.status == "active", User.role == "editor")
        .order_by(User.id)
    ))


def _admins(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.status == "active", User.role == "admin").order_by(User.id)))


def _claim(session: Session, organization: Organization, stage: str, reviewed: date) -> bool:
    """Record the reminder; False when it was recorded already (by this run's
    predecessor or one running alongside)."""
    exists = session.scalar(select(ReviewReminder.id).where(
        ReviewReminder.organization_id == organization.id, ReviewReminder.stage == stage,
        ReviewReminder.reviewed_on == reviewed))
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ReviewReminder(organization_id=organization.id, stage=stage, reviewed_on=reviewed))
    except IntegrityError:
        return False
    return True


def _language(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return user.language if user.language in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _email(session: Session, user: User, organization: Organization, stage: str, reviewed: date) -> None:
    """One reminder in the recipient's own language, its link on PUBLIC_BASE_URL."""
    lang = _language(user)
    with force_locale(lang):
        url = public_url("manage.review", lang_code=lang, token=review_token(organization, user, reviewed))
        when = format_date(reviewed, "long")
        # Whole sentences, joined only at their ends: word order differs between languages.
        if organization.last_verified is not None:
            since = _("The listing of %(organization)s in the social services directory was last confirmed "
                      "as correct on %(date)s.", organization=organization.name, date=when)
        else:
            since = _("The listing of %(organization)s in the social services directory was added on %(date)s "
                      "and has not been confirmed as correct since.", organization=organization.name, date=when)
        if STAGES[stage][1] == "editors":
            subject = _("Is the listing of %(organization)s still correct?", organization=organization.name)
            body = _("%(since)s Please check it: open the link below and either confirm that it is still "
                     "correct or edit it.\n\n%(url)s\n\nThe link works for you alone, once you are signed in.",
                     since=since, url=url)
        else:
            subject = _("The listing of %(organization)s has not been reviewed for a year",
                        organization=organization.name)
            body = _("%(since)s That is a year or more ago, and residents see a listing not confirmed for a year "
                     "as possibly out of date. Please check it with the centre, then confirm it or edit it:"
                     "\n\n%(url)s\n\nThe link works for you alone, once you are signed in.",
                     since=since, url=url)
        queue_email(session, user.email, subject, body)


def send_due_reminders(session: Session, today: date | None = None) -> list[SentReminder]:
    """Send every reminder due at `today` (the directory's today by default)
    and not sent before; the caller commits. Returns what was sent. Needs an
    application context; links are built on PUBLIC_BASE_URL."""
    today = today or local_today()
    sent: list[SentReminder] = []
    organizations = session.scalars(
        select(Organization).where(Organization.status == "published").order_by(Organization.name, Organization.id)
    ).all()
    for organization in organizations:
        reviewed = reviewed_on(organization)
        stage = due_stage(reviewed, today)
        if stage is None:
            continue
        recipients = _editors(session, organization) if STAGES[stage][1] == "editors" else _admins(session)
        # No editor to remind: nothing at 10 and 11 months, the admins hear at 12.
        if not recipients or not _claim(session, organization, stage, reviewed):
            continue
        reminder = SentReminder(organization, stage, reviewed)
        for user in recipients:
            _email(session, user, organization, stage, reviewed)
            reminder.recipients.append(user.email)
        audit.record(session, "review-remind", None, "organization", organization.id,
                     stage=stage, reviewed_on=reviewed.isoformat(), recipients=len(recipients))
        sent.append(reminder)
    return sent
