"""E-mail goes through an outbox table: written in the same transaction as
the change that causes it, logged, and sent by SMTP when MAIL_SERVER is
configured (`flask --app directory send-mail`, e.g. from cron)."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import OutboxMessage

log = logging.getLogger(__name__)


def queue_email(session: Session, recipient: str, subject: str, body: str) -> OutboxMessage:
    message = OutboxMessage(recipient=recipient, subject=subject, body=body)
    session.add(message)
    log.info("E-mail to %s queued: %s", recipient, subject)
    return message


def send_pending(session: Session) -> tuple[int, int]:
    """Send every unsent message; returns (sent, failed)."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return 0, 0
    sent = failed = 0
    pending = session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        for message in pending:
            email = EmailMessage()
            email["From"] = config["MAIL_SENDER"]
            email["To"] = message.recipient
            email["Subject"] = message.subject
            email.set_content(message.body)
            try:
                smtp.send_message(email)
            except smtplib.SMTPException as error:
                message.error = str(error)
                failed += 1
            else:
                message.sent_at = datetime.now(timezone.utc)
                message.error = None
                sent += 1
    session.commit()
    return sent, failed
