/* Small enhancements; every page works without them. */
(function () {
  "use strict";

  /* Quick exit: blank the page at once and replace it in the history, so
     that Back does not return to the directory. Also on the Esc key. */
  function quickExit(event) {
    var link = document.getElementById("quick-exit");
    if (!link) return;
    if (event) event.preventDefault();
    var url = link.getAttribute("data-exit-url");
    document.title = "";
    document.body.innerHTML = "";
    window.location.replace(url);
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#quick-exit")) quickExit(event);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") quickExit(event);
  });

  /* After htmx replaces the results: announce the count to screen readers
     and keep the search box in step with the search shown (a removed chip
     may have cleared the words), unless the visitor is typing in it. */
  document.addEventListener("htmx:afterSwap", function (event) {
    var results = document.getElementById("results");
    if (!results || !results.contains(event.detail.elt) && event.detail.elt !== results) return;
    var status = document.getElementById("search-status");
    var heading = document.getElementById("results-heading");
    if (status && heading) status.textContent = heading.textContent;
    var q = document.getElementById("q");
    if (q && document.activeElement !== q) q.value = results.getAttribute("data-q") || "";
    var near = document.getElementById("near");
    if (near && document.activeElement !== near) near.value = results.getAttribute("data-near") || "";
    ["lat", "lon"].forEach(function (name) {
      var input = document.getElementById(name);
      if (input) input.value = results.getAttribute("data-" + name) || "";
    });
  });

  /* The filters are redrawn with fresh counts after each search: keep the
     keyboard focus on the control the visitor was using. A shortcut to a
     common need goes away with its search: focus moves to the results. */
  var focusedId = null;
  var fromShortcut = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    fromShortcut = !!(source && source.hasAttribute && source.hasAttribute("data-shortcut"));
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (fromShortcut) {
      fromShortcut = false;
      var heading = document.getElementById("results-heading");
      if (heading && (!document.activeElement || document.activeElement === document.body)) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
    if (!focusedId) return;
    var active = document.activeElement;
    if (!active || active === document.body || !active.id) {
      var element = document.getElementById(focusedId);
      if (element) element.focus();
    }
    focusedId = null;
  });

  /* The filters are folded on a phone (the first result shows without
     scrolling); a wide screen has room for them open. */
  var disclosure = document.getElementById("filters-disclosure");
  if (disclosure && window.matchMedia && window.matchMedia("(min-width: 48rem)").matches) disclosure.open = true;

  /* The words are searched as they are typed (the "input" trigger). The
     "change" the search box fires when it loses focus - as the visitor
     presses "Add to shortlist" on a result - would send the same search
     again, and its late answer could redraw that result with its old button. */
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "q") event.stopPropagation();
  }, true);

  /* Leave empty fields out of a search, so the address stays short. */
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;  // a POSTed form sends every field
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "") delete params[name];
    });
  });

  /* "Use my location": the browser's position instead of a typed place. */
  var locate = document.getElementById("use-my-location");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("lat").value = position.coords.latitude.toFixed(5);
        document.getElementById("lon").value = position.coords.longitude.toFixed(5);
        document.getElementById("near").value = "";
        var form = document.getElementById("search-form");
        if (window.htmx) window.htmx.trigger(form, "submit"); else form.submit();
      }, function () {
        document.getElementById("location-status").textContent = locate.getAttribute("data-error");
      }, { timeout: 10000, maximumAge: 600000 });
    });
  }
  var nearInput = document.getElementById("near");
  if (nearInput) {
    nearInput.addEventListener("input", function () {
      document.getElementById("lat").value = "";
      document.getElementById("lon").value = "";
    });
  }

  /* htmx pushed a new address: the language links keep the new query. */
  document.addEventListener("htmx:pushedIntoHistory", function () {
    var links = document.querySelectorAll(".language-switcher a[hreflang]");
    for (var i = 0; i < links.length; i++) {
      var url = new URL(links[i].href, window.location.href);
      url.search = window.location.search;
      links[i].href = url.pathname + url.search;
    }
  });

  /* Print buttons: hidden without JavaScript, where the page tells the
     visitor to use the browser's own Print command. */
  function showPrintButtons() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
  }
  document.addEventListener("DOMContentLoaded", showPrintButtons);

  /* A form came back with errors: start from its summary (tabindex=-1), so
     that keyboard and screen-reader users land on the message and the next
     Tab reaches the fields, with what they typed still in them. */
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary && (!document.activeElement || document.activeElement === document.body)) summary.focus();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
})();

/* Reading offline (issue 20): a visitor's pages register the service worker
   (static/js/sw.js, served at /sw.js) that keeps the centre pages and the
   shortlist they open; a signed-in user's pages remove it, so that nothing
   is kept for staff. A request htmx cannot send (offline) says what needs a
   connection, where its answer would have appeared. */
(function () {
  "use strict";
  var worker = document.querySelector('meta[name="service-worker"]');
  if (worker && "serviceWorker" in navigator) {
    if (worker.content === "none") {
      navigator.serviceWorker.getRegistrations().then(function (registrations) {
        registrations.forEach(function (registration) { registration.unregister(); });
      });
    } else {
      navigator.serviceWorker.register(worker.content, { scope: "/" }).catch(function () {});
    }
  }

  var note = document.getElementById("connection-needed");
  if (!note) return;
  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target || event.detail.elt;
    if (target && target.parentNode && target !== document.body) target.parentNode.insertBefore(note, target);
    note.hidden = false;
    // Every GET htmx sends is a search (words, filters, a page of results).
    var config = event.detail.requestConfig || {};
    note.textContent = note.getAttribute(config.verb === "get" ? "data-search" : "data-other");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) note.hidden = true;
  });
})();
