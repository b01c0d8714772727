"""The offline gazetteer geocoder: the starter towns in any spelling, case
forms, municipality fall-backs, and unknown or hostile input."""

import csv
import time

import pytest
from geopy.distance import distance
from geopy.exc import GeocoderServiceError
from geopy.location import Location

from directory.gazetteer import DEFAULT_PATH, MAX_QUERY_LENGTH, GazetteerGeocoder, closest_names
from directory.textnorm import strip_diacritics


def _data_file_coordinates() -> dict[str, tuple[float, float]]:
    with DEFAULT_PATH.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {row["name"]: (float(row["latitude"]), float(row["longitude"])) for row in rows}


DATA = _data_file_coordinates()

# The starter towns: the query a person types, GeoNames' name, and where the
# town really is (rounded, from maps), a check on the data file itself.
STARTER_TOWNS = [
    ("Daugavpils", "Daugavpils", (55.87, 26.53)),
    ("Vecumnieki", "Vecumnieki", (56.61, 24.52)),
    ("Jaunjelgava", "Jaunjelgava", (56.61, 25.08)),
    ("Viesīte", "Viesīte", (56.35, 25.56)),
    ("Biržai", "Birzai", (56.20, 24.75)),
    ("Zarasai", "Zarasai", (55.73, 26.25)),
]
ANTAZAVE = (55.814, 25.928)  # a village of ~400 people, not in cities500


@pytest.fixture(scope="module")
def geocoder():
    return GazetteerGeocoder()


def assert_found(location, name, precision="town"):
    assert isinstance(location, Location)
    assert location.raw["name"] == name
    assert location.raw["precision"] == precision
    assert distance(location.point, DATA[name]).km < 0.01


@pytest.mark.parametrize(("query", "name", "true_position"), STARTER_TOWNS)
def test_starter_towns_are_in_the_data_where_they_really_are(query, name, true_position):
    assert distance(DATA[name], true_position).km < 3


@pytest.mark.parametrize(("query", "name", "true_position"), STARTER_TOWNS)
@pytest.mark.parametrize("spelling", [str, strip_diacritics, str.upper, str.casefold], ids=["as-is", "plain", "upper", "lower"])
def test_starter_towns_in_any_spelling(geocoder, query, name, true_position, spelling):
    location = geocoder.geocode(spelling(query))
    assert_found(location, name)
    assert distance(location.point, true_position).km < 3


def test_location_reads_as_name_and_country(geocoder):
    location = geocoder.geocode("Zarasai")
    assert location.address == "Zarasai, LT"
    assert location.raw["country"] == "LT"
    assert location.raw["geonameid"] == 592891
    assert location.raw["matched"] == "Zarasai"


@pytest.mark.parametrize(("query", "name"), [("Biržų", "Birzai"), ("Zarasų", "Zarasai"), ("BIRZU", "Birzai")])
def test_lithuanian_genitive_plural_names_the_town(geocoder, query, name):
    assert_found(geocoder.geocode(query), name)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("Kauno", "Kaunas"),  # -o for -as
        ("Rokiškio", "Rokiškis"),  # -io for -is
        ("Panevėžio", "Panevėžys"),  # -io for -ys
        ("Utenos", "Utena"),  # -os for -a
        ("Švenčionių", "Švenčionys"),  # -ių for -ys
        ("Vilniaus", "Vilnius"),  # -aus for -us
        ("Bauskas", "Bauska"),  # Latvian -as for -a
        ("Viesītes", "Viesīte"),  # Latvian -es for -e
        ("Vecumnieku", "Vecumnieki"),  # Latvian -u for -i
        ("Cēsu", "Cēsis"),  # Latvian -u for -is
        ("Tukuma", "Tukums"),  # Latvian -a for -s
    ],
)
def test_genitives_the_data_lacks_are_derived(geocoder, query, name):
    assert_found(geocoder.geocode(query), name)


def test_street_named_after_another_town_is_ignored(geocoder):
    location = geocoder.geocode("Liepājas iela 4, Daugavpils, Latvia")
    assert_found(location, "Daugavpils")
    assert location.raw["matched"] == "Daugavpils"
    assert distance(location.point, (55.87, 26.53)).km < 3


def test_settlement_wins_over_its_municipality(geocoder):
    location = geocoder.geocode("Vecumnieki, Bauskas novads, LV")
    assert_found(location, "Vecumnieki")
    assert location.raw["matched"] == "Vecumnieki"


def test_municipality_alone_is_its_town_approximately(geocoder):
    assert_found(geocoder.geocode("Bauskas novads"), "Bauska", "approximate")
    assert_found(geocoder.geocode("Biržų rajono savivaldybė, LT"), "Birzai", "approximate")


def test_unknown_village_falls_back_to_its_municipality_town(geocoder):
    location = geocoder.geocode("Antazavė, Zarasų rajono savivaldybė, LT")
    assert_found(location, "Zarasai", "approximate")
    assert location.raw["matched"] == "Zarasų"
    assert distance(location.point, ANTAZAVE).km < 30


def test_lithuanian_postal_address_with_abbreviations(geocoder):
    location = geocoder.geocode("Zalvės g. 13, Antazavės k., 32260 Antazavės sen., Zarasų r.")
    assert_found(location, "Zarasai", "approximate")


def test_unknown_village_without_municipality_is_not_found(geocoder):
    assert geocoder.geocode("Antazavė, LT") is None


def test_structured_query_knows_the_street_is_a_street(geocoder):
    query = {"street": "Liepājas 4", "city": "Daugavpils", "country": "Latvia"}
    assert_found(geocoder.geocode(query), "Daugavpils")
    assert_found(geocoder.geocode({"city": "Antazavė", "county": "Zarasų"}), "Zarasai", "approximate")


def test_query_country_breaks_a_tie_between_namesakes(geocoder):
    assert geocoder.geocode("Seda, LV").raw["country"] == "LV"
    assert geocoder.geocode("Seda, Lietuva").raw["country"] == "LT"
    assert geocoder.geocode("Priekule, LT-12345").raw["country"] == "LT"


def test_country_codes_restrict_the_search(geocoder):
    assert geocoder.geocode("Seda", country_codes="LV").raw["country"] == "LV"
    assert geocoder.geocode("Seda", country_codes=["lt"]).raw["country"] == "LT"
    assert geocoder.geocode("Zarasai", country_codes="LV") is None
    assert geocoder.geocode("Zarasai", country_codes="EE") is None


def test_exactly_one_false_lists_every_candidate_best_first(geocoder):
    locations = geocoder.geocode("Seda", exactly_one=False)
    assert isinstance(locations, list)
    assert [location.raw["country"] for location in locations] == ["LT", "LV"]  # the larger first
    assert [location.raw["name"] for location in geocoder.geocode("Zarasai", exactly_one=False)] == ["Zarasai"]
    assert geocoder.geocode("Atlantis", exactly_one=False) is None


@pytest.mark.parametrize(
    "query",
    [
        "Atlantis",
        "",
        "   ",
        "12345",
        "LV",
        "Latvia, Lithuania",
        "Brīvības iela 1",
        "x" * 10_000,
        "Daugavpils " * (MAX_QUERY_LENGTH // 5),
        "Daugav\x00pils",
        {},
        {"street": "Liepājas iela 4"},
    ],
)
def test_unknown_or_hostile_queries_find_nothing(geocoder, query):
    assert geocoder.geocode(query) is None


def test_closest_names_suggest_what_was_meant():
    assert "Daugavpils" in closest_names("Daugavpil")
    # GeoNames' own name for Biržai is the ASCII "Birzai".
    assert "Birzai" in closest_names("Birzay")
    assert closest_names("Zarasaj, LT", limit=1) == ["Zarasai"]
    assert len(closest_names("Jaun", limit=3)) <= 3
    assert closest_names("") == []
    assert closest_names("q" * 10_000) == []


def test_instances_share_one_loaded_gazetteer():
    assert GazetteerGeocoder()._places is GazetteerGeocoder()._places


def test_no_request_can_leave_the_process(geocoder):
    with pytest.raises(GeocoderServiceError):
        geocoder.adapter.get_json("https://example.invalid/", timeout=1, headers={})


def test_a_lookup_takes_well_under_a_millisecond(geocoder):
    queries = ["Antazavė, Zarasų rajono savivaldybė, LT", "Liepājas iela 4, Daugavpils, Latvia", "Atlantis"]
    started = time.perf_counter()
    for _ in range(100):
        for query in queries:
            geocoder.geocode(query)
    assert (time.perf_counter() - started) / 300 < 0.001
