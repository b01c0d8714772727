/* The service worker (issue 20): a resident can read, offline, the centre
   pages and the shortlist they opened while connected. Served by the /sw.js
   route, which puts `CONFIG` before this file (directory/offline.py): the
   offline page of each language, the allowlist of pages it may keep, the
   names and bounds of its caches, its version.

   - Pages: network first. A response is kept only when its path is on the
     allowlist (centre pages, the shortlist, a shared list), it is a GET that
     answered 200 with HTML from this site, and its Cache-Control allows any
     cache to keep it (never `no-store` or `private`: pages with client data
     and every response to a signed-in user carry them). When the network
     fails, the kept copy is shown, marked so that its "You are offline"
     banner shows (site.css); without one, the offline page.
   - Static files: network first; kept only for a page that was kept.
   - Anything else (forms, htmx fragments, the API, other sites) is left to
     the browser: the worker does not touch it. */
/* global CONFIG */
"use strict";

var SHELL = CONFIG.cachePrefix + "shell-" + CONFIG.version;
var PAGES = CONFIG.pagesCache;
var ASSETS = CONFIG.assetsCache;
var ALLOWED = CONFIG.savedPages.map(function (source) { return new RegExp(source); });
var MATCH = { ignoreVary: true };
// The files a page loads from this site, as base.html writes them.
var STATIC_FILE = /(?:href|src)="(\/static\/[^"?#]+)"/g;

function isSavedPage(url) {
  return url.origin === self.location.origin && ALLOWED.some(function (pattern) { return pattern.test(url.pathname); });
}

function cacheControl(response) {
  return (response.headers.get("Cache-Control") || "").toLowerCase();
}

function mayBeKept(response) {
  var control = cacheControl(response);
  return response.status === 200 && response.type === "basic"
    && /^text\/html/.test(response.headers.get("Content-Type") || "")
    && !/no-store|private/.test(control);
}

/* The server said this page is not to be kept (anymore): drop an older copy. */
function saysForget(response) {
  return response.status === 404 || response.status === 410 || /no-store|private/.test(cacheControl(response));
}

/* Keep a copy under its URL, as the newest entry; past the bound, the oldest go. */
async function keep(cacheName, url, response, limit) {
  var cache = await caches.open(cacheName);
  await cache.delete(url, MATCH);
  await cache.put(url, response);
  var keys = await cache.keys();
  for (var i = 0; i < keys.length - limit; i++) await cache.delete(keys[i]);
}

async function forget(url) {
  var cache = await caches.open(PAGES);
  await cache.delete(url, MATCH);
}

/* At install: the offline page of every language, fetched as a visitor
   (no cookies: never a signed-in user's page), and the files it loads. */
async function precache() {
  var cache = await caches.open(SHELL);
  var files = new Set();
  var pages = Object.values(CONFIG.offlinePages);
  for (var i = 0; i < pages.length; i++) {
    var response = await fetch(new Request(pages[i], { credentials: "omit", cache: "reload" }));
    if (!response.ok) throw new Error("offline page " + pages[i] + ": " + response.status);
    var html = await response.clone().text();
    for (var match of html.matchAll(STATIC_FILE)) files.add(match[1]);
    await cache.put(pages[i], response);
  }
  await cache.addAll(Array.from(files, function (file) { return new Request(file, { credentials: "omit" }); }));
}

self.addEventListener("install", function (event) {
  event.waitUntil(precache().then(function () { return self.skipWaiting(); }));
});

/* A new version: the caches of older versions go; the saved pages stay. */
self.addEventListener("activate", function (event) {
  var current = [SHELL, PAGES, ASSETS];
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(CONFIG.cachePrefix) === 0 && current.indexOf(name) < 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

/* A kept page, marked as the copy saved on this device: <body data-offline-copy>. */
async function savedCopy(url) {
  var cache = await caches.open(PAGES);
  var saved = await cache.match(url.href, MATCH);
  if (!saved) return null;
  var html = (await saved.text()).replace(/<body(?=[\s>])/i, "<body data-offline-copy=\"\"");
  var headers = new Headers(saved.headers);
  headers.delete("Content-Length");
  headers.delete("Content-Encoding");
  return new Response(html, { status: 200, headers: headers });
}

/* The offline page in the language of the URL (searching needs a connection). */
async function offlinePage(url) {
  var cache = await caches.open(SHELL);
  var own = await cache.match(url.pathname, MATCH);  // the offline page itself
  if (own) return own;
  var lang = url.pathname.split("/")[1];
  var page = CONFIG.offlinePages[lang] || CONFIG.offlinePages[CONFIG.defaultLanguage];
  return (await cache.match(page, MATCH)) || Response.error();
}

async function navigate(request) {
  var url = new URL(request.url);
  var response;
  try {
    response = await fetch(request);
  } catch (error) {
    return (isSavedPage(url) && await savedCopy(url)) || offlinePage(url);
  }
  if (isSavedPage(url)) {
    if (mayBeKept(response)) await keep(PAGES, url.href, response.clone(), CONFIG.maxPages);
    else if (saysForget(response)) await forget(url.href);
  }
  return response;
}

/* Whether the page that loads a file is one the worker kept. */
async function forKeptPage(clientId) {
  if (!clientId) return false;
  var client = await self.clients.get(clientId);
  if (!client) return false;
  var url = new URL(client.url);
  if (!isSavedPage(url)) return false;
  var cache = await caches.open(PAGES);
  return Boolean(await cache.match(url.href, MATCH));
}

async function staticFile(event) {
  var request = event.request;
  try {
    var response = await fetch(request);
    if (response.status === 200 && response.type === "basic" && !/no-store|private/.test(cacheControl(response))
        && await forKeptPage(event.clientId)) {
      await keep(ASSETS, request.url, response.clone(), CONFIG.maxAssets);
    }
    return response;
  } catch (error) {
    var saved = await caches.match(request.url, MATCH);
    if (saved) return saved;
    throw error;
  }
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;  // a form's POST: never touched, never kept
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;  // map tiles and the like
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  } else if (url.pathname.indexOf(CONFIG.staticPrefix) === 0) {
    event.respondWith(staticFile(event));
  }
});
