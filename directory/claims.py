"""Claims: someone at a centre asks to keep its listing, without an account;
an administrator approves (the person becomes the centre's editor) or
refuses with a reason. Plain functions over a session; the views commit.

A centre is "kept by the centre" while at least one active editor is linked
to it; only a centre nobody keeps can be claimed, so a disabled editor who
left does not lock the listing for their successor."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload

from . import accounts, audit
from .administration import Refused
from .mail import public_url, queue_email
from .models import ListingClaim, Organization, User, organization_editor

# Bounds of what a claim holds (the columns allow as much or more).
MAX_NAME = 200
MAX_EMAIL = 254
MAX_ROLE = 200
MAX_MESSAGE = 2000


class AlreadyKept(Exception):
    """The organization has an active editor already: nothing to claim."""


def is_kept_by_centre(session: Session, organization: Organization) -> bool:
    """True when at least one active centre editor keeps the listing."""
    return bool(session.scalar(select(exists().where(
        organization_editor.c.organization_id == organization.id,
        organization_editor.c.user_id == User.id,
        User.role == "editor",
        User.status == "active",
    ))))


def ask_to_keep(
    session: Session, organization: Organization, *, name: str, email: str, role: str, message: str, language: str
) -> tuple[ListingClaim, bool]:
    """File a claim, or find the same person's pending one for this centre
    (False: nothing new was filed, nobody is e-mailed twice). Raises
    AlreadyKept when the centre has an editor."""
    if is_kept_by_centre(session, organization):
        raise AlreadyKept(organization.slug)
    email = accounts.normalise_email(email)
    pending = session.scalar(select(ListingClaim).where(
        ListingClaim.organization_id == organization.id,
        ListingClaim.email == email,
        ListingClaim.status == "pending",
    ))
    if pending is not None:
        return pending, False
    claim = ListingClaim(
        organization=organization, name=name.strip(), email=email, role=role.strip(),
        message=message.strip(), language=language, status="pending",
    )
    session.add(claim)
    session.flush()
    audit.record(session, "claim-request", None, "listing_claim", claim.id,
                 organization=organization.slug, email=email)
    for admin in session.scalars(select(User).where(User.role == "admin", User.status == "active")):
        with force_locale(admin.language):
            queue_email(
                session, admin.email,
                gettext("Someone asks to keep a listing: %(name)s", name=organization.name),
                gettext("%(person)s (%(email)s) asks to keep the listing of %(name)s. Approve or refuse "
                        "it in the administration: %(url)s",
                        person=claim.name, email=email, name=organization.name,
                        url=public_url("admin.claims_queue", lang_code=admin.language)),
            )
    return claim, True


def count_pending(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ListingClaim).where(
        ListingClaim.status == "pending")) or 0


def pending_claims(session: Session) -> list[ListingClaim]:
    """Claims waiting for an administrator, oldest first (they waited longest)."""
    return list(session.scalars(
        select(ListingClaim)
        .where(ListingClaim.status == "pending")
        .options(selectinload(ListingClaim.organization))
        .order_by(ListingClaim.created_at, ListingClaim.id)
    ))


def get_claim(session: Session, claim_id: int) -> ListingClaim | None:
    return session.get(ListingClaim, claim_id)


def _decided(claim: ListingClaim, actor: User, status: str) -> None:
    if claim.status != "pending":
        raise Refused(_l("This request has been decided already."))
    claim.status = status
    claim.decided_at = datetime.now(timezone.utc)
    claim.decided_by = actor


def _editor_account(session: Session, claim: ListingClaim) -> tuple[User, bool]:
    """The account that will keep the listing: the one with the claim's
    e-mail, or a new active editor (True) with a password nobody knows, to be
    chosen through a password-reset link."""
    user = accounts.find_user(session, claim.email)
    if user is None:
        user = User(email=claim.email, name=claim.name, role="editor", status="active",
                    language=claim.language, approved_at=datetime.now(timezone.utc))
        accounts.set_password(user, secrets.token_urlsafe(32))
        session.add(user)
        session.flush()
        return user, True
    if user.role != "editor":
        raise Refused(_l("The account with this e-mail is not a centre editor's. Change its role "
                         "first, or refuse the request."))
    if user.status == "disabled":
        raise Refused(_l("The account with this e-mail is disabled. Enable it first, or refuse the request."))
    if user.status == "pending":
        accounts.approve(user)  # the admin vouches for the person by approving the claim
    return user, False


def approve_claim(session: Session, claim: ListingClaim, actor: User) -> User:
    """The person becomes an editor of the organization, and is told by
    e-mail in the language they asked in: how to sign in, or, for a new
    account, a link to choose a password."""
    _decided(claim, actor, "approved")
    organization = claim.organization
    user, created = _editor_account(session, claim)
    if not any(org.id == organization.id for org in user.organizations):
        user.organizations.append(organization)
    claim.user = user
    audit.record(session, "claim-approve", actor, "listing_claim", claim.id, organization=organization.slug,
                 email=claim.email, account="created" if created else "linked", user_id=user.id)
    lang = claim.language
    with force_locale(lang):
        subject = gettext("You can now keep the listing of %(name)s", name=organization.name)
        body = gettext(
            "Hello %(person)s,\n\nan administrator approved your request: you can now keep the listing of "
            "%(name)s in the social services directory up to date.", person=claim.name, name=organization.name,
        )
        if created:
            body += "\n\n" + gettext(
                "An account was made for you with this e-mail address. Choose its password with this link "
                "within an hour: %(link)s\nIf the hour has passed, ask for a new link: %(reset)s",
                link=public_url("auth.reset", lang_code=lang, token=accounts.password_reset_token(user)),
                reset=public_url("auth.reset_request", lang_code=lang),
            )
        else:
            body += "\n\n" + gettext("Sign in: %(url)s", url=public_url("auth.login", lang_code=lang))
        body += "\n\n" + gettext("Its page: %(url)s", url=public_url("public.centre", lang_code=lang,
                                                                     slug=organization.slug))
    queue_email(session, claim.email, subject, body)
    return user


def refuse_claim(session: Session, claim: ListingClaim, actor: User, reason: str) -> None:
    """Refuse with a reason, which the person receives by e-mail."""
    reason = reason.strip()
    if not reason:
        raise Refused(_l("Write why the request is refused: the person receives it."))
    _decided(claim, actor, "refused")
    claim.reason = reason
    organization = claim.organization
    audit.record(session, "claim-refuse", actor, "listing_claim", claim.id, organization=organization.slug,
                 email=claim.email, reason=reason)
    with force_locale(claim.language):
        subject = gettext("Your request to keep the listing of %(name)s", name=organization.name)
        body = gettext(
            "Hello %(person)s,\n\nan administrator refused your request to keep the listing of %(name)s in the "
            "social services directory, for this reason:\n\n%(reason)s",
            person=claim.name, name=organization.name, reason=reason,
        )
    queue_email(session, claim.email, subject, body)
