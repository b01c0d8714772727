"""Search speed: the htmx fragment request for a fixed mix of queries on a
synthetic directory of N services in a temporary SQLite database, beside the
same words run straight against FTS5.

    .venv/bin/python bench/search.py            # N = 1k, 10k, 100k
    .venv/bin/python bench/search.py 1000 5000  # other sizes

For each N it prints: the first request after a change of data (the process
rebuilds its facet index), then p50 / p95 of the mix with every word new to
the process ("cold": the full-text index is asked), and of further rounds
("warm": word matches remembered). Nothing here touches instance/.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import logging  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.synthetic import TOWNS, build_synthetic_directory  # noqa: E402
from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.search import query_terms  # noqa: E402

QUERIES = [
    "q=dienas",
    "q=kr%C4%ABz",  # krīz, a prefix while typing
    "q=seniori",
    "q=vig",
    "q=dienas+centrs",
    "q=higi%C4%93na+du%C5%A1a",
    "",
    "type=day-centre",
    "group=seniors&free=1",
    f"place={TOWNS[3].replace(' ', '+')}",
    "q=centrs&type=crisis-centre&group=youth",  # "centrs" is in every synthetic name
    "q=palidziba&wheelchair=1",
    "open=1",
    "q=zupa&page=3",
]
FTS_WORDS = ["dienas", "krīz", "seniori", "vig", "dienas centrs", "higiēna duša", "centrs", "palidziba", "zupa"]
WARM_ROUNDS = 4


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(client, query: str) -> float:
    started = time.perf_counter()
    response = client.get(f"/lv/?{query}", headers={"HX-Request": "true"})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, query
    return elapsed


def bench(services: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite", "SECRET_KEY": "bench"}
        )
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            build_synthetic_directory(db.session, services)
            built = time.perf_counter() - started
        client = app.test_client()
        first = timed(client, "")  # builds the facet index
        cold = [timed(client, query) for query in QUERIES]
        warm = [timed(client, query) for _ in range(WARM_ROUNDS) for query in QUERIES]

        raw: list[float] = []
        with app.app_context(), db.engine.connect() as connection:
            for word in FTS_WORDS:
                match = " ".join(f'"{t}"*' for t in query_terms(word))
                started = time.perf_counter()
                connection.execute(
                    text("SELECT rowid FROM service_fts WHERE service_fts MATCH :m ORDER BY rank LIMIT 20"),
                    {"m": match},
                ).all()
                raw.append((time.perf_counter() - started) * 1000)
        print(
            f"N={services:>7,}  data built in {built:5.1f} s; first request (index build) {first:7.1f} ms\n"
            f"   fragment, cold words: p50 {statistics.median(cold):6.1f} ms  p95 {percentile(cold, .95):6.1f} ms"
            f"   | warm: p50 {statistics.median(warm):6.1f} ms  p95 {percentile(warm, .95):6.1f} ms"
            f"   | FTS5 alone (MATCH … ORDER BY rank LIMIT 20): p50 {statistics.median(raw):6.1f} ms"
            f"  p95 {percentile(raw, .95):6.1f} ms"
        )
        slowest = sorted(zip(cold, QUERIES), reverse=True)[:3]
        print("   slowest cold: " + ", ".join(f"{q or '(empty)'} {ms:.0f} ms" for ms, q in slowest))


if __name__ == "__main__":
    logging.disable(logging.INFO)
    sizes = [int(arg) for arg in sys.argv[1:]] or [1_000, 10_000, 100_000]
    for size in sizes:
        bench(size)
