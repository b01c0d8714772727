"""Load the starter data (taxonomies, source documents, centres) into the database.

The data lives in TOML files in starter_data/; every id is derived from a
stable key, so seeding twice leaves the same rows, and seeding after a change
to the files brings the starter records in line with them.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import geocoding
from .i18n import default_language, supported_languages
from .models import (
    Address,
    Contact,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    SourceDocument,
    Taxonomy,
    TaxonomyTerm,
    TaxonomyTermLabel,
)
from .search_language import synonyms_text

STARTER_DATA_DIR = Path(__file__).resolve().parent / "starter_data"
# Namespace of the ids derived from starter keys; never change it, or a
# re-seed would duplicate every record.
STARTER_NAMESPACE = uuid.UUID("6f1d3c2a-9b0e-4c55-8a43-2b7d5e0f9a11")
# A taxonomy term's description in the data is its English label (a gloss
# for readers of the open data), whatever languages the interface speaks.
TERM_DESCRIPTION_LANGUAGE = "en"


def stable_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(STARTER_NAMESPACE, f"{kind}:{key}"))


@dataclass
class SeedReport:
    taxonomies: int = 0
    terms: int = 0
    sources: int = 0
    organizations: int = 0
    services: int = 0
    locations: int = 0


def database_is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Organization)) == 0


def seed_starter_data(
    session: Session, data_dir: Path | None = None, languages: Sequence[str] | None = None
) -> SeedReport:
    """Upsert the starter data and commit. All or nothing: an error rolls back.

    Taxonomy labels are written for `languages` (default: the app's
    LANGUAGES, default language first) where taxonomy.toml has them; a
    language the file has no label for is left out, and the term shows its
    own name there."""
    data_dir = Path(data_dir or STARTER_DATA_DIR)
    taxonomy_data = _read_toml(data_dir / "taxonomy.toml")
    centre_data = _read_toml(data_dir / "centres.toml")
    report = SeedReport()
    try:
        # Rows are linked to their parents only after they are built; a flush
        # in between would insert children without their parent's id.
        with session.no_autoflush:
            terms = _seed_taxonomies(session, taxonomy_data, report, languages)
            sources = _seed_sources(session, data_dir / "sources", centre_data, report)
            _seed_organizations(session, centre_data, terms, sources, report)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return report


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _upsert(session: Session, model: type, id_: str, **values: Any):
    record = session.get(model, id_)
    if record is None:
        record = model(id=id_)
        session.add(record)
    for name, value in values.items():
        if getattr(record, name) != value:
            setattr(record, name, value)
    return record


def _label_languages() -> list[str]:
    """The app's LANGUAGES, the default one first."""
    default = default_language()
    return [default, *(code for code in supported_languages() if code != default)]


def _seed_taxonomies(
    session: Session, data: dict[str, Any], report: SeedReport, languages: Sequence[str] | None = None
) -> dict[tuple[str, str], TaxonomyTerm]:
    languages = _label_languages() if languages is None else languages
    terms: dict[tuple[str, str], TaxonomyTerm] = {}
    for taxonomy_data in data["taxonomy"]:
        code = taxonomy_data["code"]
        taxonomy = _upsert(
            session,
            Taxonomy,
            stable_id("taxonomy", code),
            code=code,
            name=taxonomy_data["name"],
            description=taxonomy_data.get("description", ""),
        )
        report.taxonomies += 1
        for position, term_data in enumerate(taxonomy_data["term"]):
            term_id = stable_id(f"taxonomy_term:{code}", term_data["code"])
            term = _upsert(
                session,
                TaxonomyTerm,
                term_id,
                taxonomy=taxonomy,
                code=term_data["code"],
                name=_term_name(term_data, languages),
                description=term_data.get(TERM_DESCRIPTION_LANGUAGE, ""),
                lt_catalogue_code=term_data.get("lt_code"),
                position=position,
            )
            existing = {label.locale: label for label in term.labels}
            for locale in languages:
                if not term_data.get(locale):
                    continue
                synonyms = synonyms_text(term_data.get(f"{locale}_synonyms", []))
                label = existing.get(locale)
                if label is None:
                    term.labels.append(TaxonomyTermLabel(locale=locale, name=term_data[locale], synonyms=synonyms))
                    continue
                if label.name != term_data[locale]:
                    label.name = term_data[locale]
                if label.synonyms != synonyms:
                    label.synonyms = synonyms
            terms[(code, term_data["code"])] = term
            report.terms += 1
    return terms


def _term_name(term_data: dict[str, Any], languages: Sequence[str]) -> str:
    """The term's own name: its label in the first of `languages` (the
    default one first) that the file has."""
    for locale in languages:
        if term_data.get(locale):
            return term_data[locale]
    raise ValueError(f"taxonomy term {term_data.get('code')!r} has no label in any of {', '.join(languages)}")


def _seed_sources(
    session: Session, sources_dir: Path, data: dict[str, Any], report: SeedReport
) -> dict[str, SourceDocument]:
    sources: dict[str, SourceDocument] = {}
    for source_data in data["source"]:
        file_name = source_data["file"]
        text = (sources_dir / file_name).read_text(encoding="utf-8")
        sources[file_name] = _upsert(
            session,
            SourceDocument,
            file_name,
            title=source_data["title"],
            publisher=source_data.get("publisher"),
            summary=source_data.get("summary"),
            language=source_data.get("language", "lv"),
            last_changed=source_data.get("last_changed"),
            text=text,
        )
        report.sources += 1
    return sources


def _seed_organizations(
    session: Session,
    data: dict[str, Any],
    terms: dict[tuple[str, str], TaxonomyTerm],
    sources: dict[str, SourceDocument],
    report: SeedReport,
) -> None:
    organizations: dict[str, Organization] = {}
    for org_data in data["organization"]:
        key = org_data["key"]
        source = sources[org_data["source"]]
        org = _upsert(
            session,
            Organization,
            stable_id("organization", key),
            slug=key,
            name=org_data["name"],
            alternate_name=org_data.get("alternate_name"),
            description=org_data.get("description", ""),
            email=org_data.get("email"),
            website=org_data.get("website"),
            text_language=org_data.get("text_language", "lv"),
            source=source,
        )
        organizations[key] = org
        report.organizations += 1

        org.contacts = [
            _upsert(
                session,
                Contact,
                stable_id("contact", f"{key}:{index}"),
                name=contact.get("name"),
                title=contact.get("title"),
                source=sources[contact.get("source", org_data["source"])],
            )
            for index, contact in enumerate(org_data.get("contact", []))
        ]

        locations = [
            _seed_location(session, location_data, sources, org_data["source"])
            for location_data in org_data.get("location", [])
        ]
        org.locations = locations
        report.locations += len(locations)

        org.services = [
            _seed_service(session, service_data, locations, terms, sources, org_data["source"])
            for service_data in org_data.get("service", [])
        ]
        report.services += len(org.services)

    for org_data in data["organization"]:
        operator = org_data.get("operator")
        parent = organizations[operator] if operator else None
        org = organizations[org_data["key"]]
        if org.parent is not parent:
            org.parent = parent


def _seed_location(
    session: Session,
    data: dict[str, Any],
    sources: dict[str, SourceDocument],
    default_source: str,
) -> Location:
    key = data["key"]
    source = sources[data.get("source", default_source)]
    location = _upsert(
        session,
        Location,
        stable_id("location", key),
        name=data.get("name"),
        description=data.get("description"),
        location_type="physical",
        source=source,
    )
    address = data["address"]
    location.addresses = [
        _upsert(
            session,
            Address,
            stable_id("address", key),
            address_1=address.get("address_1"),
            city=address.get("city"),
            municipality=address.get("municipality"),
            postal_code=address.get("postal_code"),
            country=address["country"],
            address_type="physical",
            source=source,
        )
    ]
    geocoding.locate_changed_addresses(session, location.addresses)  # a new or moved address: its map position
    return location


def _seed_service(
    session: Session,
    data: dict[str, Any],
    locations: list[Location],
    terms: dict[tuple[str, str], TaxonomyTerm],
    sources: dict[str, SourceDocument],
    default_source: str,
) -> Service:
    key = data["key"]
    service = _upsert(
        session,
        Service,
        stable_id("service", key),
        name=data["name"],
        description=data.get("description", ""),
        status="active",
        eligibility_description=data.get("eligibility"),
        fees_description=data.get("fees"),
        source=sources[data.get("source", default_source)],
    )
    wanted_terms = [terms[("service-type", code)] for code in data.get("service_types", [])]
    wanted_terms += [terms[("target-group", code)] for code in data.get("target_groups", [])]
    if {t.id for t in service.taxonomy_terms} != {t.id for t in wanted_terms}:
        service.taxonomy_terms = wanted_terms
    # A service is offered at every location of its organization unless the
    # data names the locations.
    if "locations" in data:
        wanted = {stable_id("location", k) for k in data["locations"]}
        locations = [loc for loc in locations if loc.id in wanted]
    service.service_at_locations = [
        _upsert(
            session,
            ServiceAtLocation,
            stable_id("service_at_location", f"{key}:{loc.id}"),
            location=loc,
        )
        for loc in locations
    ]
    return service
