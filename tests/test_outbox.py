"""The outbox cannot be poisoned: each message is built and sent on its own,
marked sent or failed right after, and one bad message never stops the rest
(issue 14, item 3)."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from directory import mail
from directory.extensions import db
from directory.mail import queue_email
from directory.models import OutboxMessage


class FakeSMTP:
    """Stands in for smtplib.SMTP: keeps what it is given; refuses recipients
    listed in `refused`; drops the connection once for `drop_once`."""

    delivered: list = []
    refused: set = set()
    drop_once: set = set()
    reachable = True

    def __init__(self, host, port, timeout=None):
        if not FakeSMTP.reachable:
            raise ConnectionRefusedError(111, "Connection refused")

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, email):
        recipient = email["To"]
        if recipient in FakeSMTP.drop_once:
            FakeSMTP.drop_once.discard(recipient)
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if recipient in FakeSMTP.refused:
            raise smtplib.SMTPRecipientsRefused({recipient: (550, b"No such user")})
        FakeSMTP.delivered.append((recipient, email["Subject"]))

    def quit(self):
        pass


@pytest.fixture
def smtp(monkeypatch, app):
    FakeSMTP.delivered, FakeSMTP.refused, FakeSMTP.drop_once, FakeSMTP.reachable = [], set(), set(), True
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_SERVER="smtp.example.lv", MAIL_MAX_ATTEMPTS=3)
    return FakeSMTP


def add_messages(app, *messages) -> None:
    """Rows as an older version (or a bug) may have left them: straight into the table."""
    with app.app_context():
        for recipient, subject in messages:
            db.session.add(OutboxMessage(recipient=recipient, subject=subject, body="Hello"))
        db.session.commit()


def states(app) -> dict[str, tuple]:
    with app.app_context():
        return {m.recipient: (m.sent_at is not None, m.attempts, m.error)
                for m in db.session.scalars(select(OutboxMessage))}


def send(runner):
    return runner.invoke(args=["send-mail"])


def test_a_poisoned_message_does_not_stop_the_next_one(app, runner, smtp):
    add_messages(app, ("first@example.lv", "Hello"),
                 ("poisoned@example.lv", "Account request: Anna\r\nBcc: everyone@example.lv"),
                 ("next@example.lv", "Reset your password"))
    result = send(runner)
    assert result.exit_code == 0, result.output
    assert "2 sent, 1 failed." in result.output
    assert [recipient for recipient, _ in smtp.delivered] == ["first@example.lv", "next@example.lv"]
    after = states(app)
    assert after["first@example.lv"][:2] == (True, 1) and after["next@example.lv"][:2] == (True, 1)
    sent, attempts, error = after["poisoned@example.lv"]
    assert not sent and attempts == 1 and "ValueError" in error

    # The next run sends nothing twice; the bad message is tried again until
    # MAIL_MAX_ATTEMPTS (3 here), then left alone with its error.
    for _ in range(3):
        send(runner)
    assert len(smtp.delivered) == 2
    assert states(app)["poisoned@example.lv"][1] == 3


def test_a_refused_recipient_is_marked_failed_and_retried_later(app, runner, smtp):
    smtp.refused = {"gone@example.lv"}
    add_messages(app, ("gone@example.lv", "One"), ("here@example.lv", "Two"))
    assert "1 sent, 1 failed." in send(runner).output
    assert "No such user" in states(app)["gone@example.lv"][2]
    smtp.refused = set()
    assert "1 sent, 0 failed." in send(runner).output
    assert states(app)["gone@example.lv"] == (True, 2, None)


def test_a_dropped_connection_is_reopened_for_the_next_message(app, runner, smtp):
    smtp.drop_once = {"first@example.lv"}
    add_messages(app, ("first@example.lv", "One"), ("second@example.lv", "Two"))
    assert "1 sent, 1 failed." in send(runner).output
    assert [recipient for recipient, _ in smtp.delivered] == ["second@example.lv"]


def test_an_unreachable_server_counts_against_no_message(app, runner, smtp):
    smtp.reachable = False
    add_messages(app, ("first@example.lv", "One"))
    result = send(runner)
    assert result.exit_code != 0 and "cannot reach the mail server" in result.output
    assert states(app)["first@example.lv"] == (False, 0, None)


def test_queued_subjects_are_one_line(app):
    with app.app_context():
        message = queue_email(db.session, "someone@example.lv", "Problem reported: Centre\nname", "Body")
        assert message.subject == "Problem reported: Centre name"
