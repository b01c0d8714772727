"""A clearly synthetic Open Referral HSDS 3.1 tabular data package (CSV files
and datapackage.json) of N services, for import benchmarks. Every name says
SINTĒTISKS / Sintētiskā; nothing is taken from real centres.

    from bench.hsds_package import write_synthetic_package
    rows_per_file = write_synthetic_package(Path("/tmp/pkg"), 10_000)

    .venv/bin/python bench/hsds_package.py /tmp/pkg 10000   # the same, rows per file as JSON

Per service: one service_at_location row, two schedules (WEEKLY, one weekday
of MO–FR each — the importer takes one weekday per row — 09:00–17:00), one
language (lv) and one or two attributes (a term of the first synthetic
taxonomy, half of the services also one of the second). Per organization
(one for every three services): one location with coordinates inside Latvia
or Lithuania, its address, one phone. The two taxonomies and their 20 terms
are in the package too, so it imports into an empty database.

Each CSV has exactly the columns of the project's HSDS descriptor, in its
order, with empty cells for what is not filled; tables that are not filled
are neither written nor listed in datapackage.json. Rows are streamed to
csv.writer, one service at a time, so memory stays flat whatever N is.
Same N and seed, same bytes (ids are uuid4-shaped from a seeded generator).
"""

from __future__ import annotations

import csv
import json
import random
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project's copy of the HSDS descriptor: directory/hsds/schema/ once the
# HSDS code lives in directory/hsds/, directory/hsds_schema/ before.
DESCRIPTOR_CANDIDATES = (
    ROOT / "directory" / "hsds" / "schema" / "datapackage.json",
    ROOT / "directory" / "hsds_schema" / "datapackage.json",
)

SERVICES_PER_ORGANIZATION = 3
FILLED_TABLES = (
    "organization", "location", "address", "phone", "service", "service_at_location",
    "schedule", "language", "taxonomy", "taxonomy_term", "attribute",
)
TOWNS = [f"Sintētiskā pilsēta {i:02d}" for i in range(60)]
MUNICIPALITIES = [f"Sintētiskais novads {i:02d}" for i in range(12)]
# Rough boxes inside each country: (latitude range, longitude range).
COORDINATE_BOXES = {"LV": ((56.0, 57.7), (21.3, 27.6)), "LT": ((54.2, 56.1), (21.3, 26.4))}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
WORDS = (
    "dienas centrs krīzes palīdzība seniori jaunieši ģimenes bērni aprūpe mājās higiēna "
    "duša veļa zupa virtuve konsultācijas psihologs atbalsta grupa rehabilitācija "
    "darbnīca nometne transports naktspatversme sociālais darbs invaliditāte "
    "pieteikšanās bez maksas iepriekš pa tālruni vietas ierobežotas sintētisks piemērs"
).split()
TAXONOMIES = (
    # (name, how many terms, term code prefix)
    ("SINTĒTISKA taksonomija: pakalpojuma veidi", 12, "sintetisks-veids"),
    ("SINTĒTISKA taksonomija: mērķa grupas", 8, "sintetiska-grupa"),
)


def descriptor_path() -> Path:
    for candidate in DESCRIPTOR_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("no HSDS datapackage.json in " + " or ".join(map(str, DESCRIPTOR_CANDIDATES)))


def read_descriptor() -> dict:
    with descriptor_path().open(encoding="utf-8") as handle:
        return json.load(handle)


def write_synthetic_package(folder: Path, services: int, seed: int = 1) -> dict[str, int]:
    """Write the package into `folder` (created if missing) and return the
    number of data rows (header not counted) of each CSV file written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    descriptor = read_descriptor()
    resources = [r for r in descriptor["resources"] if r["name"] in FILLED_TABLES]
    columns = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in resources}
    rows = {r["path"]: 0 for r in resources}

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def sentences(count: int) -> str:
        return " ".join(
            " ".join(rng.choices(WORDS, k=rng.randint(6, 12))).capitalize() + "." for _ in range(count)
        )

    with ExitStack() as stack:
        writers = {}
        for resource in resources:
            handle = stack.enter_context(
                (folder / resource["path"]).open("w", encoding="utf-8", newline="")
            )
            writer = csv.writer(handle)
            writer.writerow(columns[resource["name"]])
            writers[resource["name"]] = (writer, resource["path"])

        def write(table: str, **values: object) -> None:
            # Only the descriptor's columns, in its order: a value for a column
            # this descriptor does not have (an older HSDS) is dropped.
            writer, path = writers[table]
            writer.writerow([values.get(name, "") for name in columns[table]])
            rows[path] += 1

        terms_by_taxonomy: list[list[str]] = []
        for number, (name, term_count, prefix) in enumerate(TAXONOMIES, start=1):
            taxonomy_id = uid()
            write("taxonomy", id=taxonomy_id, name=name, version="1",
                  description=f"Sintētiska taksonomija {number} veiktspējas mērījumiem; nav īsta.")
            term_ids = []
            for index in range(1, term_count + 1):
                term_id = uid()
                term_ids.append(term_id)
                write("taxonomy_term", id=term_id, code=f"{prefix}-{index:02d}",
                      name=f"SINTĒTISKS termins {number}.{index:02d}",
                      description=f"Sintētisks termins {index} taksonomijā {number}.",
                      taxonomy=name, language="lv", taxonomy_id=taxonomy_id)
            terms_by_taxonomy.append(term_ids)
        first_terms, second_terms = terms_by_taxonomy

        organization_id = location_id = ""
        for index in range(services):
            if index % SERVICES_PER_ORGANIZATION == 0:
                number = index // SERVICES_PER_ORGANIZATION
                country = "LT" if number % 4 == 0 else "LV"
                organization_id, location_id = uid(), uid()
                (lat_low, lat_high), (lon_low, lon_high) = COORDINATE_BOXES[country]
                write("organization", id=organization_id, name=f"SINTĒTISKS centrs {number:06d}",
                      description=sentences(2))
                write("location", id=location_id, location_type="physical", organization_id=organization_id,
                      name=f"SINTĒTISKA vieta {number:06d}",
                      latitude=f"{rng.uniform(lat_low, lat_high):.6f}",
                      longitude=f"{rng.uniform(lon_low, lon_high):.6f}")
                write("address", id=uid(), location_id=location_id, address_type="physical",
                      address_1=f"Sintētiskā iela {number % 200 + 1}", city=rng.choice(TOWNS),
                      region=rng.choice(MUNICIPALITIES), state_province=rng.choice(MUNICIPALITIES),
                      postal_code=f"{country}-{rng.randint(1000, 5999)}" if country == "LV"
                      else f"{country}-{rng.randint(10000, 99999)}",
                      country=country)
                prefix = "+371 6" if country == "LV" else "+370 5"
                write("phone", id=uid(), organization_id=organization_id, type="voice",
                      number=f"{prefix}{number % 10_000_000:07d}")
            service_id = uid()
            write("service", id=service_id, organization_id=organization_id, status="active",
                  name=f"SINTĒTISKS pakalpojums {index:06d} {' '.join(rng.choices(WORDS, k=2))}",
                  description=sentences(rng.randint(3, 5)))
            write("service_at_location", id=uid(), service_id=service_id, location_id=location_id)
            for day in sorted(rng.sample(WEEKDAYS, k=2), key=WEEKDAYS.index):
                write("schedule", id=uid(), service_id=service_id, freq="WEEKLY", byday=day,
                      opens_at="09:00", closes_at="17:00")
            write("language", id=uid(), service_id=service_id, name="latviešu", code="lv")
            linked = [rng.choice(first_terms)]
            if rng.random() < 0.5:
                linked.append(rng.choice(second_terms))
            for term_id in linked:
                write("attribute", id=uid(), link_id=service_id, link_entity="service", taxonomy_term_id=term_id)

    package = {key: value for key, value in descriptor.items() if key != "resources"}
    package.update(
        name="sintetisks-hsds-bench",
        title="SINTĒTISKS HSDS data package for import benchmarks (not real services)",
        resources=resources,
    )
    (folder / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    return rows


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: hsds_package.py FOLDER SERVICES [SEED]")
    counts = write_synthetic_package(Path(sys.argv[1]), int(sys.argv[2]), *map(int, sys.argv[3:]))
    print(json.dumps(counts))
