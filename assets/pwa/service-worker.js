/* OneMap's service worker, served as /sw.js (web/pwa.py puts the assets' fingerprint into
 * VERSION, so new assets make new caches and the old ones are dropped).
 *
 * It keeps only what the grid worker's page (/grid) needs to open without a connection:
 * - the app shell: the /grid page, Dash's layout and dependencies, its bundles and our assets
 *   (the page sends the URLs it loaded: "keep");
 * - the last answers the page got: map layers (/api/layers/…) and Dash callbacks (the task
 *   list, the chosen task: the last answer per output), network first, the cached answer when
 *   the network fails.
 * Requests of any other page pass through untouched, as do every other POST, the live stream
 * and sign-in/out. Sign-out answers Clear-Site-Data, which drops these caches; the page also
 * asks the worker to "forget" them. */
"use strict";

var VERSION = "__VERSION__";
var SHELL = "onemap-shell-" + VERSION;
var DATA = "onemap-data-" + VERSION;
var PAGE = "/grid";
var CALLBACK = "/_dash-update-component";
var KEPT = ["/_dash-layout", "/_dash-dependencies"];

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== SHELL && n !== DATA; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function sameOrigin(url) { return url.origin === self.location.origin; }

function fromPage(request) {
  var url = new URL(request.url);
  if (url.pathname === PAGE) { return true; }
  try {
    return new URL(request.referrer).pathname === PAGE;
  } catch (e) {
    return false;
  }
}

function isShell(path) {
  return path.indexOf("/assets/") === 0 || path.indexOf("/_dash-component-suites/") === 0;
}

function isData(url) {
  return url.pathname === PAGE || KEPT.indexOf(url.pathname) >= 0 ||
    url.pathname.indexOf("/api/layers") === 0;
}

function stored(cacheName, key, response) {
  if (response.ok && response.type === "basic") {
    var copy = response.clone();
    caches.open(cacheName).then(function (cache) { return cache.put(key, copy); });
  }
  return response;
}

function networkFirst(request, cacheName, key) {
  return fetch(request).then(function (response) {
    return stored(cacheName, key || request, response);
  }).catch(function () {
    return caches.match(key || request, {cacheName: cacheName}).then(function (hit) {
      return hit || new Response("", {status: 503, statusText: "offline"});
    });
  });
}

function cacheFirst(request) {
  return caches.match(request, {cacheName: SHELL}).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      return stored(SHELL, request, response);
    });
  });
}

function hex(buffer) {
  return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
    return ("0" + b.toString(16)).slice(-2);
  }).join("");
}

/* The outputs a Dash callback writes (its payload's "output"), "" when the body is not one. */
function outputs(body) {
  try {
    return String(JSON.parse(body).output || "");
  } catch (e) {
    return "";
  }
}

/* A Dash callback: its last answer is kept per output (offline, the page shows what it showed
 * last: the newest task list, the task being handled); never seen: 204, which Dash takes as
 * no update. */
function callback(request) {
  var copy = request.clone();
  return copy.text().then(function (body) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(outputs(body)));
  }).then(function (digest) {
    var key = new Request(self.location.origin + "/__callback__/" + hex(digest));
    return fetch(request).then(function (response) {
      return stored(DATA, key, response);
    }).catch(function () {
      return caches.match(key, {cacheName: DATA}).then(function (hit) {
        return hit || new Response(null, {status: 204});
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (!sameOrigin(url) || !fromPage(request)) { return; }
  if (request.method === "POST" && url.pathname === CALLBACK) {
    event.respondWith(callback(request));
  } else if (request.method !== "GET") {
    return;
  } else if (isShell(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else if (isData(url)) {
    event.respondWith(networkFirst(request, DATA, url.pathname === PAGE ? PAGE : null));
  }
});

/* The page's messages: "keep" a list of URLs it loaded (the shell), "forget" everything. */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && Array.isArray(data.urls)) {
    event.waitUntil(Promise.all(data.urls.map(function (href) {
      var url = new URL(href, self.location.origin);
      if (!sameOrigin(url)) { return null; }
      var name = isShell(url.pathname) ? SHELL : DATA;
      return caches.match(url.href).then(function (hit) {
        if (hit && name === SHELL) { return null; }
        return fetch(url.href, {credentials: "same-origin"}).then(function (response) {
          if (!response.ok) { return null; }
          var key = url.pathname === PAGE ? PAGE : url.href;
          return caches.open(name).then(function (cache) { return cache.put(key, response); });
        }).catch(function () { return null; });
      });
    })).then(function () {
      if (event.source) { event.source.postMessage({type: "kept"}); }
    }));
  } else if (data.type === "forget") {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.map(function (n) { return caches.delete(n); }));
    }));
  }
});
