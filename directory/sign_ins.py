"""Sign-ins that can be ended on the server.

Flask's session and Flask-Login's remember cookie are signed, not stored: a
copied cookie would otherwise work until it expires, whatever the user or an
administrator does. Each sign-in therefore gets a random key, kept (hashed)
in `user_session` and carried in the cookies through `User.get_id()`. Signing
out deletes that sign-in; a password change or reset, "sign out everywhere"
and disabling the account delete all of the user's sign-ins. A sign-in also
ends on the server after its lifetime, whatever the cookie says."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import User, UserSession

# Remember-me never lasts longer than this, whatever the configuration says.
LONGEST_REMEMBER = timedelta(days=14)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def lifetime(config, remember: bool) -> timedelta:
    """How long a sign-in lasts: SIGN_IN_LIFETIME (12 hours), or with "keep me
    signed in" REMEMBER_COOKIE_DURATION (at most 14 days)."""
    if remember:
        return min(_as_timedelta(config["REMEMBER_COOKIE_DURATION"]), LONGEST_REMEMBER)
    return _as_timedelta(config["SIGN_IN_LIFETIME"])


def _as_timedelta(value) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def start(session: Session, user: User, *, remember: bool, duration: timedelta) -> str:
    """A new sign-in of `user`; sets `user.login_key` so that get_id() names it."""
    key = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, key_hash=_hash(key), remember=remember,
                            created_at=_now(), expires_at=_now() + duration))
    user.login_key = key
    return key


def user_for(session: Session, user_id: str) -> User | None:
    """The active user whose unexpired sign-in `user_id` (from get_id()) names, or None."""
    number, _, key = user_id.partition(".")
    if not number.isdigit() or not key:
        return None  # a cookie from before sign-ins were kept: sign in again
    user = session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(User.id == int(number), UserSession.key_hash == _hash(key), UserSession.expires_at > _now())
    )
    if user is None or not user.is_active:
        return None
    user.login_key = key
    return user


def current(session: Session, user: User) -> UserSession | None:
    if not user.login_key:
        return None
    return session.scalar(select(UserSession).where(UserSession.key_hash == _hash(user.login_key)))


def end(session: Session, user: User) -> None:
    """Sign out this sign-in only."""
    if user.login_key:
        session.execute(delete(UserSession).where(UserSession.key_hash == _hash(user.login_key)))
        user.login_key = None


def end_all(session: Session, user: User) -> int:
    """Sign `user` out on every device; returns how many sign-ins ended."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    user.login_key = None
    return result.rowcount or 0


def delete_expired(session: Session) -> int:
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= _now()))
    return result.rowcount or 0
