/* The grid worker's page without signal (served as /console/sw.js, scope /console/).
 *
 * Every URL is named relative to this script, so the app may sit under any root path (GRID_API_ROOT_PATH):
 * "worker" is the page next to it, "../static/..." its scripts and styles, "../api/..." the API.
 *   - the page: from the network, else as last seen (a redirect to the login page is never kept);
 *   - scripts, styles, icons: from the cache at once, refreshed in the background;
 *   - what the page reads (its tasks, categories, its grids, case details and photos): from the network,
 *     else as last read (the page names them once it has a service worker: message "warm");
 *   - basemap tiles: from the cache, else the network (the page asks for its own grids' tiles ahead).
 * Writes (POST, PATCH) are never touched: the page queues them itself and sends each exactly once; other
 * pages under /console/ (a desk opened in the same browser) are never kept.
 * Logging out (message "forget") empties the cache: nothing of the worker stays on the phone.
 */
"use strict";

var VERSION = "gridgov-worker-v1";
var BASE = new URL("../", self.location).href;  // the app's root, whatever its path
var SHELL = [
  "worker",
  "manifest.webmanifest",
  "../static/vendor/leaflet/leaflet.css",
  "../static/css/console.css",
  "../static/css/worker.css",
  "../static/vendor/leaflet/leaflet.js",
  "../static/js/common.js",
  "../static/js/worker.js",
  "../static/js/worker_field.js",
  "../static/js/worker_tasks.js",
  "../static/img/worker-icon.svg",
].map(function (path) { return new URL(path, self.location).href; });
var READS = ["api/me/tasks", "api/categories", "api/vocabulary", "api/events/", "api/visits/",
  "ogc/collections/grids/items", "ogc/collections/villages/items", "tiles/"];

function under(url, prefixes) {
  return prefixes.some(function (p) { return url.indexOf(BASE + p) === 0; });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (cache) {
    return Promise.all(SHELL.map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (resp) { return keep(cache, url, resp); }).catch(function () {});
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf("gridgov-worker-") === 0 && n !== VERSION; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

/** Keep a good answer (2xx, not a redirect to the login page) under the URL; returns the answer. */
function keep(cache, url, resp) {
  if (resp && resp.ok && !resp.redirected) { cache.put(url, resp.clone()); }
  return resp;
}

function networkFirst(request) {
  return caches.open(VERSION).then(function (cache) {
    return fetch(request).then(function (resp) { return keep(cache, request.url, resp); }).catch(function () {
      return cache.match(request.url, { ignoreVary: true }).then(function (hit) { return hit || Response.error(); });
    });
  });
}

function cacheFirst(request, refresh) {
  return caches.open(VERSION).then(function (cache) {
    return cache.match(request.url, { ignoreVary: true }).then(function (hit) {
      var fresh = fetch(request).then(function (resp) { return keep(cache, request.url, resp); });
      if (hit) {
        if (refresh) { fresh.catch(function () {}); }
        return hit;
      }
      return fresh.catch(function () { return Response.error(); });
    });
  });
}

/** True for the worker's page and what it asks for: other pages of the scope (a desk opened in the same
 * browser) are left to the network, so nothing of theirs is kept. */
function fromWorkerPage(request) {
  return request.url.split("?")[0] === SHELL[0] || (request.referrer || "").split("?")[0] === SHELL[0];
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || request.url.indexOf(BASE) !== 0) { return; }
  var url = request.url;
  if (under(url, ["static/"])) {
    event.respondWith(cacheFirst(request, true));
  } else if (!fromWorkerPage(request)) {
    return;
  } else if (url.split("?")[0] === SHELL[0]) {
    event.respondWith(networkFirst(request));
  } else if (under(url, ["maps/basemap/"])) {
    event.respondWith(cacheFirst(request, false));
  } else if (under(url, READS)) {
    event.respondWith(networkFirst(request));
  }
});

/** Fetch and keep URLs the page names (of the kinds this worker keeps); `again`: even when kept already. */
function fetchAll(urls, prefixes, again) {
  return caches.open(VERSION).then(function (cache) {
    return Promise.all(urls.filter(function (u) { return under(u, prefixes); }).map(function (u) {
      return cache.match(u).then(function (hit) {
        if (hit && !again) { return hit; }
        return fetch(u, { credentials: "same-origin" }).then(function (r) { return keep(cache, u, r); }).catch(function () {});
      });
    }));
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "prefetch" && Array.isArray(data.urls)) {  // basemap tiles of the worker's grids
    event.waitUntil(fetchAll(data.urls, ["maps/basemap/"], false));
  } else if (data.type === "warm" && Array.isArray(data.urls)) {  // what the page reads at start
    event.waitUntil(fetchAll(data.urls, READS, true));
  } else if (data.type === "forget") {
    event.waitUntil(caches.delete(VERSION));
  }
});
