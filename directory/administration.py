"""What administrators do: approve accounts, link editors to their centres,
review proposed organizations, keep the taxonomy's translations, read the
audit log, resolve residents' problem reports.

Plain functions over a session; the admin views call them and commit. Each
change is written to the audit log in the same transaction, and e-mail goes
through the outbox in the recipient's own language. A change that is not
allowed raises `Refused`, whose message is ready to show."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from . import accounts, audit, sign_ins
from .i18n import default_language, supported_languages
from .mail import queue_email
from .models import (
    ROLES,
    AuditEvent,
    Location,
    Organization,
    ProblemReport,
    Revision,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
    User,
    organization_editor,
)
from .search_language import synonyms_text
from .seeding import TERM_DESCRIPTION_LANGUAGE, stable_id

# The vocabularies admins keep, in the order the taxonomy page shows them.
VOCABULARIES = ("service-type", "target-group")
TERM_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
AUDIT_PAGE_SIZE = 50


class Refused(Exception):
    """An action an administrator may not take; `str()` is a translated message."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- overview


def counts(session: Session) -> dict[str, int]:
    """What waits for an administrator: the figures on the admin index."""

    def count(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "pending_accounts": count(User, User.status == "pending"),
        "pending_organizations": count(Organization, Organization.status == "pending"),
        "open_reports": count(ProblemReport, ProblemReport.status == "open"),
    }


# ---------------------------------------------------------------- accounts


@dataclass
class AccountLists:
    pending: list[User] = field(default_factory=list)
    active: list[User] = field(default_factory=list)
    disabled: list[User] = field(default_factory=list)


def list_accounts(session: Session) -> AccountLists:
    """Sign-up requests (oldest first: they have waited longest), then active
    and disabled accounts by name."""
    lists = AccountLists()
    users = session.scalars(
        select(User).options(selectinload(User.organizations)).order_by(User.created_at, User.id)
    ).all()
    for user in users:
        getattr(lists, user.status if user.status in ("pending", "disabled") else "active").append(user)
    lists.active.sort(key=lambda u: (u.name.casefold(), u.id))
    lists.disabled.sort(key=lambda u: (u.name.casefold(), u.id))
    return lists


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def approve_account(
    session: Session, user: User, actor: User, *, sign_in_url: Callable[[str], str] | None = None
) -> None:
    """A sign-up request becomes an active account; the person is told by
    e-mail, in the language they asked in. `sign_in_url(lang)` gives the
    sign-in page's address for the message."""
    if user.status != "pending":
        raise Refused(_l("Only a pending request can be approved."))
    accounts.approve(user)
    audit.record(session, "account-approve", actor, "user", user.id, email=user.email, role=user.role)
    with force_locale(user.language):
        subject = gettext("Your account is approved")
        body = gettext(
            "Hello %(name)s,\n\nan administrator approved your account in the social services "
            "directory. You can sign in now with your e-mail address and the password you chose.",
            name=user.name,
        )
        if sign_in_url is not None:
            body += "\n\n" + gettext("Sign in: %(url)s", url=sign_in_url(user.language))
    queue_email(session, user.email, subject, body)


def refuse_account(session: Session, user: User, actor: User) -> None:
    """A sign-up request is refused: the request is deleted (the audit log
    keeps who asked)."""
    if user.status != "pending":
        raise Refused(_l("Only a pending request can be refused."))
    audit.record(session, "account-refuse", actor, "user", user.id, email=user.email, name=user.name, role=user.role)
    _forget_user(session, user)


def _forget_user(session: Session, user: User) -> None:
    # The foreign keys say SET NULL, but SQLite enforces them only when asked.
    session.execute(update(AuditEvent).where(AuditEvent.user_id == user.id).values(user_id=None))
    session.execute(update(Revision).where(Revision.user_id == user.id).values(user_id=None))
    session.execute(
        update(ProblemReport).where(ProblemReport.resolved_by_id == user.id).values(resolved_by_id=None)
    )
    user.organizations.clear()
    sign_ins.end_all(session, user)
    session.delete(user)


def disable_account(session: Session, user: User, actor: User) -> None:
    """An active account stops signing in; the record and its history stay."""
    if user.id == actor.id:
        raise Refused(_l("You cannot disable your own account."))
    if user.status != "active":
        raise Refused(_l("Only an active account can be disabled."))
    user.status = "disabled"
    # Every sign-in ends now: enabling the account later must not revive them.
    sign_ins.end_all(session, user)
    audit.record(session, "account-disable", actor, "user", user.id, email=user.email)


def enable_account(session: Session, user: User, actor: User) -> None:
    if user.status != "disabled":
        raise Refused(_l("Only a disabled account can be enabled."))
    user.status = "active"
    audit.record(session, "account-enable", actor, "user", user.id, email=user.email)


def change_role(session: Session, user: User, actor: User, role: str) -> bool:
    """Give an account another role; False if it already had it. Only
    editors edit centres: an account that stops being one loses its links."""
    if role not in ROLES:
        raise Refused(_l("Choose one of the listed roles."))
    if user.id == actor.id:
        raise Refused(_l("You cannot change your own role."))
    if user.role == role:
        return False
    detail = {"before": user.role, "after": role}
    if role != "editor" and user.organizations:
        detail["unlinked"] = [org.slug for org in user.organizations]
        user.organizations.clear()
    user.role = role
    audit.record(session, "account-role", actor, "user", user.id, **detail)
    return True


# ------------------------------------------------- editors and organizations


def get_organization(session: Session, organization_id: str) -> Organization | None:
    return session.get(Organization, organization_id)


def linkable_organizations(session: Session, user: User) -> list[Organization]:
    """Organizations the editor does not edit yet, by name."""
    linked = {org.id for org in user.organizations}
    organizations = session.scalars(
        select(Organization)
        .options(selectinload(Organization.locations).selectinload(Location.addresses))
        .order_by(Organization.name, Organization.slug)
    ).all()
    return [org for org in organizations if org.id not in linked]


def organization_place(org: Organization) -> str:
    """The town or municipality of an organization's first address, to tell
    apart centres that share a name."""
    for location in org.locations:
        address = location.physical_address
        if address is not None and (address.city or address.municipality):
            return address.city or address.municipality or ""
    return ""


def link_organization(session: Session, user: User, actor: User, organization: Organization) -> bool:
    """The editor may now edit `organization`; False if they already could."""
    if user.role != "editor":
        raise Refused(_l("Only centre editors can be linked to organizations."))
    if any(org.id == organization.id for org in user.organizations):
        return False
    user.organizations.append(organization)
    audit.record(session, "editor-link", actor, "user", user.id, organization=organization.slug)
    return True


def unlink_organization(session: Session, user: User, actor: User, organization: Organization) -> bool:
    """The editor no longer edits `organization`; False if they did not."""
    linked = [org for org in user.organizations if org.id == organization.id]
    if not linked:
        return False
    user.organizations.remove(linked[0])
    audit.record(session, "editor-unlink", actor, "user", user.id, organization=organization.slug)
    return True


# ---------------------------------------------------------------- review queue


def pending_organizations(session: Session) -> list[Organization]:
    """Organizations proposed by editors, waiting for review; oldest first."""
    return list(
        session.scalars(
            select(Organization)
            .where(Organization.status == "pending")
            .options(
                selectinload(Organization.services),
                selectinload(Organization.locations).selectinload(Location.addresses),
                selectinload(Organization.phones),
                selectinload(Organization.parent),
            )
            .order_by(Organization.created_at, Organization.name)
        ).all()
    )


def editors_of(session: Session, organization: Organization) -> list[User]:
    """The accounts linked to an organization, by name."""
    return list(
        session.scalars(
            select(User)
            .join(organization_editor, organization_editor.c.user_id == User.id)
            .where(organization_editor.c.organization_id == organization.id)
            .order_by(User.name, User.id)
        ).all()
    )


def approve_organization(
    session: Session, organization: Organization, actor: User, *, centre_url: Callable[[str], str] | None = None
) -> None:
    """A proposed organization is published: residents find it at once (the
    search index follows the database). Its editors are told by e-mail;
    `centre_url(lang)` gives its public page's address for the message."""
    if organization.status != "pending":
        raise Refused(_l("This organization is not waiting for review."))
    organization.status = "published"
    audit.record(session, "organization-approve", actor, "organization", organization.id,
                 name=organization.name, slug=organization.slug)
    for editor in editors_of(session, organization):
        if editor.status != "active":
            continue
        with force_locale(editor.language):
            subject = gettext("Published: %(name)s", name=organization.name)
            body = gettext(
                "Hello %(user)s,\n\nan administrator approved “%(name)s”: it is now published in "
                "the social services directory.",
                user=editor.name, name=organization.name,
            )
            if centre_url is not None:
                body += "\n\n" + gettext("Its page: %(url)s", url=centre_url(editor.language))
        queue_email(session, editor.email, subject, body)


def reject_organization(session: Session, organization: Organization, actor: User) -> None:
    """A proposed organization is refused and deleted, with everything it
    holds; its editors are told by e-mail."""
    if organization.status != "pending":
        raise Refused(_l("This organization is not waiting for review."))
    editors = editors_of(session, organization)
    audit.record(session, "organization-reject", actor, "organization", organization.id,
                 name=organization.name, slug=organization.slug)
    for editor in editors:
        if editor.status != "active":
            continue
        with force_locale(editor.language):
            subject = gettext("Not published: %(name)s", name=organization.name)
            body = gettext(
                "Hello %(user)s,\n\nan administrator reviewed “%(name)s” and did not publish it; "
                "the proposal is deleted. Write to the directory's administrators if you want to "
                "know why.",
                user=editor.name, name=organization.name,
            )
        queue_email(session, editor.email, subject, body)
    # The foreign keys cascade, but SQLite enforces them only when asked:
    # remove what points at the organization here.
    for editor in editors:
        if organization in editor.organizations:
            editor.organizations.remove(organization)
    session.execute(delete(ProblemReport).where(ProblemReport.organization_id == organization.id))
    session.execute(
        update(Revision).where(Revision.organization_id == organization.id).values(organization_id=None)
    )
    for child in list(organization.children):
        child.parent = None
    session.delete(organization)


# ---------------------------------------------------------------- taxonomy


def vocabularies(session: Session) -> list[Taxonomy]:
    """The service types and the target groups, each term with its labels."""
    taxonomies = session.scalars(
        select(Taxonomy)
        .where(Taxonomy.code.in_(VOCABULARIES))
        .options(selectinload(Taxonomy.terms).selectinload(TaxonomyTerm.labels))
    ).all()
    return sorted(taxonomies, key=lambda t: VOCABULARIES.index(t.code))


def get_taxonomy(session: Session, code: str) -> Taxonomy | None:
    if code not in VOCABULARIES:
        return None
    return session.scalar(select(Taxonomy).where(Taxonomy.code == code))


def get_term(session: Session, term_id: str) -> TaxonomyTerm | None:
    return session.get(TaxonomyTerm, term_id)


def term_labels(term: TaxonomyTerm) -> dict[str, str]:
    """The term's label in each configured language ("" where it has none)."""
    found = {label.locale: label.name for label in term.labels}
    return {locale: found.get(locale, "") for locale in supported_languages()}


def term_synonyms(term: TaxonomyTerm) -> dict[str, str]:
    """The term's synonyms in each configured language, one per line ("" for none)."""
    found = {label.locale: label.synonyms or "" for label in term.labels}
    return {locale: found.get(locale, "") for locale in supported_languages()}


def _set_synonyms(term: TaxonomyTerm, synonyms: dict[str, list[str]]) -> dict[str, list]:
    """Write the synonyms of the term's labels (one per line; every label
    exists by now); returns the changes as {"synonyms_<locale>": [before, after]}."""
    changes = {}
    existing = {label.locale: label for label in term.labels}
    for locale, words in synonyms.items():
        label = existing.get(locale)
        stored = synonyms_text(words)
        if label is not None and label.synonyms != stored:
            changes[f"synonyms_{locale}"] = [label.synonyms, stored]
            label.synonyms = stored
    return changes


def term_code_taken(session: Session, taxonomy: Taxonomy, code: str) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(TaxonomyTerm)
            .where(TaxonomyTerm.taxonomy_id == taxonomy.id, TaxonomyTerm.code == code)
        )
        > 0
    )


def _clean_labels(labels: dict[str, str]) -> dict[str, str]:
    """A label in each configured language, trimmed; every term has them all."""
    cleaned = {locale: (labels.get(locale) or "").strip() for locale in supported_languages()}
    if not all(cleaned.values()):
        raise Refused(_l("Every term needs a name in each language."))
    return cleaned


def _set_labels(term: TaxonomyTerm, labels: dict[str, str]) -> dict[str, list]:
    """Write the labels; returns the changes as {locale: [before, after]}."""
    changes = {}
    existing = {label.locale: label for label in term.labels}
    for locale, name in labels.items():
        label = existing.get(locale)
        if label is None:
            term.labels.append(TaxonomyTermLabel(locale=locale, name=name))
            changes[locale] = [None, name]
        elif label.name != name:
            changes[locale] = [label.name, name]
            label.name = name
    # The label in the default language is also the term's own name.
    term.name = labels[default_language()]
    return changes


def update_term(
    session: Session, term: TaxonomyTerm, actor: User, *, labels: dict[str, str], lt_catalogue_code: str | None,
    synonyms: dict[str, list[str]] | None = None,
) -> bool:
    """Change a term's labels (one per language, trimmed), their synonyms
    (when given) and its code in Lithuania's catalogue; False if nothing changed."""
    labels = _clean_labels(labels)
    changes = _set_labels(term, labels)
    changes.update(_set_synonyms(term, synonyms or {}))
    lt_code = (lt_catalogue_code or "").strip() or None
    if lt_code != term.lt_catalogue_code:
        changes["lt_catalogue_code"] = [term.lt_catalogue_code, lt_code]
        term.lt_catalogue_code = lt_code
    if not changes:
        return False
    audit.record(session, "term-update", actor, "taxonomy_term", term.id,
                 taxonomy=term.taxonomy.code, code=term.code, changes=changes)
    return True


def add_term(
    session: Session,
    taxonomy: Taxonomy,
    actor: User,
    *,
    code: str,
    labels: dict[str, str],
    lt_catalogue_code: str | None,
    synonyms: dict[str, list[str]] | None = None,
) -> TaxonomyTerm:
    """A new term at the end of its vocabulary. Its id derives from the
    vocabulary and the code, as the seed's do, so that adding the same term to
    the starter file later updates this one instead of duplicating it."""
    code = (code or "").strip()
    if not TERM_CODE.match(code):
        raise Refused(_l("Use only lowercase letters a–z, digits and hyphens, such as day-centre."))
    if term_code_taken(session, taxonomy, code):
        raise Refused(_l("A term with this code already exists in this vocabulary."))
    labels = _clean_labels(labels)
    last = session.scalar(
        select(func.max(TaxonomyTerm.position)).where(TaxonomyTerm.taxonomy_id == taxonomy.id)
    )
    term = TaxonomyTerm(
        id=stable_id(f"taxonomy_term:{taxonomy.code}", code),
        taxonomy=taxonomy,
        code=code,
        name=labels[default_language()],
        description=labels.get(TERM_DESCRIPTION_LANGUAGE, ""),
        lt_catalogue_code=(lt_catalogue_code or "").strip() or None,
        position=(last + 1) if last is not None else 0,
    )
    synonyms = synonyms or {}
    for locale, name in labels.items():
        term.labels.append(TaxonomyTermLabel(locale=locale, name=name,
                                             synonyms=synonyms_text(synonyms.get(locale, []))))
    session.add(term)
    audit.record(session, "term-create", actor, "taxonomy_term", term.id,
                 taxonomy=taxonomy.code, code=code, labels=labels,
                 synonyms={locale: words for locale, words in synonyms.items() if words})
    return term


# ---------------------------------------------------------------- audit log


@dataclass
class AuditPage:
    events: list[AuditEvent]
    page: int
    pages: int
    total: int
    action: str | None


def parse_page(value: str | None) -> int:
    """A page number from the query string; anything else is page 1."""
    if value is None or not value.isdigit():
        return 1
    number = int(value)
    return number if number >= 1 else 1


def audit_actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all())


def audit_page(
    session: Session, page: int = 1, action: str | None = None, page_size: int = AUDIT_PAGE_SIZE
) -> AuditPage:
    """One page of the log, newest first; a page past the end is page 1."""
    where = [AuditEvent.action == action] if action else []
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    if page < 1 or page > pages:
        page = 1
    events = session.scalars(
        select(AuditEvent)
        .where(*where)
        .options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return AuditPage(list(events), page, pages, total, action or None)


def detail_text(event: AuditEvent) -> str:
    """An event's detail as plain text: "key: value; …" (shown escaped)."""
    if not event.detail:
        return ""
    try:
        data = json.loads(event.detail)
    except ValueError:
        return event.detail
    if not isinstance(data, dict):
        return event.detail

    def show(value) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    return "; ".join(f"{key}: {show(value)}" for key, value in data.items())


# ---------------------------------------------------------------- problem reports


def problem_reports(session: Session) -> list[ProblemReport]:
    """Open reports first, newest first within each group."""
    return list(
        session.scalars(
            select(ProblemReport)
            .options(selectinload(ProblemReport.organization), selectinload(ProblemReport.resolved_by))
            .order_by(
                (ProblemReport.status == "open").desc(),
                ProblemReport.created_at.desc(),
                ProblemReport.id.desc(),
            )
        ).all()
    )


def get_report(session: Session, report_id: int) -> ProblemReport | None:
    return session.get(ProblemReport, report_id)


def resolve_report(session: Session, report: ProblemReport, actor: User) -> None:
    if report.status != "open":
        raise Refused(_l("This report is already resolved."))
    report.status = "resolved"
    report.resolved_by = actor
    report.resolved_at = _now()
    audit.record(session, "report-resolve", actor, "problem_report", report.id,
                 organization=report.organization.slug, kind=report.kind)

