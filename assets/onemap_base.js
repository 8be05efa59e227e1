/* The home map's own base (pages/home_base.py): shapes and labels from /api/basemap per
 * viewport, styled here. Names are data: they are set with textContent, never as HTML. */
(function () {
  "use strict";

  var WIDTH = {  /* px at zoom 14 */
    motorway: 5.0, trunk: 4.6, primary: 4.0, secondary: 3.2, tertiary: 2.5, residential: 1.8,
    service: 1.1, footway: 0.8, cycleway: 0.8, other: 1.0
  };
  var THEMES = {  /* per theme: road class -> [fill, casing]; land uses */
    light: {
      motorway: ["#f4a55a", "#c9772d"], trunk: ["#f8c66f", "#c99a3e"],
      primary: ["#fde7a1", "#c8b06a"], secondary: ["#ffffff", "#b9b2a3"],
      tertiary: ["#ffffff", "#c4beb1"], residential: ["#ffffff", "#cdc8bc"],
      other: ["#fbfaf7", "#d6d1c6"],
      block: "#e6e1d6", open: ["#9fcf8f", "#cde9bf"]
    },
    dark: {
      motorway: ["#9a6a3a", "#4a3420"], trunk: ["#8a6c3c", "#433522"],
      primary: ["#5b6476", "#262c38"], secondary: ["#4a5262", "#222833"],
      tertiary: ["#3c4452", "#1e232c"], residential: ["#323946", "#1b2029"],
      other: ["#2b313c", "#191d25"],
      block: "#151b26", open: ["#1f4d3a", "#173a2c"]
    }
  };
  var GROWTH = 1.45;  /* width factor per zoom level */
  var EMPTY = {type: "FeatureCollection", features: []};
  var states = {};  /* per map id: newest request number and the URLs last applied */

  function roadWidth(kind, zoom) {
    return Math.max(0.6, (WIDTH[kind] || WIDTH.other) * Math.pow(GROWTH, (zoom || 14) - 14));
  }

  function style(feature, context) {
    var h = context.hideout || {};
    var p = feature.properties || {};
    var theme = THEMES[h.theme] || THEMES.light;
    if (p.role === "block") {
      return {stroke: false, fillColor: theme.block, fillOpacity: 1};
    }
    if (p.role === "open") {
      return {color: theme.open[0], weight: 1, fillColor: theme.open[1], fillOpacity: 1};
    }
    var spec = theme[p.kind] || theme.other;
    var width = roadWidth(p.kind, h.zoom);
    if (h.part === "casing") {
      return {color: spec[1], weight: width + (h.zoom >= 14 ? 2 : 1), opacity: 1,
              lineCap: "round", lineJoin: "round"};
    }
    return {color: spec[0], weight: width, opacity: 1, lineCap: "round", lineJoin: "round"};
  }

  /* A road's bearing (clockwise from north) as a readable text rotation. */
  function rotation(angle) {
    var r = ((angle || 0) - 90) % 180;
    if (r > 90) { r -= 180; }
    if (r <= -90) { r += 180; }
    return r;
  }

  var RANK = {district: 0, street: 1, community: 2, motorway: 3, trunk: 3, primary: 3,
              secondary: 4, tertiary: 5, residential: 6, service: 7};
  var pending = false;

  function overlaps(a, b) {
    return a.left < b.right + 4 && a.right > b.left - 4 && a.top < b.bottom + 2 &&
      a.bottom > b.top - 2;
  }

  /* Hide labels that would overlap one of higher rank (districts first, service roads last),
   * so names never pile up; the hidden ones stay in the page for the next view. */
  function declutter() {
    pending = false;
    var kept = [];
    var nodes = Array.prototype.slice.call(document.querySelectorAll(".base-label"));
    nodes.sort(function (a, b) { return a.dataset.rank - b.dataset.rank; });
    nodes.forEach(function (node) {
      node.classList.remove("base-label-hidden");
      var box = node.firstChild ? node.firstChild.getBoundingClientRect() : null;
      if (!box || kept.some(function (k) { return overlaps(box, k); })) {
        node.classList.add("base-label-hidden");
      } else {
        kept.push(box);
      }
    });
  }

  function schedule() {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(declutter);
    }
  }

  function label(feature, latlng, context) {
    var h = context.hideout || {};
    var p = feature.properties || {};
    var text = document.createElement("span");
    text.className = "base-label-text";
    text.textContent = p.name === undefined || p.name === null ? "" : String(p.name);
    if (p.role === "road") {
      text.style.transform = "translate(-50%, -50%) rotate(" + rotation(p.angle) + "deg)";
    }
    var kind = String(p.kind || "").replace(/[^a-z_]/g, "");
    var marker = L.marker(latlng, {
      icon: L.divIcon({html: text, className: "base-label base-label-" +
        (p.role === "road" ? "road" : "area") + " base-label-" + kind, iconSize: null}),
      pane: h.pane || "markerPane", interactive: false, keyboard: false
    });
    marker.on("add", function () {
      var el = marker.getElement();
      if (el) {
        el.dataset.rank = RANK[kind] === undefined ? 9 : RANK[kind];
        el.dataset.name = text.textContent;
      }
      schedule();
    });
    return marker;
  }

  function fetchJson(url, signal) {
    return fetch(url, {signal: signal}).then(function (response) {
      if (!response.ok) {
        throw new Error(url + ": " + response.status);
      }
      return response.json();
    });
  }

  function split(collection) {
    var fill = [], roads = [];
    (collection.features || []).forEach(function (f) {
      (f.properties.role === "road" ? roads : fill).push(f);
    });
    return [{type: "FeatureCollection", features: fill},
            {type: "FeatureCollection", features: roads}];
  }

  /* Fetch the base of the view; only the newest request's answers are applied. */
  function baseData(bounds, zoom, lang, meta, center, casingHide, roadHide) {
    var noUpdate = window.dash_clientside.no_update;
    var none = [noUpdate, noUpdate, noUpdate, noUpdate, noUpdate, noUpdate];
    var geo = (window.onemap || {}).geo;
    var el = meta && document.getElementById(meta.map);
    if (!meta || !geo || zoom === null || zoom === undefined) {
      return none;
    }
    if (!bounds && center && el) {
      bounds = geo.viewBounds(center, zoom, el);
    }
    if (!bounds) {
      return none;
    }
    var z = Math.round(zoom * 100) / 100;
    var view = "?bbox=" + geo.bboxParam(bounds) + "&zoom=" + z;
    var shapesUrl = meta.shapes + view;
    var labelsUrl = meta.labels + view + "&lang=" + (lang === "en" ? "en" : "zh");
    var state = states[meta.map] = states[meta.map] || {seq: 0, shapes: null, labels: null};
    var seq = state.seq + 1;
    state.seq = seq;
    var wantShapes = shapesUrl !== state.shapes, wantLabels = labelsUrl !== state.labels;
    return Promise.all([
      wantShapes ? fetchJson(shapesUrl) : null,
      wantLabels ? fetchJson(labelsUrl) : null
    ]).then(function (answers) {
      if (state.seq !== seq) {
        return none;
      }
      var out = none.slice();
      if (answers[0]) {
        state.shapes = shapesUrl;
        var parts = split(answers[0]);
        out[0] = parts[0]; out[1] = parts[1]; out[2] = parts[1];
        out[3] = Object.assign({}, casingHide, {zoom: z});
        out[4] = Object.assign({}, roadHide, {zoom: z});
      }
      if (answers[1]) {
        state.labels = labelsUrl;
        out[5] = answers[1];
      }
      return out;
    }, function (error) {
      console.warn("OneMap: base map request failed", error);
      return none;
    });
  }

  window.onemap = window.onemap || {};
  /* The URLs whose answers map `mapId` shows ({shapes, labels}; for tests and debugging). */
  function applied(mapId) {
    var state = states[mapId] || {};
    return {shapes: state.shapes || null, labels: state.labels || null};
  }

  window.onemap.base = {style: style, label: label, applied: applied, EMPTY: EMPTY};
  window.dash_clientside = window.dash_clientside || {};
  window.dash_clientside.onemap = Object.assign({}, window.dash_clientside.onemap,
                                                {baseData: baseData});
})();
