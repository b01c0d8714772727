"""Shortlists: services someone keeps aside to print, share or refer to.

A resident without an account keeps the list in the (signed) session cookie;
a signed-in user's list is saved in the database, so a social worker finds it
again on another computer. Signing in moves a session list into the saved one.
Both kinds answer the same three questions: which ids, add, remove.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from .models import Location, Organization, Service, ShortlistItem, User

SESSION_KEY = "shortlist"


class Shortlist:
    """Service ids, oldest first, at most `limit` of them; subclasses say
    where they are kept."""

    limit: int

    def ids(self) -> list[str]:
        raise NotImplementedError

    def _append(self, service_id: str) -> None:
        raise NotImplementedError

    def remove(self, service_id: str) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def add(self, service_id: str) -> bool:
        """True when the service is on the list (now or already); False when the list is full."""
        ids = self.ids()
        if service_id in ids:
            return True
        if len(ids) >= self.limit:
            return False
        self._append(service_id)
        return True


class SessionShortlist(Shortlist):
    """Ids in the session cookie."""

    def __init__(self, cookie_session: MutableMapping, limit: int) -> None:
        self.cookie_session = cookie_session
        self.limit = limit

    def ids(self) -> list[str]:
        stored = self.cookie_session.get(SESSION_KEY)
        return [value for value in stored if isinstance(value, str)] if isinstance(stored, list) else []

    def _append(self, service_id: str) -> None:
        self.cookie_session[SESSION_KEY] = self.ids() + [service_id]

    def remove(self, service_id: str) -> None:
        self.cookie_session[SESSION_KEY] = [value for value in self.ids() if value != service_id]

    def clear(self) -> None:
        self.cookie_session.pop(SESSION_KEY, None)


class SavedShortlist(Shortlist):
    """A signed-in user's list, in the shortlist_item table."""

    def __init__(self, session: Session, user: User, limit: int) -> None:
        self.session = session
        self.user = user
        self.limit = limit

    def ids(self) -> list[str]:
        return list(self.session.scalars(
            select(ShortlistItem.service_id)
            .where(ShortlistItem.user_id == self.user.id)
            .order_by(ShortlistItem.added_at, ShortlistItem.service_id)
        ))

    def _append(self, service_id: str) -> None:
        # Two requests at once (a double click) both find the service missing
        # and both insert: the second insert does nothing instead of failing
        # on the primary key.
        # (The directory runs on PostgreSQL or SQLite; both say ON CONFLICT.)
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        self.session.execute(
            dialect.insert(ShortlistItem)
            .values(user_id=self.user.id, service_id=service_id)
            .on_conflict_do_nothing()
        )

    def remove(self, service_id: str) -> None:
        self.session.execute(delete(ShortlistItem).where(
            ShortlistItem.user_id == self.user.id, ShortlistItem.service_id == service_id
        ))

    def clear(self) -> None:
        self.session.execute(delete(ShortlistItem).where(ShortlistItem.user_id == self.user.id))


def shortlist_for(session: Session, user, cookie_session: MutableMapping, limit: int) -> Shortlist:
    if user is not None and user.is_authenticated:
        return SavedShortlist(session, user, limit)
    return SessionShortlist(cookie_session, limit)


def move_into_saved(session: Session, user: User, cookie_session: MutableMapping, limit: int) -> int:
    """On sign-in: the services shortlisted before signing in join the saved list."""
    pending = SessionShortlist(cookie_session, limit)
    saved = SavedShortlist(session, user, limit)
    moved = 0
    known = set(offered_ids(session, pending.ids()))
    for service_id in pending.ids():
        if service_id in known and saved.add(service_id):
            moved += 1
    pending.clear()
    return moved


def requested_ids(values: Iterable, limit: int) -> list[str]:
    """The first `limit` distinct values a request sends as service ids, so
    that a request with a huge list costs no more than a full shortlist (and
    never makes a query too large to run)."""
    wanted: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value not in wanted:
            if len(wanted) == limit:
                break
            wanted[value] = None
    return list(wanted)


def offered_ids(session: Session, service_ids: Iterable[str]) -> list[str]:
    """The ids, in their order, of services residents can still find."""
    wanted = [value for value in dict.fromkeys(service_ids) if isinstance(value, str) and len(value) <= 36]
    if not wanted:
        return []
    found = set(session.scalars(
        select(Service.id)
        .join(Service.organization)
        .where(Service.id.in_(wanted), Service.status == "active", Organization.status == "published")
    ))
    return [value for value in wanted if value in found]


def load_services(session: Session, service_ids: list[str]) -> list[Service]:
    """The services with what a printed list shows (directory.contact_card), in the list's order.
    Services retired since they were added are left out."""
    ids = offered_ids(session, service_ids)
    if not ids:
        return []
    services = session.scalars(
        select(Service)
        .where(Service.id.in_(ids))
        .options(
            selectinload(Service.organization).selectinload(Organization.locations).selectinload(Location.addresses),
            selectinload(Service.organization).selectinload(Organization.locations).selectinload(Location.schedules),
            selectinload(Service.organization).selectinload(Organization.locations).selectinload(Location.phones),
            selectinload(Service.organization).selectinload(Organization.phones),
            selectinload(Service.schedules),
            selectinload(Service.phones),
            selectinload(Service.required_documents),
        )
    ).all()
    by_id = {service.id: service for service in services}
    return [by_id[value] for value in ids]
