/* OneMap deck.gl glue: draws a twin spec (pydeck Deck.to_json() + data sources, see
 * layers/deck.py) with the deck.gl bundle the app serves itself (/vendor/deck.gl/…/deck.js,
 * loaded on first use). Data comes from /api/layers/<id>?bbox=&zoom= for the view; only
 * layers whose request changed are fetched again, and new data replaces a layer's `data` in
 * place (no page reload, no re-conversion of unchanged layers). An overlay whose source names
 * `strokes` also draws that template (a LineLayer, layers/deck.py) over its features' lines and
 * rings split into straight segments {_from, _to, properties}.
 *
 * First frame: software WebGL (SwiftShader: a wall or test host without a GPU) spends seconds
 * compiling the layers' shaders when they are first drawn. So a new deck draws a tiny sample of
 * each visible layer at once, under a veil the colour of the empty view, while the data is
 * being fetched, and waits for that work through a GPU fence polled from a timer; the first
 * real frame then finds its shaders compiled (and the canvas's way to the screen warmed up)
 * and lifts the veil. Fewer programs compile faster, so the glue draws what needs no program
 * of its own without one: the base map's names are HTML over the canvas (a TextLayer's glyph
 * atlas and shaders cost SwiftShader about 0.3 s), and extruded layers whose view holds only
 * aggregate cells (drawn at height 0) are drawn flat, without the side walls' program.
 *
 * Dash clientside namespace "onemap_deck"; the live deck is window.onemapDeck (for tests). */
(function () {
  "use strict";
  var MAX_SPAN = 30;        /* geodata.query.MAX_BBOX_SPAN */
  var DEBOUNCE_MS = 250;
  var DECK_TO_API_ZOOM = 1; /* deck zooms count 512-px tiles, the API's 256-px ones */
  var WARM_CELL = "8928308280fffff";  /* any valid H3 cell: warm-up samples are never shown */
  var WARM_WAIT_MS = 8000;  /* draw anyway if the fence has not signalled by then */
  var loading = null;
  var twins = {};

  function loadBundle(url) {
    if (typeof window.createDeck === "function") {
      return Promise.resolve();
    }
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.async = true;
        script.onload = function () { resolve(); };
        script.onerror = function () {
          loading = null;
          reject(new Error("deck.gl bundle failed to load: " + url));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  /* ---- data: derived properties the spec's expressions use (_pos, _t) ---------------- */

  function ringCentre(ring) {
    var n = ring.length > 1 ? ring.length - 1 : ring.length, x = 0, y = 0;
    for (var i = 0; i < n; i++) { x += ring[i][0]; y += ring[i][1]; }
    return [x / n, y / n];
  }

  function position(geometry) {
    if (!geometry) { return null; }
    switch (geometry.type) {
      case "Point": return geometry.coordinates;
      case "Polygon": return ringCentre(geometry.coordinates[0]);
      case "MultiPolygon": return ringCentre(geometry.coordinates[0][0]);
      default: return null;
    }
  }

  function amount(p) {
    var v = p.value !== undefined && p.value !== null ? p.value : (p.weight || p.count);
    return typeof v === "number" ? v : 0;
  }

  function prepare(collection) {
    var features = (collection && collection.features) || [];
    var top = 0;
    features.forEach(function (f) { top = Math.max(top, amount(f.properties || {})); });
    features.forEach(function (f) {
      var p = f.properties = f.properties || {};
      p._pos = position(f.geometry);
      p._t = top > 0 ? amount(p) / top : 1;
    });
    return features;
  }

  /* The straight segments of the features' lines and polygon rings, each carrying its
   * feature's properties (colour expressions and tooltips read them). */
  function segments(features) {
    var out = [];
    features.forEach(function (f) {
      var g = f.geometry, p = f.properties || {}, lines;
      if (!g) { return; }
      switch (g.type) {
        case "LineString": lines = [g.coordinates]; break;
        case "MultiLineString": case "Polygon": lines = g.coordinates; break;
        case "MultiPolygon": lines = [].concat.apply([], g.coordinates); break;
        default: return;
      }
      lines.forEach(function (line) {
        for (var i = 1; i < line.length; i++) {
          out.push({_from: line[i - 1], _to: line[i], properties: p});
        }
      });
    });
    return out;
  }

  /* ---- view ---------------------------------------------------------------------------- */

  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

  function viewportOf(twin) {
    try {
      return twin.deck.getViewports()[0] || null;
    } catch (e) {
      return null;  /* not initialised yet (the WebGL device is created asynchronously) */
    }
  }

  /* Resolves once the canvas's drawing buffer has been measured (luma.gl's CanvasContext
   * `initialized`, set by its ResizeObserver): a frame drawn before that is drawn at the
   * canvas's default 300×150, and the resize on the next frame then waits for all the GPU
   * work queued so far — with software WebGL, the shader compiles of the warm-up: seconds
   * with the page's main thread blocked. */
  function measured(twin) {
    try {
      var context = twin.deck.device && twin.deck.device.getDefaultCanvasContext();
      return (context && context.initialized) || Promise.resolve();
    } catch (e) {
      return Promise.resolve();  /* no device yet: the viewport poll below waits for it */
    }
  }

  /* Resolves once deck.gl has a viewport and a measured canvas (gives up after `ms`). */
  function ready(twin, ms) {
    var until = Date.now() + (ms || 8000);
    var timeout = new Promise(function (resolve) { setTimeout(resolve, ms || 8000); });
    return new Promise(function (resolve) {
      (function poll() {
        var v = viewportOf(twin);
        if ((v && v.width > 0) || Date.now() > until) { resolve(); return; }
        requestAnimationFrame(poll);
      })();
    }).then(function () {
      return Promise.race([measured(twin), timeout]);
    }).then(function () {
      twin.timing.measured = twin.timing.measured || performance.now();
    });
  }

  function bboxOf(twin) {
    var viewport = viewportOf(twin);
    if (!viewport || !viewport.getBounds) { return null; }
    var b = viewport.getBounds();
    var w = clamp(b[0], -180, 180), s = clamp(b[1], -85, 85);
    var e = clamp(b[2], -180, 180), n = clamp(b[3], -85, 85);
    var cx = (w + e) / 2, cy = (s + n) / 2, half = MAX_SPAN / 2 - 0.001;
    w = Math.max(w, cx - half); e = Math.min(e, cx + half);
    s = Math.max(s, cy - half); n = Math.min(n, cy + half);
    return [w, s, e, n].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function apiZoom(view) {
    return Math.round((view.zoom + DECK_TO_API_ZOOM) * 100) / 100;
  }

  /* Keep the URL and the link to the 2D map on the current view (same extent). */
  function shareView(twin) {
    var v = twin.view, z = apiZoom(v);
    var q = "lat=" + v.latitude.toFixed(6) + "&lon=" + v.longitude.toFixed(6) + "&zoom=" + z;
    var link = twin.spec.link2d && document.getElementById(twin.spec.link2d.id);
    if (link) { link.setAttribute("href", twin.spec.link2d.href + "?" + q); }
    var full = q + "&pitch=" + Math.round(v.pitch || 0) + "&bearing=" + Math.round(v.bearing || 0);
    if (twin.spec.syncUrl && window.history && window.history.replaceState) {
      window.history.replaceState(window.history.state, "", window.location.pathname + "?" + full);
    }
  }

  /* ---- fetching ------------------------------------------------------------------------ */

  function layerUrl(twin, id, bbox, z) {
    var src = twin.spec.sources[id];
    if (twin.visible.indexOf(id) < 0 || z < src.minZoom || z > src.maxZoom) { return null; }
    var q = ["bbox=" + bbox, "zoom=" + z];
    Object.keys(src.params).forEach(function (k) {
      q.push(encodeURIComponent(k) + "=" + encodeURIComponent(src.params[k]));
    });
    if (src.time && twin.filters.time) { q.push("time=" + encodeURIComponent(twin.filters.time)); }
    if (src.category && twin.filters.category) {
      q.push("category=" + encodeURIComponent(twin.filters.category));
    }
    var path = src.url || twin.spec.api + "/" + encodeURIComponent(src.layer);
    return path + "?" + q.join("&");
  }

  function fetchJson(url, signal) {
    return fetch(url, {signal: signal}).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(url + ": " + (body.error || response.status)); }
        return body;
      });
    });
  }

  /* Fetch every layer whose URL changed (a request already under way for the same URL is
   * reused, one for an outdated URL aborted); draws once the newest set has arrived. */
  function refresh(twin) {
    var bbox = bboxOf(twin);
    if (!bbox) { return Promise.resolve(); }
    var z = apiZoom(twin.view);
    var seq = ++twin.seq;
    var jobs = twin.spec.order.map(function (id) {
      var url = layerUrl(twin, id, bbox, z);
      var current = twin.inflight[id];
      if (current && current.url === url) { return current.promise; }
      if (current && current.controller) { current.controller.abort(); }
      delete twin.inflight[id];
      if (url === twin.urls[id]) { return Promise.resolve(); }
      if (!url) {
        twin.urls[id] = null; twin.data[id] = []; twin.meta[id] = null; twin.segments[id] = [];
        return Promise.resolve();
      }
      var entry = {url: url, controller: typeof AbortController === "function" ?
        new AbortController() : null};
      entry.promise = fetchJson(url, entry.controller && entry.controller.signal)
        .then(function (body) {
          if (twin.inflight[id] !== entry) { return; }
          delete twin.inflight[id];
          twin.urls[id] = url;
          twin.data[id] = prepare(body);
          twin.segments[id] = twin.spec.sources[id].strokes ? segments(twin.data[id]) : [];
          twin.meta[id] = {count: body.count, capped: body.capped, total: body.total,
                           aggregate: body.aggregate || null, url: url};
        }, function (error) {
          if (twin.inflight[id] === entry) { delete twin.inflight[id]; }
          if (error.name !== "AbortError") { console.warn("OneMap 3D: request failed", error); }
        });
      twin.inflight[id] = entry;
      return entry.promise;
    });
    return Promise.all(jobs).then(function () {
      return twin.warming;
    }).then(function () {
      if (seq === twin.seq) {
        draw(twin);
        twin.loaded = seq;
        twin.timing.data = twin.timing.data || performance.now();
      }
    });
  }

  function scheduleRefresh(twin) {
    clearTimeout(twin.timer);
    twin.timer = setTimeout(function () {
      refresh(twin).then(function () { report(twin); });
    }, DEBOUNCE_MS);
  }

  /* ---- warm-up ------------------------------------------------------------------------- */

  /* One sample datum of the kind `template` draws (`geometry`: the source's, for GeoJSON;
   * `aggregate`: whether the view's answer will be aggregate cells). */
  function sample(template, geometry, c, aggregate) {
    var d = 0.0005, props = {_pos: c, _t: 1, name: "0", h3: WARM_CELL, aggregate: aggregate};
    var point = {type: "Feature", properties: props, geometry: {type: "Point", coordinates: c}};
    var ring = [c, [c[0] + d, c[1]], [c[0] + d, c[1] + d], c];
    var polygon = {type: "Feature", properties: props, geometry: {type: "Polygon", coordinates: [ring]}};
    var line = {type: "Feature", properties: props, geometry: {type: "LineString", coordinates: ring}};
    switch (template.constructor.layerName) {
      case "LineLayer": return [{_from: ring[0], _to: ring[2], properties: props}];
      case "GeoJsonLayer":
        return {point: [point], line: [line], mixed: [point, polygon]}[geometry] || [polygon];
      default: return [point];  /* columns, H3 cells, heatmap: position or cell props */
    }
  }

  /* Resolves once the GPU has done everything issued so far (or after WARM_WAIT_MS). */
  function gpuDone(twin) {
    var gl = twin.deck.device && twin.deck.device.gl;
    if (!gl || typeof gl.fenceSync !== "function") { return Promise.resolve(); }
    var sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    var until = Date.now() + WARM_WAIT_MS;
    return new Promise(function (resolve) {
      (function poll() {
        if (gl.isContextLost() || Date.now() > until ||
            gl.getSyncParameter(sync, gl.SYNC_STATUS) === gl.SIGNALED) {
          if (!gl.isContextLost()) { gl.deleteSync(sync); }
          resolve();
        } else {
          setTimeout(poll, 15);
        }
      })();
    });
  }

  /* Draw a sample of every visible layer under a veil; `twin.warming` resolves once the GPU
   * has compiled them all. */
  function warmUp(twin) {
    var canvas = twin.deck.getCanvas && twin.deck.getCanvas();
    var viewport = viewportOf(twin);
    if (twin.shown || !canvas || !viewport || !(viewport.width > 0)) { return; }
    var c = [twin.view.longitude, twin.view.latitude], z = apiZoom(twin.view), layers = [];
    twin.visible.forEach(function (id) {
      var src = twin.spec.sources[id] || {};
      var aggregate = typeof src.aggregateBelow === "number" && z < src.aggregateBelow;
      [id, src.strokes].forEach(function (key) {
        var template = key && twin.templates[key];
        if (template) {
          layers.push(layerOf(twin, key, sample(template, src.geometry, c, aggregate)));
        }
      });
    });
    if (!layers.length) { return; }
    twin.veil = document.createElement("div");
    twin.veil.className = "twin-veil";
    twin.el.appendChild(twin.veil);
    twin.warming = new Promise(function (resolve) {
      var done = function () {
        if (twin.timing.warm === undefined) { twin.timing.warm = performance.now(); }
        resolve();
      };
      setTimeout(done, WARM_WAIT_MS);  /* whatever happens, the data gets drawn */
      twin.onFrame = function () {
        twin.onFrame = null;
        twin.warmedAt = [canvas.width, canvas.height];  /* the buffer it compiled on */
        gpuDone(twin).then(done);
      };
      twin.deck.setProps({layers: layers});
    });
  }

  /* Once the deck has a viewport: warm a new deck up, then fetch the view's data. */
  function firstData(twin) {
    return ready(twin).then(function () {
      if (!twin.shown && !twin.warming) { warmUp(twin); }
      return refresh(twin);
    });
  }

  /* ---- names: HTML over the canvas ------------------------------------------------------ */

  /* The pixel size of a name (`sizes`: by governance level, "" for roads and others). */
  function labelSize(p, sizes) {
    return sizes[p.kind] || sizes[""] || 12;
  }

  /* Names that do not overlap one kept before them in the current view (the API sends them
   * most important first). */
  function declutter(viewport, features, sizes) {
    var kept = [];
    return features.filter(function (f) {
      var p = f.properties || {};
      var size = labelSize(p, sizes);
      var xy = viewport.project(f.geometry.coordinates);
      var width = Array.prototype.reduce.call(String(p.name || ""), function (w, c) {
        return w + (c.charCodeAt(0) > 255 ? size : size * 0.6);
      }, 0);
      var box = [xy[0] - width / 2 - 3, xy[1] - size / 2 - 2, xy[0] + width / 2 + 3,
                 xy[1] + size / 2 + 2];
      var hit = kept.some(function (k) {
        return box[0] < k[2] && box[2] > k[0] && box[1] < k[3] && box[3] > k[1];
      });
      if (!hit) { kept.push(box); }
      return !hit;
    });
  }

  function labelPane(twin) {
    if (!twin.labelPane || !twin.el.contains(twin.labelPane)) {
      twin.labelPane = document.createElement("div");
      twin.labelPane.className = "twin-labels";
      twin.el.appendChild(twin.labelPane);
    }
    return twin.labelPane;
  }

  /* Replace source `id`'s names with the decluttered `features` (one element each). */
  function setLabels(twin, id, features) {
    var viewport = viewportOf(twin), sizes = twin.spec.sources[id].labels;
    var pane = labelPane(twin), shown = viewport ? declutter(viewport, features, sizes) : [];
    (twin.labels[id] || []).forEach(function (l) { l.el.remove(); });
    twin.labels[id] = shown.map(function (f) {
      var p = f.properties || {}, el = document.createElement("span");
      el.className = "twin-label twin-label-" + (p.role || "area") +
        " twin-label-" + (p.kind || "");
      el.style.fontSize = labelSize(p, sizes) + "px";
      el.textContent = p.name === undefined || p.name === null ? "" : String(p.name);
      pane.appendChild(el);
      return {el: el, at: f.geometry.coordinates};
    });
    placeLabels(twin);
  }

  /* Move every name to its point in the current view (after each frame deck.gl draws). */
  function placeLabels(twin) {
    var viewport = viewportOf(twin);
    if (!viewport) { return; }
    Object.keys(twin.labels).forEach(function (id) {
      twin.labels[id].forEach(function (l) {
        var xy = viewport.project(l.at);
        var inside = xy[0] >= 0 && xy[1] >= 0 && xy[0] <= viewport.width &&
          xy[1] <= viewport.height;
        l.el.style.display = inside ? "" : "none";
        if (inside) {
          l.el.style.transform = "translate(" + xy[0].toFixed(1) + "px," + xy[1].toFixed(1) +
            "px) translate(-50%,-50%)";
        }
      });
    });
  }

  /* ---- drawing ------------------------------------------------------------------------- */

  function allAggregates(features) {
    return features.every(function (f) { return (f.properties || {}).aggregate; });
  }

  /* The deck layer of template `id` over `data`: an extruded layer whose data are all
   * aggregate cells (height 0) is drawn flat. */
  function layerOf(twin, id, data) {
    var template = twin.templates[id], props = {data: data};
    if (template.props.extruded && allAggregates(data)) { props.extruded = false; }
    return template.clone(props);
  }

  function draw(twin) {
    var layers = [];
    twin.spec.order.forEach(function (id) {
      var src = twin.spec.sources[id] || {}, data = twin.data[id] || [];
      var visible = twin.visible.indexOf(id) >= 0;
      if (src.labels) {
        setLabels(twin, id, visible ? data : []);
        return;
      }
      if (!visible) { return; }
      if (twin.templates[id]) { layers.push(layerOf(twin, id, data)); }
      if (src.strokes && twin.templates[src.strokes]) {
        layers.push(twin.templates[src.strokes].clone({data: twin.segments[id] || []}));
      }
    });
    twin.deck.setProps({layers: layers});
    if (!twin.shown) {
      twin.shown = true;
      twin.warming = null;
      if (twin.veil) { twin.veil.remove(); twin.veil = null; }
      twin.onFrame = function () {  /* `timing.drawn`: the GPU has finished the first data frame */
        twin.onFrame = null;
        gpuDone(twin).then(function () { twin.timing.drawn = performance.now(); });
      };
    }
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function present(v) { return v !== null && v !== undefined && v !== ""; }

  var timeFormats = {};
  /* An ISO 8601 instant as "YYYY-MM-DD HH:MM" in the city's zone (spec.timeZone, the browser's
   * own tz data); anything else as it is. */
  function shownValue(v, twin) {
    var zone = twin.spec.timeZone;
    if (typeof v !== "string" || !zone || !/^\d{4}-\d\d-\d\dT\d\d:\d\d.*(Z|[+-]\d\d:?\d\d)$/.test(v)) {
      return v;
    }
    var instant = new Date(v);
    if (isNaN(instant.getTime())) { return v; }
    if (!timeFormats[zone]) {
      timeFormats[zone] = new Intl.DateTimeFormat("en-GB", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      });
    }
    var p = {};
    timeFormats[zone].formatToParts(instant).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function tooltipFor(twin) {
    return function (info) {
      if (!info || !info.object || !info.layer) { return null; }
      var tip = twin.spec.tooltips[twin.owners[info.layer.id] || info.layer.id];
      var p = info.object.properties || {};
      if (!tip) { return null; }
      var strings = twin.spec.strings;
      var rows = [];
      if (p.aggregate) {
        rows.push([strings["twin.count"] || "count", p.count]);
      } else {
        (tip.fields || []).forEach(function (f) {
          var name = present(p[f.nameEn]) ? f.nameEn : f.name;  /* English twin on EN pages */
          var v = p[name];
          if (!present(v)) { return; }
          var labels = tip.values[f.name] || {};
          rows.push([f.label, labels[v] !== undefined ? labels[v] : shownValue(v, twin)]);
        });
      }
      var key = present(p[tip.labelEn]) ? tip.labelEn : tip.label;
      var head = (!p.aggregate && key && present(p[key])) ? p[key] : tip.title;
      var html = "<div class=\"twin-tip-title\">" + escapeHtml(head) + "</div><table>" +
        rows.map(function (r) {
          return "<tr><th>" + escapeHtml(r[0]) + "</th><td>" + escapeHtml(r[1]) + "</td></tr>";
        }).join("") + "</table>";
      return {html: html, className: "twin-tip", style: {}};
    };
  }

  /* The incidents counted in view for the status line (hexagons, else heatmap weights). */
  function incidentsInView(twin) {
    var ids = twin.spec.statusFrom || [];
    for (var i = 0; i < ids.length; i++) {
      var data = twin.data[ids[i]];
      if (twin.visible.indexOf(ids[i]) >= 0 && data) {
        return data.reduce(function (sum, f) { return sum + (f.properties.count || 0); }, 0);
      }
    }
    return null;
  }

  function report(twin) {
    var el = twin.spec.status && document.getElementById(twin.spec.status);
    if (!el) { return; }
    var n = incidentsInView(twin), s = twin.spec.strings;
    el.textContent = n === null ? "" :
      (s["twin.in_view"] || "") + " " + n.toLocaleString(twin.spec.lang === "en" ? "en" : "zh-CN") +
      " " + (s["twin.incidents_unit"] || "");
  }

  /* ---- lifecycle ----------------------------------------------------------------------- */

  function byId(layers) {
    var out = {};
    (layers || []).forEach(function (l) { if (l) { out[l.id] = l; } });
    return out;
  }

  /* The overlay each strokes layer belongs to (its tooltip). */
  function owners(spec) {
    var out = {};
    Object.keys(spec.sources).forEach(function (id) {
      if (spec.sources[id].strokes) { out[spec.sources[id].strokes] = id; }
    });
    return out;
  }

  function create(spec) {
    var el = document.getElementById(spec.container);
    if (!el) { return null; }
    var twin = {spec: spec, visible: [], filters: {}, data: {}, segments: {}, meta: {}, urls: {},
                labels: {}, onFrame: null,
                owners: owners(spec), seq: 0,
                inflight: {}, timing: {bundle: performance.now()},
                loaded: 0, el: el, view: Object.assign({}, spec.deck.initialViewState)};
    twin.deck = window.createDeck({container: el, jsonInput: spec.deck, tooltip: null});
    if (!twin.deck) { throw new Error("deck.gl could not draw the twin spec (see console)"); }
    twin.timing.deck = performance.now();
    twin.templates = byId(twin.deck.props.layers);
    twin.deck.setProps({
      layers: [],
      getTooltip: tooltipFor(twin),
      onAfterRender: function () {
        placeLabels(twin);
        if (twin.onFrame) { twin.onFrame(); }
      },
      onViewStateChange: function (params) {
        twin.view = params.viewState;
        scheduleRefresh(twin);
        shareView(twin);
        return params.viewState;
      },
      onInteractionStateChange: function (state) { twin.moving = !!state.inTransition; }
    });
    window.onemapDeck = twin.deck;
    window.onemap = window.onemap || {};
    window.onemap.twin = twin;
    return twin;
  }

  function alive(twin) {
    return twin && twin.deck && twin.el && document.body.contains(twin.el) &&
      twin.el === document.getElementById(twin.spec.container);
  }

  function twinFor(spec) {
    var twin = twins[spec.container];
    if (!alive(twin)) {
      if (twin && twin.deck) { twin.deck.finalize(); }
      twin = twins[spec.container] = create(spec);
    } else if (twin.spec !== spec) {
      window.updateDeck({layers: spec.deck.layers}, twin.deck);
      twin.templates = byId(twin.deck.props.layers);
      twin.owners = owners(spec);
      twin.spec = spec;
    }
    return twin;
  }

  function moveCamera(twin, pitch, bearing) {
    var v = Object.assign({}, twin.view);
    if (typeof pitch === "number") { v.pitch = pitch; }
    if (typeof bearing === "number") { v.bearing = bearing; }
    if (v.pitch === twin.view.pitch && v.bearing === twin.view.bearing) { return; }
    v.transitionDuration = 600;
    twin.moving = true;  /* until the transition's last frame (onInteractionStateChange) */
    window.updateDeck({initialViewState: Object.assign({}, v, {
      transitionInterpolator: {"@@type": "LinearInterpolator",
                               transitionProps: ["pitch", "bearing"]}
    })}, twin.deck);
    twin.view = v;
    shareView(twin);
  }

  /* Fly to a camera {latitude, longitude, zoom} (an embed following a selection). */
  function flyTo(twin, camera) {
    var v = Object.assign({}, twin.view, camera, {transitionDuration: 800});
    twin.moving = true;
    window.updateDeck({initialViewState: Object.assign({}, v, {
      transitionInterpolator: {"@@type": "LinearInterpolator",
                               transitionProps: ["latitude", "longitude", "zoom"]}
    })}, twin.deck);
    twin.view = v;
    shareView(twin);
  }

  /* Clientside callback: draw `spec` with the chosen layers, time window, category and camera. */
  function sync(spec, visible, start, end, category, pitch, bearing) {
    var noUpdate = window.dash_clientside.no_update;
    if (!spec) { return noUpdate; }
    var ctx = window.dash_clientside.callback_context;
    var triggered = ((ctx && ctx.triggered) || []).map(function (t) { return t.prop_id; });
    return loadBundle(spec.bundle).then(function () {
      var twin = twinFor(spec);
      if (!twin) { return noUpdate; }
      twin.visible = visible || [];
      twin.filters = {time: start && end ? start.slice(0, 10) + "/" + end.slice(0, 10) : null,
                      category: category || null};
      var camera = triggered.some(function (t) { return /pitch|bearing/.test(t); });
      if (camera && twin.loaded) { moveCamera(twin, pitch, bearing); }
      return firstData(twin).then(function () {
        draw(twin);
        report(twin);
        return noUpdate;
      });
    }, function (error) {
      console.error(error);
      return String(error.message || error);
    });
  }

  /* Clientside callback of an embedded view (pages.twin.deck_embed): layers and filters come
   * from the spec itself. */
  function embed(spec) {
    var noUpdate = window.dash_clientside.no_update;
    if (!spec) { return noUpdate; }
    return loadBundle(spec.bundle).then(function () {
      var twin = twinFor(spec);
      if (!twin) { return noUpdate; }
      var f = spec.filters || {};
      if (spec.camera) { flyTo(twin, spec.camera); }
      twin.visible = spec.visible || spec.order;
      twin.filters = {time: f.time || null, category: f.category || null};
      return firstData(twin).then(function () {
        draw(twin);
        return noUpdate;
      });
    }, function (error) {
      console.error(error);
      return String(error.message || error);
    });
  }

  /* Clientside callback: a quick window, the last `days` days of the incidents' dates. */
  function preset(days, extent) {
    var last = extent ? new Date(extent[1] + "T00:00:00Z") : new Date();
    var first = extent ? new Date(extent[0] + "T00:00:00Z") : last;
    var start = new Date(Math.max(first.getTime(), last.getTime() - (days - 1) * 86400000));
    return [start.toISOString().slice(0, 10), last.toISOString().slice(0, 10)];
  }

  /* ---- links between the 2D map and the twin keep the view ---------------------------- */

  /* Clientside callback on the 2D map: its view as "lat,lon,zoom" on the header nav. */
  function mapView(center, zoom) {
    if (!center || zoom === null || zoom === undefined) {
      return window.dash_clientside.no_update;
    }
    var lat = Array.isArray(center) ? center[0] : center.lat;
    var lon = Array.isArray(center) ? center[1] : center.lng;
    return [lat.toFixed(6), lon.toFixed(6), Math.round(zoom * 100) / 100].join(",");
  }

  function viewQuery() {
    var twin = null;
    Object.keys(twins).forEach(function (k) { if (alive(twins[k])) { twin = twins[k]; } });
    if (twin) {
      return "lat=" + twin.view.latitude.toFixed(6) + "&lon=" + twin.view.longitude.toFixed(6) +
        "&zoom=" + apiZoom(twin.view);
    }
    var nav = document.getElementById("app-nav");  /* pages.ids.NAV */
    var view = nav && document.getElementsByClassName("leaflet-container").length &&
      nav.getAttribute("data-view");
    if (view) {
      var parts = view.split(",");
      return "lat=" + parts[0] + "&lon=" + parts[1] + "&zoom=" + parts[2];
    }
    return pageQuery();
  }

  /* The view this page was opened with (its own ?lat=&lon=&zoom=), for a click that comes
     before the map has drawn its first view. */
  function pageQuery() {
    var here = new URLSearchParams(window.location.search);
    if (!here.get("lat") || !here.get("lon")) { return null; }
    var q = "lat=" + encodeURIComponent(here.get("lat")) +
      "&lon=" + encodeURIComponent(here.get("lon"));
    return here.get("zoom") ? q + "&zoom=" + encodeURIComponent(here.get("zoom")) : q;
  }

  /* A click on a plain link to "/" or "/twin" (no query yet) carries the current view. */
  document.addEventListener("click", function (event) {
    var a = event.target && event.target.closest ? event.target.closest("a[href]") : null;
    if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) {
      return;
    }
    var url = new URL(a.getAttribute("href"), window.location.href);
    var target = url.pathname.replace(/\/+$/, "");
    var here = window.location.pathname.replace(/\/+$/, "");
    var toTwin = /\/twin$/.test(target), toMap = target === "";
    if (url.origin !== window.location.origin || url.search || target === here ||
        !(toTwin || toMap)) {
      return;
    }
    var q = viewQuery();
    if (!q) { return; }
    event.preventDefault();
    event.stopPropagation();
    window.location.assign(url.pathname + "?" + q);
  }, true);

  /* Live updates (assets/onemap_live.js): refetch the layers drawn from API layers `apiIds`. */
  function reload(apiIds) {
    Object.keys(twins).forEach(function (k) {
      var twin = twins[k];
      if (!alive(twin)) { return; }
      var hit = twin.spec.order.filter(function (id) {
        var src = twin.spec.sources[id];
        return src && !src.url && apiIds.indexOf(src.layer) >= 0;
      });
      hit.forEach(function (id) { delete twin.urls[id]; });
      if (hit.length) { refresh(twin).then(function () { report(twin); }); }
    });
  }

  window.onemap = window.onemap || {};
  window.onemap.deck = {prepare: prepare, twins: twins, loadBundle: loadBundle, reload: reload};
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemap_deck: {sync: sync, embed: embed, preset: preset, mapView: mapView}
  });
})();
