"""The web app manifest, the service worker and the offline page (issue 20)."""

from __future__ import annotations
