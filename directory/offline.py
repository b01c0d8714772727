"""Reading offline (issue 20): the service worker's rules, its configuration
and the web app manifest, as plain data the views serve and the tests read.

The service worker (static/js/sw.js) keeps a copy of a page only when the
page is on the allowlist below (a centre page, the shortlist, a shared list)
and its response lets any cache keep it. Everything else, the pages with
client data and every page a staff member sees, is never stored: the
allowlist leaves them out, and security_headers.py sends `Cache-Control:
private, no-store` on every response to a signed-in user, which the worker
never stores.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

# The paths of the pages the worker may keep, each after the /<lang> prefix:
# a centre page, the visitor's shortlist, a shortlist shared by a link. An
# allowlist: a page added later is left out until it is named here.
SAVED_PAGE_PATHS = (
    r"/centres/[^/]+",
    r"/shortlist/",
    r"/shortlist/shared",
)

# The worker's caches: the offline page in each language and the files it
# loads (named after the worker's version, replaced when it changes), the
# pages a visitor opened and the static files those pages load (kept across
# versions, so that an update of the site does not empty them).
CACHE_PREFIX = "offline-"
PAGES_CACHE = "offline-pages-v1"
ASSETS_CACHE = "offline-assets-v1"
MAX_PAGES = 50  # the oldest saved page goes when a 51st comes
MAX_ASSETS = 60

# The manifest's and the browser's colours: site.css's --accent and --paper.
THEME_COLOUR = "#0b5394"
BACKGROUND_COLOUR = "#ffffff"

ROOT = Path(__file__).resolve().parent.parent
WORKER_SOURCE = ROOT / "static" / "js" / "sw.js"
# What the precached offline page depends on: a change in any of them is a
# new worker version, which fetches the offline pages and their files again.
VERSIONED_FILES = (
    WORKER_SOURCE,
    ROOT / "static" / "cache_manifest.json",  # the fingerprinted names (`flask digest compile`)
    ROOT / "templates" / "public" / "offline.html",
    ROOT / "templates" / "base.html",
)


def saved_page_patterns(languages: Iterable[str]) -> list[str]:
    """Regular expressions (the same syntax in Python and JavaScript) that a
    page's path must match whole for the worker to keep a copy of it."""
    prefix = "(?:" + "|".join(re.escape(lang) for lang in languages) + ")"
    return [f"^/{prefix}{path}$" for path in SAVED_PAGE_PATHS]


def is_saved_page(path: str, languages: Iterable[str]) -> bool:
    """Whether the worker may keep a copy of the page at `path` (no query)."""
    return any(re.match(pattern, path) for pattern in saved_page_patterns(languages))


def worker_config(offline_pages: Mapping[str, str], default_language: str, static_prefix: str) -> dict:
    """What the worker needs to know, put before its source by the /sw.js
    route: the offline page of each language (precached when it installs),
    the allowlist, the caches and their bounds. The version changes with the
    worker's source, the static files and the offline page's templates."""
    config = {
        "offlinePages": dict(offline_pages),
        "defaultLanguage": default_language,
        "savedPages": saved_page_patterns(offline_pages),
        "staticPrefix": static_prefix.rstrip("/") + "/",
        "cachePrefix": CACHE_PREFIX,
        "pagesCache": PAGES_CACHE,
        "assetsCache": ASSETS_CACHE,
        "maxPages": MAX_PAGES,
        "maxAssets": MAX_ASSETS,
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for path in VERSIONED_FILES:
        if path.exists():
            digest.update(path.read_bytes())
    config["version"] = digest.hexdigest()[:12]
    return config


def worker_script(config: Mapping) -> str:
    """The worker as served: its configuration, then static/js/sw.js."""
    source = WORKER_SOURCE.read_text(encoding="utf-8")
    return f"const CONFIG = {json.dumps(config, sort_keys=True)};\n{source}"


def manifest(*, name: str, short_name: str, description: str, lang: str, start_url: str,
             icons: Iterable[Mapping[str, str]]) -> dict:
    """The web app manifest of one language: installed from a page in it, the
    app opens that language's search page."""
    return {
        "id": "/",
        "name": name,
        "short_name": short_name,
        "description": description,
        "lang": lang,
        "dir": "ltr",
        "start_url": start_url,
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [dict(icon) for icon in icons],
    }
