/* OneMap clientside callbacks (namespace "onemap"): run in the browser, no server round trip. */
(function () {
  "use strict";
  var MAX_SPAN = 30;  /* matches geodata.features.MAX_BBOX_SPAN */

  function clamp(v, lo, hi) {
    return Math.min(hi, Math.max(lo, v));
  }

  /* [[south, west], [north, east]] -> "minx,miny,maxx,maxy" (5 decimals, about 1 m). */
  function bboxParam(bounds) {
    var s = clamp(bounds[0][0], -90, 90), w = clamp(bounds[0][1], -180, 180);
    var n = clamp(bounds[1][0], -90, 90), e = clamp(bounds[1][1], -180, 180);
    var cx = (w + e) / 2, cy = (s + n) / 2, half = MAX_SPAN / 2 - 0.001;
    w = Math.max(w, cx - half); e = Math.min(e, cx + half);
    s = Math.max(s, cy - half); n = Math.min(n, cy + half);
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(",");
  }

  /* Bounds of a web-mercator view of `el` centred on [lat, lng] at `zoom` (the map does not
   * report its bounds until it first moves). */
  function viewBounds(center, zoom, el) {
    var lat = Array.isArray(center) ? center[0] : center.lat;
    var lng = Array.isArray(center) ? center[1] : center.lng;
    var world = 256 * Math.pow(2, zoom);
    var rad = lat * Math.PI / 180;
    var y = (1 - Math.log(Math.tan(Math.PI / 4 + rad / 2)) / Math.PI) / 2 * world;
    var toLat = function (py) {
      var n = Math.PI * (1 - 2 * py / world);
      return Math.atan(Math.sinh(n)) * 180 / Math.PI;
    };
    var halfW = el.clientWidth / 2 * 360 / world, halfH = el.clientHeight / 2;
    return [[toLat(y + halfH), lng - halfW], [toLat(y - halfH), lng + halfW]];
  }

  var EMPTY = {type: "FeatureCollection", features: []};
  var latest = {seq: 0, controller: null};

  /* The API url of one layer for the viewport, or null when it shows nothing there. */
  function layerUrl(layerId, bbox, z, shown, meta) {
    var m = meta.layers[layerId];
    if (!m || shown.indexOf(layerId) < 0 || z < m.min_zoom || z > m.max_zoom) {
      return null;
    }
    return meta.api + "/" + encodeURIComponent(layerId) + "?bbox=" + bbox + "&zoom=" + z;
  }

  function fetchLayer(url, signal) {
    if (!url) {
      return Promise.resolve(EMPTY);
    }
    return fetch(url, {signal: signal}).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) {
          throw new Error(url + ": " + (body.error || response.status));
        });
      }
      return response.json();
    });
  }

  /* Fetch every GeoJSON layer for the viewport straight from the API (browser <-> API).
   * Only the newest viewport's answer is applied: older requests are aborted or dropped. */
  function layerData(bounds, zoom, visible, ids, meta, center) {
    var noUpdate = window.dash_clientside.no_update;
    var unchanged = ids.map(function () { return noUpdate; });
    var el = meta && document.getElementById(meta.map);
    if (!bounds && center && el && zoom !== null && zoom !== undefined) {
      bounds = viewBounds(center, zoom, el);
    }
    if (!bounds || zoom === null || zoom === undefined || !meta) {
      return unchanged;
    }
    var bbox = bboxParam(bounds);
    var z = Math.round(zoom * 100) / 100;
    var shown = visible || [];
    if (latest.controller) {
      latest.controller.abort();
    }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var seq = latest.seq + 1;
    latest = {seq: seq, controller: controller};
    var requests = ids.map(function (id) {
      return fetchLayer(layerUrl(id.layer, bbox, z, shown, meta), controller && controller.signal);
    });
    return Promise.all(requests).then(function (collections) {
      return latest.seq === seq ? collections : unchanged;
    }, function (error) {
      if (error.name !== "AbortError") {
        console.warn("OneMap: layer request failed", error);
      }
      return unchanged;
    });
  }

  /* Swap every translated text to `lang` and label the document. */
  function translate(lang, ids, strings) {
    document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
    if (strings["app.document_title"]) {
      document.title = strings["app.document_title"][lang];
    }
    return ids.map(function (id) {
      var entry = strings[id.key] || {};
      return entry[lang] || entry.zh || id.key;
    });
  }

  function zoomText(zoom) {
    return zoom === null || zoom === undefined ? "" : (Math.round(zoom * 10) / 10).toFixed(1);
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemap: {layerData: layerData, translate: translate, zoomText: zoomText}
  });
})();
