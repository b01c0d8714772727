"""Latvia's and Lithuania's municipalities, and the areas services serve.

A service area is a whole country ("LV", "LT"), a municipality (its ISO
3166-2 code: "LV-111" Augšdaugavas novads, "LT-60" Zarasų rajono
savivaldybė), or an area only described in words (no code). The list is
committed (geodata/municipalities.tsv, made by
scripts/extract_municipalities.py from pycountry's ISO 3166-2 data), with
links from the gazetteer's places to their municipality
(geodata/place_municipality.tsv; see geodata/README.md for sources).

"Serves my place" is then a lookup: what the visitor typed, or the nearest
known town to the device, names a municipality (`resolve`), and an area
covers it when it is that municipality or its whole country (`covers`).
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

from flask import has_request_context
from flask_babel import get_locale

from .gazetteer import GazetteerGeocoder, fold

GEODATA = Path(__file__).resolve().parent / "geodata"
COUNTRY_CODES = ("LV", "LT")
# Words that say what kind of municipality a name is, folded.
_CITY_WORDS = frozenset({"miesto", "miestas", "m", "city", "valstspilseta", "pilseta"})
_DISTRICT_WORDS = frozenset({"rajono", "rajonas", "r", "raj", "district"})
_PLAIN_WORDS = frozenset({"novads", "nov", "savivaldybe", "sav", "municipality", "pasvaldiba", "municipalitet"})
# A device further than this from every linked town is not placed.
MAX_TOWN_KM = 30.0


@dataclass(frozen=True)
class Municipality:
    code: str  # ISO 3166-2
    country: str  # "LV" or "LT"
    name: str  # official, in the country's language
    kind: str  # "municipality", "state_city", "district", "city"
    towns: tuple[str, ...]  # the towns it is named after or run from
    name_en: str = ""  # the English name where it differs ("Zarasai District Municipality")

    @property
    def label(self) -> str:
        """Its name in the visitor's language: the official name, or the
        English one on English pages where there is one."""
        if self.name_en and has_request_context() and str(get_locale()) == "en":
            return self.name_en
        return self.name

    @property
    def key(self) -> str:
        """Its name without the words that say what kind it is, folded ("zarasu", "augsdaugavas")."""
        return " ".join(word for word in fold(self.name).split() if word not in _KIND_WORDS)

    @property
    def english_key(self) -> str:
        return " ".join(word for word in fold(self.name_en).split() if word not in _KIND_WORDS)

    @property
    def is_city(self) -> bool:
        return self.kind in ("city", "state_city")


_KIND_WORDS = _CITY_WORDS | _DISTRICT_WORDS | _PLAIN_WORDS


def _rows(name: str) -> list[dict[str, str]]:
    with (GEODATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@functools.cache
def _municipalities() -> dict[str, Municipality]:
    return {
        row["code"]: Municipality(row["code"], row["country"], row["name"], row["kind"],
                                  tuple(filter(None, row["towns"].split("|"))), row.get("name_en") or "")
        for row in _rows("municipalities.tsv")
    }


@functools.cache
def _place_links() -> dict[int, str]:
    return {int(row["geonameid"]): row["municipality"] for row in _rows("place_municipality.tsv")}


def all_municipalities(country: str | None = None) -> list[Municipality]:
    """In alphabetical order of their names, ignoring diacritics."""
    found = [m for m in _municipalities().values() if country is None or m.country == country]
    return sorted(found, key=lambda m: (fold(m.name), m.code))


def get(code: str | None) -> Municipality | None:
    return _municipalities().get(code or "")


def is_area_code(code: str | None) -> bool:
    """A code an area may carry: a country or a municipality."""
    return code in COUNTRY_CODES or get(code) is not None


def covers(area_code: str | None, municipality_code: str) -> bool:
    """Whether an area with `area_code` serves the people of a municipality."""
    if not area_code:
        return False
    return area_code == municipality_code or area_code == municipality_code.split("-")[0]


def area_codes_covering(municipality_code: str) -> tuple[str, str]:
    """The area codes that serve a municipality: itself and its country."""
    return municipality_code, municipality_code.split("-")[0]


def of_place(geonameid: int) -> Municipality | None:
    return get(_place_links().get(geonameid))


def find_by_name(text: str) -> Municipality | None:
    """The municipality a name says: "Augšdaugavas novads", "Zarasų r. sav.",
    "Kauno miesto savivaldybė", "LT-60"; None when it says none or several."""
    text = (text or "").strip()[:200]
    if get(text.upper()) is not None:
        return get(text.upper())
    words = fold(text).split()
    if not words:
        return None
    key = " ".join(word for word in words if word not in _KIND_WORDS)
    wants_city = any(word in _CITY_WORDS for word in words)
    wants_district = any(word in _DISTRICT_WORDS for word in words)
    found = [m for m in _municipalities().values() if key and key in (m.key, m.english_key)]
    if len(found) > 1 and (wants_city or wants_district):
        found = [m for m in found if m.is_city == wants_city]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Resolved:
    """What a typed place or a position came to."""

    municipality: Municipality | None
    place: str = ""  # the town found, when a town decided it


def resolve(text: str) -> Resolved:
    """The municipality a visitor's words name: a municipality's own name, or
    a town the gazetteer knows the municipality of."""
    by_name = find_by_name(text)
    if by_name is not None:
        return Resolved(by_name)
    found = GazetteerGeocoder().geocode(text) if text and text.strip() else None
    if found is None:
        return Resolved(None)
    return Resolved(of_place(found.raw["geonameid"]), found.raw["name"])


def resolve_position(latitude: float, longitude: float) -> Resolved:
    """The municipality of the nearest town whose municipality is known,
    when one is within MAX_TOWN_KM: a good guess near a border, shown to the
    visitor to correct, never a fact."""
    best: tuple[float, str, str] | None = None
    cos_lat = math.cos(math.radians(latitude))
    for place in _linked_places():
        dy = (place[1] - latitude) * 111.2
        dx = (place[2] - longitude) * 111.2 * cos_lat
        km = math.hypot(dx, dy)
        if best is None or km < best[0]:
            best = (km, place[0], place[3])
    if best is None or best[0] > MAX_TOWN_KM:
        return Resolved(None)
    return Resolved(get(best[2]), best[1])


@functools.cache
def _linked_places() -> list[tuple[str, float, float, str]]:
    links = _place_links()
    places = []
    with (GEODATA / "places.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            code = links.get(int(row["geonameid"]))
            if code:
                places.append((row["name"], float(row["latitude"]), float(row["longitude"]), code))
    return places


def area_codes_of(service) -> set[str]:
    """The coded areas a service states, on itself or at any of its locations."""
    codes = {area.area_code for area in service.service_areas if area.area_code}
    for at_location in service.service_at_locations:
        codes.update(area.area_code for area in at_location.service_areas if area.area_code)
    return codes


def service_serves(service, municipality_code: str) -> bool | None:
    """Whether a service takes people from a municipality: None when it
    states no area the directory can check (never read as yes or no)."""
    codes = area_codes_of(service)
    if not codes:
        return None
    return any(covers(code, municipality_code) for code in codes)
