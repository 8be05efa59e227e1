/* OneMap clientside callbacks (namespace "onemap"): run in the browser, no server round trip. */
(function () {
  "use strict";
  var MAX_SPAN = 30;  /* matches geodata.query.MAX_BBOX_SPAN */
  var DAY_MS = 86400000;

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

  /* Day number `n` after ISO date `first` as an ISO date. */
  function dayIso(first, n) {
    return new Date(Date.parse(first + "T00:00:00Z") + n * DAY_MS).toISOString().slice(0, 10);
  }

  /* "start/end" of the slider's window (the end day included). */
  function timeParam(range, timeMeta) {
    if (!range || !timeMeta || !timeMeta.first) {
      return null;
    }
    return dayIso(timeMeta.first, range[0]) + "/" + dayIso(timeMeta.first, range[1]);
  }

  function flatten(lists) {
    return [].concat.apply([], (lists || []).map(function (v) { return v || []; }));
  }

  var EMPTY = {type: "FeatureCollection", features: []};
  var state = {seq: 0, controller: null, applied: {}};

  /* The API url of one layer for the request, or null when it shows nothing there. */
  function layerUrl(layerId, req, meta) {
    var m = meta.layers[layerId];
    if (!m || req.shown.indexOf(layerId) < 0 || req.z < m.min_zoom || req.z > m.max_zoom) {
      return null;
    }
    var url = meta.api + "/" + encodeURIComponent(layerId) + "?bbox=" + req.bbox + "&zoom=" + req.z;
    if (m.time && req.time) {
      url += "&time=" + encodeURIComponent(req.time);
    }
    if (m.area && req.area) {
      url += "&area=" + encodeURIComponent(req.area.id);
    }
    Object.keys(m.query || {}).sort().forEach(function (key) {
      url += "&" + encodeURIComponent(key) + "=" + encodeURIComponent(m.query[key]);
    });
    return url;
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

  /* What the panel shows about a layer's answer (no features). */
  function summary(collection) {
    var agg = collection.aggregate;
    var sum = (collection.features || []).reduce(function (acc, f) {
      return acc + ((f.properties || {}).count || 0);
    }, 0);
    return {
      count: collection.count || 0,
      total: agg ? sum : (collection.capped ? collection.total : collection.count) || 0,
      capped: !!collection.capped,
      aggregate: agg ? agg.by : null
    };
  }

  /* Fetch every switched-on layer whose request changed, straight from the API.
   * Only the newest request's answers are applied: older ones are aborted or dropped. */
  function layerData(bounds, zoom, toggles, range, area, live, ids, meta, center, timeMeta,
                     status) {
    var noUpdate = window.dash_clientside.no_update;
    var unchanged = [ids.map(function () { return noUpdate; }), noUpdate];
    var el = meta && document.getElementById(meta.map);
    if (!bounds && center && el && zoom !== null && zoom !== undefined) {
      bounds = viewBounds(center, zoom, el);
    }
    if (!bounds || zoom === null || zoom === undefined || !meta) {
      return unchanged;
    }
    if (meta.token !== state.token) {
      state = {seq: state.seq, controller: state.controller, applied: {}, token: meta.token};
    }
    var req = {
      bbox: bboxParam(bounds), z: Math.round(zoom * 100) / 100, shown: flatten(toggles),
      time: timeParam(range, timeMeta), area: area
    };
    var urls = ids.map(function (id) { return layerUrl(id.layer, req, meta); });
    var changed = urls.map(function (url, i) { return state.applied[ids[i].layer] !== url; });
    if (changed.indexOf(true) < 0) {
      return unchanged;
    }
    if (state.controller) {
      state.controller.abort();
    }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var seq = state.seq + 1;
    state.seq = seq;
    state.controller = controller;
    var requests = urls.map(function (url, i) {
      return changed[i] ? fetchLayer(url, controller && controller.signal) : null;
    });
    return Promise.all(requests).then(function (collections) {
      if (state.seq !== seq) {
        return unchanged;
      }
      var next = Object.assign({}, status || {});
      var data = collections.map(function (c, i) {
        if (!changed[i]) {
          return noUpdate;
        }
        state.applied[ids[i].layer] = urls[i];
        next[ids[i].layer] = urls[i] ? summary(c) : null;
        return c;
      });
      return [data, next];
    }, function (error) {
      if (error.name !== "AbortError") {
        console.warn("OneMap: layer request failed", error);
      }
      return unchanged;
    });
  }

  /* Live updates (assets/onemap_live.js): forget the layers' last answers, so the next run
   * (triggered through the "live-tick" store) fetches them again. */
  window.onemap = window.onemap || {};
  window.onemap.forgetLayers = function (layerIds) {
    layerIds.forEach(function (id) { delete state.applied[id]; });
  };

  function legendVisibility(toggles, legendIds) {
    var shown = flatten(toggles);
    return legendIds.map(function (id) {
      return shown.indexOf(id.layer) < 0 ? {display: "none"} : {};
    });
  }

  /* A click on an area layer's feature selects that area; "clear" selects the whole city. */
  function selectArea(clicks, clearClicks, meta) {
    var ctx = window.dash_clientside.callback_context;
    var noUpdate = window.dash_clientside.no_update;
    var trigger = ctx.triggered && ctx.triggered[0];
    if (!trigger || !trigger.value) {
      return noUpdate;
    }
    if (trigger.prop_id.indexOf("selected-area-clear") === 0) {
      return null;
    }
    var idPart = trigger.prop_id.slice(0, trigger.prop_id.lastIndexOf("."));
    var layerId = JSON.parse(idPart).layer;
    var m = meta && meta.layers[layerId];
    var feature = trigger.value;
    if (!m || !m.selectsArea || !feature || feature.id === undefined) {
      return noUpdate;
    }
    var p = feature.properties || {};
    return {id: feature.id, name: p.name, name_en: p.name_en, layer: layerId};
  }

  function areaName(area, lang, strings) {
    var entry = strings["home.area_none"] || {};
    if (!area) {
      return [entry[lang] || entry.zh, "area-chip"];
    }
    return [(lang === "en" && area.name_en) || area.name, "area-chip area-chip-selected"];
  }

  function timeLabel(range, timeMeta) {
    var t = timeParam(range, timeMeta);
    return t ? t.replace("/", " — ") : "";
  }

  function playToggle(clicks) {
    var playing = (clicks || 0) % 2 === 1;
    return [!playing, playing ? "time-play playing" : "time-play"];
  }

  /* One day forward, keeping the window's width; back to the start after the last day. */
  function playTick(n, range, timeMeta) {
    if (!n || !range || !timeMeta) {
      return range;  /* not no_update: that would skip the slider's first dependants */
    }
    var width = range[1] - range[0];
    if (range[1] >= timeMeta.days) {
      return [0, width];
    }
    return [range[0] + 1, range[1] + 1];
  }

  function incidentCount(status) {
    var s = (status || {}).incidents;
    return s ? String(s.total) : "—";
  }

  /* Online GCJ-02 tiles (opt-in AMap): move the tile pane onto our WGS84 data. */
  function basemapShift(zoom, shift, mapId) {
    var map = document.getElementById(mapId);
    var pane = map && map.querySelector(".leaflet-tile-pane");
    if (!shift || !pane || zoom === null || zoom === undefined) {
      return "";
    }
    var world = 256 * Math.pow(2, zoom);
    var mercY = function (lat) {
      var r = lat * Math.PI / 180;
      return (1 - Math.log(Math.tan(Math.PI / 4 + r / 2)) / Math.PI) / 2 * world;
    };
    var dx = (shift.lon - shift.gcj_lon) / 360 * world;
    var dy = mercY(shift.lat) - mercY(shift.gcj_lat);
    pane.style.transform = "translate(" + dx.toFixed(1) + "px," + dy.toFixed(1) + "px)";
    return dx.toFixed(1) + "," + dy.toFixed(1);
  }

  /* Words of the map and form widgets' own libraries (Leaflet zoom and full screen,
     leaflet-draw, Dash inputs), in either language -> their i18n key ("lib.*" strings). */
  var LIB_ATTRS = ["title", "aria-label", "placeholder"];
  var libWords = null;
  var libLang = "zh";

  function libIndex(strings) {
    var index = {};
    Object.keys(strings).forEach(function (key) {
      if (key.indexOf("lib.") !== 0) { return; }
      var entry = strings[key];
      index[entry.zh] = entry;
      index[entry.en] = entry;
    });
    return index;
  }

  var ATTR_SELECTOR = "[title],[aria-label],[placeholder]";
  var TEXT_SELECTOR = ".leaflet-control a span, .leaflet-draw-actions a";

  /* Put the library words of one element in the page's language. */
  function localiseElement(el) {
    if (!el.matches) { return; }
    if (el.matches(ATTR_SELECTOR)) {
      LIB_ATTRS.forEach(function (attr) {
        var entry = libWords[el.getAttribute(attr)];
        if (entry && el.getAttribute(attr) !== entry[libLang]) {
          el.setAttribute(attr, entry[libLang]);
        }
      });
    }
    if (el.matches(TEXT_SELECTOR)) {
      var entry = libWords[el.textContent];
      if (entry && el.textContent !== entry[libLang]) { el.textContent = entry[libLang]; }
    }
  }

  /* Put the library words of `root` and everything under it in the page's language. */
  function localiseWidgets(root) {
    if (!libWords || !root.querySelectorAll) { return; }
    localiseElement(root);
    root.querySelectorAll(ATTR_SELECTOR + "," + TEXT_SELECTOR).forEach(localiseElement);
  }

  /* The elements a batch of mutations changed, each once: an attribute's element, the added
     elements, and the element whose text changed. Map vectors (SVG) hold no library words and
     come in thousands: scanning their group for every added path grew with its square. */
  function changedElements(records) {
    var seen = new Set();
    var keep = function (el) {
      if (el && el.nodeType === 1 && !(el instanceof SVGElement)) { seen.add(el); }
    };
    records.forEach(function (r) {
      if (r.type === "attributes") { keep(r.target); return; }
      r.addedNodes.forEach(function (node) {
        if (node.nodeType === 1) { keep(node); } else { keep(r.target); }
      });
    });
    return seen;
  }

  var widgetObserver = new MutationObserver(function (records) {
    if (!libWords) { return; }
    changedElements(records).forEach(localiseWidgets);
  });

  function watchWidgets(lang, strings) {
    libLang = lang === "en" ? "en" : "zh";
    if (!libWords) {
      libWords = libIndex(strings);
      widgetObserver.observe(document.body, {
        subtree: true, childList: true, attributes: true, attributeFilter: LIB_ATTRS
      });
    }
    localiseWidgets(document.body);
  }

  /* Swap every translated text to `lang` and label the document. */
  function translate(lang, ids, strings) {
    document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
    watchWidgets(lang, strings);
    if (strings["app.document_title"]) {
      document.title = strings["app.document_title"][lang];
    }
    /* Translated attributes: data-i18n-title="<key>" (hover texts). */
    document.querySelectorAll("[data-i18n-title]").forEach(function (el) {
      var entry = strings[el.getAttribute("data-i18n-title")] || {};
      el.title = entry[lang] || entry.zh || el.title;
    });
    return ids.map(function (id) {
      var entry = strings[id.key] || {};
      return entry[lang] || entry.zh || id.key;
    });
  }

  function zoomText(zoom) {
    return zoom === null || zoom === undefined ? "" : (Math.round(zoom * 10) / 10).toFixed(1);
  }

  window.onemap.geo = {viewBounds: viewBounds, bboxParam: bboxParam};

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemap: Object.assign({}, (window.dash_clientside || {}).onemap, {
      layerData: layerData, translate: translate, zoomText: zoomText,
      legendVisibility: legendVisibility, selectArea: selectArea, areaName: areaName,
      timeLabel: timeLabel, playToggle: playToggle, playTick: playTick,
      incidentCount: incidentCount, basemapShift: basemapShift
    })
  });
})();
