/* OneMap live updates: one EventSource('/api/live') per page (kept across Dash page changes).
 * A change of an incident or a device refetches only the affected layers of the open view:
 * the 2D map through window.onemap.forgetLayers + the "live-tick" store (pages/home.py), the
 * 3D twin through window.onemap.deck.reload (assets/deck_glue.js). Bursts are folded into one
 * refetch per COALESCE_MS. When the server has no stream to spare (503) or the stream keeps
 * failing, it polls /api/live?poll=<last id> every POLL_MS and tries the stream again later.
 * The header's #live-indicator shows the state (live-on / live-poll / live-off).
 * Other scripts may add a function to window.onemap.live.listeners: each gets every message the
 * server let through to this viewer (assets/grid.js refreshes the grid worker's tasks).
 * Test hooks: window.onemap.live.{state, received}. */
(function () {
  "use strict";
  var COALESCE_MS = 100;
  var POLL_MS = 1000;
  var STREAM_RETRY_MS = 60000;
  var LIVE_TICK = "live-tick";          /* pages.ids.LIVE_TICK (a store: no DOM element) */
  var MAP = "home-map";                 /* pages.ids.MAP: the page holding the store */
  var INDICATOR = "live-indicator";     /* pages.ids.LIVE_INDICATOR */
  var COLORS = {"live-on": "#22c55e", "live-poll": "#eab308", "live-off": "#64748b"};

  var live = {state: "live-off", received: 0, lastId: "", layers: {}, pending: {}, timer: null,
              source: null, poller: null, listeners: []};

  function base() {
    try {
      var config = JSON.parse(document.getElementById("_dash-config").textContent);
      return config.requests_pathname_prefix || "/";
    } catch (e) {
      return "/";
    }
  }

  function show(state) {
    live.state = state;
    var el = document.getElementById(INDICATOR);
    if (!el) { return; }
    el.className = "live-indicator " + state;
    var dot = el.querySelector(".live-dot");
    if (dot) { dot.style.background = COLORS[state]; }
  }

  function allLayers() {
    return [].concat.apply([], Object.keys(live.layers).map(function (k) { return live.layers[k]; }));
  }

  function flush() {
    live.timer = null;
    var ids = Object.keys(live.pending);
    live.pending = {};
    if (!ids.length) { return; }
    var ns = window.onemap || {};
    if (document.getElementById(MAP) && ns.forgetLayers && window.dash_clientside &&
        window.dash_clientside.set_props) {
      ns.forgetLayers(ids);
      window.dash_clientside.set_props(LIVE_TICK, {data: Date.now()});
    }
    if (ns.deck && ns.deck.reload) { ns.deck.reload(ids); }
  }

  function handle(message) {
    live.received += 1;
    live.listeners.forEach(function (listener) {
      try { listener(message); } catch (e) { /* one listener's fault stops no other */ }
    });
    var ids = message.kind === "reset" ? allLayers() : (live.layers[message.kind] || []);
    ids.forEach(function (id) { live.pending[id] = true; });
    if (ids.length && !live.timer) { live.timer = setTimeout(flush, COALESCE_MS); }
  }

  function poll() {
    fetch(base() + "api/live?poll=" + encodeURIComponent(live.lastId), {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        live.layers = body.layers || live.layers;
        if (body.reset && live.lastId) { handle({kind: "reset"}); }
        (body.messages || []).forEach(handle);
        live.lastId = body.id;
        show("live-poll");
      }, function () { show("live-off"); });
  }

  function startPolling() {
    if (live.poller) { return; }
    poll();
    live.poller = setInterval(poll, POLL_MS);
    setTimeout(function () {
      clearInterval(live.poller);
      live.poller = null;
      connect();
    }, STREAM_RETRY_MS);
  }

  function connect() {
    if (typeof window.EventSource !== "function") { startPolling(); return; }
    var url = base() + "api/live" + (live.lastId ? "?last=" + encodeURIComponent(live.lastId) : "");
    var source = live.source = new window.EventSource(url);
    source.addEventListener("hello", function (event) {
      var hello = JSON.parse(event.data);
      live.layers = hello.layers || {};
      if (!live.lastId) { live.lastId = hello.id; }
      show("live-on");
    });
    source.onmessage = function (event) {
      live.lastId = event.lastEventId || live.lastId;
      handle(JSON.parse(event.data));
    };
    source.onerror = function () {
      if (source.readyState === window.EventSource.CLOSED) {  /* e.g. 503: no stream to spare */
        live.source = null;
        startPolling();
      } else {
        show("live-off");  /* the browser reconnects by itself (Last-Event-ID replays) */
      }
    };
  }

  /* The header is drawn by Dash after this script runs: paint the state once it exists. */
  var observer = new MutationObserver(function () {
    if (document.getElementById(INDICATOR)) {
      observer.disconnect();
      show(live.state);
    }
  });
  observer.observe(document.documentElement, {childList: true, subtree: true});

  window.onemap = window.onemap || {};
  window.onemap.live = live;
  connect();
})();
