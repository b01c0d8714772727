/* The offline page (issue 20): list the pages the service worker saved on
   this device (static/js/sw.js), newest first, each under its heading. Without
   JavaScript nothing is saved, and the page says so in a plain sentence. */
(function () {
  "use strict";
  var list = document.getElementById("saved-pages");
  if (!list || !window.caches) return;

  function heading(html) {
    var page = new DOMParser().parseFromString(html, "text/html");  // parsed, never run
    var h1 = page.querySelector("main h1") || page.querySelector("h1");
    return {
      text: (h1 ? h1.textContent : page.title).replace(/\s+/g, " ").trim(),
      lang: page.documentElement.getAttribute("lang") || ""
    };
  }

  var name = list.getAttribute("data-cache");
  caches.has(name).then(function (found) {
    return found ? caches.open(name) : null;  // never made here: only the worker makes it
  }).then(function (cache) {
    if (!cache) return [];
    return cache.keys().then(function (requests) {
      return Promise.all(requests.reverse().map(function (request) {
        return cache.match(request).then(function (response) { return response.text(); }).then(function (html) {
          return { url: request.url, title: heading(html) };
        });
      }));
    });
  }).then(function (pages) {
    pages.forEach(function (page) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      var url = new URL(page.url);
      link.href = url.pathname + url.search;
      link.textContent = page.title.text || link.href;
      if (page.title.lang && page.title.lang !== document.documentElement.lang) link.lang = page.title.lang;
      item.appendChild(link);
      list.appendChild(item);
    });
    if (pages.length) {
      list.hidden = false;
      document.getElementById("no-saved-pages").hidden = true;
    }
  }).catch(function () {});
})();
