"""Accounts: sign-up requests, approval, passwords and their reset links.
Plain functions over a session; the auth and admin views call them."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .models import User

MIN_PASSWORD_LENGTH = 10
RESET_MAX_AGE_SECONDS = 3600
# A hash of a password nobody has: checking it costs the same time as a real
# check, so a wrong e-mail answers no faster than a wrong password.
_DUMMY_HASH = generate_password_hash("not a password anyone has")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(password)


def spend_hashing_time(password: str) -> None:
    """Hash and forget: where one answer would otherwise come faster than
    another (a sign-up for an existing address), both take as long."""
    generate_password_hash(password)


def request_account(
    session: Session, *, email: str, name: str, password: str, role: str, note: str, language: str
) -> User:
    """A sign-up is a request: the account waits for an admin's approval."""
    user = User(email=normalise_email(email), name=name.strip(), role=role, status="pending",
                request_note=note.strip() or None, language=language)
    set_password(user, password)
    session.add(user)
    return user


def create_admin(session: Session, *, email: str, name: str, password: str) -> User:
    user = User(email=normalise_email(email), name=name.strip(), role="admin", status="active",
                approved_at=datetime.now(timezone.utc))
    set_password(user, password)
    session.add(user)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account with this e-mail and password, or None."""
    user = find_user(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    user.last_login_at = datetime.now(timezone.utc)
    return user


def approve(user: User) -> None:
    user.status = "active"
    user.approved_at = datetime.now(timezone.utc)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def password_reset_token(user: User) -> str:
    # The token carries a piece of the current hash: once the password
    # changes, the link stops working.
    return _serializer().dumps({"id": user.id, "h": user.password_hash[-16:]})


def user_for_reset_token(session: Session, token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=RESET_MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    user = session.get(User, data.get("id")) if isinstance(data, dict) else None
    if user is None or user.password_hash[-16:] != data.get("h") or not user.is_active:
        return None
    return user
