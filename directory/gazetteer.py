"""Offline geocoder for Latvian and Lithuanian settlements.

Addresses of social services in the border region name a settlement and often
its municipality ("Vecumnieki, Bauskas novads", "Antazavė, Zarasų rajono
savivaldybė"). This geocoder finds them in a small committed extract of
GeoNames (geodata/places.tsv), so seeding and editing never wait on, or leak
addresses to, an online service. It only knows places of 500+ inhabitants:
for a smaller village it falls back, honestly marked "approximate", to the
town of the municipality the address names.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderServiceError
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from directory.textnorm import strip_diacritics

DEFAULT_PATH = Path(__file__).resolve().parent / "geodata" / "places.tsv"
COUNTRIES = frozenset({"LV", "LT"})

# Real addresses are far shorter; refusing longer text keeps a lookup, and
# the fuzzy "did you mean" search, cheap whatever a form is sent.
MAX_QUERY_LENGTH = 200

PRECISION_TOWN = "town"
PRECISION_APPROXIMATE = "approximate"

# Words that follow a name and say what it names: a municipality or district
# ("Bauskas novads", "Zarasų rajono savivaldybė", "Zarasų r. sav."), a street
# ("Liepājas iela", "Vilniaus g.": streets are often named after other towns,
# so they are never geocoded) or the settlement itself ("Zarasų miestas",
# "Antazavės k.").
_AREA_WORDS = frozenset(
    "novads novada nov pagasts pagasta pag rajons rajona rajono r raj "
    "savivaldybe savivaldybes sav seniunija seniunijos sen apskritis "
    "apskrities district municipality parish county region".split()
)
_STREET_WORDS = frozenset(
    "iela gatve g street st str prospekts prospektas pr aleja bulvaris "
    "bulvaras laukums aikste soseja plentas kelias cels".split()
)
_SETTLEMENT_WORDS = frozenset(
    "pilseta pilsetas miestas miesto m ciems ciemats kaimas k city town village".split()
)
_COUNTRY_WORDS = {
    "lv": "LV",
    "latvia": "LV",
    "latvija": "LV",
    "latvijas": "LV",
    "lt": "LT",
    "lithuania": "LT",
    "lietuva": "LT",
    "lietuvos": "LT",
}

# Genitive endings and the nominative endings they may come from, on folded
# text. GeoNames lists some genitives as alternate names (Biržų, Zarasų) but
# not all, and municipality names are always genitives: Lithuanian -ų for
# plurals in -ai/-os/-ys (Biržų, Širvintų, Švenčionių), -o/-io for -as/-is/-ys
# (Kauno, Rokiškio, Panevėžio), -os/-ės for -a/-ė (Utenos, Kelmės), -aus for
# -us (Vilniaus); Latvian -as/-es for -a/-e (Bauskas, Viesītes), -u for
# plurals in -i/-as and for -is (Vecumnieku, Pļaviņu, Cēsu), -a for -s
# (Tukuma).
_GENITIVE_ENDINGS = (
    ("aus", ("us",)),
    ("iu", ("iai", "ys")),
    ("io", ("is", "ys")),
    ("os", ("a",)),
    ("es", ("e",)),
    ("as", ("a",)),
    ("o", ("as", "is", "ys")),
    ("u", ("ai", "i", "os", "as", "is")),
    ("a", ("s",)),
)
_MIN_STEM = 3

_TOKEN = re.compile(
    r"(?P<postcode>\b(?P<postcode_country>LV|LT)[- ]?\d{4,5}\b)|(?P<word>\w+)|(?P<stop>[,;/()\n])",
    re.IGNORECASE,
)

# How a key was reached, best first: a place's own name beats an alternate
# name (Neringa itself over Nida and Pervalka, which list "Neringa" among
# theirs), which beats a guessed case form.
_BY_NAME, _BY_ALTERNATE, _BY_CASE_FORM = range(3)


@dataclass(frozen=True, slots=True, eq=False)
class Place:
    """One GeoNames place; compared by identity, as each is loaded once."""

    geonameid: int
    name: str
    asciiname: str
    country: str
    admin1: str
    latitude: float
    longitude: float
    population: int
    alternate_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Word:
    folded: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive name words of an address, and what the address says they
    name: a settlement, an area (municipality, district) or a street."""

    words: tuple[_Word, ...]
    role: str


@dataclass(frozen=True, slots=True)
class _Match:
    place: Place
    precision: str
    matched: str


def fold(text: str) -> str:
    """Comparable form of a name: no case, no diacritics, words separated by
    single spaces (so "Yaun-Yelgava" meets "yaun yelgava")."""
    return " ".join(re.findall(r"\w+", strip_diacritics(text).casefold()))


def _case_forms(key: str) -> list[str]:
    """Nominatives that the last word of `key` may be a genitive of."""
    head, _, last = key.rpartition(" ")
    prefix = head + " " if head else ""
    forms = []
    for genitive, nominatives in _GENITIVE_ENDINGS:
        stem = last[: -len(genitive)]
        if last.endswith(genitive) and len(stem) >= _MIN_STEM:
            forms.extend(prefix + stem + nominative for nominative in nominatives)
    return forms


class _Gazetteer:
    """The places of one data file and their lookup tables, built once."""

    def __init__(self, places: list[Place]):
        self.by_key: dict[str, dict[Place, int]] = {}
        for place in places:
            self._add(place.name, place, _BY_NAME)
            self._add(place.asciiname, place, _BY_NAME)
            for alternate in place.alternate_names:
                self._add(alternate, place, _BY_ALTERNATE)
        self.longest_key_words = max(key.count(" ") + 1 for key in self.by_key)
        self.display_name_by_key = {key: min(hits, key=hits.get).name for key, hits in self.by_key.items()}

    def _add(self, name: str, place: Place, how: int) -> None:
        key = fold(name)
        if key:
            hits = self.by_key.setdefault(key, {})
            hits[place] = min(how, hits.get(place, how))

    def lookup(self, key: str, allowed: frozenset[str]) -> dict[Place, int]:
        hits = {place: how for place, how in self.by_key.get(key, {}).items() if place.country in allowed}
        if hits:
            return hits
        for form in _case_forms(key):
            for place in self.by_key.get(form, ()):
                if place.country in allowed:
                    hits[place] = _BY_CASE_FORM
        return hits


def _parse_places(text: str) -> list[Place]:
    lines = text.splitlines()
    places = []
    for line in lines[1:]:
        geonameid, name, asciiname, country, admin1, latitude, longitude, population, alternates = line.split("\t")
        places.append(
            Place(
                geonameid=int(geonameid),
                name=name,
                asciiname=asciiname,
                country=country,
                admin1=admin1,
                latitude=float(latitude),
                longitude=float(longitude),
                population=int(population),
                alternate_names=tuple(alternates.split("|")) if alternates else (),
            )
        )
    return places


@functools.cache
def _gazetteer(path: Path) -> _Gazetteer:
    """One parse per data file per process, shared by every geocoder."""
    return _Gazetteer(_parse_places(path.read_text(encoding="utf-8")))


def _read_address(text: str, role: str | None) -> tuple[list[_Run], set[str]]:
    """Split an address into name runs and the countries it mentions.

    Separators, generic words, numbers, postcodes and country names end a run;
    a generic word also gives the run before it its role. `role`, when given,
    overrides that for every run (a structured query's "street" field).
    Text longer than MAX_QUERY_LENGTH is no address and yields nothing.
    """
    runs: list[_Run] = []
    countries: set[str] = set()
    words: list[_Word] = []
    if len(text) > MAX_QUERY_LENGTH:
        return runs, countries

    def end_run(run_role: str) -> None:
        if words:
            runs.append(_Run(tuple(words), role or run_role))
            words.clear()

    for token in _TOKEN.finditer(text):
        if token["postcode"]:
            countries.add(token["postcode_country"].upper())
            end_run("settlement")
            continue
        if token["stop"]:
            end_run("settlement")
            continue
        word = fold(token["word"])
        if word in _AREA_WORDS:
            end_run("area")
        elif word in _STREET_WORDS:
            end_run("street")
        elif word in _SETTLEMENT_WORDS or any(c.isdigit() for c in word):
            end_run("settlement")
        elif word in _COUNTRY_WORDS:
            countries.add(_COUNTRY_WORDS[word])
            end_run("settlement")
        else:
            words.append(_Word(word, token.start(), token.end()))
    end_run("settlement")
    return runs, countries


# Fields of geopy's structured queries that say what they hold.
_FIELD_ROLES = {"street": "street", "city": "settlement", "county": "area", "state": "area", "district": "area"}


def _read_query(query: str | Mapping[str, str]) -> list[tuple[str, list[_Run], set[str]]]:
    """The parts of a query as (text, runs, countries); one part for a string,
    one per field for a structured query."""
    if isinstance(query, str):
        return [(query, *_read_address(query, None))]
    if isinstance(query, Mapping):
        return [
            (value, *_read_address(value, _FIELD_ROLES.get(field)))
            for field, value in query.items()
            if isinstance(value, str)
        ]
    raise TypeError(f"query must be a string or a mapping, not {type(query).__name__}")


def _normalise_countries(country_codes: str | Iterable[str] | None) -> frozenset[str]:
    if country_codes is None:
        return COUNTRIES
    if isinstance(country_codes, str):
        country_codes = [country_codes]
    return frozenset(code.upper() for code in country_codes) & COUNTRIES


class _OfflineAdapter(BaseSyncAdapter):
    """geopy's base class wants an HTTP adapter; this one makes sure no request
    can ever leave the process."""

    def get_text(self, url, *, timeout, headers):
        raise GeocoderServiceError("GazetteerGeocoder works offline and makes no requests")

    def get_json(self, url, *, timeout, headers):
        raise GeocoderServiceError("GazetteerGeocoder works offline and makes no requests")


class GazetteerGeocoder(Geocoder):
    """geopy geocoder over the GeoNames extract of Latvia and Lithuania.

    Results carry ``raw["precision"]``: "town" when the address's settlement
    was found, "approximate" when only its municipality or district was, and
    the location is that area's town.
    """

    def __init__(self, path: str | Path | None = None):
        super().__init__(adapter_factory=_OfflineAdapter)
        self.path = Path(path).resolve() if path is not None else DEFAULT_PATH
        self._places = _gazetteer(self.path)

    def geocode(self, query, *, exactly_one=True, timeout=None, country_codes=None):
        """Find a free-text address, or a geopy structured query (a dict of
        "street", "city", "county", "country"…), in the gazetteer.

        The earliest settlement named in the address wins; with none known,
        the earliest municipality or district gives an approximate result.
        `timeout` exists for geopy compatibility: nothing here waits.
        Returns a Location, a list of them when ``exactly_one`` is false,
        or None when nothing is found.
        """
        matches = self._matches(query, _normalise_countries(country_codes))
        locations = [self._location(match) for match in matches]
        if exactly_one:
            return locations[0] if locations else None
        return locations or None

    def closest_names(self, query: str, limit: int = 5) -> list[str]:
        """Known place names most like the names in `query`, best first, for
        a "did you mean…" hint when geocoding found nothing."""
        runs, _ = _read_address(query, None)
        keys = self._places.display_name_by_key
        scored: dict[str, float] = {}
        for text in dict.fromkeys(" ".join(word.folded for word in run.words) for run in runs):
            matcher = difflib.SequenceMatcher(b=text)
            for key in difflib.get_close_matches(text, keys, n=limit * 3, cutoff=0.6):
                matcher.set_seq1(key)
                name = keys[key]
                scored[name] = max(scored.get(name, 0.0), matcher.ratio())
        return sorted(scored, key=lambda name: -scored[name])[:limit]

    def _matches(self, query, allowed: frozenset[str]) -> list[_Match]:
        parts = _read_query(query)
        countries = set().union(*(part_countries for _, _, part_countries in parts))
        matches: list[_Match] = []
        seen: set[Place] = set()
        for role, precision in (("settlement", PRECISION_TOWN), ("area", PRECISION_APPROXIMATE)):
            for text, runs, _ in parts:
                for run in runs:
                    if run.role != role:
                        continue
                    for matched, hits in self._run_matches(run, text, allowed):
                        ranked = sorted(
                            hits,
                            key=lambda place: (place.country not in countries, hits[place], -place.population),
                        )
                        matches.extend(_Match(place, precision, matched) for place in ranked if place not in seen)
                        seen.update(ranked)
        return matches

    def _run_matches(self, run: _Run, text: str, allowed: frozenset[str]):
        """Names found in a run, earliest first, each the longest one starting
        at its word ("Naujoji Akmenė" before "Akmenė")."""
        words = run.words
        start = 0
        while start < len(words):
            longest_end = min(len(words), start + self._places.longest_key_words)
            for end in range(longest_end, start, -1):
                key = " ".join(word.folded for word in words[start:end])
                hits = self._places.lookup(key, allowed)
                if hits:
                    yield text[words[start].start : words[end - 1].end], hits
                    start = end
                    break
            else:
                start += 1

    @staticmethod
    def _location(match: _Match) -> Location:
        place = match.place
        raw = {
            "geonameid": place.geonameid,
            "name": place.name,
            "country": place.country,
            "admin1": place.admin1,
            "population": place.population,
            "precision": match.precision,
            "matched": match.matched,
        }
        return Location(f"{place.name}, {place.country}", (place.latitude, place.longitude), raw)


def closest_names(query: str, limit: int = 5) -> list[str]:
    """Known place names closest to `query`, from the default data file."""
    return GazetteerGeocoder().closest_names(query, limit)
