"""The directory's data, shaped after Open Referral HSDS 3.0.

Table and column names follow HSDS where HSDS has the concept (organization,
service, location, address, service_at_location, phone, contact, schedule,
language, accessibility, taxonomy, taxonomy_term), so that import and export
map one to one. What HSDS lacks and a trusted directory needs is added beside:
`source_id` (the document a fact comes from), `last_verified`, labels of
taxonomy terms in each language, and a few flags residents filter on.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from flask_login import UserMixin

from .extensions import db

ID = String(36)

COUNTRIES = ("LV", "LT")
SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SourceDocument(db.Model):
    """A document that facts in the directory were taken from."""

    __tablename__ = "source_document"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # the file name
    title: Mapped[str] = mapped_column(String(500))
    publisher: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="lv")
    last_changed: Mapped[date | None] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)


class Sourced:
    """Columns every fact-bearing record carries: where it comes from and when
    someone last confirmed it."""

    source_id: Mapped[str | None] = mapped_column(
        String(120), ForeignKey("source_document.id"), index=True
    )
    last_verified: Mapped[date | None] = mapped_column(Date)

    @declared_attr
    def source(cls) -> Mapped[SourceDocument | None]:
        return relationship(SourceDocument)


class Organization(Sourced, db.Model):
    """A centre, or the body that operates centres (parent_organization)."""

    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(500))
    legal_status: Mapped[str | None] = mapped_column(String(200))
    parent_organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id"), index=True
    )
    # The language the organization's own texts are written in.
    text_language: Mapped[str] = mapped_column(String(8), default="lv")
    # "published", or "pending" while a new organization waits for an admin.
    status: Mapped[str] = mapped_column(String(20), default="published", server_default="published")
    # Optimistic locking: a save based on an older version is refused.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    __mapper_args__ = {"version_id_col": version}

    parent: Mapped[Organization | None] = relationship(
        remote_side="Organization.id", back_populates="children"
    )
    children: Mapped[list[Organization]] = relationship(back_populates="parent")
    services: Mapped[list[Service]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="Service.name"
    )
    locations: Mapped[list[Location]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="Location.name"
    )
    phones: Mapped[list[Phone]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )
    urls: Mapped[list[Url]] = relationship(back_populates="organization", cascade="all, delete-orphan")
    identifiers: Mapped[list[OrganizationIdentifier]] = relationship(
        back_populates="organization", cascade="all, delete-orphan",
        order_by="[OrganizationIdentifier.identifier_scheme, OrganizationIdentifier.identifier]",
    )


class OrganizationIdentifier(db.Model):
    """A number the organization is registered under (HSDS 3.1
    organization_identifier): `identifier_scheme` is an org-id.guide list
    code (LV-RE: the Latvian Register of Enterprises, 11 digits; LT-RC: the
    Lithuanian Register of Legal Entities, 9 digits) or the directory's
    LV-SPSR (the Latvian register of social service providers); imports may
    bring other schemes, kept as they are."""

    __tablename__ = "organization_identifier"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    identifier_scheme: Mapped[str | None] = mapped_column(String(100))
    identifier_type: Mapped[str] = mapped_column(String(300))
    identifier: Mapped[str] = mapped_column(String(200))

    organization: Mapped[Organization | None] = relationship(back_populates="identifiers")


service_taxonomy_term = Table(
    "service_taxonomy_term",
    db.metadata,
    Column("service_id", ID, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "taxonomy_term_id",
        ID,
        ForeignKey("taxonomy_term.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # HSDS attribute fields of the link. `id` is the publisher's attribute id
    # when an import gave one; None: derived from the pair (directory/hsds/mapping.py).
    Column("id", ID, index=True, unique=True),
    Column("link_type", String(200)),
    Column("value", Text),
    Column("label", String(300)),
)


class ServiceTermLink(db.Model):
    """A row of service_taxonomy_term as HSDS sees it: an attribute linking a
    service to a taxonomy term (read-only; Service.taxonomy_terms writes)."""

    __table__ = service_taxonomy_term
    link_entity = "service"  # links of other entities are not kept

    term: Mapped[TaxonomyTerm] = relationship(viewonly=True)


class Service(Sourced, db.Model):
    __tablename__ = "service"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="active")
    application_process: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    fees_description: Mapped[str | None] = mapped_column(Text)
    # None: the listing does not say; True / False: it says.
    free_of_charge: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    organization: Mapped[Organization] = relationship(back_populates="services")
    # Terms of both vocabularies share positions: the id settles ties, so
    # tags always come in the same order.
    taxonomy_terms: Mapped[list[TaxonomyTerm]] = relationship(
        secondary=service_taxonomy_term, order_by="[TaxonomyTerm.position, TaxonomyTerm.id]"
    )
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    phones: Mapped[list[Phone]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    languages: Mapped[list[Language]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    required_documents: Mapped[list[RequiredDocument]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="RequiredDocument.position"
    )
    term_links: Mapped[list[ServiceTermLink]] = relationship(viewonly=True)
    urls: Mapped[list[Url]] = relationship(back_populates="service", cascade="all, delete-orphan")
    capacities: Mapped[list[ServiceCapacity]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    service_areas: Mapped[list[ServiceArea]] = relationship(
        back_populates="service", cascade="all, delete-orphan"
    )
    cost_options: Mapped[list[CostOption]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="[CostOption.position, CostOption.id]"
    )

    def terms_of(self, taxonomy_code: str) -> list[TaxonomyTerm]:
        return [t for t in self.taxonomy_terms if t.taxonomy is not None and t.taxonomy.code == taxonomy_code]

    @property
    def service_types(self) -> list[TaxonomyTerm]:
        return self.terms_of("service-type")

    @property
    def target_groups(self) -> list[TaxonomyTerm]:
        return self.terms_of("target-group")


class Location(Sourced, db.Model):
    __tablename__ = "location"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    # HSDS lets a location stand without an organization (a shared venue).
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    location_type: Mapped[str] = mapped_column(String(20), default="physical")
    name: Mapped[str | None] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    transportation: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # How exact the coordinates are: "address", "street", "town" or
    # "approximate" (a nearby town the address names); None: not geocoded.
    geocode_precision: Mapped[str | None] = mapped_column(String(20))
    # The address text the coordinates were found for: a changed address
    # is geocoded again, an unchanged one never.
    geocoded_query: Mapped[str | None] = mapped_column(String(500))
    # None: the listing does not say.
    wheelchair_accessible: Mapped[bool | None] = mapped_column(Boolean)
    # A place whose address must not be published (a shelter for people
    # escaping violence): only its town and municipality are public.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    organization: Mapped[Organization | None] = relationship(back_populates="locations")
    addresses: Mapped[list[Address]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    phones: Mapped[list[Phone]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    languages: Mapped[list[Language]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    accessibility: Mapped[list[Accessibility]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )

    @property
    def physical_address(self) -> Address | None:
        for address in self.addresses:
            if address.address_type == "physical":
                return address
        return self.addresses[0] if self.addresses else None


class Address(Sourced, db.Model):
    __tablename__ = "address"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    attention: Mapped[str | None] = mapped_column(String(300))
    address_1: Mapped[str | None] = mapped_column(String(300))  # street and number
    address_2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(200))  # town or village
    municipality: Mapped[str | None] = mapped_column(String(200))  # novads / savivaldybė
    state_province: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    address_type: Mapped[str] = mapped_column(String(20), default="physical")

    location: Mapped[Location] = relationship(back_populates="addresses")


class ServiceAtLocation(db.Model):
    __tablename__ = "service_at_location"
    __table_args__ = (UniqueConstraint("service_id", "location_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(
        ID, ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service] = relationship(back_populates="service_at_locations")
    location: Mapped[Location] = relationship(back_populates="service_at_locations")
    phones: Mapped[list[Phone]] = relationship(
        back_populates="service_at_location", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="service_at_location", cascade="all, delete-orphan"
    )
    schedules: Mapped[list[Schedule]] = relationship(
        back_populates="service_at_location", cascade="all, delete-orphan"
    )
    service_areas: Mapped[list[ServiceArea]] = relationship(
        back_populates="service_at_location", cascade="all, delete-orphan"
    )


class Contact(Sourced, db.Model):
    """A named person to ask, e.g. a centre's head."""

    __tablename__ = "contact"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service_at_location.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))

    organization: Mapped[Organization | None] = relationship(back_populates="contacts")
    service: Mapped[Service | None] = relationship(back_populates="contacts")
    location: Mapped[Location | None] = relationship(back_populates="contacts")
    service_at_location: Mapped[ServiceAtLocation | None] = relationship(back_populates="contacts")
    phones: Mapped[list[Phone]] = relationship(back_populates="contact", cascade="all, delete-orphan")


class Phone(Sourced, db.Model):
    __tablename__ = "phone"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service_at_location.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(50))
    extension: Mapped[int | None] = mapped_column(Integer)
    type: Mapped[str | None] = mapped_column(String(20))  # voice, fax, cell, sms…
    description: Mapped[str | None] = mapped_column(Text)

    organization: Mapped[Organization | None] = relationship(back_populates="phones")
    location: Mapped[Location | None] = relationship(back_populates="phones")
    service: Mapped[Service | None] = relationship(back_populates="phones")
    contact: Mapped[Contact | None] = relationship(back_populates="phones")
    service_at_location: Mapped[ServiceAtLocation | None] = relationship(back_populates="phones")
    languages: Mapped[list[Language]] = relationship(back_populates="phone", cascade="all, delete-orphan")


class Schedule(Sourced, db.Model):
    """When a service or location is open: an iCalendar recurrence rule (HSDS
    schedule). What the dashboard writes is one interval on one weekday
    (freq=WEEKLY, byday=MO); imported rules keep every part they state
    (weekday lists, interval, until, count, monthly days…), and a rule
    without days is only its description."""

    __tablename__ = "schedule"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    service_at_location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service_at_location.id", ondelete="CASCADE"), index=True
    )
    # None: no recurrence stated (plain weekdays still read as weekly; a row
    # with only a description is only that).
    freq: Mapped[str | None] = mapped_column(String(10))
    # Comma-separated RRULE weekdays, each with an optional ordinal: "MO,TU", "1MO", "-1FR".
    byday: Mapped[str | None] = mapped_column(String(100))
    interval: Mapped[int | None] = mapped_column(Integer)
    bymonthday: Mapped[str | None] = mapped_column(String(200))
    byweekno: Mapped[str | None] = mapped_column(String(200))
    byyearday: Mapped[str | None] = mapped_column(String(200))
    wkst: Mapped[str | None] = mapped_column(String(2))
    dtstart: Mapped[date | None] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)
    count: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    # HSDS `timezone`: the UTC offset in hours the times are given in; None:
    # local time of the place (Europe/Riga, Europe/Vilnius).
    timezone: Mapped[float | None] = mapped_column(Float)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    schedule_link: Mapped[str | None] = mapped_column(String(500))
    attending_type: Mapped[str | None] = mapped_column(String(200))
    # Whether the centre opens on public holidays falling on this weekday.
    open_on_public_holidays: Mapped[bool] = mapped_column(Boolean, default=False)

    service: Mapped[Service | None] = relationship(back_populates="schedules")
    location: Mapped[Location | None] = relationship(back_populates="schedules")
    service_at_location: Mapped[ServiceAtLocation | None] = relationship(back_populates="schedules")


class Language(db.Model):
    """A language spoken at a service or location (ISO 639-1 code)."""

    __tablename__ = "language"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    phone_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("phone.id", ondelete="CASCADE"), index=True
    )
    # ISO 639-1 where the language has one (`lav` and "Latvian" read as lv),
    # else ISO 639-3; None: only a name was given that no code is known for.
    code: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)

    service: Mapped[Service | None] = relationship(back_populates="languages")
    location: Mapped[Location | None] = relationship(back_populates="languages")
    phone: Mapped[Phone | None] = relationship(back_populates="languages")


class Accessibility(db.Model):
    __tablename__ = "accessibility"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    location_id: Mapped[str] = mapped_column(
        ID, ForeignKey("location.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))

    location: Mapped[Location] = relationship(back_populates="accessibility")


class Url(db.Model):
    """A further web address of an organization or service (HSDS 3.1 url:
    organization.additional_websites, service.additional_urls)."""

    __tablename__ = "url"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[str | None] = mapped_column(ID, ForeignKey("service.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500))

    organization: Mapped[Organization | None] = relationship(back_populates="urls")
    service: Mapped[Service | None] = relationship(back_populates="urls")


class Unit(db.Model):
    """What a capacity is counted in: beds, places, hours (HSDS 3.1 unit)."""

    __tablename__ = "unit"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    scheme: Mapped[str | None] = mapped_column(String(200))
    identifier: Mapped[str | None] = mapped_column(String(200))
    uri: Mapped[str | None] = mapped_column(String(500))


class ServiceCapacity(db.Model):
    """How many of a unit a service has free now (HSDS 3.1 service_capacity)."""

    __tablename__ = "service_capacity"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ID, ForeignKey("service.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[str] = mapped_column(ID, ForeignKey("unit.id", ondelete="RESTRICT"), index=True)
    available: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    service: Mapped[Service] = relationship(back_populates="capacities")
    unit: Mapped[Unit] = relationship()


class ServiceArea(db.Model):
    """Where a service (or a service at one location) serves people (HSDS
    service_area): a named area, a description, or an extent."""

    __tablename__ = "service_area"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str | None] = mapped_column(ID, ForeignKey("service.id", ondelete="CASCADE"), index=True)
    service_at_location_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service_at_location.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    extent: Mapped[str | None] = mapped_column(Text)
    extent_type: Mapped[str | None] = mapped_column(String(40))
    uri: Mapped[str | None] = mapped_column(String(500))
    # The country ("LV", "LT") or municipality (ISO 3166-2, "LV-111",
    # "LT-60") the area is, when it is one (directory/municipalities.py);
    # None: an area only described in words or by an extent.
    area_code: Mapped[str | None] = mapped_column(String(10), index=True)

    service: Mapped[Service | None] = relationship(back_populates="service_areas")
    service_at_location: Mapped[ServiceAtLocation | None] = relationship(back_populates="service_areas")


class CostOption(db.Model):
    """What a service costs (HSDS 3.1 cost_option): an amount in a currency,
    what it covers (`option`) and for whom (`amount_description`). A service
    is free of charge when an option costs nothing (Service.free_of_charge
    is kept from these by directory/costs.py)."""

    __tablename__ = "cost_option"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str | None] = mapped_column(ID, ForeignKey("service.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    option: Mapped[str | None] = mapped_column(Text)
    # ISO 4217; None with an amount: the listing does not say (read as EUR only where shown).
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[float | None] = mapped_column(Float)
    amount_description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    service: Mapped[Service | None] = relationship(back_populates="cost_options")


class GeocodeCache(db.Model):
    """Every answer a geocoder gave, so that an address is never sent twice."""

    __tablename__ = "geocode_cache"
    __table_args__ = (UniqueConstraint("provider", "query"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(String(500))
    found: Mapped[bool] = mapped_column(Boolean)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str | None] = mapped_column(String(20))
    display_name: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Taxonomy(db.Model):
    """A vocabulary: service types, target groups."""

    __tablename__ = "taxonomy"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    uri: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(40))

    terms: Mapped[list[TaxonomyTerm]] = relationship(
        back_populates="taxonomy", order_by="TaxonomyTerm.position", cascade="all, delete-orphan"
    )


class TaxonomyTerm(db.Model):
    __tablename__ = "taxonomy_term"
    __table_args__ = (UniqueConstraint("taxonomy_id", "code"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    # HSDS lets a term stand without a taxonomy record (then `taxonomy_name`
    # may name its vocabulary in words).
    taxonomy_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("taxonomy.id", ondelete="CASCADE"), index=True
    )
    taxonomy_name: Mapped[str | None] = mapped_column(String(300))
    # The key used in URLs. Free text in HSDS ("BD-1800.2000", "Emergency
    # Food"); the directory's own terms use lowercase-hyphen codes.
    code: Mapped[str] = mapped_column(String(250))
    name: Mapped[str] = mapped_column(String(300))  # in `language`
    # The language of `name`; None: the directory's default language (lv).
    language: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[str | None] = mapped_column(ID, ForeignKey("taxonomy_term.id"))
    term_uri: Mapped[str | None] = mapped_column(String(500))
    # Code in Lithuania's catalogue of social services, where one is known.
    lt_catalogue_code: Mapped[str | None] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)

    taxonomy: Mapped[Taxonomy | None] = relationship(back_populates="terms")
    labels: Mapped[list[TaxonomyTermLabel]] = relationship(
        back_populates="term", cascade="all, delete-orphan"
    )

    def label(self, locale: str) -> str:
        """The term's name in `locale`, falling back to its Latvian name."""
        for label in self.labels:
            if label.locale == locale:
                return label.name
        return self.name


class TaxonomyTermLabel(db.Model):
    """A term's name in one language (HSDS has no translated fields)."""

    __tablename__ = "taxonomy_term_label"

    term_id: Mapped[str] = mapped_column(
        ID, ForeignKey("taxonomy_term.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # Other words people use for the term in this language, one per line:
    # found by the search like the name, never shown to residents.
    synonyms: Mapped[str | None] = mapped_column(Text)

    term: Mapped[TaxonomyTerm] = relationship(back_populates="labels")


# ------------------------------------------------------------ accounts

ROLES = ("admin", "editor", "social_worker")

organization_editor = Table(
    "organization_editor",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ID, ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    """Someone who signs in: an admin, a centre editor or a social worker."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    # "pending" until an admin approves the sign-up request, then "active";
    # "disabled" keeps the record (and its history) but refuses sign-in.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    # What the person wrote when asking for an account (their centre, their office).
    request_note: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), default="lv")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organizations: Mapped[list[Organization]] = relationship(
        secondary=organization_editor, order_by="Organization.name"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: only active accounts sign in
        return self.status == "active"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.is_active

    # Set by the user loader: the sign-in this request belongs to. Flask-Login
    # keeps get_id() in the session and the remember cookie, so a cookie names
    # one sign-in and stops working when that sign-in is ended on the server.
    login_key = None  # str, not a column

    def get_id(self) -> str:
        return f"{self.id}.{self.login_key}" if self.login_key else str(self.id)

    def may_edit(self, organization: Organization) -> bool:
        """Admins edit everything; an editor only the organizations linked to them."""
        if not self.is_active:
            return False
        if self.role == "admin":
            return True
        return self.role == "editor" and any(o.id == organization.id for o in self.organizations)


class UserSession(db.Model):
    """One sign-in on one device. The session and remember cookies carry its
    key (signed); deleting the row signs that device out. Only a hash of the
    key is stored."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Revision(db.Model):
    """One saved change: who, when, and each field before and after."""

    __tablename__ = "revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    entity_type: Mapped[str] = mapped_column(String(40))  # organization, location, service
    entity_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(20))  # create, update, retire, verify, revert
    # {"field": [before, after], …} as JSON text
    changes: Mapped[str] = mapped_column(Text, default="{}")
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    reverted_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("revision.id"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    organization: Mapped[Organization | None] = relationship()


class AuditEvent(db.Model):
    """What happened, for admins: sign-ins, approvals, edits, reverts, views."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()


class OutboxMessage(db.Model):
    """An e-mail to send: written here first, sent by SMTP when configured."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last failure, if any; `attempts` counts tries, and a message that
    # failed MAIL_MAX_ATTEMPTS times is no longer tried (an admin sees why).
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


PROBLEM_KINDS = ("address", "closed", "hours", "other")


class ProblemReport(db.Model):
    """A resident's note that a listing is wrong."""

    __tablename__ = "problem_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, resolved
    resolved_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organization: Mapped[Organization] = relationship()
    resolved_by: Mapped[User | None] = relationship()


class RequiredDocument(Sourced, db.Model):
    """Something a person must bring to use a service (HSDS required_document):
    shown on the centre page and on the client's referral slip."""

    __tablename__ = "required_document"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(ID, ForeignKey("service.id", ondelete="CASCADE"), index=True)
    document: Mapped[str] = mapped_column(String(500))
    uri: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)

    service: Mapped[Service] = relationship(back_populates="required_documents")


class ShortlistItem(db.Model):
    """A service on a signed-in user's shortlist (residents without an account
    keep theirs in the session cookie)."""

    __tablename__ = "shortlist_item"

    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[str] = mapped_column(
        ID, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    service: Mapped[Service] = relationship()


# A referral's life: sent → accepted → completed; a centre may decline a sent
# referral, and the sender may withdraw one that is not closed yet. Unanswered
# referrals expire (`flask purge`). The last four close it.
REFERRAL_STATUSES = ("sent", "accepted", "declined", "completed", "withdrawn", "expired")
REFERRAL_CLOSED = ("declined", "completed", "withdrawn", "expired")
DECLINE_REASONS = ("no-places", "not-eligible", "not-reachable", "other-service", "other")


class Referral(db.Model):
    """A social worker sends a client to a service. It holds as little about
    the client as the work needs, and that little is wiped (`flask purge`) a
    configurable time after the referral closes; the row itself, without the
    client, stays for the statistics."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Service and centre are kept by name too: the statistics outlive a
    # service removed from the directory.
    service_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("service.id", ondelete="SET NULL"), index=True
    )
    organization_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    service_name: Mapped[str] = mapped_column(String(300))
    organization_name: Mapped[str] = mapped_column(String(300))
    sender_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="sent", index=True)
    # The client: first name or initials, how to reach them, what they need.
    client_name: Mapped[str | None] = mapped_column(String(60))
    client_contact: Mapped[str | None] = mapped_column(String(200))
    client_language: Mapped[str] = mapped_column(String(8), default="lv")
    need: Mapped[str | None] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the centre was last reminded of a referral still waiting for its answer.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Two people answering at once: the second answer is refused.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    service: Mapped[Service | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    sender: Mapped[User | None] = relationship()
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", cascade="all, delete-orphan", order_by="ReferralEvent.id"
    )

    @property
    def is_closed(self) -> bool:
        return self.status in REFERRAL_CLOSED


class ReferralEvent(db.Model):
    """One step in a referral's history: who moved it to which status, when."""

    __tablename__ = "referral_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("referral.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # A free-text note (may name the client: wiped by the purge).
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    referral: Mapped[Referral] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class ImportJob(db.Model):
    """A data package an admin uploaded, imported in the background
    (directory/hsds/importer.py run_job): where it stands and, once done,
    its report. The file waits in instance/imports/ until the job runs."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(200))  # the upload's own name, for the report
    # queued → running → done (the report says whether anything was imported)
    # or failed (the import stopped with an error; nothing was imported).
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    stage: Mapped[str | None] = mapped_column(String(40))  # reading, validating, writing, indexing
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str | None] = mapped_column(Text)  # JSON: problems, warnings, counts
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_by: Mapped[User | None] = relationship()


# ------------------------------------------------------------ keeping listings true


class ReviewReminder(db.Model):
    """A reminder that an organization's listing is due for review, sent once
    per stage ("10", "11", "12": months since its last review) and per review
    date (a new review starts the cycle again)."""

    __tablename__ = "review_reminder"
    __table_args__ = (UniqueConstraint("organization_id", "stage", "reviewed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(10))
    # The review the reminder counts from (never NULL: a listing never
    # reviewed counts from the day it was created).
    reviewed_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization] = relationship()


class ListingClaim(db.Model):
    """Someone at a centre asks to keep its listing; an admin approves or refuses."""

    __tablename__ = "listing_claim"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[str] = mapped_column(
        ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(8), default="lv")  # of the e-mails to the claimant
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending, approved, refused
    reason: Mapped[str | None] = mapped_column(Text)  # why it was refused
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"))
    # The editor account the approval made or linked.
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"))

    organization: Mapped[Organization] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class OrganizationMerge(db.Model):
    """Two organizations merged into one: the merged one's URL and API id
    lead to the one kept; `snapshot` holds what an undo puts back."""

    __tablename__ = "organization_merge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kept_id: Mapped[str] = mapped_column(ID, ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[str] = mapped_column(ID, index=True)
    merged_slug: Mapped[str] = mapped_column(String(120), index=True)
    merged_name: Mapped[str] = mapped_column(String(300))
    snapshot: Mapped[str] = mapped_column(Text)  # JSON
    user_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    kept: Mapped[Organization] = relationship()
    user: Mapped[User | None] = relationship()


class UnmetSearch(db.Model):
    """How many searches in a month found nothing or fewer than three
    services: the normalised words and filters and at most a municipality,
    never a position, a session or an address."""

    __tablename__ = "unmet_search"
    __table_args__ = (UniqueConstraint("month", "words", "filters", "municipality"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # "2026-12"
    words: Mapped[str] = mapped_column(String(200), default="")  # normalised; "" for none
    filters: Mapped[str] = mapped_column(String(300), default="")  # canonical, "type=day-centre&age=16"
    municipality: Mapped[str] = mapped_column(String(10), default="")  # ISO 3166-2 or ""
    searches: Mapped[int] = mapped_column(Integer, default=0)
    found_nothing: Mapped[int] = mapped_column(Integer, default=0)  # of `searches`; the rest found 1 or 2
