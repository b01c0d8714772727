"""The results map's markers on a phone: sharp on its dense screen, and
files the browser keeps (what Lighthouse's "Serves images with low
resolution" and "efficient cache policy" audits ask, bench/lighthouse.py)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_markers_are_sharp_on_a_phone_and_cached_for_good(phone_page, live_server):
    phone_page.goto(f"{live_server}/lv/map?q=centrs")
    markers = phone_page.locator("#results-map img.leaflet-marker-icon")
    expect(markers.first).to_be_visible()
    assert markers.count() >= 2
    # Leaflet's shadow has no copy for dense screens: the markers go without.
    assert phone_page.locator("#results-map .leaflet-marker-shadow").count() == 0

    sizes = markers.first.evaluate("img => [img.naturalWidth, img.clientWidth, window.devicePixelRatio]")
    natural, shown, ratio = sizes
    assert ratio == 3 and natural >= 2 * shown  # the 2× image (50 px for 25)

    source = markers.first.evaluate("img => img.currentSrc")
    assert "marker-icon-2x-" in source
    response = phone_page.request.get(source)
    assert response.ok
    assert "immutable" in response.headers["cache-control"]
