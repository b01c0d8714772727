/* The results map: Leaflet draws the markers listed in #map-markers. If the
   tiles cannot load, a notice says so; the list below the map has everything. */
(function () {
  "use strict";
  var element = document.getElementById("results-map");
  var data = document.getElementById("map-markers");
  if (!element || !data || typeof L === "undefined") return;
  var markers = JSON.parse(data.textContent);
  element.classList.add("results-map-ready");
  var map = L.map(element, { scrollWheelZoom: false });
  var tiles = L.tileLayer(element.getAttribute("data-tiles"), {
    maxZoom: 18,
    attribution: element.getAttribute("data-attribution")
  }).addTo(map);
  var warned = false;
  tiles.on("tileerror", function () {
    if (warned) return;
    warned = true;
    var notice = document.createElement("p");
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.textContent = element.getAttribute("data-tiles-failed");
    element.parentNode.insertBefore(notice, element.nextSibling);
  });
  /* Leaflet's marker, its fingerprinted files named by the page, without
     the shadow (Leaflet has no sharp copy of it for dense screens). */
  var icon = L.icon({
    iconUrl: element.getAttribute("data-marker-icon"),
    iconRetinaUrl: element.getAttribute("data-marker-icon-2x"),
    iconSize: [25, 41],
    iconAnchor: [12, 41],
    popupAnchor: [1, -34],
    tooltipAnchor: [16, -28]
  });
  var bounds = [];
  markers.forEach(function (marker) {
    var popup = document.createElement("div");
    var list = document.createElement("ul");
    marker.services.forEach(function (service) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = service.url;
      link.textContent = service.name;
      item.appendChild(link);
      if (service.centre !== service.name) item.appendChild(document.createTextNode(" — " + service.centre));
      list.appendChild(item);
    });
    popup.appendChild(list);
    if (marker.approximate) {
      var note = document.createElement("p");
      note.textContent = element.getAttribute("data-approximate");
      popup.appendChild(note);
    }
    L.marker([marker.lat, marker.lon], { icon: icon, alt: marker.services[0].name, keyboard: true })
      .bindPopup(popup).addTo(map);
    bounds.push([marker.lat, marker.lon]);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 13 });
  else map.setView([56.2, 25.5], 7);
})();
