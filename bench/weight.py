"""Page weight: the bytes a browser transfers, compressed as served, for the
home page, a search, a centre page and an htmx search fragment; first visit
(page + every stylesheet and script it loads) and repeat visit (the
fingerprinted static files come from the browser cache).

    .venv/bin/python bench/weight.py

Runs on the starter data in a temporary database. Target: at most 60 KB
compressed for a first visit, htmx included.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging  # noqa: E402

from flask_migrate import upgrade  # noqa: E402

from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.seeding import seed_starter_data  # noqa: E402

PAGES = {
    "home": "/lv/",
    "search": "/lv/?q=dienas&place=Daugavpils",
    "centre": "/lv/centres/saskarsme",
}
ACCEPT = {"Accept-Encoding": "br, gzip"}
TARGET_KB = 60
ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+rel="stylesheet"[^>]+href)="(/static/[^"]+)"')


def transferred(client, url: str, headers=None) -> tuple[int, str]:
    with client.get(url, headers={**ACCEPT, **(headers or {})}) as response:
        assert response.status_code == 200, url
        return len(response.data), response.headers.get("Content-Encoding", "identity")


def main() -> int:
    logging.disable(logging.INFO)
    over = False
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/w.sqlite", "SECRET_KEY": "w"})
        with app.app_context():
            upgrade()
            seed_starter_data(db.session)
        client = app.test_client()
        print(f"{'page':<10} {'html':>9} {'assets':>9} {'first visit':>12} {'repeat':>9}  encoding")
        for name, url in PAGES.items():
            html, encoding = transferred(client, url)
            body = client.get(url).get_data(as_text=True)
            assets = sum(transferred(client, asset)[0] for asset in ASSET.findall(body))
            first = html + assets
            over |= first > TARGET_KB * 1024
            print(f"{name:<10} {html / 1024:8.1f}K {assets / 1024:8.1f}K {first / 1024:11.1f}K {html / 1024:8.1f}K  {encoding}")
        fragment, encoding = transferred(client, PAGES["search"], {"HX-Request": "true"})
        print(f"{'fragment':<10} {fragment / 1024:8.1f}K {'':>9} {'':>12} {fragment / 1024:8.1f}K  {encoding}")
    print(f"target: first visit at most {TARGET_KB} KB: {'MISSED' if over else 'met'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
