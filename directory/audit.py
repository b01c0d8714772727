"""The audit log: who did what, when, to which record."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from .models import AuditEvent, User


def record(
    session: Session,
    action: str,
    user: User | None = None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    **detail,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        user_id=user.id if user is not None and user.is_authenticated else None,
        subject_type=subject_type,
        subject_id=str(subject_id) if subject_id is not None else None,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
    )
    session.add(event)
    return event
