"""Merging two organizations that are one: everything that references the
merged one moves to the one kept, the merged row is deleted, and an
OrganizationMerge remembers it, so that its old address and API id lead to
the kept one, and so that the merge can be undone while nothing changed.

Rows move through the ORM: the search triggers see each moved service and
location, and change tracking moves the services' `last_modified`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, DateTime, delete, insert, or_, select
from sqlalchemy.orm import Session

from . import audit
from .models import (
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
    User,
    organization_editor,
    utcnow,
)

# What references an organization by organization_id, by table name: each
# row moves to the kept organization, and back on undo.
MOVED = {
    "service": Service,
    "location": Location,
    "phone": Phone,
    "contact": Contact,
    "url": Url,
    "organization_identifier": OrganizationIdentifier,
    "revision": Revision,
    "referral": Referral,
    "problem_report": ProblemReport,
    "listing_claim": ListingClaim,
    "review_reminder": ReviewReminder,
}
# Those of them Organization holds as collections (deleted with it).
IN_COLLECTIONS = {"service", "location", "phone", "contact", "url", "organization_identifier"}


class Refused(ValueError):
    """A merge or an undo that cannot be done; the message says why."""


@dataclass
class Preview:
    """What a merge would move: rows by table, and the names worth showing."""

    kept: Organization
    merged: Organization
    counts: dict[str, int]
    editors: int
    children: int
    services: list[str]
    locations: list[str]


def find_organization(session: Session, key: str | None) -> Organization | None:
    """An organization by id or slug (what an admin pastes)."""
    key = (key or "").strip()
    if not key:
        return None
    return session.get(Organization, key) or session.scalar(select(Organization).where(Organization.slug == key))


def _check(kept: Organization, merged: Organization) -> None:
    if kept.id == merged.id:
        raise Refused(_l("Choose two different organizations."))
    if kept.parent_organization_id == merged.id:
        raise Refused(_l("The organization to keep is run by the one to merge: keep the operator instead, "
                         "or change the operator first."))


def _rows(session: Session, model, organization_id: str) -> list:
    return list(session.scalars(select(model).where(model.organization_id == organization_id).order_by(model.id)))


def _editor_ids(session: Session, organization_id: str) -> set[int]:
    return set(session.scalars(select(organization_editor.c.user_id)
                               .where(organization_editor.c.organization_id == organization_id)))


def _children(session: Session, organization_id: str) -> list[Organization]:
    return list(session.scalars(select(Organization).where(Organization.parent_organization_id == organization_id)
                                .order_by(Organization.id)))


def preview(session: Session, kept: Organization, merged: Organization) -> Preview:
    """What merge() would move, without moving it. Refused when it cannot."""
    _check(kept, merged)
    counts = {table: len(_rows(session, model, merged.id)) for table, model in MOVED.items()}
    return Preview(
        kept=kept, merged=merged, counts=counts,
        editors=len(_editor_ids(session, merged.id) - _editor_ids(session, kept.id)),
        children=len(_children(session, merged.id)),
        services=[service.name for service in merged.services],
        locations=[location.name or "" for location in merged.locations],
    )


def _columns(organization: Organization) -> dict:
    """The organization's own columns, as JSON can hold them."""
    values = {}
    for column in Organization.__table__.columns:
        value = getattr(organization, column.key)
        values[column.key] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return values


def _from_columns(values: dict) -> dict:
    parsed = {}
    for column in Organization.__table__.columns:
        value = values.get(column.key)
        if value is not None and isinstance(column.type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(column.type, Date):
            value = date.fromisoformat(value)
        parsed[column.key] = value
    return parsed


def _versions(session: Session, organization_id: str) -> dict:
    """What undo checks is unchanged: the organization's version and its
    services' and locations' versions."""
    return {
        "organization": session.scalar(select(Organization.version).where(Organization.id == organization_id)),
        "service": {i: v for i, v in session.execute(
            select(Service.id, Service.version).where(Service.organization_id == organization_id))},
        "location": {i: v for i, v in session.execute(
            select(Location.id, Location.version).where(Location.organization_id == organization_id))},
    }


def merge(session: Session, kept: Organization, merged: Organization, user: User | None) -> OrganizationMerge:
    """Move everything of `merged` to `kept`, delete `merged`, and record it
    (no commit). Editors of both stay editors of the kept one."""
    _check(kept, merged)
    moved: dict[str, list] = {}
    removed_reminders = []
    kept_stages = {(r.stage, r.reviewed_on) for r in _rows(session, ReviewReminder, kept.id)}
    with session.no_autoflush:
        for table, model in MOVED.items():
            rows = _rows(session, model, merged.id)
            if model is ReviewReminder:
                # One reminder per organization, stage and review date: the kept one's stands.
                clash = [r for r in rows if (r.stage, r.reviewed_on) in kept_stages]
                removed_reminders = [{"id": r.id, "stage": r.stage, "reviewed_on": r.reviewed_on.isoformat(),
                                      "sent_at": r.sent_at.isoformat()} for r in clash]
                for reminder in clash:
                    session.delete(reminder)
                rows = [r for r in rows if r not in clash]
            for row in rows:
                if table in IN_COLLECTIONS:
                    row.organization = kept  # also leaves merged's collection, whose delete would take it
                else:
                    row.organization_id = kept.id
            moved[table] = [row.id for row in rows]
        children = _children(session, merged.id)
        for child in children:
            child.parent = kept
        moved["organization"] = [child.id for child in children]
        earlier = list(session.scalars(select(OrganizationMerge).where(OrganizationMerge.kept_id == merged.id)))
        for record in earlier:
            record.kept_id = kept.id  # older addresses of the merged one follow it here
        moved["organization_merge"] = [record.id for record in earlier]

    merged_editors, kept_editors = _editor_ids(session, merged.id), _editor_ids(session, kept.id)
    new_editors = sorted(merged_editors - kept_editors)
    if new_editors:
        session.execute(insert(organization_editor),
                        [{"user_id": user_id, "organization_id": kept.id} for user_id in new_editors])
    session.execute(delete(organization_editor).where(organization_editor.c.organization_id == merged.id))

    columns = _columns(merged)
    session.flush()
    session.expire(merged)
    session.delete(merged)
    session.flush()
    session.expire_all()  # users' and organizations' collections saw the link table change underneath

    snapshot = {
        "organization": columns,
        "moved": moved,
        "editors_moved": new_editors,
        "editors_shared": sorted(merged_editors & kept_editors),
        "removed_reminders": removed_reminders,
        "after": _versions(session, kept.id),
    }
    record = OrganizationMerge(kept_id=kept.id, merged_id=columns["id"], merged_slug=columns["slug"],
                               merged_name=columns["name"], snapshot=json.dumps(snapshot, ensure_ascii=False),
                               user_id=user.id if user is not None else None)
    session.add(record)
    session.flush()
    audit.record(session, "organization-merge", user, "organization", kept.id, merge=record.id,
                 merged_id=columns["id"], merged_slug=columns["slug"], merged_name=columns["name"],
                 moved={table: len(ids) for table, ids in moved.items() if ids})
    return record


def why_not_undo(session: Session, record: OrganizationMerge) -> str | None:
    """Why this merge can no longer be undone, or None when it can: it was
    undone already, something of the kept organization changed since, or it
    was merged again."""
    if record.undone_at is not None:
        return str(_l("This merge was undone already."))
    snapshot = json.loads(record.snapshot)
    if session.get(Organization, record.kept_id) is None:
        return str(_l("The organization kept no longer exists."))
    later = session.scalar(select(OrganizationMerge.id).where(
        OrganizationMerge.id > record.id, OrganizationMerge.undone_at.is_(None),
        or_(OrganizationMerge.kept_id == record.kept_id, OrganizationMerge.merged_id == record.kept_id)))
    if later is not None:
        return str(_l("The organization kept was merged with another one since: undo that merge first."))
    if _versions(session, record.kept_id) != snapshot["after"]:
        return str(_l("The organization kept, or one of its services or locations, was edited since the merge: "
                      "undoing would lose those changes. Edit the organizations by hand instead."))
    taken = session.scalar(select(Organization.id).where(
        or_(Organization.id == record.merged_id, Organization.slug == record.merged_slug)))
    if taken is not None:
        return str(_l("Another organization now has the merged one's address."))
    return None


def undo(session: Session, record: OrganizationMerge, user: User | None) -> Organization:
    """Recreate the merged organization and move back exactly what the merge
    moved (no commit). Refused (saying why) when something changed since."""
    reason = why_not_undo(session, record)
    if reason is not None:
        raise Refused(reason)
    snapshot = json.loads(record.snapshot)
    merged = Organization(**_from_columns(snapshot["organization"]))
    session.add(merged)
    session.flush()
    kept = session.get(Organization, record.kept_id)
    moved = snapshot["moved"]
    with session.no_autoflush:
        for table, model in MOVED.items():
            ids = moved.get(table, [])
            for row in session.scalars(select(model).where(model.id.in_(ids))) if ids else []:
                if table in IN_COLLECTIONS:
                    row.organization = merged
                else:
                    row.organization_id = merged.id
        for child in session.scalars(select(Organization).where(Organization.id.in_(moved.get("organization", [])))):
            child.parent = merged
        for earlier in session.scalars(select(OrganizationMerge).where(
                OrganizationMerge.id.in_(moved.get("organization_merge", [])))):
            earlier.kept_id = merged.id
        for reminder in snapshot.get("removed_reminders", []):
            session.add(ReviewReminder(id=reminder["id"], organization_id=merged.id, stage=reminder["stage"],
                                       reviewed_on=date.fromisoformat(reminder["reviewed_on"]),
                                       sent_at=datetime.fromisoformat(reminder["sent_at"])))
    if snapshot["editors_moved"]:
        session.execute(delete(organization_editor).where(
            organization_editor.c.organization_id == kept.id,
            organization_editor.c.user_id.in_(snapshot["editors_moved"])))
    back = snapshot["editors_moved"] + snapshot["editors_shared"]
    if back:
        session.execute(insert(organization_editor),
                        [{"user_id": user_id, "organization_id": merged.id} for user_id in back])
    record.undone_at = utcnow()
    session.flush()
    session.expire_all()
    audit.record(session, "organization-merge-undo", user, "organization", record.merged_id, merge=record.id,
                 kept_id=record.kept_id, merged_slug=record.merged_slug)
    return merged


def moved_counts(record: OrganizationMerge) -> dict[str, int]:
    """Rows the merge moved, by table (for its page)."""
    snapshot = json.loads(record.snapshot)
    counts = {table: len(ids) for table, ids in snapshot["moved"].items()}
    counts["organization_editor"] = len(snapshot["editors_moved"])
    return counts


def _standing(session: Session, where) -> Organization | None:
    record = session.scalar(select(OrganizationMerge).where(where, OrganizationMerge.undone_at.is_(None))
                            .order_by(OrganizationMerge.id.desc()).limit(1))
    return record.kept if record is not None else None


def kept_for_slug(session: Session, slug: str) -> Organization | None:
    """The organization a merged organization's address now leads to."""
    return _standing(session, OrganizationMerge.merged_slug == slug)


def kept_for_id(session: Session, organization_id: str) -> Organization | None:
    """The organization a merged organization's id now leads to."""
    return _standing(session, OrganizationMerge.merged_id == organization_id)


def recent_merges(session: Session, limit: int = 20) -> list[OrganizationMerge]:
    return list(session.scalars(select(OrganizationMerge).order_by(OrganizationMerge.id.desc()).limit(limit)))
