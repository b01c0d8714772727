"""Coordinates for locations, through geopy, behind one interface chosen by
configuration:

- "offline" (default): the gazetteer of Latvian and Lithuanian settlements
  shipped with the project (directory/gazetteer.py); town precision.
- "nominatim": OpenStreetMap's Nominatim for street addresses, at most one
  request a second with a real user agent (its usage policy); when it finds
  nothing, the offline gazetteer still gives the town.
- any other geopy geocoder by name, with GEOCODER_OPTIONS.

Every answer is cached in the database (geocode_cache), so an address is
never sent twice. Errors and time-outs are logged and leave the location
without coordinates; the listing is saved all the same.

Geocoding is explicit: each path that saves an address calls
`locate_changed_addresses` (the manage forms through publishing, the import,
the seed); `flask geocode` fills in what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, has_app_context
from geopy.adapters import URLLibAdapter
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim, get_geocoder_for_service
from sqlalchemy import select
from sqlalchemy.orm import Session

from .gazetteer import GazetteerGeocoder
from .models import Address, GeocodeCache, Location

log = logging.getLogger(__name__)

COUNTRY_NAMES = {"LV": "Latvia", "LT": "Lithuania"}
# Nominatim's addresstype → how exact the point is.
NOMINATIM_PRECISION = {
    "house": "address", "building": "address", "amenity": "address", "office": "address",
    "road": "street", "street": "street",
    "city": "town", "town": "town", "village": "town", "hamlet": "town", "suburb": "town",
    "isolated_dwelling": "town", "municipality": "approximate", "county": "approximate",
}


@dataclass(frozen=True)
class GeocodeResult:
    found: bool
    latitude: float | None = None
    longitude: float | None = None
    precision: str | None = None
    display_name: str | None = None


NOT_FOUND = GeocodeResult(found=False)


def address_query(address: Address) -> str:
    """The text sent to a geocoder: street, town, municipality, postcode, country."""
    parts = [address.address_1, address.city, address.municipality, address.postal_code]
    parts.append(COUNTRY_NAMES.get(address.country, address.country))
    return ", ".join(p.strip() for p in parts if p and p.strip())


class GeocodingService:
    """A configured geocoder with a database cache in front of it."""

    def __init__(self, geocoder, provider: str, min_delay_seconds: float = 0.0):
        self.provider = provider
        self.geocoder = geocoder
        self.offline = GazetteerGeocoder() if not isinstance(geocoder, GazetteerGeocoder) else geocoder
        # swallow_exceptions=False: errors reach geocode(), which logs them and
        # does not cache them, so a later run tries again.
        self._geocode = (
            RateLimiter(geocoder.geocode, min_delay_seconds=min_delay_seconds, max_retries=0,
                        swallow_exceptions=False)
            if min_delay_seconds
            else geocoder.geocode
        )

    def geocode(self, session: Session, query: str, country: str | None = None) -> GeocodeResult:
        query = " ".join(query.split())[:500]
        if not query:
            return NOT_FOUND
        cached = next(
            (
                pending
                for pending in session.new
                if isinstance(pending, GeocodeCache) and (pending.provider, pending.query) == (self.provider, query)
            ),
            None,
        )
        if cached is None:
            with session.no_autoflush:
                cached = session.scalar(
                    select(GeocodeCache).where(GeocodeCache.provider == self.provider, GeocodeCache.query == query)
                )
        if cached is not None:
            return GeocodeResult(cached.found, cached.latitude, cached.longitude, cached.precision,
                                 cached.display_name)
        try:
            result = self._ask(query, country)
        except GeopyError as error:
            log.warning("Geocoding %r with %s failed: %s", query, self.provider, error)
            return NOT_FOUND
        session.add(
            GeocodeCache(provider=self.provider, query=query, found=result.found, latitude=result.latitude,
                         longitude=result.longitude, precision=result.precision,
                         display_name=result.display_name)
        )
        return result

    def _ask(self, query: str, country: str | None) -> GeocodeResult:
        location = self._geocode(query, **self._country_argument(country))
        if location is None and self.geocoder is not self.offline:
            location = self.offline.geocode(query, country_codes=country)
            if location is not None:
                return _result(location, location.raw.get("precision", "town"))
        if location is None:
            return NOT_FOUND
        return _result(location, self._precision(location))

    def _country_argument(self, country: str | None) -> dict[str, Any]:
        if not country:
            return {}
        if isinstance(self.geocoder, (Nominatim, GazetteerGeocoder)):
            return {"country_codes": country.lower() if isinstance(self.geocoder, Nominatim) else country}
        return {}

    def _precision(self, location) -> str:
        raw = location.raw if isinstance(location.raw, dict) else {}
        if "precision" in raw:
            return raw["precision"]
        return NOMINATIM_PRECISION.get(raw.get("addresstype") or raw.get("type"), "approximate")


def _result(location, precision: str) -> GeocodeResult:
    return GeocodeResult(True, location.latitude, location.longitude, precision, location.address)


def make_geocoding_service(config) -> GeocodingService:
    name = config["GEOCODER"]
    options = dict(config.get("GEOCODER_OPTIONS") or {})
    if name == "offline":
        return GeocodingService(GazetteerGeocoder(), "offline")
    options.setdefault("user_agent", config["GEOCODER_USER_AGENT"])
    options.setdefault("timeout", config["GEOCODER_TIMEOUT"])
    # urllib: one request per call. geopy's requests adapter (chosen whenever
    # `requests` happens to be installed) retries time-outs by itself, which
    # would break the one-request-a-second rule.
    options.setdefault("adapter_factory", URLLibAdapter)
    geocoder_class = Nominatim if name == "nominatim" else get_geocoder_for_service(name)
    geocoder = geocoder_class(**options)
    provider = f"{name}:{options.get('domain', '')}" if name == "nominatim" else name
    return GeocodingService(geocoder, provider, min_delay_seconds=config["GEOCODER_MIN_DELAY_SECONDS"])


def geocoding_service() -> GeocodingService:
    return current_app.extensions["geocoding"]


def geocode_location(session: Session, location: Location, service: GeocodingService) -> str | None:
    """Give `location` the coordinates of its address; returns the precision
    found, or None. An address already geocoded is not asked again."""
    address = location.physical_address
    if address is None:
        return None
    query = address_query(address)
    if location.geocoded_query == query and location.latitude is not None:
        return location.geocode_precision
    result = service.geocode(session, query, address.country)
    location.geocoded_query = query
    if result.found:
        location.latitude, location.longitude = result.latitude, result.longitude
        location.geocode_precision = result.precision
    else:
        location.latitude = location.longitude = location.geocode_precision = None
    return location.geocode_precision


def locate_changed_addresses(session: Session, addresses: Iterable[Address],
                             service: GeocodingService | None = None) -> list[Location]:
    """Give the location of each of `addresses` the coordinates of its
    address, when that address is new or changed since the location was last
    located (its `geocoded_query`); returns the locations asked about.

    Called by whatever saves an address, where it saves it: the manage forms
    (publishing.apply_changes), the import (directory/hsds/importer.py) and the seed. Nothing
    happens behind a caller's back: a plain commit does not geocode. Outside
    an application, or with GEOCODE_ON_SAVE off, nothing is located (the
    `flask geocode` command fills the gaps later)."""
    if service is None:
        if not has_app_context() or not current_app.config.get("GEOCODE_ON_SAVE", True):
            return []
        service = current_app.extensions.get("geocoding")
        if service is None:
            return []
    located: list[Location] = []
    seen: set[int] = set()
    for address in addresses:
        location = address.location
        if location is None or id(location) in seen:
            continue
        seen.add(id(location))
        physical = location.physical_address
        if physical is None or location.geocoded_query == address_query(physical):
            continue  # not this location's address, or located as it is
        geocode_location(session, location, service)
        located.append(location)
    return located


def init_app(app: Flask) -> None:
    app.extensions["geocoding"] = make_geocoding_service(app.config)
