"""Referrals: a social worker sends a client to a service, the centre answers,
and the social worker sees every step until the referral closes.

    sent ──accept──▶ accepted ──complete──▶ completed
      │                 │
      ├──decline──▶ declined (with a reason)
      └──withdraw (the sender, while sent or accepted)──▶ withdrawn
    sent, unanswered for REFERRAL_EXPIRE_DAYS ──▶ expired

Privacy: a referral holds the least the work needs (first name or initials,
how to reach the client, the need, when consent was given). Only the sender,
the receiving centre's editors and the administrators see it; every view is in
the audit log; `purge_client_data` wipes the client a set time after closing
and keeps the row (service, status, dates) for the statistics. E-mails say
that something changed, never who the client is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask_babel import force_locale, format_date, gettext as _, lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import audit
from .mail import public_url, queue_email
from .personal_data import contains_personal_code
from .models import (
    DECLINE_REASONS,
    REFERRAL_CLOSED,
    Referral,
    ReferralEvent,
    Service,
    User,
    organization_editor,
)

CLIENT_NAME_MAX = 60
CLIENT_CONTACT_MAX = 200
NEED_MAX = 2000
NOTE_MAX = 1000

# Who may make each move: the receiving centre or the sender.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("sent", "accepted"): "centre",
    ("sent", "declined"): "centre",
    ("accepted", "completed"): "centre",
    ("sent", "withdrawn"): "sender",
    ("accepted", "withdrawn"): "sender",
}

STATUS_LABELS = {
    "sent": _l("Sent, waiting for an answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired (no answer)"),
}

DECLINE_REASON_LABELS = {
    "no-places": _l("No places available"),
    "not-eligible": _l("The client is not eligible"),
    "not-reachable": _l("The client could not be reached"),
    "other-service": _l("Another service suits the client better"),
    "other": _l("Another reason"),
}
assert set(DECLINE_REASON_LABELS) == set(DECLINE_REASONS)


class Refused(Exception):
    """A move the rules do not allow; the message says why, for the user."""

    def __str__(self) -> str:
        return str(self.args[0])


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ------------------------------------------------------------ who sees what


def is_receiver(user: User, referral: Referral) -> bool:
    """An active editor of the receiving centre, or an administrator."""
    if user.is_admin:
        return True
    return referral.organization is not None and user.may_edit(referral.organization)


def is_sender(user: User, referral: Referral) -> bool:
    return user.is_active and referral.sender_id is not None and referral.sender_id == user.id


def may_view(user: User, referral: Referral) -> bool:
    return user.is_authenticated and (is_sender(user, referral) or is_receiver(user, referral))


def record_view(session: Session, user: User, referral: Referral, page: str) -> None:
    """Every look at a referral is in the audit log (GDPR: who saw the data)."""
    audit.record(session, "referral-view", user, "referral", referral.id, page=page)


def record_list_view(session: Session, user: User, referrals: list[Referral], page: str) -> None:
    """A list shows each client's name or initials: it is a look at each one."""
    if referrals:
        audit.record(session, "referral-list-view", user, "referral", None, page=page,
                     referrals=[referral.id for referral in referrals])


PAGE_SIZE = 50

STATUS_GROUPS = {
    "open": ("sent", "accepted"),
    "waiting": ("sent",),
    "accepted": ("accepted",),
    "closed": REFERRAL_CLOSED,
}


STATUS_GROUP_LABELS = {
    "open": _l("Open referrals"),
    "waiting": _l("Waiting for an answer"),
    "accepted": _l("Accepted referrals"),
    "closed": _l("Closed referrals"),
}


@dataclass(frozen=True)
class ReferralPage:
    referrals: list[Referral]
    total: int
    page: int
    pages: int


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def sent_by(session: Session, user: User, status_group: str | None = None, page: int = 1) -> ReferralPage:
    query = select(Referral).where(Referral.sender_id == user.id)
    return _listed(session, query, status_group, page)


def _received_query(user: User):
    """Referrals to the centres the user edits; all of them for an admin."""
    query = select(Referral)
    if not user.is_admin:
        editable = select(organization_editor.c.organization_id).where(organization_editor.c.user_id == user.id)
        query = query.where(Referral.organization_id.in_(editable))
    return query


def received_by(session: Session, user: User, status_group: str | None = None, page: int = 1) -> ReferralPage:
    return _listed(session, _received_query(user), status_group, page)


def _listed(session: Session, query, status_group: str | None, page: int) -> ReferralPage:
    if status_group in STATUS_GROUPS:
        query = query.where(Referral.status.in_(STATUS_GROUPS[status_group]))
    total = _count(session, query)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    referrals = session.scalars(
        query.order_by(Referral.created_at.desc(), Referral.id.desc())
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return ReferralPage(list(referrals), total, page, pages)


def waiting_count(session: Session, user: User) -> int:
    """Referrals to the user's centres that wait for an answer."""
    return _count(session, _received_query(user).where(Referral.status == "sent"))


# ------------------------------------------------------------ sending


def referrable(service: Service | None) -> bool:
    return (
        service is not None
        and service.status == "active"
        and service.organization is not None
        and service.organization.status == "published"
    )


def has_receivers(session: Session, service: Service) -> bool:
    """Whether the centre has an editor in the directory to answer."""
    return session.scalar(
        select(func.count())
        .select_from(organization_editor.join(User, User.id == organization_editor.c.user_id))
        .where(organization_editor.c.organization_id == service.organization_id,
               User.status == "active", User.role == "editor")
    ) > 0


def send_referral(
    session: Session,
    service: Service | None,
    sender: User,
    *,
    client_name: str,
    client_contact: str,
    client_language: str,
    need: str,
    consent: bool,
    now: datetime | None = None,
) -> Referral:
    """Store the referral and tell the centre. Raises Refused, storing nothing,
    when the service is no longer offered or the client's details are missing."""
    if sender.role != "social_worker" or not sender.is_active:
        raise PermissionError("only social workers send referrals")
    if not referrable(service):
        raise Refused(_("This service is no longer offered, so it cannot take referrals. Choose another service."))
    client_name = (client_name or "").strip()
    client_contact = (client_contact or "").strip()
    need = (need or "").strip()
    if not client_name:
        raise Refused(_("Write the client's first name or initials."))
    if not need:
        raise Refused(_("Describe what the client needs."))
    if not consent:
        raise Refused(_("The client's consent is needed before anything about them is sent."))
    if len(client_name) > CLIENT_NAME_MAX or len(client_contact) > CLIENT_CONTACT_MAX or len(need) > NEED_MAX:
        raise Refused(_("Some of the text is too long."))
    if any(contains_personal_code(text) for text in (client_name, client_contact, need)):
        raise Refused(_("Do not write a personal code here: the centre does not need it."))
    now = now or _now()
    org = service.organization
    referral = Referral(
        service=service,
        organization=org,
        service_name=service.name,
        organization_name=org.name,
        sender=sender,
        status="sent",
        client_name=client_name,
        client_contact=client_contact or None,
        client_language=client_language,
        need=need,
        consent_at=now,
        created_at=now,
        updated_at=now,
    )
    referral.events.append(ReferralEvent(status="sent", user=sender, created_at=now))
    session.add(referral)
    session.flush()
    _tell_centre(
        session, referral,
        lambda: _("New referral to %(service)s", service=referral.service_name),
        lambda url: _("A social worker has sent a referral to %(service)s (%(centre)s). Open it to answer:\n\n%(url)s",
                      service=referral.service_name, centre=referral.organization_name, url=url),
    )
    audit.record(session, "referral-send", sender, "referral", referral.id, service=service.id)
    return referral


# ------------------------------------------------------------ answering


def change_status(
    session: Session,
    referral: Referral,
    user: User,
    new_status: str,
    *,
    expected_status: str,
    reason: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> ReferralEvent:
    """Move the referral on. Refused (nothing changed) when someone else moved
    it meanwhile, when the move is out of order, or when a decline has no
    reason. PermissionError when the user may not make this move at all."""
    current = referral.status
    if current != expected_status:
        raise Refused(_("Someone changed this referral meanwhile: it is now “%(status)s”. Nothing was saved.",
                        status=STATUS_LABELS.get(current, current)))
    actor = TRANSITIONS.get((current, new_status))
    if actor is None:
        raise Refused(_("A referral that is “%(status)s” cannot become “%(new)s”. Nothing was saved.",
                        status=STATUS_LABELS.get(current, current),
                        new=STATUS_LABELS.get(new_status, new_status)))
    if actor == "centre" and not is_receiver(user, referral):
        raise PermissionError("only the receiving centre answers a referral")
    if actor == "sender" and not (is_sender(user, referral) or user.is_admin):
        raise PermissionError("only the sender withdraws a referral")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Refused(_("The note is too long."))
    if contains_personal_code(note):
        raise Refused(_("Do not write a personal code here: the centre does not need it."))
    if new_status == "declined":
        if reason not in DECLINE_REASONS:
            raise Refused(_("Choose why the referral is declined."))
        referral.decline_reason = reason
    now = now or _now()
    referral.status = new_status
    referral.updated_at = now
    if new_status in REFERRAL_CLOSED:
        referral.closed_at = now
    event = ReferralEvent(status=new_status, user=user, note=note or None, created_at=now)
    referral.events.append(event)
    session.flush()
    subject = lambda: _("Referral to %(service)s: %(status)s",  # noqa: E731
                        service=referral.service_name, status=STATUS_LABELS[new_status])
    if actor == "centre":
        _tell_sender(session, referral, subject)
    else:
        _tell_centre(
            session, referral, subject,
            lambda url: _("The social worker has withdrawn the referral to %(service)s (%(centre)s); "
                          "nothing more is needed from you:\n\n%(url)s",
                          service=referral.service_name, centre=referral.organization_name, url=url),
        )
    audit.record(session, "referral-status", user, "referral", referral.id, status=new_status)
    return event


# ------------------------------------------------------------ keeping little


def remind_unanswered(session: Session, days: int, now: datetime | None = None) -> int:
    """Remind the centre, once, of each referral that has waited `days` for
    its answer. Returns how many referrals were reminded of."""
    now = now or _now()
    waiting = session.scalars(
        select(Referral).where(
            Referral.status == "sent", Referral.reminded_at.is_(None),
            Referral.created_at < now - timedelta(days=days),
        )
    ).all()
    for referral in waiting:
        referral.reminded_at = now
        _tell_centre(
            session, referral,
            lambda r=referral: _("Reminder: a referral to %(service)s waits for your answer", service=r.service_name),
            lambda url, r=referral: _(
                "A social worker sent a referral to %(service)s (%(centre)s) on %(date)s, and it still waits "
                "for your answer. Please accept or decline it:\n\n%(url)s",
                service=r.service_name, centre=r.organization_name, date=format_date(r.created_at, "long"),
                url=url),
        )
    if waiting:
        audit.record(session, "referral-remind", None, "referral", None, count=len(waiting))
    return len(waiting)


def expire_unanswered(session: Session, days: int, now: datetime | None = None) -> int:
    """Referrals the centre left unanswered for `days` close as expired, and
    their senders are told; the purge then counts from that day."""
    now = now or _now()
    stale = session.scalars(
        select(Referral).where(Referral.status == "sent", Referral.created_at < now - timedelta(days=days))
    ).all()
    for referral in stale:
        referral.status = "expired"
        referral.closed_at = now
        referral.updated_at = now
        referral.events.append(ReferralEvent(status="expired", created_at=now))
        _tell_sender(session, referral, lambda r=referral: _(
            "Referral to %(service)s: %(status)s", service=r.service_name, status=STATUS_LABELS["expired"]))
    if stale:
        audit.record(session, "referral-expire", None, "referral", None, count=len(stale))
    return len(stale)


def purge_client_data(session: Session, days: int, now: datetime | None = None) -> int:
    """Wipe what identifies the client in referrals closed more than `days`
    ago. Service, centre, status and dates stay, so the statistics survive."""
    now = now or _now()
    cutoff = now - timedelta(days=days)
    due = select(Referral.id).where(
        Referral.closed_at.is_not(None), Referral.closed_at < cutoff, Referral.anonymised_at.is_(None)
    )
    ids = list(session.scalars(due))
    if not ids:
        return 0
    # Bulk updates: no version bump races a centre's answer (closed referrals
    # take no answers), and a purge of thousands stays one statement each.
    session.execute(
        update(Referral)
        .where(Referral.id.in_(ids))
        .values(client_name=None, client_contact=None, need=None, anonymised_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ReferralEvent)
        .where(ReferralEvent.referral_id.in_(ids))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    audit.record(session, "referral-purge", None, "referral", None, count=len(ids), older_than_days=days)
    return len(ids)


# ------------------------------------------------------------ telling people


def _centre_recipients(session: Session, referral: Referral) -> list[User]:
    """The centre's active editors; the administrators when it has none, so a
    referral never waits unseen."""
    editors = list(session.scalars(
        select(User)
        .join(organization_editor, organization_editor.c.user_id == User.id)
        .where(organization_editor.c.organization_id == referral.organization_id,
               User.status == "active", User.role == "editor")
    ))
    if editors:
        return editors
    return list(session.scalars(select(User).where(User.status == "active", User.role == "admin")))


def _tell_centre(session: Session, referral: Referral, subject, body) -> None:
    """`subject()` and `body(url)` are called in each recipient's language."""
    for user in _centre_recipients(session, referral):
        with force_locale(user.language):
            url = public_url("manage.referral", lang_code=user.language, referral_id=referral.id)
            queue_email(session, user.email, subject(), body(url))


def _tell_sender(session: Session, referral: Referral, subject) -> None:
    sender = referral.sender
    if sender is None or not sender.is_active:
        return
    with force_locale(sender.language):
        queue_email(
            session, sender.email, subject(),
            _("Your referral to %(service)s (%(centre)s) is now: %(status)s.\n\n%(url)s",
              service=referral.service_name, centre=referral.organization_name,
              status=STATUS_LABELS[referral.status],
              url=public_url("referrals.referral", lang_code=sender.language, referral_id=referral.id)),
        )

