"""A clearly synthetic directory for benchmarks: N services in made-up
centres and towns ("SINTĒTISKS …"), never mixed with the starter data.

    from bench.synthetic import build_synthetic_directory
    build_synthetic_directory(session, 10_000)
"""

from __future__ import annotations

import random
import uuid
from datetime import time

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from directory.models import (
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
from directory.seeding import STARTER_DATA_DIR, SeedReport, _read_toml, _seed_taxonomies

SERVICES_PER_CENTRE = 3
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


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_synthetic_directory(session: Session, services: int, seed: int = 42) -> None:
    """Insert the taxonomy and `services` synthetic services, then commit."""
    rng = random.Random(seed)
    vocabulary, weights = _vocabulary(rng)

    def text(count: int) -> str:
        return " ".join(rng.choices(vocabulary, weights, k=count))

    with session.no_autoflush:
        _seed_taxonomies(session, _read_toml(STARTER_DATA_DIR / "taxonomy.toml"), SeedReport())
    session.commit()
    terms = session.execute(
        select(TaxonomyTerm.id, Taxonomy.code).join(Taxonomy)
    ).all()
    types = [t.id for t in terms if t.code == "service-type"]
    groups = [t.id for t in terms if t.code == "target-group"]

    orgs, locations, addresses, rows, links, term_links, schedules = [], [], [], [], [], [], []
    for index in range(services):
        if index % SERVICES_PER_CENTRE == 0:
            org_id, location_id = _uid(rng), _uid(rng)
            number = index // SERVICES_PER_CENTRE
            country = "LT" if number % 4 == 0 else "LV"
            orgs.append(
                dict(
                    id=org_id,
                    slug=f"sintetisks-centrs-{number:06d}",
                    name=f"SINTĒTISKS centrs {number:06d} {rng.choice(WORDS)}",
                    description=text(12),
                    text_language="lv",
                )
            )
            locations.append(
                dict(id=location_id, organization_id=org_id, location_type="physical",
                     name=f"SINTĒTISKA vieta {number:06d}",
                     wheelchair_accessible=rng.random() < 0.3)
            )
            addresses.append(
                dict(id=_uid(rng), location_id=location_id, address_type="physical",
                     address_1=f"Sintētiskā iela {number % 200 + 1}",
                     city=rng.choice(TOWNS), municipality=rng.choice(MUNICIPALITIES),
                     country=country)
            )
        service_id = _uid(rng)
        rows.append(
            dict(
                id=service_id,
                organization_id=org_id,
                name=" ".join(rng.choices(WORDS, k=3)).capitalize(),
                description=text(25),
                status="active",
                free_of_charge=rng.random() < 0.4,
            )
        )
        links.append(dict(id=_uid(rng), service_id=service_id, location_id=location_id))
        term_links.append(dict(service_id=service_id, taxonomy_term_id=rng.choice(types)))
        for group in rng.sample(groups, k=rng.randint(1, 2)):
            term_links.append(dict(service_id=service_id, taxonomy_term_id=group))
        if rng.random() < 0.5:
            for day in ("MO", "TU", "WE", "TH", "FR"):
                schedules.append(
                    dict(id=_uid(rng), service_id=service_id, freq="WEEKLY", byday=day,
                         opens_at=time(9), closes_at=time(17), open_on_public_holidays=False)
                )

    for model, batch in (
        (Organization, orgs),
        (Location, locations),
        (Address, addresses),
        (Service, rows),
        (ServiceAtLocation, links),
        (service_taxonomy_term, term_links),
        (Schedule, schedules),
    ):
        table = model if model is service_taxonomy_term else model.__table__
        for start in range(0, len(batch), 5000):
            session.execute(insert(table), batch[start : start + 5000])
    session.commit()
