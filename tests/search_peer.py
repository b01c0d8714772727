"""A second application process on the same database, for
test_search_at_scale: reads a query string per line on stdin and answers
with the names of the services found, as one JSON line. Its search index
refreshes in the background, as in production."""

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.search import parse_filters, search_services  # noqa: E402
from urllib.parse import parse_qsl  # noqa: E402

logging.disable(logging.INFO)
app = create_app({
    "TESTING": True,
    "SECRET_KEY": "peer",
    "SQLALCHEMY_DATABASE_URI": sys.argv[1],
    "SEARCH_INDEX_REFRESH": "background",
    "SEARCH_INDEX_POLL_SECONDS": 0.1,
})
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    with app.app_context():
        page = search_services(db.session, parse_filters(dict(parse_qsl(line.strip()))), "lv")
        print(json.dumps([service.name for service in page.services]), flush=True)
