"""A clearly synthetic directory for benchmarks: N services (up to a million
and more) in made-up centres and towns ("SINTĒTISKS …"), never mixed with
the starter data. SQLite or PostgreSQL (psycopg 3).

    from bench.synthetic import build_synthetic_directory
    build_synthetic_directory(session, 10_000)        # then committed

    # the same into an already migrated database, in a process of its own
    # (prints the seconds the build took):
    .venv/bin/python bench/synthetic.py sqlite:////tmp/b.sqlite 100000
    .venv/bin/python bench/synthetic.py postgresql+psycopg://postgres@127.0.0.1:5432/bench 1000000

The rows go in through the bulk path the HSDS importer uses
(directory/search_index.py, directory/hsds/bulk.py): inside one transaction
the search triggers are suspended, the rows are inserted with Core
executemany in chunks, then the full-text index is rebuilt once for every
service and the search-state counter bumped once. Where the triggers cannot
be suspended (suspend() answers None: a PostgreSQL role that does not own
the tables, or code without search_index) the rows are just inserted and the
triggers index them row by row. On PostgreSQL the database is ANALYZEd after
the load.

Services are generated CHUNK at a time (20,000), so memory stays flat
whatever N is. Same N and seed, same data, on either database: one seeded
generator drawn in a fixed order, and the taxonomy terms taken in a fixed
order.
"""

from __future__ import annotations

import random
import sys
import time as clock
import uuid
from collections.abc import Iterator
from itertools import accumulate
from datetime import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from directory.models import (  # noqa: E402
    Address,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
    service_taxonomy_term,
)
from directory.seeding import STARTER_DATA_DIR, SeedReport, _read_toml, _seed_taxonomies  # noqa: E402

try:  # areas served, ages and costs (issue 18)
    from directory import municipalities
    from directory.models import CostOption, ServiceArea

    AREA_CODES = ["LV", "LT"] + [m.code for m in municipalities.all_municipalities()]
except ImportError:  # pragma: no cover - code from before issue 18
    AREA_CODES = []

try:  # the bulk path (suspend the search triggers, rebuild once)
    from directory import search_index
except ImportError:  # pragma: no cover - code from before search_index.py
    search_index = None

SERVICES_PER_CENTRE = 3
CHUNK = 20_000  # services generated and inserted at a time
ROWS_PER_STATEMENT = 5_000  # rows per executemany
TOWNS = [f"Sintētiskā pilsēta {i:02d}" for i in range(60)]
MUNICIPALITIES = [f"Sintētiskais novads {i:02d}" for i in range(12)]
WORDS = (
    "dienas centrs krīzes palīdzība seniori jaunieši ģimenes bērni aprūpe mājās higiēna "
    "duša veļa zupa virtuve konsultācijas psihologs atbalsta grupa rehabilitācija "
    "darbnīca nometne transports naktspatversme sociālais darbs invaliditāte"
).split()


SYLLABLES = "ka ra mi to lu se na vi do pe ja zu bo ti ne la go ru me sa".split()


def _vocabulary(rng: random.Random, size: int = 3000) -> tuple[list[str], list[float]]:
    """Made-up filler words with the thematic words spread among them, and
    Zipf weights, so that a word matches a realistic share of services
    (a common one some 10 %, a rare one well under 1 %)."""
    filler = set()
    while len(filler) < size:
        filler.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    words = sorted(filler)
    rng.shuffle(words)
    for rank, word in zip(range(15, 15 + 40 * len(WORDS), 40), WORDS):
        words.insert(rank, word)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(words))]
    return words, weights


def rare_word(seed: int = 42) -> str:
    """The least frequent word of the descriptions (well under 0.1 % of
    services), for benchmarks of a rare search word."""
    words, _weights = _vocabulary(random.Random(seed))
    return words[-1]


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _rows(rng: random.Random, services: int, types: list[str], groups: list[str]) -> Iterator[dict[str, list]]:
    """The rows of `services` services, CHUNK services at a time, as
    {table name: rows}. Draws from `rng` in one fixed order."""
    vocabulary, weights = _vocabulary(rng)
    cumulative = list(accumulate(weights))  # what choices() would sum up on every call: same draws
    # Areas, ages and costs draw from their own stream: the rest of the data
    # stays what it was before they existed, so earlier figures compare.
    decisions = random.Random(1_000_003)

    def words(count: int) -> str:
        return " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=count))

    org_id = location_id = ""
    for chunk_start in range(0, services, CHUNK):
        batch: dict[str, list] = {name: [] for name in (
            "organization", "location", "address", "service", "service_at_location",
            "service_taxonomy_term", "schedule", "service_area", "cost_option")}
        for index in range(chunk_start, min(services, chunk_start + CHUNK)):
            if index % SERVICES_PER_CENTRE == 0:
                org_id, location_id = _uid(rng), _uid(rng)
                number = index // SERVICES_PER_CENTRE
                country = "LT" if number % 4 == 0 else "LV"
                batch["organization"].append(
                    dict(
                        id=org_id,
                        slug=f"sintetisks-centrs-{number:06d}",
                        name=f"SINTĒTISKS centrs {number:06d} {rng.choice(WORDS)}",
                        description=words(12),
                        text_language="lv",
                    )
                )
                batch["location"].append(
                    dict(id=location_id, organization_id=org_id, location_type="physical",
                         name=f"SINTĒTISKA vieta {number:06d}",
                         wheelchair_accessible=rng.random() < 0.3)
                )
                batch["address"].append(
                    dict(id=_uid(rng), location_id=location_id, address_type="physical",
                         address_1=f"Sintētiskā iela {number % 200 + 1}",
                         city=rng.choice(TOWNS), municipality=rng.choice(MUNICIPALITIES),
                         country=country)
                )
            service_id = _uid(rng)
            service = dict(
                id=service_id,
                organization_id=org_id,
                name=" ".join(rng.choices(WORDS, k=3)).capitalize(),
                description=words(25),
                status="active",
                free_of_charge=rng.random() < 0.4,
            )
            if AREA_CODES:
                # 70 % state an area (one to three municipalities, or a whole
                # country), 40 % an age range, every one a cost its flag follows.
                if decisions.random() < 0.7:
                    codes = ([decisions.choice(("LV", "LT"))] if decisions.random() < 0.1
                             else decisions.sample(AREA_CODES[2:], k=decisions.randint(1, 3)))
                    batch["service_area"].extend(dict(id=_uid(decisions), service_id=service_id, area_code=code)
                                                 for code in codes)
                low = decisions.choice((0, 7, 16, 18, 60)) if decisions.random() < 0.4 else None
                service["minimum_age"] = low
                service["maximum_age"] = None if low is None else decisions.choice((low + 10, low + 30, None))
                batch["cost_option"].append(dict(id=_uid(decisions), service_id=service_id, position=0,
                                                 amount=0.0 if service["free_of_charge"] else 5.0, currency="EUR"))
            batch["service"].append(service)
            batch["service_at_location"].append(dict(id=_uid(rng), service_id=service_id, location_id=location_id))
            batch["service_taxonomy_term"].append(dict(service_id=service_id, taxonomy_term_id=rng.choice(types)))
            for group in rng.sample(groups, k=rng.randint(1, 2)):
                batch["service_taxonomy_term"].append(dict(service_id=service_id, taxonomy_term_id=group))
            if rng.random() < 0.5:
                for day in ("MO", "TU", "WE", "TH", "FR"):
                    batch["schedule"].append(
                        dict(id=_uid(rng), service_id=service_id, freq="WEEKLY", byday=day,
                             opens_at=time(9), closes_at=time(17), open_on_public_holidays=False)
                    )
        yield batch


TABLES = (  # in the order foreign keys need
    ("organization", Organization.__table__),
    ("location", Location.__table__),
    ("address", Address.__table__),
    ("service", Service.__table__),
    ("service_at_location", ServiceAtLocation.__table__),
    ("service_taxonomy_term", service_taxonomy_term),
    ("schedule", Schedule.__table__),
) + ((("service_area", ServiceArea.__table__), ("cost_option", CostOption.__table__)) if AREA_CODES else ())


def build_synthetic_directory(session: Session, services: int, seed: int = 42) -> None:
    """Insert the taxonomy and `services` synthetic services, then commit
    (on PostgreSQL then ANALYZE)."""
    rng = random.Random(seed)
    with session.no_autoflush:
        _seed_taxonomies(session, _read_toml(STARTER_DATA_DIR / "taxonomy.toml"), SeedReport())
    session.commit()
    terms = session.execute(
        select(TaxonomyTerm.id, Taxonomy.code)
        .join(Taxonomy)
        .order_by(Taxonomy.code, TaxonomyTerm.position, TaxonomyTerm.code)
    ).all()
    types = [t.id for t in terms if t.code == "service-type"]
    groups = [t.id for t in terms if t.code == "target-group"]
    session.commit()

    connection = session.connection()  # one transaction for the whole load
    suspension = search_index.suspend(connection) if search_index is not None else None
    for batch in _rows(rng, services, types, groups):
        for name, table in TABLES:
            rows = batch[name]
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                connection.execute(insert(table), rows[start : start + ROWS_PER_STATEMENT])
        del batch
    if suspension is not None:
        search_index.resume(connection, suspension, None)  # the index rebuilt once, the counter bumped
    session.commit()
    if connection.dialect.name == "postgresql":
        session.execute(text("ANALYZE"))
        session.commit()


def main(argv: list[str]) -> int:
    """`synthetic.py DATABASE_URL SERVICES [SEED]`: build into a migrated database."""
    import logging

    if len(argv) not in (2, 3):
        print("usage: synthetic.py DATABASE_URL SERVICES [SEED]", file=sys.stderr)
        return 2
    logging.disable(logging.INFO)
    from directory import create_app
    from directory.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": argv[0], "SECRET_KEY": "synthetic"})
    with app.app_context():
        started = clock.perf_counter()
        build_synthetic_directory(db.session, int(argv[1]), *map(int, argv[2:]))
        print(f"{clock.perf_counter() - started:.3f}")
        db.session.remove()
        db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
