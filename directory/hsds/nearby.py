"""HSDS's `postcode` and `proximity`: where a postal code is, which service
areas hold it, and how far a location is from it.

The offline gazetteer knows towns, not postal codes, and what a caller asks
about stays on this server (as residents' searches do: no online geocoder
is asked). A postal code is located from the directory's own addresses: the
centre of the geocoded locations whose address has that code."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from geopy.distance import geodesic
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Address, Location
from .parameters import normalise_postcode

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


def locate_postcode(session: Session, postcode: str) -> Point | None:
    """The centre of the directory's geocoded locations with that postal
    code (LV-1234 / LT-12345, however an address writes it); None when no
    listing has it. A confidential location's code is not public: it counts
    for nothing here, so neither the answer nor a 400 gives it away."""
    digits = postcode.split("-")[1]
    rows = session.execute(
        select(Address.postal_code, Location.id, Location.latitude, Location.longitude)
        .join(Location, Location.id == Address.location_id)
        .where(Address.postal_code.contains(digits), Location.latitude.is_not(None),
               Location.longitude.is_not(None), Location.confidential.is_(False))
    )
    points = {location_id: (lat, lon) for code, location_id, lat, lon in rows if normalise_postcode(code) == postcode}
    if not points:
        return None
    latitudes, longitudes = zip(*points.values(), strict=True)
    return Point(sum(latitudes) / len(points), sum(longitudes) / len(points))


def distance_m(origin: Point, latitude: float, longitude: float) -> float:
    """Geodesic distance in metres."""
    return geodesic((origin.latitude, origin.longitude), (latitude, longitude)).meters


def estimate_m(origin: Point, latitude: float, longitude: float) -> float:
    """Great-circle distance in metres on a sphere: within half a per cent
    of the ellipsoid's, at a hundredth of its cost (for ordering)."""
    lat1, lat2 = math.radians(origin.latitude), math.radians(latitude)
    half = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        math.radians(longitude - origin.longitude) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(half)))


def within_m(origin: Point, latitude: float | None, longitude: float | None, limit_m: float) -> bool:
    """Whether a point is at most `limit_m` metres away: the estimate decides
    unless it is near the limit, then the ellipsoid does."""
    if latitude is None or longitude is None:
        return False
    estimate = estimate_m(origin, latitude, longitude)
    if estimate <= limit_m * 0.99:
        return True
    if estimate > limit_m * 1.01:
        return False
    return distance_m(origin, latitude, longitude) <= limit_m


def area_holds(extent: str | None, extent_type: str | None, point: Point) -> bool | None:
    """Whether a service area's GeoJSON extent holds the point; None when
    the area cannot tell (no extent, or one in another format)."""
    if not extent or (extent_type or "").lower() != "geojson":
        return None
    try:
        polygons = list(_polygons(json.loads(extent)))
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    if not polygons:
        return None
    return any(_in_polygon(polygon, point) for polygon in polygons)


def _polygons(node: dict):
    """The polygons (each a list of rings of [lon, lat]) of a GeoJSON object."""
    kind = node["type"]
    if kind == "Polygon":
        yield node["coordinates"]
    elif kind == "MultiPolygon":
        yield from node["coordinates"]
    elif kind == "Feature":
        if node.get("geometry"):
            yield from _polygons(node["geometry"])
    elif kind == "FeatureCollection":
        for feature in node["features"]:
            yield from _polygons(feature)
    elif kind == "GeometryCollection":
        for geometry in node["geometries"]:
            yield from _polygons(geometry)


def _in_polygon(rings: list, point: Point) -> bool:
    """Inside the outer ring and in none of its holes (even-odd rule)."""
    outer, *holes = rings
    return _in_ring(outer, point) and not any(_in_ring(hole, point) for hole in holes)


def _in_ring(ring: list, point: Point) -> bool:
    x, y = point.longitude, point.latitude
    inside = False
    for (x1, y1, *_), (x2, y2, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside
