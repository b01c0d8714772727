"""E-mail goes through an outbox table: written in the same transaction as
the change that causes it, logged, and sent by SMTP when MAIL_SERVER is
configured (`flask --app directory send-mail`, e.g. from cron)."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import OutboxMessage

log = logging.getLogger(__name__)


def public_url(endpoint: str, **values) -> str:
    """An absolute link for an e-mail, always on PUBLIC_BASE_URL. Never built
    from the request: a forged Host header would otherwise put an attacker's
    site into a genuine password-reset or referral e-mail."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    current_app.inject_url_defaults(endpoint, values)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def queue_email(session: Session, recipient: str, subject: str, body: str) -> OutboxMessage:
    # A subject is one line: names in it may come from imported data, and a
    # line break would make the header unusable (forms refuse them already).
    message = OutboxMessage(recipient=recipient.strip(), subject=" ".join(subject.split())[:300], body=body)
    session.add(message)
    log.info("E-mail to %s queued: %s", recipient, subject)
    return message


@dataclass
class SendReport:
    sent: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)  # (message id, error)


def _connect(config) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
    if config.get("MAIL_USE_TLS"):
        smtp.starttls()
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
    return smtp


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The message as sent; raises ValueError for a header it cannot hold."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    return email


def send_pending(session: Session) -> SendReport:
    """Send every message not yet sent nor given up on, each on its own: a
    message that cannot be built or sent is marked failed (its error and a
    try counted) and the others go on. Each outcome is committed right after
    its own send, so an interrupted run never sends a message twice."""
    config = current_app.config
    report = SendReport()
    if not config.get("MAIL_SERVER"):
        return report
    pending_ids = list(session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < config["MAIL_MAX_ATTEMPTS"])
        .order_by(OutboxMessage.id)
    ))
    session.commit()
    smtp = None
    try:
        for message_id in pending_ids:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.sent_at is not None:
                continue  # sent by another run meanwhile
            try:
                email = build_email(message, config["MAIL_SENDER"])
                if smtp is None:
                    smtp = _connect(config)
                smtp.send_message(email)
            except smtplib.SMTPServerDisconnected as error:
                # Not this message's fault: count the try, connect again for the next.
                smtp = None
                _failed(message, error, report)
            except (smtplib.SMTPException, OSError) as error:
                if smtp is None:
                    # The server cannot be reached: no message is to blame, stop here.
                    session.rollback()
                    raise
                _failed(message, error, report)
            except Exception as error:  # noqa: BLE001 — one bad message never stops the rest
                _failed(message, error, report)
            else:
                message.attempts += 1
                message.last_attempt_at = datetime.now(timezone.utc)
                message.sent_at = message.last_attempt_at
                message.error = None
                report.sent += 1
            session.commit()
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except smtplib.SMTPException:
                pass
    return report


def _failed(message: OutboxMessage, error: Exception, report: SendReport) -> None:
    message.attempts += 1
    message.last_attempt_at = datetime.now(timezone.utc)
    message.error = f"{type(error).__name__}: {error}"[:2000]
    report.failed.append((message.id, message.error))
    log.warning("E-mail %s to %s failed (try %s): %s", message.id, message.recipient, message.attempts, message.error)
