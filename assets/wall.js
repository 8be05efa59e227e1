/* OneMap command wall (pages/wall.py): clientside callbacks, namespace "onemap_wall".
 * - layers: fetch each wall layer from /api/layers/<id> for the map's view and the selected area
 *   (the Dash server never sees the GeoJSON); an answer identical to the last is not re-applied,
 *   so a live refresh redraws only what changed, and the same request is not sent twice but on a
 *   live tick (the view's bbox is widened to a grid of 32 px, so a map settling on its first
 *   view asks once).
 * - tick: once a second, bump the tick store when /api/live delivered something new
 *   (window.onemap.live.received, assets/onemap_live.js) or REFRESH_MS has passed.
 * Test and bench hooks: window.onemap.wall.{fetches, applied, summary, urls}. */
(function () {
  "use strict";
  var REFRESH_MS = 30000;
  var MAX_SPAN = 30;  /* geodata.query.MAX_BBOX_SPAN */
  var SNAP_PX = 32;
  var state = {seq: 0, texts: {}, urls: {}, requests: {}, received: null, at: 0, fetches: 0,
               applied: 0};

  function noUpdate() { return window.dash_clientside.no_update; }

  /* The largest zoom at which lon/lat `bbox` fits the element (as pages.home.fit_zoom). */
  function fitZoom(bbox, el) {
    var lat = (bbox[1] + bbox[3]) / 2 * Math.PI / 180;
    var w = Math.max(bbox[2] - bbox[0], 1e-6), h = Math.max(bbox[3] - bbox[1], 1e-6) / Math.cos(lat);
    var z = Math.min(Math.log2(360 * el.clientWidth / (256 * w)),
                     Math.log2(360 * el.clientHeight / (256 * h)));
    return Math.max(8, Math.min(19, Math.floor(z * 4) / 4));  /* the map's zoomSnap: 0.25 */
  }

  /* The bbox asked for at `zoom`: the view's, widened to a grid of SNAP_PX pixels, so that a
   * map settling on its first view (fit, then a resize of a pixel or two) asks once. */
  function bboxText(b, zoom) {
    var step = 360 / Math.pow(2, Math.floor(zoom) + 8) * SNAP_PX;
    var snapped = [Math.floor(b[0] / step) * step, Math.floor(b[1] / step) * step,
                   Math.ceil(b[2] / step) * step, Math.ceil(b[3] / step) * step];
    var cx = (snapped[0] + snapped[2]) / 2, cy = (snapped[1] + snapped[3]) / 2;
    var half = MAX_SPAN / 2 - 0.001;
    var box = [Math.max(snapped[0], cx - half), Math.max(snapped[1], cy - half),
               Math.min(snapped[2], cx + half), Math.min(snapped[3], cy + half)];
    return box.map(function (v) { return v.toFixed(5); }).join(",");
  }

  function layerUrl(key, view, area, meta) {
    var m = meta.layers[key];
    if (!m) { return null; }
    var layerId = key === "areas" ? (area && area.child) || m.layer : m.layer;
    var wide = view.span > (m.point_span || 0);
    var zoom = m.max_zoom && wide ? Math.min(view.zoom, m.max_zoom) : view.zoom;
    zoom = Math.max(zoom, (meta.min_zoom || {})[layerId] || 0);  /* drawn at any wall view */
    var q = ["bbox=" + view.bbox, "zoom=" + zoom];
    Object.keys(m.params || {}).forEach(function (k) {
      q.push(k + "=" + encodeURIComponent(m.params[k]));
    });
    if (m.area && area && area.id) { q.push("area=" + encodeURIComponent(area.id)); }
    return meta.api + "/" + encodeURIComponent(layerId) + "?" + q.join("&");
  }

  function summary(body) {
    var sum = (body.features || []).reduce(function (acc, f) {
      return acc + ((f.properties || {}).count || 0);
    }, 0);
    return {count: body.count || 0, sum: sum, aggregate: !!body.aggregate, note: body.note || null};
  }

  /* The text of `url` for layer `key`: the same request as the layer's last one (under way or
   * answered; the map settling on its first view asks for the same view several times) is not
   * sent again unless `fresh` (a live tick); failed requests are retried. */
  function answer(key, url, fresh) {
    var last = state.requests[key];
    if (!fresh && last && last.url === url && !last.failed) { return last.text; }
    var entry = {url: url, failed: false};
    state.fetches += 1;
    entry.text = fetch(url, {cache: "no-store"}).then(function (r) {
      return r.ok ? r.text() : null;
    }).catch(function () { return null; }).then(function (text) {
      entry.failed = text === null;
      return text;
    });
    state.requests[key] = entry;
    return entry.text;
  }

  function layers(bounds, zoom, area, tick, ids, meta, status) {
    var unchanged = [ids.map(noUpdate), noUpdate()];
    var el = meta && document.getElementById(meta.map);
    var box = null, z = zoom;
    if (bounds) {
      box = [bounds[0][1], bounds[0][0], bounds[1][1], bounds[1][0]];
    } else if (area && area.bbox && el) {
      box = area.bbox;
      z = fitZoom(box, el);
    }
    if (!box || z === null || z === undefined || !meta) { return unchanged; }
    if (meta.token !== state.token) {  /* a new render of the page: its layers start empty */
      state.token = meta.token;
      state.texts = {};
      state.requests = {};
    }
    var trigger = ((window.dash_clientside.callback_context || {}).triggered || [])[0] || {};
    if (/^wall-area\./.test(trigger.prop_id || "") && area && area.bbox && el) {
      box = area.bbox;  /* the map flies there next: fetch for where it will be */
      z = fitZoom(box, el);
    }
    var view = {bbox: bboxText(box, z), zoom: Math.round(z * 100) / 100, span: box[2] - box[0]};
    var seq = ++state.seq;
    var live = trigger.prop_id === "wall-tick.data";  /* pages.wall_ids.TICK: ask again */
    var jobs = ids.map(function (id) {
      var url = layerUrl(id.layer, view, area, meta);
      if (!url) { return Promise.resolve(null); }
      state.urls[id.layer] = url;
      return answer(id.layer, url, live);
    });
    return Promise.all(jobs).then(function (texts) {
      if (seq !== state.seq) { return unchanged; }
      var next = Object.assign({}, status || {});
      var data = texts.map(function (text, i) {
        var key = ids[i].layer;
        if (text === null || text === state.texts[key]) { return noUpdate(); }
        state.texts[key] = text;
        state.applied += 1;
        var body = JSON.parse(text);
        next[key] = summary(body);
        if (key === "alarms" && body.aggregate) { body = asDots(body); }
        if (key === "areas") { next.areasOf = (area && area.id) || null; }
        return body;
      });
      state.summary = next;
      return [data, next];
    });
  }

  /* H3 counts of sensors in alarm as dots at the cells' centres (the map's hexagons are the
   * open incidents; the two must not look alike). */
  function asDots(body) {
    var features = (body.features || []).map(function (f) {
      var ring = ((f.geometry || {}).coordinates || [[]])[0] || [];
      if (f.geometry && f.geometry.type === "MultiPolygon") { ring = ring[0] || []; }
      var n = Math.max(ring.length - 1, 1), x = 0, y = 0;
      for (var i = 0; i < n; i++) { x += ring[i][0]; y += ring[i][1]; }
      return Object.assign({}, f, {geometry: {type: "Point", coordinates: [x / n, y / n]}});
    });
    return Object.assign({}, body, {features: features});
  }

  /* Styles of the wall's map beside the shared ones (assets/onemap_map.js): the risk forecast
   * as outlines over the filled incident hexagons; alarm dots sized by their count. */
  function riskStyle(feature, context) {
    var color = window.onemap.map.style(feature, context).fillColor || "#f59e0b";
    return {stroke: true, color: color, weight: 1.5, opacity: 0.9, fill: true,
            fillColor: color, fillOpacity: 0.06};
  }

  function alarmStyle(feature, context) {
    var s = window.onemap.map.style(feature, context);
    var p = feature.properties || {};
    if (p.aggregate) {
      var r = 4 + 2.5 * Math.log2(Math.max(p.count || 1, 1));
      return {stroke: true, color: "#fecaca", weight: 1, fillColor: s.fillColor,
              fillOpacity: 0.9, radius: r};
    }
    return s;
  }

  function tick(n, current) {
    var live = (window.onemap || {}).live;
    var received = live ? live.received : 0;
    var now = Date.now();
    if (state.received === null) {
      state.received = received;
      state.at = now;
      /* the language remembered by the browser is not the server's default: the figures'
       * own texts (notes, chart, ticker) follow with one refresh */
      return document.documentElement.lang === "en" ? (current || 0) + 1 : noUpdate();
    }
    if (received !== state.received || now - state.at >= REFRESH_MS) {
      state.received = received;
      state.at = now;
      return (current || 0) + 1;
    }
    return noUpdate();
  }

  /* Style of the clickable areas: the map's style plus a class naming the area (tests, CSS). */
  function areaStyle(feature, context) {
    var s = window.onemap.map.style(feature, context);
    s.className = "wall-area wall-area-" + feature.id;
    return s;
  }

  /* Opened straight at /wall (a wall's kiosk browser): start fetching and compiling the deck.gl
   * bundle now, beside Dash's own scripts, instead of after the layout arrives. Any digest in
   * the URL redirects to the current bundle (web/deck_bundle.py); the 3D panel's own call later gets
   * the same promise (assets/deck_glue.js loads the bundle once). */
  function preloadDeck() {
    var deck = (window.onemap || {}).deck;
    var prefix = "/";
    try {
      prefix = JSON.parse(document.getElementById("_dash-config").textContent)
        .requests_pathname_prefix || "/";
    } catch (e) { /* keep "/" */ }
    if (deck && deck.loadBundle && window.location.pathname === prefix + "wall") {
      deck.loadBundle(prefix + "vendor/deck.gl/current/deck.js").catch(function () {});
    }
  }

  window.onemap = window.onemap || {};
  window.onemap.wall = state;
  preloadDeck();
  window.onemap.wallMap = {areaStyle: areaStyle, riskStyle: riskStyle, alarmStyle: alarmStyle};
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemap_wall: {layers: layers, tick: tick}
  });
})();
