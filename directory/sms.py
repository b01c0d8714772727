"""Text messages (SMS) go through a gateway chosen by the SMS_GATEWAY setting:
none (the site offers no SMS at all), "log" (development: the message is
written to the log, not sent), or "package.module:factory" for a real one,
built once per application from `factory(app)`. A gateway is anything with
`send(to, text)` that raises SmsNotSent when the message cannot go out."""

from __future__ import annotations

import importlib
import logging
from collections import deque
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


class SmsNotSent(Exception):
    """The gateway could not take the message (nothing was sent)."""


class SmsGateway(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send `text` to the number `to` (E.164, '+37120000000'); raise SmsNotSent on failure."""


class LoggingSmsGateway:
    """For development and tests: each message is logged instead of sent,
    and the last ones are kept in `sent` as (number, text)."""

    def __init__(self, keep: int = 100) -> None:
        self.sent: deque[tuple[str, str]] = deque(maxlen=keep)

    def send(self, to: str, text: str) -> None:
        log.info("SMS to %s (not sent: SMS_GATEWAY is \"log\"): %s", to, text)
        self.sent.append((to, text))


def gateway(app: Flask | None = None) -> SmsGateway | None:
    """The application's gateway; None when SMS_GATEWAY is not set."""
    app = app or current_app
    setting = app.config.get("SMS_GATEWAY")
    if not setting:
        return None
    built = app.extensions.setdefault("sms_gateways", {})
    if setting not in built:
        built[setting] = _build(setting, app)
    return built[setting]


def _build(setting: str, app: Flask) -> SmsGateway:
    if setting == "log":
        return LoggingSmsGateway()
    module_name, _, factory_name = setting.partition(":")
    if not module_name or not factory_name:
        raise ValueError(f'SMS_GATEWAY must be "log" or "package.module:factory", not {setting!r}')
    return getattr(importlib.import_module(module_name), factory_name)(app)
