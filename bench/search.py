"""Search speed: the htmx fragment request for a fixed mix of queries on a
synthetic directory of N services (bench/synthetic.py, up to 1,000,000) in a
fresh SQLite or PostgreSQL database, beside the same words run straight
against the full-text index.

    .venv/bin/python bench/search.py                     # N = 1k, 10k, 100k on SQLite
    .venv/bin/python bench/search.py 1000 5000           # other sizes
    .venv/bin/python bench/search.py 1000000             # national scale (minutes)
    .venv/bin/python bench/search.py --database postgresql 10000 100000
    .venv/bin/python bench/search.py --writes 20 10000   # 20 writes instead of 10

PostgreSQL: with neither TEST_DATABASE_URL nor DATABASE_URL set the script
runs itself again under scripts/with-postgres.sh (a throw-away cluster on
loopback, installed through apt when missing). With one set, it creates a
new database per N on that server (never touching the database the URL
names; the role needs CREATEDB) and drops it afterwards.

Each N runs in a process of its own (memory and "first time" figures are
that N's alone): a fresh database, `flask db upgrade`, the data built by
bench/synthetic.py in a child process (bulk path), then in this process,
through the Flask test client, one htmx fragment request after another:

  data built in       the child's build time (insert + full-text index once);
  first request       the first fragment (the process builds its indexes);
  first search …      `/lv/?q=centrs` (every synthetic centre's name) and
                      `/lv/?q=krīz` (a typed prefix, some 10 %), each the
                      first search for that word in the process, so the
                      mix below asks the full-text index for them no more;
  cold words          p50 / p95 of the mix, each query once, its other words
                      new to the process (the full-text index is asked);
  warm                p50 / p95 of 4 more rounds of the mix;
  area and age filters
                      the same, first and warm, for "serves people from"
                      (a municipality, `here` from a typed town) and `age`,
                      alone and with other filters (DECISION_QUERIES; 70 %
                      of synthetic services state an area, 40 % an age);
  four-language queries
                      the same for LANGUAGE_QUERIES (Russian, Lithuanian,
                      English, Latvian words for types and groups), with
                      the number of services each found;
  FTS5 alone          (SQLite) the mix's words run straight on service_fts;
  full text alone     (PostgreSQL) the query PostgresFullText.matching_keys
                      runs, straight, for the same words;
  memory              VmRSS and VmHWM of this process after the warm rounds
                      (the build ran elsewhere), and again after the writes;
  first search after a write
                      K times (--writes, 10): a plain SQL UPDATE of one
                      service's name and description through a connection of
                      its own, committed; then the next fragment request for
                      `q=dienas` is timed (p50 / p95), and the fragment for
                      the new made-up word (zzedit000, …) is asked every
                      10 ms, for up to 10 s, until its result count says it
                      is found: "visible after" is the time from the commit
                      to that answer (p50 / max), whether the app refreshes
                      its index in the request or in the background;
  plans               (PostgreSQL) EXPLAIN (ANALYZE, BUFFERS) of the full-text
                      query for `centrs` (every service), `dienas` (common)
                      and the rarest description word, and of each query of
                      a warm `q=dienas` request but the search-state check
                      (the page's summary queries): top node, its actual
                      time and rows, planning / execution time, buffers.

Nothing here touches instance/. `bench/search.py 300` takes some seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from urllib.parse import unquote_plus
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import logging  # noqa: E402

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402

from bench.databases import fresh_database, rerun_under_postgres, server_url  # noqa: E402
from bench.synthetic import TOWNS, rare_word  # noqa: E402
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
# The filters of what a social worker decides on (issue 18), timed beside the mix above.
DECISION_QUERIES = [
    "serves=LV-DGV",
    "serves=LT-60&q=dienas",
    "age=16",
    "age=70&type=day-centre",
    "serves=LV-111&age=16&group=youth",
    "near=Daugavpils&serves=here",
]
# Queries in the four languages (issue 20), timed beside the mix; their
# result counts are printed too (code before issue 20 finds fewer).
LANGUAGE_QUERIES = [
    "q=%D0%B4%D0%BD%D0%B5%D0%B2%D0%BD%D0%BE%D0%B9+%D1%86%D0%B5%D0%BD%D1%82%D1%80",  # дневной центр
    "q=skalbimas",
    "q=pagalba+namuose",
    "q=care+at+home",
    "q=%D0%B4%D0%BB%D1%8F+%D0%BF%D0%BE%D0%B6%D0%B8%D0%BB%D1%8B%D1%85",  # для пожилых
    "q=ve%C4%BCas+mazg%C4%81%C5%A1ana",  # veļas mazgāšana
]
FIRST_TIME = {"centrs": "q=centrs", "krīz": "q=kr%C4%ABz"}
FTS_WORDS = ["dienas", "krīz", "seniori", "vig", "dienas centrs", "higiēna duša", "centrs", "palidziba", "zupa"]
WARM_ROUNDS = 4
AFTER_WRITE_QUERY = "q=dienas"
POLL_SECONDS, POLL_LIMIT_SECONDS = 0.01, 10.0
RESULT_COUNT = re.compile(r'id="results-heading"[^>]*>([^<]*)<')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def fetch(client, query: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.get(f"/lv/?{query}", headers={"HX-Request": "true"})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, query
    return elapsed, response.get_data(as_text=True)


def timed(client, query: str) -> float:
    return fetch(client, query)[0]


def result_count(html: str) -> int | None:
    heading = RESULT_COUNT.search(html)
    number = re.search(r"\d[\d\s,.]*", heading.group(1)) if heading else None
    return int(re.sub(r"\D", "", number.group())) if number else None


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found.get("VmRSS", 0.0), found.get("VmHWM", 0.0)


# ------------------------------------------------------------------ databases


def build_in_child(url: str, services: int) -> float:
    """bench/synthetic.py in a process of its own; the seconds it reports."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "synthetic.py"), url, str(services)],
        cwd=ROOT, capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"building the synthetic directory failed:\n{done.stdout}{done.stderr}")
    return float(done.stdout.split()[-1])


# ------------------------------------------------------------------ PostgreSQL plans


class Statements:
    """Records what the engine sends to the database while on."""

    def __init__(self, engine):
        self.on = False
        self.seen: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if self.on and not executemany:
            self.seen.append((statement, parameters))

    @contextmanager
    def recording(self):
        self.seen, self.on = [], True
        try:
            yield self.seen
        finally:
            self.on = False


def full_text_statement(app, statements: Statements, term: str) -> tuple[str, object]:
    """What PostgresFullText.matching_keys sends for `term` (anywhere in the
    document); the query of directory/search.py before the rewrite when the
    class is gone."""
    from directory import search

    backend = getattr(search, "PostgresFullText", None)
    if backend is not None:
        try:
            with app.app_context(), statements.recording() as seen:
                backend().matching_keys(db.session, term, False)
                db.session.rollback()
            selects = [(s, p) for s, p in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]
            if selects:
                return selects[-1]
        except Exception as error:  # noqa: BLE001 - a changed signature: use the known query
            print(f"   (PostgresFullText.matching_keys not usable here: {error!r})")
    return ("SELECT service_id FROM service_search "
            "WHERE document @@ to_tsquery('simple', unaccent(%(tsquery)s))", {"tsquery": f"{term}:*"})


def explain(engine, statement: str, parameters) -> str:
    """One line: top node, its actual time and rows, planning and execution
    time, the top node's buffers."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters or None)
        document = cursor.fetchone()[0]
        raw.rollback()
    finally:
        raw.close()
    if isinstance(document, str):
        document = json.loads(document)
    plan = document[0]
    top = plan["Plan"]
    node = top["Node Type"] + (f" on {top['Relation Name']}" if top.get("Relation Name") else "")
    return (
        f"{node}: {top.get('Actual Total Time', 0):.1f} ms, {top.get('Actual Rows', 0):,} rows"
        f" | planning {plan.get('Planning Time', 0):.1f} ms, execution {plan.get('Execution Time', 0):.1f} ms"
        f" | buffers hit {top.get('Shared Hit Blocks', 0):,} read {top.get('Shared Read Blocks', 0):,}"
    )


def described(statement: str) -> str:
    tables = re.findall(r"\bFROM\s+(\w+)|\bJOIN\s+(\w+)", statement, re.IGNORECASE)
    names = []
    for pair in tables:
        name = pair[0] or pair[1]
        if name not in names:
            names.append(name)
    return ", ".join(names[:4]) or statement[:40]


# ------------------------------------------------------------------ one N


def bench(services: int, kind: str, writes: int, data_url: str | None = None) -> None:
    with (nullcontext(data_url) if data_url else fresh_database(kind, "bench_search")) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            if data_url:  # an earlier run's synthetic data, used as it is
                services = db.session.execute(text("SELECT count(*) FROM service")).scalar()
            else:
                upgrade()
            db.session.remove()
            engine = db.engine
            engine.dispose()
        built = 0.0 if data_url else build_in_child(url, services)
        statements = Statements(engine) if kind == "postgresql" else None

        client = app.test_client()
        first = timed(client, "")  # builds the facet index
        first_time = {word: timed(client, query) for word, query in FIRST_TIME.items()}
        cold = [timed(client, query) for query in QUERIES]
        warm = [timed(client, query) for _ in range(WARM_ROUNDS) for query in QUERIES]
        decision_cold = [timed(client, query) for query in DECISION_QUERIES]
        decision_warm = [timed(client, query) for _ in range(WARM_ROUNDS) for query in DECISION_QUERIES]
        language_first = [fetch(client, query) for query in LANGUAGE_QUERIES]
        language_cold = [ms for ms, _html in language_first]
        language_found = [result_count(html) for _ms, html in language_first]
        language_warm = [timed(client, query) for _ in range(WARM_ROUNDS) for query in LANGUAGE_QUERIES]
        rss, hwm = memory_mb()

        raw: list[float] = []
        plans: list[str] = []
        if kind == "sqlite":
            label = "FTS5 alone (MATCH … ORDER BY rank LIMIT 20)"
            with app.app_context(), db.engine.connect() as connection:
                for word in FTS_WORDS:
                    match = " ".join(f'"{t}"*' for t in query_terms(word))
                    started = time.perf_counter()
                    connection.execute(
                        text("SELECT rowid FROM service_fts WHERE service_fts MATCH :m ORDER BY rank LIMIT 20"),
                        {"m": match},
                    ).all()
                    raw.append((time.perf_counter() - started) * 1000)
        else:
            label = "full text alone (matching_keys' query, first word)"
            for word in FTS_WORDS:
                statement, parameters = full_text_statement(app, statements, query_terms(word)[0])
                raw_connection = engine.raw_connection()
                try:
                    cursor = raw_connection.cursor()
                    started = time.perf_counter()
                    cursor.execute(statement, parameters or None)
                    cursor.fetchall()
                    raw.append((time.perf_counter() - started) * 1000)
                    raw_connection.rollback()
                finally:
                    raw_connection.close()
            for word in ("centrs", "dienas", rare_word()):
                statement, parameters = full_text_statement(app, statements, query_terms(word)[0])
                plans.append(f"   plan, full text {word!r}: {explain(engine, statement, parameters)}")
            timed(client, AFTER_WRITE_QUERY)  # warm
            with statements.recording() as seen:
                timed(client, AFTER_WRITE_QUERY)
            page = [(s, p) for s, p in seen
                    if s.lstrip().upper().startswith(("SELECT", "WITH")) and "search_state" not in s]
            for number, (statement, parameters) in enumerate(page, start=1):
                plans.append(f"   plan, warm {AFTER_WRITE_QUERY} query {number} ({described(statement)}): "
                             f"{explain(engine, statement, parameters)}")

        after_write, visible, missed = write_and_search(client, url, writes)
        rss_after, hwm_after = memory_mb()

        print(
            f"N={services:>9,}  {kind}: data built in {built:6.1f} s; first request (index build) {first:8.1f} ms\n"
            f"   first search for a word alone: "
            + ", ".join(f"{word} {ms:.1f} ms" for word, ms in first_time.items())
            + f"\n   fragment, cold words: p50 {statistics.median(cold):6.1f} ms  p95 {percentile(cold, .95):6.1f} ms"
            f"   | warm: p50 {statistics.median(warm):6.1f} ms  p95 {percentile(warm, .95):6.1f} ms"
            f"   | {label}: p50 {statistics.median(raw):6.1f} ms  p95 {percentile(raw, .95):6.1f} ms"
        )
        print(f"   area and age filters (beside the mix): first p50 {statistics.median(decision_cold):6.1f} ms  "
              f"p95 {percentile(decision_cold, .95):6.1f} ms   | warm: p50 {statistics.median(decision_warm):6.1f} ms  "
              f"p95 {percentile(decision_warm, .95):6.1f} ms")
        print(f"   four-language queries (beside the mix): first p50 {statistics.median(language_cold):6.1f} ms  "
              f"p95 {percentile(language_cold, .95):6.1f} ms   | warm: p50 {statistics.median(language_warm):6.1f} ms  "
              f"p95 {percentile(language_warm, .95):6.1f} ms   | found: "
              + ", ".join(f"{unquote_plus(q[2:])} {n:,}" for q, n in zip(LANGUAGE_QUERIES, language_found)))
        slowest = sorted(zip(cold, QUERIES), reverse=True)[:3]
        print("   slowest cold: " + ", ".join(f"{q or '(empty)'} {ms:.0f} ms" for ms, q in slowest))
        if after_write:
            print(
                f"   first search after a write ({len(after_write)} writes, {AFTER_WRITE_QUERY}): "
                f"p50 {statistics.median(after_write):6.1f} ms  p95 {percentile(after_write, .95):6.1f} ms"
                f"   | visible after: p50 {statistics.median(visible):6.1f} ms  max {max(visible):6.1f} ms"
                + (f"   ({missed} not found within {POLL_LIMIT_SECONDS:g} s)" if missed else "")
            )
        print(f"   memory: after the warm rounds VmRSS {rss:.0f} MB, VmHWM {hwm:.0f} MB; "
              f"after the writes VmRSS {rss_after:.0f} MB, VmHWM {hwm_after:.0f} MB")
        for line in plans:
            print(line)
        sys.stdout.flush()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def write_and_search(client, url: str, writes: int) -> tuple[list[float], list[float], int]:
    """K writes through a connection of their own; after each, the next
    fragment's time, and the time from the commit until the written word is
    found. Returns (first-request ms, visible-after ms, writes never found)."""
    if writes <= 0:
        return [], [], 0
    connect_args = {"timeout": 15} if url.startswith("sqlite") else {}
    writer = create_engine(url, connect_args=connect_args)
    after_write: list[float] = []
    visible: list[float] = []
    missed = 0
    try:
        with writer.connect() as connection:
            chosen = connection.execute(
                text("SELECT id, name FROM service ORDER BY id LIMIT :k"), {"k": writes}).all()
        for k, (service_id, name) in enumerate(chosen):
            word = f"zzedit{k:03d}"
            with writer.begin() as connection:
                connection.execute(
                    text("UPDATE service SET name = :name, description = description || ' ' || :word, "
                         "version = version + 1 WHERE id = :id"),
                    {"name": f"{word} {name}", "word": word, "id": service_id},
                )
            committed = time.perf_counter()
            after_write.append(timed(client, AFTER_WRITE_QUERY))
            while True:
                _ms, html = fetch(client, f"q={word}")
                now = time.perf_counter()
                count = result_count(html)
                if (count or 0) >= 1 or (count is None and f"{word} {name}" in html):
                    visible.append((now - committed) * 1000)
                    break
                if now - committed > POLL_LIMIT_SECONDS:
                    visible.append((now - committed) * 1000)
                    missed += 1
                    break
                time.sleep(POLL_SECONDS)
    finally:
        writer.dispose()
    return after_write, visible, missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=lambda s: int(s.replace("_", "")),
                        help="numbers of services (default 1000 10000 100000; up to 1000000)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--writes", type=int, default=10, help="writes for 'first search after a write' (0: none)")
    parser.add_argument("--data-url", help="an existing database of synthetic services, used as it is "
                        "(its size instead of N; nothing is built or dropped)")
    args = parser.parse_args()
    sizes = args.sizes or [1_000, 10_000, 100_000]
    if any(size < 1 for size in sizes):
        parser.error("sizes must be positive")
    if args.data_url:
        kind = "postgresql" if args.data_url.startswith("postgresql") else "sqlite"
        logging.disable(logging.INFO)
        bench(0, kind, args.writes, args.data_url)
        return 0
    if args.database == "postgresql" and not server_url():
        return rerun_under_postgres(__file__)
    logging.disable(logging.INFO)
    if not os.environ.get("BENCH_SEARCH_CHILD"):
        import directory

        print(f"code: {Path(directory.__file__).parent}", flush=True)
    if len(sizes) > 1:  # each N in a process of its own
        status = 0
        for size in sizes:
            status |= subprocess.call(
                [sys.executable, str(Path(__file__).resolve()), "--database", args.database,
                 "--writes", str(args.writes), str(size)],
                cwd=ROOT, env={**os.environ, "BENCH_SEARCH_CHILD": "1"})
        return status
    bench(sizes[0], args.database, args.writes, args.data_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
