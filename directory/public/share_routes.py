"""Sending a shortlist or a service to someone by e-mail or SMS (issue 20)."""

from __future__ import annotations
