"""Write directory/geodata/municipalities.tsv and place_municipality.tsv.

The municipalities are those of ISO 3166-2 for Latvia and Lithuania, as the
`pycountry` package (a dependency of the application) lists them: Latvia's 43
municipalities (36 novadi and 7 state cities, after the 2021 reform) and
Lithuania's 60. Latvian official names are ISO's; Lithuanian official names
are below (ISO lists most in a short English form).

Places of the gazetteer (places.tsv) are linked to a municipality:
- in Latvia, by GeoNames' first-level division of the place: GeoNames divides
  Latvia into the municipalities of 2021, and each division is recognised by a
  town known to lie in it (KEY_TOWNS), which this script checks is unique;
- in Lithuania, GeoNames' first-level divisions are the ten counties, so only
  the towns a municipality is run from (LT_TOWNS) are linked; other places are
  left without a municipality (the search then asks the visitor to choose).

Run from the repository root: .venv/bin/python scripts/extract_municipalities.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pycountry

ROOT = Path(__file__).resolve().parent.parent
GEODATA = ROOT / "directory" / "geodata"

# A town of each Latvian municipality: the one it is named after, or, where
# that town is a state city of its own, another town in it.
KEY_TOWNS = {
    "LV-002": "Aizkraukle", "LV-007": "Alūksne", "LV-011": "Ādaži", "LV-015": "Balvi", "LV-016": "Bauska",
    "LV-022": "Cēsis", "LV-026": "Dobele", "LV-033": "Gulbene", "LV-041": "Ozolnieki", "LV-042": "Jēkabpils",
    "LV-047": "Krāslava", "LV-050": "Kuldīga", "LV-052": "Ķekava", "LV-054": "Limbaži", "LV-056": "Līvāni",
    "LV-058": "Ludza", "LV-059": "Madona", "LV-062": "Mārupe", "LV-067": "Ogre", "LV-068": "Olaine",
    "LV-073": "Preiļi", "LV-077": "Viļāni", "LV-080": "Vangaži", "LV-087": "Salaspils", "LV-088": "Saldus",
    "LV-089": "Saulkrasti", "LV-091": "Sigulda", "LV-094": "Smiltene", "LV-097": "Talsi", "LV-099": "Tukums",
    "LV-101": "Valka", "LV-102": "Varakļāni", "LV-106": "Piltene", "LV-111": "Ilūkste", "LV-112": "Grobiņa",
    "LV-113": "Valmiera", "LV-DGV": "Daugavpils", "LV-JEL": "Jelgava", "LV-JUR": "Jūrmala",
    "LV-LPX": "Liepāja", "LV-REZ": "Rēzekne", "LV-RIX": "Riga", "LV-VEN": "Ventspils",
}

# Lithuania: official name, and the towns the municipality is run from or
# named after (none for a district run from the city of the same name).
LT = {
    "LT-01": ("Akmenės rajono savivaldybė", ["Naujoji Akmenė", "Akmenė"]),
    "LT-02": ("Alytaus miesto savivaldybė", ["Alytus"]),
    "LT-03": ("Alytaus rajono savivaldybė", []),
    "LT-04": ("Anykščių rajono savivaldybė", ["Anykščiai"]),
    "LT-05": ("Birštono savivaldybė", ["Birštonas"]),
    "LT-06": ("Biržų rajono savivaldybė", ["Biržai"]),
    "LT-07": ("Druskininkų savivaldybė", ["Druskininkai"]),
    "LT-08": ("Elektrėnų savivaldybė", ["Elektrėnai"]),
    "LT-09": ("Ignalinos rajono savivaldybė", ["Ignalina"]),
    "LT-10": ("Jonavos rajono savivaldybė", ["Jonava"]),
    "LT-11": ("Joniškio rajono savivaldybė", ["Joniškis"]),
    "LT-12": ("Jurbarko rajono savivaldybė", ["Jurbarkas"]),
    "LT-13": ("Kaišiadorių rajono savivaldybė", ["Kaišiadorys"]),
    "LT-14": ("Kalvarijos savivaldybė", ["Kalvarija"]),
    "LT-15": ("Kauno miesto savivaldybė", ["Kaunas"]),
    "LT-16": ("Kauno rajono savivaldybė", []),
    "LT-17": ("Kazlų Rūdos savivaldybė", ["Kazlų Rūda"]),
    "LT-18": ("Kėdainių rajono savivaldybė", ["Kėdainiai"]),
    "LT-19": ("Kelmės rajono savivaldybė", ["Kelmė"]),
    "LT-20": ("Klaipėdos miesto savivaldybė", ["Klaipėda"]),
    "LT-21": ("Klaipėdos rajono savivaldybė", ["Gargždai"]),
    "LT-22": ("Kretingos rajono savivaldybė", ["Kretinga"]),
    "LT-23": ("Kupiškio rajono savivaldybė", ["Kupiškis"]),
    "LT-24": ("Lazdijų rajono savivaldybė", ["Lazdijai"]),
    "LT-25": ("Marijampolės savivaldybė", ["Marijampolė"]),
    "LT-26": ("Mažeikių rajono savivaldybė", ["Mažeikiai"]),
    "LT-27": ("Molėtų rajono savivaldybė", ["Molėtai"]),
    "LT-28": ("Neringos savivaldybė", ["Nida"]),
    "LT-29": ("Pagėgių savivaldybė", ["Pagėgiai"]),
    "LT-30": ("Pakruojo rajono savivaldybė", ["Pakruojis"]),
    "LT-31": ("Palangos miesto savivaldybė", ["Palanga"]),
    "LT-32": ("Panevėžio miesto savivaldybė", ["Panevėžys"]),
    "LT-33": ("Panevėžio rajono savivaldybė", []),
    "LT-34": ("Pasvalio rajono savivaldybė", ["Pasvalys"]),
    "LT-35": ("Plungės rajono savivaldybė", ["Plungė"]),
    "LT-36": ("Prienų rajono savivaldybė", ["Prienai"]),
    "LT-37": ("Radviliškio rajono savivaldybė", ["Radviliškis"]),
    "LT-38": ("Raseinių rajono savivaldybė", ["Raseiniai"]),
    "LT-39": ("Rietavo savivaldybė", ["Rietavas"]),
    "LT-40": ("Rokiškio rajono savivaldybė", ["Rokiškis"]),
    "LT-41": ("Šakių rajono savivaldybė", ["Šakiai"]),
    "LT-42": ("Šalčininkų rajono savivaldybė", ["Šalčininkai"]),
    "LT-43": ("Šiaulių miesto savivaldybė", ["Šiauliai"]),
    "LT-44": ("Šiaulių rajono savivaldybė", []),
    "LT-45": ("Šilalės rajono savivaldybė", ["Šilalė"]),
    "LT-46": ("Šilutės rajono savivaldybė", ["Šilutė"]),
    "LT-47": ("Širvintų rajono savivaldybė", ["Širvintos"]),
    "LT-48": ("Skuodo rajono savivaldybė", ["Skuodas"]),
    "LT-49": ("Švenčionių rajono savivaldybė", ["Švenčionys"]),
    "LT-50": ("Tauragės rajono savivaldybė", ["Tauragė"]),
    "LT-51": ("Telšių rajono savivaldybė", ["Telšiai"]),
    "LT-52": ("Trakų rajono savivaldybė", ["Trakai"]),
    "LT-53": ("Ukmergės rajono savivaldybė", ["Ukmergė"]),
    "LT-54": ("Utenos rajono savivaldybė", ["Utena"]),
    "LT-55": ("Varėnos rajono savivaldybė", ["Varėna"]),
    "LT-56": ("Vilkaviškio rajono savivaldybė", ["Vilkaviškis"]),
    "LT-57": ("Vilniaus miesto savivaldybė", ["Vilnius"]),
    "LT-58": ("Vilniaus rajono savivaldybė", []),
    "LT-59": ("Visagino savivaldybė", ["Visaginas"]),
    "LT-60": ("Zarasų rajono savivaldybė", ["Zarasai"]),
}

KINDS = {"Municipality": "municipality", "State city": "state_city",
         "District municipality": "district", "City municipality": "city"}
# English names of Lithuanian municipalities, in the form English texts use
# ("Zarasai District Municipality"): the town's name, or ISO's short name.
ENGLISH_KINDS = {"district": "District Municipality", "city": "City Municipality", "municipality": "Municipality"}
# ISO's short names are English but for city municipalities ("Kauno miestas":
# the town's name is used) and one genitive.
ENGLISH_SHORT_NAMES = {"LT-17": "Kazlų Rūda"}
# Marijampolės savivaldybė has no "rajono" in its name, whatever ISO's type.
ENGLISH_NAMES = {"LT-25": "Marijampolė Municipality"}


def fold(text: str) -> str:
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def read_places() -> list[dict]:
    with (GEODATA / "places.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def names_of(place: dict) -> set[str]:
    names = {place["name"], place["asciiname"], *filter(None, place["alternatenames"].split("|"))}
    return {fold(name) for name in names}


def find_place(places: list[dict], country: str, town: str) -> list[dict]:
    # The place's own name first; an alternate name only when no name matches.
    own = [p for p in places if p["country"] == country and fold(town) in (fold(p["name"]), fold(p["asciiname"]))]
    return own or [p for p in places if p["country"] == country and fold(town) in names_of(p)]


def main() -> int:
    places = read_places()
    municipalities = []
    links: dict[str, tuple[str, str]] = {}
    for country in ("LV", "LT"):
        subdivisions = [s for s in pycountry.subdivisions.get(country_code=country) if s.type in KINDS]
        for subdivision in sorted(subdivisions, key=lambda s: s.code):
            code = subdivision.code
            if country == "LV":
                name = subdivision.name.replace(" Novads", " novads")
                towns = [KEY_TOWNS[code]]
            else:
                name, towns = LT[code]
            found_towns = []
            for town in towns:
                found = find_place(places, country, town)
                if len(found) > 1:
                    sys.exit(f"{code}: {town} names {len(found)} places")
                found_towns.extend(found)
            kind = KINDS[subdivision.type]
            # Latvian names stay as they are in English texts too ("Augšdaugavas novads").
            short = ENGLISH_SHORT_NAMES.get(code) or (towns[0] if kind == "city" else subdivision.name)
            english = "" if country == "LV" else ENGLISH_NAMES.get(code, f"{short} {ENGLISH_KINDS[kind]}")
            municipalities.append({
                "code": code, "country": country, "name": name, "kind": kind,
                "towns": "|".join(p["name"] for p in found_towns), "name_en": english,
            })
            if country == "LV":
                if not found_towns:
                    sys.exit(f"{code}: key town {towns[0]} is not in places.tsv")
                admin1 = found_towns[0]["admin1"]
                for place in places:
                    if place["country"] == "LV" and place["admin1"] == admin1:
                        if place["geonameid"] in links:
                            sys.exit(f"{place['name']}: in two municipalities")
                        links[place["geonameid"]] = (code, "geonames-admin1")
            else:
                for place in found_towns:
                    links[place["geonameid"]] = (code, "seat")
    expected = {"LV": 43, "LT": 60}
    for country, count in expected.items():
        if sum(m["country"] == country for m in municipalities) != count:
            sys.exit(f"{country}: expected {count} municipalities")
    unlinked_lv = [p["name"] for p in places if p["country"] == "LV" and p["geonameid"] not in links]
    if unlinked_lv:
        sys.exit(f"Latvian places without a municipality: {unlinked_lv}")
    with (GEODATA / "municipalities.tsv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["code", "country", "name", "kind", "towns", "name_en"], delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(municipalities)
    names = {p["geonameid"]: p["name"] for p in places}
    with (GEODATA / "place_municipality.tsv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["geonameid", "name", "municipality", "how"])
        for geonameid, (code, how) in sorted(links.items(), key=lambda item: (item[1][0], names[item[0]])):
            writer.writerow([geonameid, names[geonameid], code, how])
    print(f"{len(municipalities)} municipalities, {len(links)} of {len(places)} places linked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
